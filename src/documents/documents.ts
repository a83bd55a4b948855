import {
  isSealedFormatError,
  openStream,
  rewrapHeaderForRecipient,
  sealStream,
  unwrapFileKeyForTenant,
} from '../crypto/index.js';
import type { UploadRequest } from '../gen/archivar/v1/documents.js';
import { failedPrecondition, invalidArgument, notFound } from '../server/errors.js';
import { type DocumentRecord, FINAL_STATUSES, hasOriginal, type ListFilter, memberKey } from '../store/document-store.js';
import { newId } from '../store/ids.js';
import { removeTenantRangeSync } from '../store/index.js';
import { mapSealedError } from './crypto-errors.js';
import type { DocumentsDeps } from './deps.js';
import type { ProcessingEvent } from './events.js';
import { MAX_TAGS, receiveUpload, safeFileName, tagSet, type UploadOrigin, type UploadResult, validateTag } from './upload.js';

export type { DocumentsDeps } from './deps.js';

/** Keys removed per transaction when a tenant is erased. */
const ERASE_BATCH = 2000;

export interface Who {
  tenantId: string;
  userId: string;
}

/** A downloadable artifact: header (for sealed downloads) and the byte stream. */
export interface Artifact {
  fileName: string;
  mediaType: string;
  size: number;
  contentId: string;
  sealedHeader: Buffer;
  body: AsyncIterable<Buffer>;
}

/** The documents domain: every operation of DocumentsService, scoped to the caller's tenant. */
export class Documents {
  /**
   * Called after a tag change is durable (the search index re-reads the document's tags); the change is
   * answered once what it returns has settled, so a search right after it filters and facets the new tags.
   * Resolving means the index has the tags (or does not hold the document). The hook calls `settle` inside
   * the write transaction that stores the tags (whether or not the index holds the document): it clears the
   * change's pending-tags note in that commit, so the note goes exactly when the tags are in. A rejection is
   * logged and keeps the note, and the next start applies it (`applyPendingTags`), as it does when a crash
   * came between the tag commit and the index write.
   */
  onTagged: ((doc: DocumentRecord, settle: () => void) => void | Promise<void>) | undefined;
  /**
   * Called when a tenant's documents were erased (with their ids), so running work stops and derived data
   * (the search index) goes too.
   */
  onTenantErased: ((tenantId: string, documentIds: readonly string[]) => Promise<void>) | undefined;

  constructor(readonly deps: DocumentsDeps) {}

  async upload(who: Who, messages: AsyncIterable<UploadRequest>, signal: AbortSignal): Promise<UploadResult> {
    const result = await receiveUpload(this.deps, who, messages, signal);
    if (result.retagged !== undefined) await this.#indexTags(result.document, result.retagged);
    return result;
  }

  /**
   * The server's own ingestion (IMAP mail, attachments): the bytes are sealed to the server's key exactly
   * as a client would, and take the same verified path as an upload (durable, read back, deduplicated by
   * idempotency key). The plaintext is only ever in memory.
   */
  async ingest(
    who: Who,
    file: { fileName: string; mediaType: string; bytes: Uint8Array; idempotencyKey: string; tags?: string[] },
    origin: UploadOrigin,
    signal: AbortSignal,
  ): Promise<UploadResult> {
    const key = this.deps.keyring.serverKeyPair;
    const sealed = sealStream([file.bytes], {
      serverPublicKey: key.publicKey,
      serverKeyId: key.keyId,
      context: { kind: 'original' },
    });
    async function* messages(): AsyncGenerator<UploadRequest> {
      yield {
        part: {
          $case: 'header',
          value: {
            fileName: safeFileName(file.fileName, 'unnamed'),
            mediaType: file.mediaType.slice(0, 127),
            declaredSize: BigInt(file.bytes.byteLength),
            tags: file.tags ?? [],
            idempotencyKey: file.idempotencyKey,
            sealedHeader: sealed.header,
          },
        },
      };
      for await (const chunk of sealed.body) yield { part: { $case: 'chunk', value: chunk } };
    }
    const result = await receiveUpload(this.deps, who, messages(), signal, origin);
    if (result.retagged !== undefined) await this.#indexTags(result.document, result.retagged);
    return result;
  }

