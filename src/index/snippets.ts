/**
 * Snippets: the page windows with the densest query hits, cut at word boundaries, with highlight ranges as
 * UTF-16 offsets into the snippet text. Page text is re-analysed with the index analyser, so a highlight is
 * exactly a word that produced a matching term (stems, umlaut variants, compound parts, codes).
 */
import { type AnalyserLanguage, analyse } from './analyser.js';

export interface Highlight {
  start: number;
  end: number;
}

export interface Snippet {
  /** 1-based page number. */
  page: number;
  text: string;
  highlights: Highlight[];
}

export interface SnippetOptions {
  maxSnippets: number;
  /** Target window length in UTF-16 code units. */
  windowChars: number;
  /** UTF-16 code units of a document's pages analysed at most, in page order (default SNIPPET_ANALYSED_CHARS). */
  maxAnalysedChars?: number;
}

/**
 * Re-analysing a document for its snippets costs ~26 ms per million characters here, on the thread that
 * serves every RPC, and a search has ten hits: a hit's text beyond this gives no snippet (as Elasticsearch's
 * highlighter stops at its max_analyzed_offset). ~150 pages of dense text.
 */
export const SNIPPET_ANALYSED_CHARS = 500_000;

interface Hit {
  start: number;
  end: number;
  term: string;
}

export function makeSnippets(
  pages: readonly string[],
  terms: ReadonlySet<string>,
  language: AnalyserLanguage,
  opts: SnippetOptions,
): Snippet[] {
  const candidates: { page: number; score: number; from: number; to: number; hits: Hit[] }[] = [];
  let budget = opts.maxAnalysedChars ?? SNIPPET_ANALYSED_CHARS;
  pages.forEach((text, p) => {
    if (budget <= 0) return;
    // A page the budget ends in is analysed up to the last whitespace before that, so no word is cut.
    let upTo = text.length;
    if (upTo > budget) {
      upTo = budget;
      while (upTo > 0 && !/\s/.test(text[upTo]!)) upTo--;
    }
    budget -= text.length;
    const hits: Hit[] = [];
    analyse(upTo === text.length ? text : text.slice(0, upTo), language, (term, _pos, start, end) => {
      if (!terms.has(term)) return;
      const last = hits[hits.length - 1];
      if (last && last.start === start) return;
      hits.push({ start, end, term });
    });
    if (hits.length === 0) return;
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
  });
  candidates.sort((a, b) => b.score - a.score || a.page - b.page);
  return candidates.slice(0, opts.maxSnippets).map((c) => {
    const raw = pages[c.page - 1]!.slice(c.from, c.to);
    const lead = raw.length - raw.trimStart().length;
    const text = raw.trim();
    return {
      page: c.page,
      text,
      highlights: c.hits
        .map((h) => ({ start: h.start - c.from - lead, end: h.end - c.from - lead }))
        .filter((h) => h.start >= 0 && h.end <= text.length),
    };
  });
}
