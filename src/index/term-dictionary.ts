/**
 * The per-tenant term dictionary in memory, for typo tolerance (`term~`, did-you-mean) and word
 * completion: the distinct terms of the tenant's segments as one sorted array, loaded lazily from the
 * segments' dictionary blocks (segment-format.ts) and kept in step by the index write hook (each new segment's terms go to a small
 * sorted delta, folded into the main array when it grows). Terms of deleted documents stay until the next
 * load: they can only expand to postings that no longer match, never to a wrong hit.
 */
import type { Transaction } from 'lmdb';
import { mergeSorted } from './fuzzy.js';
import { type IndexStore, type Key, RANGE_END } from './index-store.js';
import { segmentTerms } from './segment-format.js';

const FOLD_AT = 4096;

interface TenantTerms {
  main: string[];
  delta: Set<string>;
  deltaSorted: string[] | undefined;
}

export class TermDictionary {
  readonly #tenants = new Map<string, TenantTerms>();
  constructor(private readonly store: IndexStore) {}

  /**
   * The tenant's terms as sorted lists (UTF-16 code unit order, which fuzzy.ts walks): the main array and
   * a small delta of recent segments; search both rather than merge per query.
   */
  lists(tenantId: string): (readonly string[])[] {
    let t = this.#tenants.get(tenantId);
    if (t === undefined) {
      t = { main: this.#load(tenantId), delta: new Set(), deltaSorted: undefined };
      this.#tenants.set(tenantId, t);
    }
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
    if (t === undefined) return; // not loaded yet: the load will see it
    for (const { term } of segmentTerms(this.store, tenantId, segmentId, transaction ? { transaction } : {})) {
      if (!t.delta.has(term)) {
        t.delta.add(term);
        t.deltaSorted = undefined;
      }
    }
  }

  dropped(tenantId: string): void {
    this.#tenants.delete(tenantId);
  }

  #load(tenantId: string): string[] {
    const seen = new Set<string>();
    const txn = this.store.root.useReadTransaction();
    try {
      for (const key of this.store.meta.getKeys({
        start: [tenantId, 'seg'],
        end: [tenantId, 'seg', RANGE_END],
        transaction: txn,
      }))
        for (const { term } of segmentTerms(this.store, tenantId, (key as Key)[2] as number, { transaction: txn }))
          seen.add(term);
    } finally {
      txn.done();
    }
    return [...seen].sort();
  }
}
