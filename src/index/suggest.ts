/**
 * As-you-type suggestions, per tenant, in memory: completions of the last word from the term dictionary
 * (binary search on the sorted terms, typo tolerant by a bounded fuzzy prefix walk) and matching document
 * titles from a FlexSearch forward index. One FlexSearch index per tenant, built lazily from the titles in
 * the per-document values (so it is rebuilt from LMDB after a restart) and kept in step by the same write
 * hooks that keep those values.
 */
import FlexSearch from 'flexsearch';
import { normaliseWord } from './analyser.js';
import type { DocValuesStore } from './doc-values.js';
import { fuzzySearch, prefixRange } from './fuzzy.js';
import type { TermDictionary } from './term-dictionary.js';

export interface Suggestion {
  text: string;
  kind: 'term' | 'title';
  docId?: string;
}

type TitleIndex = InstanceType<typeof FlexSearch.Index>;

export function titleOf(v: { title: string; fileName: string }): string {
  return v.title || v.fileName;
}

export class Suggester {
  readonly #titles = new Map<string, TitleIndex>();
  constructor(
    private readonly values: DocValuesStore,
    private readonly dictionary: TermDictionary,
  ) {}

  #index(tenantId: string): TitleIndex {
    let ix = this.#titles.get(tenantId);
    if (ix === undefined) {
      ix = new FlexSearch.Index({ tokenize: 'forward', encoder: 'LatinBalance' });
      const cols = this.values.columns(tenantId);
      cols.values.forEach((v, ord) => {
        if (v !== undefined) ix!.add(ord, titleOf(v));
      });
      this.#titles.set(tenantId, ix);
    }
    return ix;
  }

  /** A document's title changed or it was (re)indexed; no-op until the tenant's index is built. */
  titleChanged(tenantId: string, docId: string, title: string | undefined): void {
    const ix = this.#titles.get(tenantId);
    if (ix === undefined) return;
    const ord = this.values.columns(tenantId).ordinal(docId);
    ix.remove(ord);
    if (title) ix.add(ord, title);
  }

  dropped(tenantId: string): void {
    this.#titles.delete(tenantId);
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
      const terms: string[] = [];
      for (const l of lists) terms.push(...prefixRange(l, word, limit));
      if (terms.length < limit && word.length >= 3) {
        // Typo tolerant: terms starting with something one edit away from what was typed.
        for (const l of lists)
          for (const f of fuzzySearch(l, word, 1, { prefix: true, limit, maxVisits: 20_000 })) terms.push(f.term);
      }
      for (const t of terms.sort((a, b) => (a.startsWith(word) ? 0 : 1) - (b.startsWith(word) ? 0 : 1) || a.length - b.length)) {
        if (seen.has(t) || out.length >= Math.ceil(limit / 2)) continue;
        seen.add(t);
        out.push({ text: head + t, kind: 'term' });
      }
    }
    const ix = this.#index(tenantId);
    const cols = this.values.columns(tenantId);
    const q = typed.trim();
    if (q.length > 0) {
      let ords = ix.search(q, { limit, suggest: true }) as number[];
      if (ords.length === 0 && out.length > 0)
        ords = ix.search(head + out[0]!.text.slice(head.length), { limit, suggest: true }) as number[];
      for (const o of ords) {
        if (out.length >= limit) break;
        const v = cols.values[o];
        if (v === undefined) continue;
        out.push({ text: titleOf(v), kind: 'title', docId: cols.ids[o]! });
      }
    }
    return out.slice(0, limit);
  }
}
