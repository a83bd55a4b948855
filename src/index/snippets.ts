/**
 * Snippets: the page windows with the densest query hits, cut at word boundaries, with highlight ranges as
 * UTF-16 offsets into the snippet text. The hits are the words whose positions the index matched (stems,
 * umlaut variants, compound parts, codes), mapped to characters by the spans stored at index time
 * (spans.ts): no page is re-analysed.
 */
import { type PageHits, pageFingerprint, type SpanHit, samePage } from './spans.js';

export interface Highlight {
  start: number;
  end: number;
}

export interface Snippet {
  /** 1-based page number. */
  page: number;
  text: string;
  highlights: Highlight[];
  /** The page's text goes on before / after the snippet (a client shows "…" there). */
  cutBefore: boolean;
  cutAfter: boolean;
}

/** Whether text[from, to) holds more than whitespace. */
const wordsIn = (text: string, from: number, to: number): boolean => from < to && /\S/.test(text.slice(from, to));

export interface SnippetOptions {
  maxSnippets: number;
  /** Target window length in UTF-16 code units. */
  windowChars: number;
}

/**
 * The best windows of `pages` given their hits (`highlights`: by page index, each page's in text order; a
 * hit's `term` tells the query's terms apart): at most one per page, best first. A page whose text is not the
 * one its hits were found in (replaced after the index snapshot) gives none.
 */
export function makeSnippets(
  pages: readonly string[],
  highlights: ReadonlyMap<number, PageHits>,
  opts: SnippetOptions,
): Snippet[] {
  const candidates: { page: number; score: number; from: number; to: number; hits: SpanHit[] }[] = [];
  for (const [p, found] of highlights) {
    const text = pages[p];
    if (text === undefined || !samePage(text, found)) continue;
    // One hit per word (a word can match several terms).
    const hits: SpanHit[] = [];
    for (const h of found.hits) {
      const last = hits[hits.length - 1];
      if (last === undefined || last.start !== h.start) hits.push(h);
    }
    if (hits.length === 0) continue;
    // Slide a window over the hits; score = distinct terms × 2 + hit count.
    let best = { score: -1, i: 0, j: 0 };
    let j = 0;
    for (let i = 0; i < hits.length; i++) {
      if (j < i) j = i;
      while (j + 1 < hits.length && hits[j + 1]!.end - hits[i]!.start <= opts.windowChars) j++;
      const distinct = new Set(hits.slice(i, j + 1).map((h) => h.term)).size;
      const score = distinct * 2 + (j - i + 1);
      if (score > best.score) best = { score, i, j };
    }
    const first = hits[best.i]!;
    const last = hits[best.j]!;
    const slack = Math.max(0, opts.windowChars - (last.end - first.start));
    let from = Math.max(0, first.start - Math.floor(slack / 2));
    let to = Math.min(text.length, last.end + Math.ceil(slack / 2));
    // Snap to word boundaries (whitespace), without cutting a surrogate pair.
    if (from > 0) {
      const ws = text.slice(from, first.start).search(/\s/);
      from = ws >= 0 ? from + ws + 1 : first.start;
    }
    if (to < text.length) {
      const tail = text.slice(last.end, to);
      const ws = tail.search(/\s\S*$/);
      to = ws >= 0 ? last.end + ws : last.end;
    }
    candidates.push({ page: p + 1, score: best.score, from, to, hits: hits.slice(best.i, best.j + 1) });
  }
  candidates.sort((a, b) => b.score - a.score || a.page - b.page);
  return candidates.slice(0, opts.maxSnippets).map((c) => {
    const page = pages[c.page - 1]!;
    const raw = page.slice(c.from, c.to);
    const lead = raw.length - raw.trimStart().length;
    const text = raw.trim();
    return {
      page: c.page,
      text,
      highlights: c.hits
        .map((h) => ({ start: h.start - c.from - lead, end: h.end - c.from - lead }))
        .filter((h) => h.start >= 0 && h.end <= text.length),
      cutBefore: wordsIn(page, 0, c.from),
      cutAfter: wordsIn(page, c.to, page.length),
    };
  });
}

/** Where values a query filters by are written on a page (engine.ts): [start, end) of its text. */
export type ValuePlaces = (page: string) => readonly { start: number; end: number }[];

/** A value's highlight is no query word (SpanHit.term), so a window around it scores as one more term. */
const VALUE_TERM = -1;

/**
 * `highlights` plus the places of the query's values on `pages` (a document's pages, all of them): those of
 * the first `maxPages` pages in order that have one, reading at most `maxChars` characters (a value further
 * on is not looked for). A place that a word highlight overlaps is left to the word.
 */
export function withValuePlaces(
  pages: readonly string[],
  highlights: ReadonlyMap<number, PageHits>,
  places: ValuePlaces,
  maxPages: number,
  maxChars: number,
): Map<number, PageHits> {
  const out = new Map(highlights);
  let found = 0;
  let read = 0;
  for (const [p, text] of pages.entries()) {
    if (found >= maxPages || read >= maxChars) break;
    const at = places(text.length > maxChars - read ? text.slice(0, maxChars - read) : text);
    read += text.length;
    const words = highlights.get(p);
    if (at.length === 0 || (words !== undefined && !samePage(text, words))) continue;
    const hits = [...(words?.hits ?? [])];
    for (const v of at)
      if (!words?.hits.some((h) => h.start < v.end && v.start < h.end))
        hits.push({ start: v.start, end: v.end, term: VALUE_TERM });
    hits.sort((a, b) => a.start - b.start);
    out.set(p, { hits, length: text.length, hash: pageFingerprint(text) });
    found++;
  }
  return out;
}

/**
 * A hit whose words are not in its body (a title match, a value filter alone): the opening of its first
 * page, about `windowChars` long and cut at a word boundary, without highlights, so the hit still shows what
 * the document says. None for an empty page.
 */
export function openingSnippet(page: string | undefined, windowChars: number): Snippet | undefined {
  if (page === undefined) return undefined;
  const text = page.trimStart();
  if (text.length === 0) return undefined;
  let to = Math.min(text.length, windowChars);
  if (to < text.length) {
    const ws = text.slice(0, to + 1).search(/\s\S*$/);
    if (ws > 0) to = ws;
  }
  return {
    page: 1,
    text: text.slice(0, to).trimEnd(),
    highlights: [],
    cutBefore: false,
    cutAfter: wordsIn(text, to, text.length),
  };
}
