/**
 * As-you-type suggestions, per tenant: completions of the last word, shown as the word was written
 * ("Müller", not the index term "mull"), from the tenant's word list (word-list.ts: folded forms sorted in
 * memory, so a typed prefix is a range) and, typo tolerant, from a bounded fuzzy prefix walk over the term
 * dictionary mapped back to words; and matching document titles from a title index (title-index.ts). One
 * title index per tenant, built by the warm-up (`load`, in slices) from the titles in the per-document
 * values (so it is rebuilt from LMDB after a restart) and kept in step by the same write hooks that keep
 * those values.
 */
import { analyseQueryText, analyseToTokens, normaliseWord } from './analyser.js';
import type { DocValuesStore } from './doc-values.js';
import { containsTerm, fuzzySearch, prefixBounds, prefixRange } from './fuzzy.js';
import type { TermDictionary } from './term-dictionary.js';
import { TitleIndex } from './title-index.js';
import { inSlices, type Slicer, TenantLoads } from './warm-up.js';
import type { WordList } from './word-list.js';

export interface Suggestion {
  text: string;
  kind: 'term' | 'title';
  docId?: string;
}

/** A tenant's title index being built: ordinals below `next` are in it. */
interface Building {
  readonly ix: TitleIndex;
  next: number;
  cancelled: boolean;
}

/** Titles asked of the title index per suggestion wanted (identical titles are offered once). */
const TITLE_OVERFETCH = 4;

export class Suggester {
  readonly #building = new TenantLoads<Building, TitleIndex>();
  readonly #titles = this.#building.loaded;
  constructor(
    private readonly values: DocValuesStore,
    private readonly dictionary: TermDictionary,
    private readonly words: WordList,
    /** Whether a live document holds a term (SearchIndex.liveTerms), in one snapshot per suggestion. */
    private readonly liveTerms: (tenantId: string) => { holds(term: string): boolean; done(): void },
  ) {}

