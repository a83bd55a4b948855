import { randomInt } from 'node:crypto';
import type { Database } from 'lmdb';
import { pack, unpack } from 'msgpackr';
import { isSealedFormatError, type RecordCipher, SealedFormatError } from '../crypto/index.js';
import { type KeyPart, removeTenantRangeSync, type Store } from './database.js';
import { tagKey } from './tags.js';

export type DocumentStatus = 'QUEUED' | 'PROCESSING' | 'STORED' | 'INDEXED' | 'FAILED' | 'UNSUPPORTED' | 'ENCRYPTED';
export type DocumentSource = 'upload' | 'imap' | 'attachment' | 'archive-member';
/** False for the record of an import that failed before anything was stored (see Documents.recordFailedImport). */
export const hasOriginal = (doc: Pick<DocumentRecord, 'header'>): boolean => doc.header.byteLength > 0;

export const FINAL_STATUSES: ReadonlySet<DocumentStatus> = new Set(['STORED', 'INDEXED', 'FAILED', 'UNSUPPORTED', 'ENCRYPTED']);

/**
 * What LMDB holds per document: msgpack, sealed as a whole (see DocumentStore). The sealed header's file key
 * is wrapped under the tenant key.
 */
export interface DocumentRecord {
  id: string;
  tenantId: string;
  parentId: string | null;
  children: string[];
  fileName: string;
  declaredMediaType: string;
  mediaType: string;
  /** Hex SHA-256 of the plaintext. */
  contentId: string;
  /** Plaintext bytes (from the authenticated trailer). */
  size: number;
  /** Sealed bytes stored. */
  storedSize: number;
  status: DocumentStatus;
  statusReason: string;
  source: DocumentSource;
  tags: string[];
  createdMs: number;
  updatedMs: number;
  uploadedBy: string;
  idempotencyKey: string;
  /** Sealed header of the original, envelope re-wrapped for the tenant. */
  header: Buffer;
  /** Job currently scheduled for this document, if any. */
  jobId: string | null;
  metadata: Record<string, unknown>;
  /** Preview kinds that exist (e.g. 'text', 'thumbnail'). */
  artifacts: string[];
  /**
   * Members (file name NUL content id) of this archive or mail whose documents the user deleted: processing
   * it again (Reprocess) does not bring them back.
   */
  deletedMembers?: string[];
}

/** Which member of an archive or mail a child document is: its file name and content (deletedMembers). */
export function memberKey(m: { fileName: string; contentId: string }): string {
  return `${m.fileName}\u0000${m.contentId}`;
}

export interface ListFilter {
  statuses?: ReadonlySet<DocumentStatus>;
  mediaTypes?: ReadonlySet<string>;
  tag?: string;
  createdFromMs?: number;
  createdToMs?: number;
  parentId?: string;
}

/**
 * Documents of each tenant: records, lookups by idempotency key and content id, and a timeline for listing.
 *
 * Every record is sealed before it reaches LMDB (msgpack, then `RecordCipher.seal` with the tenant's
 * 'document' key, bound to the record's own key): file names, tags, recognised metadata and status reasons
 * are never on disk in the clear. The idempotency-key and content-id lookups are keyed by blind keys (an
 * HMAC under the tenant key), so the disk neither shows a client's key nor lets anyone confirm a guessed
 * document by its SHA-256. Only ids, creation times (the timeline) and the sizes of the sealed values are
 * visible. The tenant's record keys must be loaded (`RecordCipher.ready`) before any call that reads or
 * writes a record; a missing `ready` throws.
 */
export class DocumentStore {
  readonly #store: Store;
  readonly #cipher: RecordCipher;

  constructor(store: Store, cipher: RecordCipher) {
    this.#store = store;
    this.#cipher = cipher;
  }

