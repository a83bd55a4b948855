import type { Store } from './database.js';

export type DocumentStatus = 'QUEUED' | 'PROCESSING' | 'STORED' | 'INDEXED' | 'FAILED' | 'UNSUPPORTED' | 'ENCRYPTED';
export type DocumentSource = 'upload' | 'imap' | 'attachment' | 'archive-member';
/** False for the record of an import that failed before anything was stored (see Documents.recordFailedImport). */
export const hasOriginal = (doc: Pick<DocumentRecord, 'header'>): boolean => doc.header.byteLength > 0;

export const FINAL_STATUSES: ReadonlySet<DocumentStatus> = new Set(['STORED', 'INDEXED', 'FAILED', 'UNSUPPORTED', 'ENCRYPTED']);

/** What LMDB holds per document (msgpack). The sealed header's file key is wrapped under the tenant key. */
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
}

export interface ListFilter {
  statuses?: ReadonlySet<DocumentStatus>;
  mediaTypes?: ReadonlySet<string>;
  tag?: string;
  createdFromMs?: number;
  createdToMs?: number;
  parentId?: string;
}

/** Documents of each tenant: records, lookups by idempotency key and content id, and a timeline for listing. */
export class DocumentStore {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  get #docs() {
    return this.#store.db<DocumentRecord>('documents');
  }
  get #keys() {
    return this.#store.db<string>('documentKeys');
  }
  get #timeline() {
    return this.#store.db<null>('documentTimeline');
  }

  get(tenantId: string, id: string): DocumentRecord | undefined {
    return this.#docs.get([tenantId, id]);
  }

  byIdempotencyKey(tenantId: string, key: string): DocumentRecord | undefined {
    const id = this.#keys.get([tenantId, 'idem', key]);
    return id === undefined ? undefined : this.get(tenantId, id);
  }

  byContentId(tenantId: string, contentId: string): DocumentRecord | undefined {
    const id = this.#keys.get([tenantId, 'content', contentId]);
    return id === undefined ? undefined : this.get(tenantId, id);
  }

  /** Inserts a new record with its lookups; call inside a write transaction. */
  insertSync(doc: DocumentRecord): void {
    this.#docs.putSync([doc.tenantId, doc.id], doc);
    if (doc.idempotencyKey) this.#keys.putSync([doc.tenantId, 'idem', doc.idempotencyKey], doc.id);
    // Children (attachments) may repeat content of top-level documents; only top-level uploads dedupe.
    if (doc.parentId === null && doc.contentId) this.#keys.putSync([doc.tenantId, 'content', doc.contentId], doc.id);
    this.#timeline.putSync([doc.tenantId, -doc.createdMs, doc.id], null);
  }

  /** Replaces a record (same id); call inside a write transaction. */
  updateSync(doc: DocumentRecord): void {
    this.#docs.putSync([doc.tenantId, doc.id], doc);
  }

  /** Removes a record and its lookups (not its blobs or jobs); call inside a write transaction. */
  removeSync(doc: DocumentRecord): void {
    this.#docs.removeSync([doc.tenantId, doc.id]);
    if (doc.idempotencyKey) this.#keys.removeSync([doc.tenantId, 'idem', doc.idempotencyKey]);
    if (this.#keys.get([doc.tenantId, 'content', doc.contentId]) === doc.id)
      this.#keys.removeSync([doc.tenantId, 'content', doc.contentId]);
    this.#timeline.removeSync([doc.tenantId, -doc.createdMs, doc.id]);
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
    const start = after ? [tenantId, -after.createdMs, `${after.id}\u0000`] : [tenantId];
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

  /** Every document id of a tenant (for erasure, reprocessing and export). */
  *ids(tenantId: string): Generator<string> {
    for (const key of this.#docs.getKeys({ start: [tenantId], end: [tenantId, '\uffff'] })) yield (key as [string, string])[1];
  }

  count(): number {
    return this.#docs.getCount();
  }
}

function matches(doc: DocumentRecord, f: ListFilter): boolean {
  if (f.statuses && f.statuses.size > 0 && !f.statuses.has(doc.status)) return false;
  if (f.mediaTypes && f.mediaTypes.size > 0 && !f.mediaTypes.has(doc.mediaType)) return false;
  if (f.tag && !doc.tags.includes(f.tag)) return false;
  if (f.createdFromMs !== undefined && doc.createdMs < f.createdFromMs) return false;
  if (f.createdToMs !== undefined && doc.createdMs >= f.createdToMs) return false;
  if (f.parentId !== undefined && doc.parentId !== f.parentId) return false;
  return true;
}