  /**
   * A server-side import (an IMAP mail) that failed before anything could be stored — too large, or refused
   * by a permanent error: a FAILED record without an original, so the owner finds it and its reason in the
   * document list. Idempotent by key like `ingest`: a repeat returns the existing record.
   */
  async recordFailedImport(
    who: Who,
    file: { fileName: string; mediaType: string; size: number; reason: string; idempotencyKey: string; tags?: string[] },
    source: DocumentRecord['source'],
  ): Promise<DocumentRecord> {
    const { store, documents, clock } = this.deps;
    const now = clock();
    const record: DocumentRecord = {
      id: newId('doc', now),
      tenantId: who.tenantId,
      parentId: null,
      children: [],
      fileName: safeFileName(file.fileName, 'unnamed'),
      declaredMediaType: file.mediaType,
      mediaType: file.mediaType,
      contentId: '',
      size: file.size,
      storedSize: 0,
      status: 'FAILED',
      statusReason: file.reason,
      source,
      tags: tagSet(file.tags ?? []),
      createdMs: now,
      updatedMs: now,
      uploadedBy: who.userId,
      idempotencyKey: file.idempotencyKey,
      header: Buffer.alloc(0),
      jobId: null,
      metadata: {},
      artifacts: [],
    };
    const result = await store.atomic(() => {
      const existing = documents.byIdempotencyKey(who.tenantId, file.idempotencyKey);
      if (existing) return existing;
      documents.insertSync(record);
      return record;
    });
    await store.flushed();
    if (result === record) this.emit(record, 'FAILED', file.reason);
    return result;
  }

  /** The tenant's document; another tenant's id is NOT_FOUND exactly like an unknown one. */
  get(tenantId: string, id: string): DocumentRecord {
    const doc = id.length > 0 && id.length <= 64 ? this.deps.documents.get(tenantId, id) : undefined;
    if (!doc) throw notFound(`no document ${JSON.stringify(id.slice(0, 64))}`);
    return doc;
  }

  list(tenantId: string, filter: ListFilter, pageSize: number, cursor: string) {
    let after: { createdMs: number; id: string } | null = null;
    if (cursor) {
      try {
        const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
        if (!Array.isArray(parsed) || typeof parsed[0] !== 'number' || typeof parsed[1] !== 'string') throw new Error('shape');
        after = { createdMs: parsed[0], id: parsed[1] };
      } catch {
        throw invalidArgument('the cursor is not one this server handed out');
      }
    }
    const page = this.deps.documents.list(tenantId, filter, pageSize, after);
    const nextCursor =
      page.more && page.last ? Buffer.from(JSON.stringify([page.last.createdMs, page.last.id])).toString('base64url') : '';
    return { documents: page.documents, nextCursor };
  }

  /**
   * The original, either sealed (the stored body as is, file key re-wrapped to the caller's X25519 key) or
   * opened here and streamed as plaintext (over TLS).
   */
  async original(tenantId: string, id: string, recipient: { publicKey: Uint8Array } | 'plaintext'): Promise<Artifact> {
    const doc = this.get(tenantId, id);
    if (!hasOriginal(doc)) throw notFound(`the original was not stored: ${doc.statusReason}`);
    const tenantKey = await this.deps.keyring.tenantKey(tenantId);
    const binding = { tenantId, documentId: id, kind: 'original' };
    const body = toAsync(this.deps.blobs.read(tenantId, id, 'original'));
    if (recipient === 'plaintext') {
      let fileKey: Buffer;
      try {
        fileKey = unwrapFileKeyForTenant(doc.header, tenantKey, binding);
      } catch (err) {
        throw mapSealedError(err, 'stored document');
      }
      const opened = openStream(doc.header, body, { fileKey }, { maxPlaintextBytes: doc.size, context: { kind: 'original' } });
      fileKey.fill(0);
      return {
        fileName: doc.fileName,
        mediaType: doc.mediaType,
        size: doc.size,
        contentId: doc.contentId,
        sealedHeader: Buffer.alloc(0),
        body: mapErrors(opened),
      };
    }
    if (recipient.publicKey.byteLength !== 32) throw invalidArgument('recipient_public_key must be a raw 32-byte X25519 key');
    let fileKey: Buffer;
    try {
      fileKey = unwrapFileKeyForTenant(doc.header, tenantKey, binding);
    } catch (err) {
      throw mapSealedError(err, 'stored document');
    }
    let header: Buffer;
    try {
      header = rewrapHeaderForRecipient(doc.header, { fileKey }, recipient.publicKey);
    } catch (err) {
      // The stored key opened above: what fails now is the caller's key (a low-order point such as all zeros),
      // not a key of ours to fetch again with GetServerKey.
      if (isSealedFormatError(err)) throw invalidArgument(`recipient_public_key is not a usable X25519 key: ${err.message}`);
      throw err;
    } finally {
      fileKey.fill(0);
    }
    return {
      fileName: doc.fileName,
      mediaType: doc.mediaType,
      size: doc.storedSize,
      contentId: doc.contentId,
      sealedHeader: header,
      body,
    };
  }

