/**
 * The index's sub-databases in the shared LMDB environment and their key layouts. Every key starts with
 * the tenant id (ordered-binary arrays), so a tenant is one key range in every sub-database.
 *
 * Nothing of a document's text is stored in the clear: keys hold only numbers and blind (HMAC) ids, and
 * every value that carries terms, words, postings or document data is sealed with the tenant's record key
 * (RecordCipher, AAD = sub-database and key, see `seal`). Segment and tenant bookkeeping (counts, ids,
 * norms, tombstones) stays plain.
 *
 *   index-meta      [t, 'stats']            → TenantStats            (msgpack)
 *                   [t, 'seg', segId]       → SegmentMeta            (msgpack)
 *                   [t, 'pending', segId]   → { uid }: a merge output being written, invisible until swapped in
 *                   [t, 'garbage', segId]   → { uid }: a merged-away segment whose records are still being removed
 *                   ['', 'format']          → the stored layout's version (INDEX_FORMAT, search-index.ts)
 *                   ['', 'rebuild', t]      → true: t's index is to be rebuilt from its documents (a layout change)
 *   index-dirs      [t, segId]              → sealed: the first term of each dictionary block, in order
 *   index-terms     [t, segId, blockNo]     → sealed dictionary block: up to 128 sorted terms, front-coded,
 *                                             with the postings of the small ones inline (segment-format.ts)
 *   index-positions [t, segId, chunkNo]     → sealed chunk of the segment's positions stream (every term's
 *                                             positions in term order); read only for phrases and merges
 *   index-large     [t, segId, blockNo, entry, 0] → sealed postings of a term too big to inline
 *   index-norms     [t, segId]              → one norm byte per (doc, field)   binary
 *   index-deletes   [t, segId]              → tombstone bitset                 binary
 *   index-docs      [t, segId, localDoc]    → sealed DocRecord (msgpack)
 *   index-ids       [t, docId]              → [segId, localDoc]      (msgpack)
 *   index-spans     [t, docId]              → sealed: where each body position lies in its page (spans.ts),
 *                                             for snippets; by document, so merges leave it alone
 *   index-values    [t, segId, blockNo]     → sealed ids and values (doc-values.ts) of 128 local docs
 *                                             (segment-values.ts)
 *   index-words     [t, blockNo]            → sealed [folded, the word as first written, …]: the words new to
 *                                             one write; as-you-type completion shows words, not index terms
 *                                             ("Müller", not "mull")
 */
import type { Database, RootDatabase, Transaction } from 'lmdb';
import { pack, unpack } from 'msgpackr';
import type { RecordCipher } from '../crypto/record-cipher.js';
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

/** Sub-databases whose values are sealed. */
export type SealedDb = 'dirs' | 'terms' | 'positions' | 'large' | 'docs' | 'words' | 'values' | 'spans';

/** The binary read of lmdb-js's Database, which its typings leave out (index values are plain bytes). */
export type BinaryGetter = { getBinary(key: Key, options?: { transaction?: Transaction }): Uint8Array | undefined };
/** The index-meta operations merges and format upgrades use, typed without lmdb-js's generic value type. */
export type MetaDb = {
  get(key: Key, o?: { transaction?: Transaction }): unknown;
  put(key: Key, v: unknown): unknown;
  remove(key: Key): Promise<boolean>;
};

/** The AAD a sealed value is bound to: its sub-database and key (the tenant is bound by the record key). */
export function sealedAad(db: SealedDb, key: Key): string {
  return `${db}/${key.slice(1).join('/')}`;
}

export class IndexStore {
  readonly meta: Database<TenantStats | SegmentMeta, Key>;
  readonly dirs: Database<Buffer, Key>;
  readonly terms: Database<Buffer, Key>;
  readonly positions: Database<Buffer, Key>;
  readonly large: Database<Buffer, Key>;
  readonly norms: Database<Buffer, Key>;
  readonly deletes: Database<Buffer, Key>;
  readonly docs: Database<Buffer, Key>;
  readonly ids: Database<[number, number], Key>;
  readonly words: Database<Buffer, Key>;
  readonly values: Database<Buffer, Key>;
  readonly spans: Database<Buffer, Key>;

