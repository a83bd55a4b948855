/**
 * The words of a tenant's documents as first written ("Müller"), by their folded form ("muller"): what
 * as-you-type completion shows instead of index terms (stems). Durable in `index-words`, one sealed value per
 * word under a blind key (so the word is in no key and no plaintext value); searched in memory: the
 * tenant's folded forms as a sorted array (prefixes are ranges, fuzzy.ts walks it), loaded on first use and
 * kept in step by the index's write hook. Words are never removed before a Reindex or erasure: Suggest
 * checks a word against the live term dictionary before offering it.
 */
import { pack, unpack } from 'msgpackr';
import { mergeSorted } from './fuzzy.js';
import { type IndexStore, type Key, RANGE_END } from './index-store.js';

/** Writes a word unless its folded form is known (the first spelling stays); true if it was new. */
export function addWord(store: IndexStore, tenantId: string, folded: string, word: string): boolean {
  const key: Key = [tenantId, store.cipher.blindKey(tenantId, 'index-word', folded)];
  if (store.words.doesExist(key)) return false;
  store.putSealed('words', key, pack([folded, word]));
  return true;
}

const FOLD_AT = 4096;

interface TenantWords {
  main: string[];
  delta: string[] | undefined;
  fresh: Set<string>;
  written: Map<string, string>;
}

export class WordList {
  readonly #tenants = new Map<string, TenantWords>();
  constructor(private readonly store: IndexStore) {}

  /** The tenant's folded words as sorted lists (search each: a small delta is not merged per query). */
  lists(tenantId: string): (readonly string[])[] {
    const t = this.#tenant(tenantId);
    if (t.fresh.size === 0) return [t.main];
    t.delta ??= [...t.fresh].sort();
    if (t.fresh.size < FOLD_AT) return [t.main, t.delta];
    t.main = mergeSorted(t.main, t.delta);
    t.fresh.clear();
    t.delta = undefined;
    return [t.main];
  }

  /** The word as first written, for a folded form in `lists`. */
  written(tenantId: string, folded: string): string | undefined {
    return this.#tenant(tenantId).written.get(folded);
  }

  /** Words a write added (called in its transaction); a no-op until the tenant's list is loaded. */
  added(tenantId: string, words: readonly (readonly [string, string])[]): void {
    const t = this.#tenants.get(tenantId);
    if (t === undefined) return;
    for (const [folded, word] of words) {
      if (t.written.has(folded)) continue;
      t.written.set(folded, word);
      t.fresh.add(folded);
      t.delta = undefined;
    }
  }

  dropped(tenantId: string): void {
    this.#tenants.delete(tenantId);
  }

  #tenant(tenantId: string): TenantWords {
    let t = this.#tenants.get(tenantId);
    if (t === undefined) {
      const written = new Map<string, string>();
      for (const { key, value } of this.store.words.getRange({ start: [tenantId], end: [tenantId, RANGE_END] })) {
        const [folded, word] = unpack(this.store.open('words', key as Key, value)) as [string, string];
        written.set(folded, word);
      }
      t = { main: [...written.keys()].sort(), delta: undefined, fresh: new Set(), written };
      this.#tenants.set(tenantId, t);
    }
    return t;
  }
}