  get #docs() {
    return this.#store.db<Buffer>('documents');
  }
  get #keys() {
    return this.#store.db<string>('documentKeys');
  }
  get #timeline() {
    return this.#store.db<null>('documentTimeline');
  }
  get #tagsPending() {
    return this.#store.db<number>('documentTagsPending');
  }

  /** The record, opened; throws SealedFormatError when the stored value fails authentication. */
  get(tenantId: string, id: string): DocumentRecord | undefined {
    const sealed = this.#docs.get([tenantId, id]);
    return sealed === undefined ? undefined : this.#open(tenantId, id, sealed);
  }

  byIdempotencyKey(tenantId: string, key: string): DocumentRecord | undefined {
    const id = this.#keys.get([tenantId, 'idem', this.#blind(tenantId, 'idem', key)]);
    return id === undefined ? undefined : this.get(tenantId, id);
  }

  byContentId(tenantId: string, contentId: string): DocumentRecord | undefined {
    const id = this.#keys.get([tenantId, 'content', this.#blind(tenantId, 'content', contentId)]);
    return id === undefined ? undefined : this.get(tenantId, id);
  }

  /** Inserts a new record with its lookups; call inside a write transaction. */
  insertSync(doc: DocumentRecord): void {
    this.#docs.putSync([doc.tenantId, doc.id], this.#seal(doc));
    if (doc.idempotencyKey)
      this.#keys.putSync([doc.tenantId, 'idem', this.#blind(doc.tenantId, 'idem', doc.idempotencyKey)], doc.id);
    // Children (attachments) may repeat content of top-level documents; only top-level uploads dedupe.
    if (doc.parentId === null && doc.contentId)
      this.#keys.putSync([doc.tenantId, 'content', this.#blind(doc.tenantId, 'content', doc.contentId)], doc.id);
    this.#timeline.putSync(timelineKey(doc), null);
  }

  /** Replaces a record (same id); call inside a write transaction. */
  updateSync(doc: DocumentRecord): void {
    this.#docs.putSync([doc.tenantId, doc.id], this.#seal(doc));
  }

  /** Removes a record and its lookups (not its blobs or jobs); call inside a write transaction. */
  removeSync(doc: DocumentRecord): void {
    this.#docs.removeSync([doc.tenantId, doc.id]);
    if (doc.idempotencyKey) this.#keys.removeSync([doc.tenantId, 'idem', this.#blind(doc.tenantId, 'idem', doc.idempotencyKey)]);
    if (doc.contentId) {
      const contentKey = [doc.tenantId, 'content', this.#blind(doc.tenantId, 'content', doc.contentId)];
      if (this.#keys.get(contentKey) === doc.id) this.#keys.removeSync(contentKey);
    }
    this.#timeline.removeSync(timelineKey(doc));
    this.#tagsPending.removeSync([doc.tenantId, doc.id]);
  }

  /**
   * Notes, in the transaction that commits a record's new tags, that the search index has yet to take them
   * (it is written in a transaction of its own, after this one). Returns the note's token: a later tag
   * change of the same document replaces it, so only the change that wrote the note may clear it.
   */
  markTagsPendingSync(tenantId: string, id: string): number {
    const token = randomInt(2 ** 47);
    this.#tagsPending.putSync([tenantId, id], token);
    return token;
  }

  /**
   * Clears the note once the index holds the tags as they were after the change that wrote `token` (or
   * later): unless a later change replaced it meanwhile, whose own index write has not been confirmed.
   * Call inside a write transaction (best: the index's write of the tags). Returns whether it was cleared.
   */
  clearTagsPendingSync(tenantId: string, id: string, token: number): boolean {
    if (this.#tagsPending.get([tenantId, id]) !== token) return false;
    this.#tagsPending.removeSync([tenantId, id]);
    return true;
  }

  /** clearTagsPendingSync in a write transaction of its own. */
  clearTagsPending(tenantId: string, id: string, token: number): Promise<boolean> {
    return this.#store.atomic(() => this.clearTagsPendingSync(tenantId, id, token));
  }

  /** The tag changes whose index write is not confirmed, as [tenant, document, token] (keys and numbers only). */
  *tagsPending(): Generator<[string, string, number]> {
    for (const { key, value } of this.#tagsPending.getRange({})) {
      const [tenantId, id] = key as [string, string];
      yield [tenantId, id, value];
    }
  }

  /**
   * Removes up to `max` keys of the tenant from the records, lookups and timeline without opening anything
   * (erasure runs after the tenant key is gone); returns how many were removed, 0 when none is left. Call
   * inside a write transaction, repeatedly, so no single transaction grows without bound.
   */
  removeTenantSync(tenantId: string, max: number): number {
    let n = 0;
    for (const db of [this.#docs, this.#keys, this.#timeline, this.#tagsPending] as Database<unknown, KeyPart[] | string>[]) {
      if (n < max) n += removeTenantRangeSync(db, tenantId, max - n);
    }
    return n;
  }

  /**
   * Newest first from `after` (the last [createdMs, id] of the previous page). Scans at most `scanLimit`
   * timeline entries so a very selective filter cannot hold a read snapshot for long; the returned
   * position lets the caller continue.
   */
  list(
    tenantId: string,
    filter: ListFilter,
    pageSize: number,
    after: { createdMs: number; id: string } | null,
    scanLimit = 20_000,
  ): { documents: DocumentRecord[]; last: { createdMs: number; id: string } | null; more: boolean } {
    const start = after ? [tenantId, 0 - after.createdMs, `${after.id}\u0000`] : [tenantId];
    const out: DocumentRecord[] = [];
    let last: { createdMs: number; id: string } | null = null;
    let scanned = 0;
    for (const key of this.#timeline.getKeys({ start, end: [tenantId, '\uffff'] })) {
      const [, negCreated, id] = key as [string, number, string];
      if (out.length === pageSize || scanned === scanLimit) return { documents: out, last, more: true };
      scanned++;
      last = { createdMs: -negCreated, id };
      const doc = this.get(tenantId, id);
      if (doc && matches(doc, filter)) out.push(doc);
    }
    return { documents: out, last, more: false };
  }

  /** Every document id of a tenant (for erasure, reprocessing and export); reads keys only. */
  *ids(tenantId: string): Generator<string> {
    for (const key of this.#docs.getKeys({ start: [tenantId], end: [tenantId, '\uffff'] })) yield (key as [string, string])[1];
  }

  /** The tenants that have records (keys only; each tenant's range is skipped over, not read). */
  *tenants(): Generator<string> {
    let start: KeyPart[] = [];
    for (;;) {
      let tenantId: string | undefined;
      for (const key of this.#docs.getKeys({ start, limit: 1 })) tenantId = (key as [string, string])[0];
      if (tenantId === undefined) return;
      yield tenantId;
      start = [tenantId, '\uffff'];
    }
  }

  count(): number {
    return this.#docs.getCount();
  }

  #seal(doc: DocumentRecord): Buffer {
    return this.#cipher.seal(doc.tenantId, 'document', pack(doc), recordAad(doc.tenantId, doc.id));
  }

  #open(tenantId: string, id: string, sealed: Uint8Array): DocumentRecord {
    let plain: Buffer;
    try {
      plain = this.#cipher.open(tenantId, 'document', sealed, recordAad(tenantId, id));
    } catch (err) {
      // Name the document (the caller's own), so a corrupt record can be found and deleted.
      if (isSealedFormatError(err)) throw new SealedFormatError(err.kind, `document ${id}: ${err.message}`, { cause: err });
      throw err;
    }
    return unpack(plain) as DocumentRecord;
  }

  #blind(tenantId: string, kind: 'idem' | 'content', text: string): string {
    return this.#cipher.blindKey(tenantId, 'document', `${kind}\u0000${text}`);
  }
}

/**
 * [tenant, −created, id]: newest first. `0 - x` rather than `-x`: a -0 key does not survive the round trip
 * through ordered-binary, so erasure (which deletes the keys it reads back) could not remove it.
 */
function timelineKey(doc: Pick<DocumentRecord, 'tenantId' | 'createdMs' | 'id'>): KeyPart[] {
  return [doc.tenantId, 0 - doc.createdMs, doc.id];
}

/** What a sealed record is bound to: its own LMDB key, so a value moved to another key fails to open. */
function recordAad(tenantId: string, id: string): string {
  return `${tenantId}/${id}`;
}

function matches(doc: DocumentRecord, f: ListFilter): boolean {
  if (f.statuses && f.statuses.size > 0 && !f.statuses.has(doc.status)) return false;
  if (f.mediaTypes && f.mediaTypes.size > 0 && !f.mediaTypes.has(doc.mediaType)) return false;
  const tag = f.tag ? tagKey(f.tag) : undefined;
  if (tag && !doc.tags.some((t) => tagKey(t) === tag)) return false;
  if (f.createdFromMs !== undefined && doc.createdMs < f.createdFromMs) return false;
  if (f.createdToMs !== undefined && doc.createdMs >= f.createdToMs) return false;
  if (f.parentId !== undefined && doc.parentId !== f.parentId) return false;
  return true;
}