  /** Deletes a document and its descendants: records, blobs, jobs; returns their ids. */
  async delete(tenantId: string, id: string): Promise<string[]> {
    const root = this.get(tenantId, id);
    const { store, documents, blobs, jobs } = this.deps;
    const removed: DocumentRecord[] = [];
    await store.atomic(() => {
      const stack = [root.id];
      while (stack.length > 0) {
        const docId = stack.pop() as string;
        const doc = documents.get(tenantId, docId);
        if (!doc) continue;
        stack.push(...doc.children);
        if (doc.jobId) jobs.removeSync(doc.jobId);
        blobs.removeSync(tenantId, docId);
        documents.removeSync(doc);
        removed.push(doc);
      }
      if (root.parentId) {
        const parent = documents.get(tenantId, root.parentId);
        if (parent)
          documents.updateSync({
            ...parent,
            children: parent.children.filter((c) => c !== root.id),
            deletedMembers: [...(parent.deletedMembers ?? []), memberKey(root)],
          });
      }
    });
    await store.flushed();
    const forgotten: (void | Promise<void>)[] = [];
    for (const doc of removed) {
      forgotten.push(this.deps.onDeleted(doc));
      this.emit(doc, 'DELETED', 'deleted');
    }
    // Answered once the index has tombstoned them: a search after the answer must not count them in its
    // total, facets or Suggest titles (the hits alone are checked against the records).
    await Promise.all(forgotten);
    return removed.map((d) => d.id);
  }

  /**
   * Erasure of a whole tenant, after its key was deleted (crypto-shredding): every key of its records,
   * lookups, timeline, blobs, pending uploads and jobs goes, without opening anything, in transactions of at
   * most ERASE_BATCH keys. Returns how many documents there were.
   */
  async eraseTenant(tenantId: string): Promise<number> {
    const { store, documents, blobs, jobs } = this.deps;
    const ids = [...documents.ids(tenantId)];
    const pending = store.db('pendingUploads');
    await store.atomic(() => jobs.removeTenantSync(tenantId));
    for (;;) {
      // Each call removes less than it may only once its range is empty: fewer than the batch means all are.
      const removed = await store.atomic(() => {
        let n = documents.removeTenantSync(tenantId, ERASE_BATCH);
        if (n < ERASE_BATCH) n += blobs.removeTenantSync(tenantId, ERASE_BATCH - n);
        if (n < ERASE_BATCH) n += removeTenantRangeSync(pending, tenantId, ERASE_BATCH - n);
        return n;
      });
      if (removed < ERASE_BATCH) break;
    }
    await store.flushed();
    await this.onTenantErased?.(tenantId, ids);
    return ids.length;
  }

  async tag(tenantId: string, id: string, add: string[], remove: string[]): Promise<string[]> {
    for (const t of [...add, ...remove]) validateTag(t);
    const { store, documents } = this.deps;
    const { updated, token } = await store.atomic(() => {
      const doc = this.get(tenantId, id);
      const sorted = tagSet(doc.tags, add, remove);
      if (sorted.length > MAX_TAGS) throw invalidArgument(`a document may carry at most ${MAX_TAGS} tags`);
      const updated = { ...doc, tags: sorted, updatedMs: this.deps.clock() };
      documents.updateSync(updated);
      // In the same commit: a crash before the index takes the tags leaves this note for the next start.
      return { updated, token: documents.markTagsPendingSync(tenantId, id) };
    });
    await store.flushed();
    await this.#indexTags(updated, token);
    return updated.tags;
  }

