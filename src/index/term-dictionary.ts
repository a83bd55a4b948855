/**
 * The per-tenant term dictionary in memory, for typo tolerance (`term~`, did-you-mean) and word
 * completion: the distinct terms of the tenant's segments as one sorted array, loaded by the warm-up from
 * the segments' dictionary blocks (segment-format.ts; `load`, in slices) and kept in step by the index
 * write hook (each new segment's terms go to a small
 * sorted delta, folded into the main array when it grows). Terms of deleted documents stay until the next
 * load: they can only expand to postings that no longer match, never to a wrong hit. A compound part's term
 * is held as the word it is (decompound.ts wordOfTerm): the list is of words a query can ask for, and a
 * query for one reads its part terms too.
 */
import type { Transaction } from 'lmdb';
import { isPartTerm, wordOfTerm } from './decompound.js';
import { lowerBound, mergeSorted } from './fuzzy.js';
import { type IndexStore, type Key, RANGE_END } from './index-store.js';
import type { PartWords } from './search-index.js';
import { segmentTerms } from './segment-format.js';
import { type Between, type Slicer, sortInSlices, TenantLoads } from './warm-up.js';

const FOLD_AT = 4096;

interface TenantTerms {
  main: string[];
  delta: Set<string>;
  deltaSorted: string[] | undefined;
  /** The words held as compound part terms, and the same sorted (for prefixes; undefined when stale). */
  parts: Set<string>;
  partsSorted: string[] | undefined;
}

/** A tenant's terms being loaded: the terms of segments added since the load began. */
interface Loading {
  readonly delta: Set<string>;
  readonly parts: Set<string>;
  cancelled: boolean;
}

export class TermDictionary {
  readonly #loading = new TenantLoads<Loading, TenantTerms>();
  readonly #tenants = this.#loading.loaded;
  constructor(private readonly store: IndexStore) {}

  /**
   * The tenant's terms as sorted lists (UTF-16 code unit order, which fuzzy.ts walks): the main array and
   * a small delta of recent segments; search both rather than merge per query.
   */
  lists(tenantId: string): (readonly string[])[] {
    const t = this.#tenants.get(tenantId);
    if (t === undefined) throw new Error(`the terms of tenant ${tenantId} are not loaded (await the engine's warm-up)`);
    if (t.delta.size === 0) return [t.main];
    t.deltaSorted ??= [...t.delta].sort();
    if (t.delta.size < FOLD_AT) return [t.main, t.deltaSorted];
    t.main = mergeSorted(t.main, t.deltaSorted);
    t.delta.clear();
    t.deltaSorted = undefined;
    return [t.main];
  }

  /** Called in the write transaction that wrote segment `segmentId` (reads see its keys). */
  segmentAdded(tenantId: string, segmentId: number, transaction?: Transaction): void {
    const t = this.#tenants.get(tenantId);
    // Being loaded: kept aside now (the segment may be merged away before the load ends). Neither: no-op.
    const delta = t?.delta ?? this.#loading.get(tenantId)?.delta;
    const parts = t?.parts ?? this.#loading.get(tenantId)?.parts;
    if (delta === undefined || parts === undefined) return;
    for (const stored of segmentTerms(this.store, tenantId, segmentId, transaction ? { transaction } : {})) {
      const term = wordOfTerm(stored);
      if (isPartTerm(stored) && !parts.has(term)) {
        parts.add(term);
        if (t !== undefined) t.partsSorted = undefined;
      }
      if (!delta.has(term)) {
        delta.add(term);
        if (t !== undefined) t.deltaSorted = undefined;
      }
    }
  }

  /** The tenant was dropped: loaded or being loaded, its terms are none now (see DocValuesStore.dropped). */
  dropped(tenantId: string): void {
    this.#loading.dropped(tenantId, () => ({
      main: [],
      delta: new Set(),
      deltaSorted: undefined,
      parts: new Set(),
      partsSorted: undefined,
    }));
  }

  /** Whether the tenant's terms are loaded (`lists` answers). */
  loaded(tenantId: string): boolean {
    return this.#tenants.has(tenantId);
  }

  /**
   * Loads the tenant's terms from its segments in one snapshot, in slices; joins a load under way. The
   * snapshot is taken between index writes, after the load began: a segment added before it is in it, one
   * added after it has its terms kept aside by segmentAdded (both is harmless: a set).
   */
  load(tenantId: string, slicer: Slicer, between: Between): Promise<void> {
    return this.#loading.start(
      tenantId,
      () => ({ delta: new Set<string>(), parts: new Set<string>(), cancelled: false }),
      (loading) => this.#load(tenantId, loading, slicer, between),
    );
  }

  async #load(tenantId: string, loading: Loading, slicer: Slicer, between: Between): Promise<void> {
    const seen = new Set<string>();
    const txn = await between(() => this.store.root.useReadTransaction());
    try {
      const segments = [
        ...this.store.meta.getKeys({ start: [tenantId, 'seg'], end: [tenantId, 'seg', RANGE_END], transaction: txn }),
      ];
      for (const key of segments) {
        let n = 0;
        for (const term of segmentTerms(this.store, tenantId, (key as Key)[2] as number, { transaction: txn })) {
          const word = wordOfTerm(term);
          seen.add(word);
          if (word !== term) loading.parts.add(word);
          if ((++n & 1023) === 0 && slicer.due) {
            await slicer.next();
            if (loading.cancelled) return;
          }
        }
      }
    } finally {
      txn.done();
    }
    const main = await sortInSlices([...seen], slicer);
    if (loading.cancelled) return;
    this.#tenants.set(tenantId, {
      main,
      delta: loading.delta,
      deltaSorted: undefined,
      parts: loading.parts,
      partsSorted: undefined,
    });
  }

  /**
   * The words the tenant's segments hold as compound part terms (with those of deleted documents until the
   * next load: a superset, as SearchOptions.partWords allows), or undefined while its terms are not loaded.
   */
  partWords(tenantId: string): PartWords | undefined {
    const t = this.#tenants.get(tenantId);
    if (t === undefined) return undefined;
    return {
      has: (word) => t.parts.has(word),
      anyStartsWith: (prefix) => {
        t.partsSorted ??= [...t.parts].sort();
        const sorted = t.partsSorted;
        const i = lowerBound(sorted, prefix);
        return i < sorted.length && sorted[i]!.startsWith(prefix);
      },
    };
  }
}