  constructor(
    readonly root: RootDatabase,
    readonly cipher: RecordCipher,
  ) {
    this.meta = root.openDB({ name: 'index-meta', encoding: 'msgpack' });
    this.dirs = root.openDB({ name: 'index-dirs', encoding: 'binary' });
    this.terms = root.openDB({ name: 'index-terms', encoding: 'binary' });
    this.positions = root.openDB({ name: 'index-positions', encoding: 'binary' });
    this.large = root.openDB({ name: 'index-large', encoding: 'binary' });
    this.norms = root.openDB({ name: 'index-norms', encoding: 'binary' });
    this.deletes = root.openDB({ name: 'index-deletes', encoding: 'binary' });
    this.docs = root.openDB({ name: 'index-docs', encoding: 'binary' });
    this.ids = root.openDB({ name: 'index-ids', encoding: 'msgpack' });
    this.words = root.openDB({ name: 'index-words', encoding: 'binary' });
    this.values = root.openDB({ name: 'index-values', encoding: 'binary' });
    this.spans = root.openDB({ name: 'index-spans', encoding: 'binary' });
  }

  /** Seals a value of a sealed sub-database, bound to its key (the tenant is key[0]). */
  seal(db: SealedDb, key: Key, plain: Uint8Array): Buffer {
    return this.cipher.seal(key[0] as string, 'index-block', plain, sealedAad(db, key));
  }

  open(db: SealedDb, key: Key, sealed: Uint8Array): Buffer {
    return this.cipher.open(key[0] as string, 'index-block', sealed, sealedAad(db, key));
  }

  /** Reads and opens one sealed value. */
  get(db: SealedDb, key: Key, transaction?: Transaction): Buffer | undefined {
    const v = (this[db] as unknown as BinaryGetter).getBinary(key, transaction ? { transaction } : {});
    return v === undefined ? undefined : this.open(db, key, v);
  }

  putSealed(db: SealedDb, key: Key, plain: Uint8Array): void {
    this[db].put(key, this.seal(db, key, plain));
  }

  putDoc(tenantId: string, segmentId: number, local: number, rec: DocRecord): void {
    this.putSealed('docs', [tenantId, segmentId, local], pack(rec));
  }

  doc(tenantId: string, segmentId: number, local: number, transaction?: Transaction): DocRecord | undefined {
    const v = this.get('docs', [tenantId, segmentId, local], transaction);
    return v === undefined ? undefined : (unpack(v) as DocRecord);
  }

  /** A DocRecord from a range read of index-docs. */
  docOf(key: Key, sealed: Uint8Array): DocRecord {
    return unpack(this.open('docs', key, sealed)) as DocRecord;
  }

  /** Every sub-database holding tenant data, for dropTenant. */
  all(): Database<unknown, Key>[] {
    return [
      this.meta,
      this.dirs,
      this.terms,
      this.positions,
      this.large,
      this.norms,
      this.deletes,
      this.docs,
      this.ids,
      this.words,
      this.values,
      this.spans,
    ] as Database<unknown, Key>[];
  }
}

/** Per environment and tenant: the next segment id this process has not handed out yet. */
const nextSegmentIds = new WeakMap<RootDatabase, Map<string, number>>();

/**
 * Hands out a tenant's next segment id: at least `storedNext` (TenantStats.nextSegmentId as read) and never
 * one handed out before in this process, whether or not the write that took it has committed. Adds take
 * theirs when they are queued, so their segment is built and sealed for it in a pool thread while earlier
 * writes and merges (which take theirs here too) go on; the writer stores nextSegmentId past it. Ids do
 * not restart after a tenant is dropped (a build for the old id may still be under way).
 */
export function reserveSegmentId(root: RootDatabase, tenantId: string, storedNext: number): number {
  let byTenant = nextSegmentIds.get(root);
  if (byTenant === undefined) {
    byTenant = new Map();
    nextSegmentIds.set(root, byTenant);
  }
  const id = Math.max(storedNext, byTenant.get(tenantId) ?? 0);
  byTenant.set(tenantId, id + 1);
  return id;
}

/** The end of a key range holding `prefix` and every longer key. */
export const RANGE_END = '\u{10FFFF}';

export function emptyStats(): TenantStats {
  return { docs: 0, lengthSum: new Array<number>(NUM_FIELDS).fill(0), nextSegmentId: 1 };
}

export function toBuffer(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}