  /**
   * Words of the tenant whose folded form starts with `prefix`, shortest first. A word is kept while one
   * of its terms is in the dictionary (a cheap first sieve) and, of those offered, while a search for it
   * would find a live document (`alive`).
   */
  #words(
    tenantId: string,
    prefix: string,
    lists: readonly (readonly string[])[],
    alive: (word: string) => boolean,
    limit: number,
    scan = 64,
  ): string[] {
    const found: string[] = [];
    for (const folded of this.words.lists(tenantId))
      for (const f of prefixRange(folded, prefix, scan, scan)) {
        const w = this.words.written(tenantId, f);
        if (w !== undefined && isLive(w, lists)) found.push(w);
      }
    return firstAlive(
      found.sort((a, b) => a.length - b.length || a.localeCompare(b)),
      alive,
      limit,
    );
  }

  /**
   * Typo tolerance on words: among the words sharing the typed word's first two letters (typos rarely hit
   * those), the ones a prefix of which is one edit from what was typed.
   */
  #typoWords(
    tenantId: string,
    word: string,
    lists: readonly (readonly string[])[],
    alive: (word: string) => boolean,
    limit: number,
  ): string[] {
    if (word.length < 3) return [];
    const found: { text: string; distance: number }[] = [];
    const rows = new Int32Array(2 * (word.length + 1));
    const two = word.slice(0, 2);
    for (const folded of this.words.lists(tenantId)) {
      // The first TYPO_SCAN words starting with the two letters (a range of the sorted list). Their trie is
      // walked for the few within one edit (scanning each word was most of a typo'd Suggest's work); the
      // walk does not count a swap as one edit, as prefixDistance does not.
      const [from, to] = prefixBounds(folded, two, TYPO_SCAN);
      const walk = {
        prefix: true,
        transpositions: false,
        from,
        to,
        limit: Number.POSITIVE_INFINITY,
        maxVisits: Number.POSITIVE_INFINITY,
      };
      const near: { f: string; distance: number }[] = [];
      for (const { term: f } of fuzzySearch(folded, word, 1, walk)) near.push({ f, distance: prefixDistance(word, f, 1, rows) });
      near.sort((a, b) => a.f.length - b.f.length || (a.f < b.f ? -1 : 1));
      for (const { f, distance } of near) {
        const w = this.words.written(tenantId, f);
        if (w !== undefined && isLive(w, lists)) found.push({ text: w, distance });
      }
    }
    found.sort((a, b) => a.distance - b.distance || a.text.length - b.text.length || a.text.localeCompare(b.text));
    return firstAlive(
      found.map((f) => f.text),
      alive,
      limit,
    );
  }

  #index(tenantId: string): TitleIndex {
    const ix = this.#titles.get(tenantId);
    if (ix === undefined) throw new Error(`the titles of tenant ${tenantId} are not loaded (await the engine's warm-up)`);
    return ix;
  }

  /** Whether the tenant's title index is built. */
  loaded(tenantId: string): boolean {
    return this.#titles.has(tenantId);
  }

  /**
   * Builds the tenant's title index from its loaded columns, in slices; joins a build under way. The columns
   * are kept current by the hooks meanwhile: a title is read when the build reaches its ordinal, and a title
   * that changes behind it is set at once (titleChanged), so the index is current when it is installed.
   */
  load(tenantId: string, slicer: Slicer): Promise<void> {
    if (!this.values.loaded(tenantId)) return Promise.resolve();
    return this.#building.start(
      tenantId,
      () => ({ ix: new TitleIndex(), next: 0, cancelled: false }),
      (b) => this.#build(tenantId, b, slicer),
    );
  }

  async #build(tenantId: string, b: Building, slicer: Slicer): Promise<void> {
    const cols = this.values.columns(tenantId);
    const load = b.ix.bulk();
    // The size is read each time: documents added during the build get new ordinals at the end.
    while (b.next < cols.size) {
      const title = cols.titles.get(b.next);
      if (title !== undefined) load.add(b.next, title);
      b.next++;
      if ((b.next & 255) === 0 && slicer.due) {
        await slicer.next();
        if (b.cancelled) return;
      }
    }
    await inSlices(load.ending(), slicer);
    if (b.cancelled) return;
    this.#titles.set(tenantId, b.ix);
  }

  /** A document's title changed or it was (re)indexed; no-op until the tenant's index is built or being built. */
  titleChanged(tenantId: string, docId: string, title: string | undefined): void {
    const ix = this.#titles.get(tenantId);
    if (ix !== undefined) {
      ix.set(this.values.columns(tenantId).ordinal(docId), title);
      return;
    }
    const b = this.#building.get(tenantId);
    if (b === undefined) return;
    const ord = this.values.columns(tenantId).ordinal(docId);
    if (ord < b.next) b.ix.set(ord, title);
  }

  /** The tenant was dropped: built or being built, its title index is empty now (see DocValuesStore.dropped). */
  dropped(tenantId: string): void {
    this.#building.dropped(tenantId, () => new TitleIndex());
    this.words.dropped(tenantId);
  }

  /** Completions of the last word typed (`word`, folded), half the suggestions at most, into `out`. */
  #completions(
    tenantId: string,
    word: string,
    head: string,
    lists: readonly (readonly string[])[],
    live: { holds(term: string): boolean },
    limit: number,
    seen: Set<string>,
    out: Suggestion[],
  ): void {
    // A word is offered only while a search for it would find a live document: each of its words (as a query
    // analyses them: stems, no compound parts) held by one. Its compound parts in other documents do not count.
    const alive = (w: string) => analyseQueryText(w, 'deu+eng').every((alternatives) => alternatives.some((t) => live.holds(t)));
    const wanted = Math.ceil(limit / 2);
    const add = (text: string) => {
      const key = text.toLowerCase();
      if (seen.has(key) || out.length >= wanted) return;
      seen.add(key);
      out.push({ text: head + text, kind: 'term' });
    };
    for (const w of this.#words(tenantId, word, lists, alive, wanted)) add(w);
    if (out.length < wanted) for (const w of this.#typoWords(tenantId, word, lists, alive, wanted)) add(w);
    if (out.length < wanted) {
      // Index terms that complete the typed word, and when still short (3+ letters) terms one edit away,
      // each shown as a word written with it.
      const terms: string[] = [];
      for (const l of lists) terms.push(...prefixRange(l, word, limit));
      if (terms.length < limit && word.length >= 3) {
        // Only terms sharing the first two letters, as for words: `kat` is no typo of "date".
        for (const l of lists) {
          const [from, to] = prefixBounds(l, word.slice(0, 2), l.length);
          for (const f of fuzzySearch(l, word, 1, { prefix: true, limit, maxVisits: 20_000, from, to })) terms.push(f.term);
        }
      }
      terms.sort((a, b) => (a.startsWith(word) ? 0 : 1) - (b.startsWith(word) ? 0 : 1) || a.length - b.length);
      for (const t of terms) {
        if (out.length >= wanted) break;
        // A stem ("mull") is no completion to show; codes and numbers have no word form and show as indexed.
        const w = this.#words(tenantId, t, lists, alive, 1, 8)[0];
        if (w !== undefined) add(w);
        else if (/\d/.test(t) && live.holds(t)) add(t);
      }
    }
  }

  suggest(tenantId: string, typed: string, limit: number): Suggestion[] {
    const out: Suggestion[] = [];
    const m = /^(.*?)(\S*)$/su.exec(typed);
    const head = m?.[1] ?? '';
    const last = m?.[2] ?? '';
    const word = normaliseWord(last).replace(/[^\p{L}\p{N}-]/gu, '');
    const seen = new Set<string>();
    if (word.length > 0) {
      const lists = this.dictionary.lists(tenantId);
      const live = this.liveTerms(tenantId);
      try {
        this.#completions(tenantId, word, head, lists, live, limit, seen, out);
      } finally {
        live.done();
      }
    }
    const ix = this.#index(tenantId);
    const cols = this.values.columns(tenantId);
    const q = typed.trim();
    if (q.length > 0) {
      // More than asked for: a title that several documents share is offered once (its best-ranked
      // document), as rows that read alike cannot be told apart; the next titles fill the list.
      const wanted = TITLE_OVERFETCH * limit;
      let ords = ix.search(q, wanted);
      // Nothing for what was typed (a typo in the last word): the titles of the first word suggested.
      if (ords.length === 0 && out.length > 0) ords = ix.search(out[0]!.text, wanted);
      const shown = new Set<string>();
      for (const o of ords) {
        if (out.length >= limit) break;
        const title = cols.titles.get(o);
        if (title === undefined) continue;
        const key = title.normalize('NFC').toLocaleLowerCase('de');
        if (shown.has(key)) continue;
        shown.add(key);
        out.push({ text: title, kind: 'title', docId: cols.ids.get(o)! });
      }
    }
    return out.slice(0, limit);
  }
}

/** The first `limit` of `words` (in their order) that `alive` takes; asked no further than needed. */
function firstAlive(words: readonly string[], alive: (word: string) => boolean, limit: number): string[] {
  const out: string[] = [];
  for (const w of words) {
    if (out.length >= limit) break;
    if (alive(w)) out.push(w);
  }
  return out;
}

/** A word is offered while one of its terms is still in the tenant's dictionary. */
function isLive(word: string, lists: readonly (readonly string[])[]): boolean {
  return analyseToTokens(word, 'deu+eng').some((t) => lists.some((l) => containsTerm(l, t.term)));
}

/** Words scanned per list for typo'd completions (the first of the range sharing the first two letters). */
const TYPO_SCAN = 2000;

/**
 * Edit distance from `typed` to the closest prefix of `word`, or max + 1 once it exceeds `max`. `rows`:
 * scratch of at least 2 × (typed.length + 1) (no allocation per word).
 */
export function prefixDistance(typed: string, word: string, max: number, rows?: Int32Array): number {
  const n = typed.length;
  const scratch = rows !== undefined && rows.length >= 2 * (n + 1) ? rows : new Int32Array(2 * (n + 1));
  // Two rows in one array, by offset (a subarray per row was an allocation per word scanned).
  let prev = 0;
  let cur = n + 1;
  for (let i = 0; i <= n; i++) scratch[prev + i] = i;
  let best = n;
  for (let j = 1; j <= word.length; j++) {
    scratch[cur] = j;
    let rowMin = j;
    const wc = word.charCodeAt(j - 1);
    for (let i = 1; i <= n; i++) {
      const v = Math.min(
        scratch[prev + i]! + 1,
        scratch[cur + i - 1]! + 1,
        scratch[prev + i - 1]! + (typed.charCodeAt(i - 1) === wc ? 0 : 1),
      );
      scratch[cur + i] = v;
      if (v < rowMin) rowMin = v;
    }
    if (scratch[cur + n]! < best) best = scratch[cur + n]!;
    if (rowMin > max) break; // every longer prefix is at least this far
    const t = prev;
    prev = cur;
    cur = t;
  }
  return Math.min(best, max + 1);
}
