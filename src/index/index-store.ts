/**
 * The index's sub-databases in the shared LMDB environment and their key layouts. Every key starts with
 * the tenant id (ordered-binary arrays), so a tenant is one key range in every sub-database.
 *
 *   index-meta      [t, 'stats']            → TenantStats            (msgpack)
 *                   [t, 'seg', segId]       → SegmentMeta            (msgpack)
 *                   [t, 'pending', segId]   → { uid }: a merge output being written, invisible until swapped in
 *                   [t, 'garbage', segId]   → { uid }: a merged-away segment whose records are still being removed
 *   index-terms     [t, segId, firstTerm]   → dictionary block: up to 128 sorted terms, front-coded, with the
 *                                             postings of the small ones inline (segment-format.ts);
 *                                             sorted, so a term or prefix is found from the block at or before it
 *   index-positions [t, segId, firstTerm]   → positions of that block's inline terms    read only for phrases
 *   index-large     [t, segId, term, 0|1]   → postings (0) / positions (1) of a term too big to inline
 *   index-norms     [t, segId]              → one norm byte per (doc, field)   binary
 *   index-deletes   [t, segId]              → tombstone bitset                 binary
 *   index-docs      [t, segId, localDoc]    → DocRecord              (msgpack)
 *   index-ids       [t, docId]              → [segId, localDoc]      (msgpack)
 *   index-words     [t, foldedWord]         → the word as first written  (msgpack): as-you-type completion
 *                                             shows words, not index terms ("Müller", not "mull")
 */
import type { Database, RootDatabase } from 'lmdb';
import { NUM_FIELDS } from './postings-codec.js';

export interface TenantStats {
  /** Live documents. */
  docs: number;
  /** Sum of field lengths (positions) of live documents, per field. */
  lengthSum: number[];
  nextSegmentId: number;
}

export interface SegmentMeta {
  id: number;
  /** Unique over the life of the database: caches key on it (segment ids restart after dropTenant). */
  uid: string;
  docs: number;
  deleted: number;
}

export interface DocRecord {
  id: string;
  createdMs: number;
  mediaType: string;
  language: string;
  lengths: number[];
}

export type Key = (string | number)[];

export class IndexStore {
  readonly meta: Database<TenantStats | SegmentMeta, Key>;
  readonly terms: Database<Buffer, Key>;
  readonly positions: Database<Buffer, Key>;
  readonly large: Database<Buffer, Key>;
  readonly norms: Database<Buffer, Key>;
  readonly deletes: Database<Buffer, Key>;
  readonly docs: Database<DocRecord, Key>;
  readonly ids: Database<[number, number], Key>;
  readonly words: Database<string, Key>;

  constructor(readonly root: RootDatabase) {
    this.meta = root.openDB({ name: 'index-meta', encoding: 'msgpack' });
    this.terms = root.openDB({ name: 'index-terms', encoding: 'binary' });
    this.positions = root.openDB({ name: 'index-positions', encoding: 'binary' });
    this.large = root.openDB({ name: 'index-large', encoding: 'binary' });
    this.norms = root.openDB({ name: 'index-norms', encoding: 'binary' });
    this.deletes = root.openDB({ name: 'index-deletes', encoding: 'binary' });
    this.docs = root.openDB({ name: 'index-docs', encoding: 'msgpack' });
    this.ids = root.openDB({ name: 'index-ids', encoding: 'msgpack' });
    this.words = root.openDB({ name: 'index-words', encoding: 'msgpack' });
  }

  /** Every sub-database holding tenant data, for dropTenant. */
  all(): Database<unknown, Key>[] {
    return [
      this.meta,
      this.terms,
      this.positions,
      this.large,
      this.norms,
      this.deletes,
      this.docs,
      this.ids,
      this.words,
    ] as Database<unknown, Key>[];
  }
}

/** The end of a key range holding `prefix` and every longer key. */
export const RANGE_END = '\u{10FFFF}';

export function emptyStats(): TenantStats {
  return { docs: 0, lengthSum: new Array<number>(NUM_FIELDS).fill(0), nextSegmentId: 1 };
}

export function toBuffer(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}