  /**
   * The search index takes a committed tag change (onTagged), clearing the change's pending-tags note in the
   * same write. Never throws: the tags are committed either way, and a note left behind is applied at the
   * next start. Returns whether the index took it.
   */
  async #indexTags(doc: DocumentRecord, token: number): Promise<boolean> {
    if (this.onTagged === undefined) return false;
    const { documents } = this.deps;
    try {
      await this.onTagged(doc, () => documents.clearTagsPendingSync(doc.tenantId, doc.id, token));
    } catch (err) {
      this.deps.log?.error({ err, documentId: doc.id }, 'the search index did not take a tag change; the next start applies it');
      return false;
    }
    return true;
  }

  /**
   * Tag changes committed to the records whose index write never ran or failed (a kill between the two
   * transactions, an index write error): for each pending-tags note of a tenant with its record keys loaded,
   * the index re-reads the record's tags (onTagged) and the note is cleared. A note of a document deleted
   * since goes with its record; one whose record does not open stays (logged). `step` runs before each note.
   * Returns the notes applied.
   */
  async applyPendingTags(ready: (tenantId: string) => Promise<boolean>, step: () => Promise<void>): Promise<number> {
    const { documents } = this.deps;
    let n = 0;
    for (const [tenantId, id, token] of [...documents.tagsPending()]) {
      await step();
      if (!(await ready(tenantId))) continue;
      let doc: DocumentRecord | undefined;
      try {
        doc = documents.get(tenantId, id);
      } catch (err) {
        this.deps.log?.error({ err, tenantId, documentId: id }, 'a record with a pending tag change does not open');
        continue;
      }
      if (doc === undefined) await documents.clearTagsPending(tenantId, id, token);
      else if (await this.#indexTags(doc, token)) n++;
    }
    return n;
  }

  /**
   * Events for one document (starting with its current state, ending after a final one) or for the
   * whole tenant (until cancelled).
   */
  async *watch(tenantId: string, id: string, signal: AbortSignal): AsyncGenerator<ProcessingEvent> {
    if (!id) {
      yield* this.deps.events.subscribe(tenantId, signal);
      return;
    }
    const doc = this.get(tenantId, id);
    const controller = new AbortController();
    const both = AbortSignal.any([signal, controller.signal]);
    // Subscribe before reading the state, so no event falls between the two.
    const events = this.deps.events.subscribe(tenantId, both);
    const current = this.deps.documents.get(tenantId, id) ?? doc;
    yield event(current, current.status, current.statusReason);
    if (FINAL_STATUSES.has(current.status)) return;
    try {
      for await (const e of events) {
        if (e.documentId !== id) continue;
        yield e;
        if (FINAL_STATUSES.has(e.status) || e.step === 'DELETED') return;
      }
    } finally {
      controller.abort();
    }
  }

  emit(doc: DocumentRecord, step: string, message: string, page = 0, pageCount = 0): void {
    this.deps.events.emit({ ...event(doc, doc.status, message), step, page, pageCount });
  }

  /** Fails unless processing has produced `kind`; previews and text are the pipeline's. */
  requireArtifact(doc: DocumentRecord, kind: string): void {
    if (!doc.artifacts.includes(kind)) {
      if (!FINAL_STATUSES.has(doc.status))
        throw failedPrecondition(`the document is still being processed; ${kind} is not ready yet`);
      throw notFound(`the document has no ${kind}`);
    }
  }
}

function event(doc: DocumentRecord, status: DocumentRecord['status'], message: string): ProcessingEvent {
  return {
    tenantId: doc.tenantId,
    documentId: doc.id,
    status,
    step: status,
    page: 0,
    pageCount: 0,
    message,
    atMs: doc.updatedMs,
  };
}

async function* mapErrors(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield* source;
  } catch (err) {
    throw mapSealedError(err, 'stored document');
  }
}

async function* toAsync<T>(source: Iterable<T>): AsyncGenerator<T> {
  yield* source;
}
