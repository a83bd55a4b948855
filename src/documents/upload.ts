import {
  isSealedFormatError,
  parseSealedHeader,
  rewrapHeaderForTenant,
  type SealedHeader,
  verifySealedChunks,
} from '../crypto/index.js';
import type { UploadHeader, UploadRequest } from '../gen/archivar/v1/documents.js';
import { cancelled, invalidArgument, resourceExhausted } from '../server/errors.js';
import type { DocumentRecord } from '../store/document-store.js';
import { newId } from '../store/ids.js';
import { isStorageFailure } from '../store/index.js';
import { tagKey } from '../store/tags.js';
import { mapSealedError } from './crypto-errors.js';
import type { DocumentsDeps } from './deps.js';

/** Where a document comes from: a client upload, or the server's own ingestion (IMAP, attachments). */
export interface UploadOrigin {
  source: DocumentRecord['source'];
  parentId: string | null;
}

export interface UploadResult {
  document: DocumentRecord;
  duplicate: boolean;
  /**
   * A duplicate whose stored document took the upload's new tags (the index must learn them): the token of
   * the pending-tags note committed with them (DocumentStore.markTagsPendingSync).
   */
  retagged?: number;
}

export const MAX_TAGS = 64;

/**
 * The upload path: header first, then sealed pieces written to LMDB as they arrive (never the whole file
 * in memory), the first of them together with the `pendingUploads` marker. Before answering: once the
 * pieces are committed, read every piece back from the committed snapshot and verify its tag and the
 * trailer, then commit the record and its job in one transaction and wait until that is durable. One
 * fsync covers both: LMDB commits are ordered and a restart always lands on a whole committed prefix, so
 * a durable record implies durable pieces, and pieces without a record carry their marker (swept at the
 * next start). On any failure the pieces written so far are removed.
 */
export async function receiveUpload(
  deps: DocumentsDeps,
  who: { tenantId: string; userId: string },
  messages: AsyncIterable<UploadRequest>,
  signal: AbortSignal,
  origin: UploadOrigin = { source: 'upload', parentId: null },
): Promise<UploadResult> {
  const { store, blobs, documents, jobs, keyring, config } = deps;
  const iterator = messages[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done || first.value.part?.$case !== 'header') throw invalidArgument('the first upload message must be the header');
  const header = first.value.part.value;
  validateHeader(header);
  let sealed: SealedHeader;
  try {
    sealed = parseSealedHeader(header.sealedHeader);
  } catch (err) {
    // The header arrives whole in one field: a short or malformed one is a bad field, not lost data.
    if (isSealedFormatError(err) && (err.kind === 'truncated' || err.kind === 'invalid-payload'))
      throw invalidArgument(`sealed header: ${err.message}`);
    throw mapSealedError(err, 'sealed header');
  }
  if (sealed.envelope.type !== 'x25519' || sealed.envelope.keyId !== keyring.serverKeyPair.keyId) {
    throw invalidArgument('the file key is not wrapped to this server’s key; fetch it with GetServerKey and seal again');
  }
  if (header.idempotencyKey) {
    const existing = documents.byIdempotencyKey(who.tenantId, header.idempotencyKey);
    if (existing) {
      // A retry of the upload the key names: the same file name, the same size when declared.
      if (
        existing.fileName !== header.fileName ||
        (header.declaredSize !== undefined && BigInt(existing.size) !== header.declaredSize)
      )
        throw keyUsedElsewhere(existing);
      return { document: existing, duplicate: false };
    }
  }

  const docId = newId('doc', deps.clock());
  const pending = store.db<number>('pendingUploads');
  let committed = false;
  try {
    let seq = 0;
    let stored = 0;
    let writes: Promise<boolean>[] = [];
    for (;;) {
      const next = await iterator.next();
      if (signal.aborted) throw signal.reason ?? cancelled('the upload was cancelled');
      if (next.done) break;
      const part = next.value.part;
      if (part?.$case === 'header') throw invalidArgument('the upload has a second header; send it once, first');
      if (part?.$case !== 'chunk') throw invalidArgument('an upload message carries neither header nor chunk');
      if (part.value.byteLength === 0) continue;
      stored += part.value.byteLength;
      if (stored > config.documents.maxUploadBytes) {
        throw resourceExhausted(`the upload exceeds the limit of ${config.documents.maxUploadBytes} bytes`);
      }
      // The marker is queued in the same tick as the first piece, so it commits with it (lmdb-js commits
      // queued writes in order, in one transaction per batch): no piece is ever committed without it.
      if (seq === 0) writes.push(markPending(pending, [who.tenantId, docId], deps.clock()));
      writes.push(blobs.put(who.tenantId, docId, 'original', seq++, part.value));
      // Bound what is queued for the writer: at most ~16 pieces in flight.
      if (writes.length >= 16) {
        await Promise.all(writes);
        writes = [];
      }
    }
    if (signal.aborted) throw signal.reason ?? cancelled('the upload was cancelled');
    // Committed (visible to readers), not yet flushed: the one flush after the record covers the pieces too.
    await Promise.all(writes);

    // Verify what LMDB holds, not what we received: a read transaction started now sees the committed pieces.
    let summary: Awaited<ReturnType<typeof verifySealedChunks>>;
    try {
      summary = await verifySealedChunks(
        sealed,
        blobs.read(who.tenantId, docId, 'original'),
        { x25519: keyring.serverKeyPair },
        { context: { kind: 'original' } },
      );
    } catch (err) {
      throw mapSealedError(err, 'sealed upload');
    }
    if (header.declaredSize !== undefined && BigInt(summary.plaintextBytes) !== header.declaredSize) {
      throw invalidArgument(
        `declared size ${header.declaredSize} does not match the sealed content (${summary.plaintextBytes} bytes)`,
      );
    }
    // An empty file has nothing to keep (the server's own ingestion records one as FAILED, with its reason).
    if (summary.plaintextBytes === 0 && origin.source === 'upload') throw invalidArgument('the file is empty (0 bytes)');
    if (summary.plaintextBytes > config.documents.maxDocumentBytes) {
      throw resourceExhausted(
        `the document opens to ${summary.plaintextBytes} bytes, over the limit of ${config.documents.maxDocumentBytes}`,
      );
    }

    const tenantKey = await keyring.tenantKey(who.tenantId);
    let storedHeader: Buffer;
    try {
      storedHeader = rewrapHeaderForTenant(sealed, keyring.serverKeyPair, tenantKey, {
        tenantId: who.tenantId,
        documentId: docId,
        kind: 'original',
      });
    } catch (err) {
      throw mapSealedError(err, 'sealed header');
    }
    const now = deps.clock();
    const record: DocumentRecord = {
      id: docId,
      tenantId: who.tenantId,
      parentId: origin.parentId,
      children: [],
      fileName: header.fileName,
      declaredMediaType: header.mediaType,
      mediaType: header.mediaType || 'application/octet-stream',
      contentId: summary.contentId,
      size: summary.plaintextBytes,
      storedSize: stored,
      status: 'QUEUED',
      statusReason: '',
      source: origin.source,
      tags: tagSet(header.tags),
      createdMs: now,
      updatedMs: now,
      uploadedBy: who.userId,
      idempotencyKey: header.idempotencyKey,
      header: storedHeader,
      jobId: null,
      metadata: {},
      artifacts: [],
    };
    // Re-checked inside the write transaction: a concurrent upload of the same key or content wins once.
    const outcome = await store.atomic(() => {
      const byKey = header.idempotencyKey ? documents.byIdempotencyKey(who.tenantId, header.idempotencyKey) : undefined;
      const byContent = origin.parentId === null ? documents.byContentId(who.tenantId, summary.contentId) : undefined;
      const existing = byKey ?? byContent;
      if (existing) {
        blobs.removeSync(who.tenantId, docId);
        pending.removeSync([who.tenantId, docId]);
        if (byKey !== undefined) {
          if (byKey.contentId !== summary.contentId) throw keyUsedElsewhere(byKey);
          return { document: byKey, duplicate: false };
        }
        // The same content again: the stored document takes the upload's new tags (nothing else of it).
        const tags = tagSet(existing.tags, header.tags);
        if (tags.length === existing.tags.length || tags.length > MAX_TAGS) return { document: existing, duplicate: true };
        const updated = { ...existing, tags, updatedMs: now };
        documents.updateSync(updated);
        return { document: updated, duplicate: true, retagged: documents.markTagsPendingSync(who.tenantId, existing.id) };
      }
      const job = jobs.enqueueSync(who.tenantId, docId, now);
      record.jobId = job.id;
      documents.insertSync(record);
      if (origin.parentId !== null) {
        const parent = documents.get(who.tenantId, origin.parentId);
        if (parent) documents.updateSync({ ...parent, children: [...parent.children, docId] });
      }
      pending.removeSync([who.tenantId, docId]);
      return { document: record, duplicate: false };
    });
    await store.flushed();
    committed = true;
    if (outcome.document === record) deps.onQueued(record);
    return outcome;
  } catch (err) {
    if (isStorageFailure(err)) {
      deps.log?.error({ err }, 'storing an upload failed (disk full or I/O error)');
      throw resourceExhausted(
        'the server could not store the upload (storage is full or failing); nothing was kept; retry later',
      );
    }
    throw err;
  } finally {
    if (!committed) {
      // Nothing of a failed upload stays behind. If even that write fails (disk still full), the
      // pendingUploads marker makes the next start remove the pieces.
      await store
        .atomic(() => {
          blobs.removeSync(who.tenantId, docId);
          pending.removeSync([who.tenantId, docId]);
        })
        .catch((err: unknown) => {
          if (!isStorageFailure(err)) throw err;
        });
    }
  }
}

/**
 * An idempotency key names one upload: a retry of it gets the document it stored; another file under the
 * same key is refused rather than answered with the first.
 */
function keyUsedElsewhere(existing: DocumentRecord): Error {
  return invalidArgument(
    `the idempotency key was used for another upload (${JSON.stringify(existing.fileName)}, ${existing.size} bytes); use a new key for a new file`,
  );
}

function markPending(
  pending: { put(key: [string, string], startedMs: number): Promise<boolean> },
  key: [string, string],
  now: number,
): Promise<boolean> {
  // A failed commit also rejects lmdb-js's side promise; mark it handled (see BlobStore.put).
  const written = pending.put(key, now);
  written.catch(isStorageFailure);
  return written;
}

/** After a crash: blobs of uploads that never committed are removed (nothing was acknowledged for them). */
export async function sweepPendingUploads(deps: Pick<DocumentsDeps, 'store' | 'blobs'>): Promise<number> {
  const pending = deps.store.db<number>('pendingUploads');
  return deps.store.atomic(() => {
    let n = 0;
    for (const key of pending.getKeys()) {
      const [tenantId, docId] = key as [string, string];
      deps.blobs.removeSync(tenantId, docId);
      pending.removeSync(key);
      n++;
    }
    return n;
  });
}

function validateHeader(h: UploadHeader): void {
  const name = h.fileName;
  if (name.length === 0 || Buffer.byteLength(name) > 255) throw invalidArgument('file_name must be 1..255 bytes');
  if (/[\p{Cc}/\\]/u.test(name)) throw invalidArgument('file_name must not contain control characters or path separators');
  if (h.mediaType.length > 127 || /\p{Cc}/u.test(h.mediaType))
    throw invalidArgument('media_type must be at most 127 printable characters');
  if (h.idempotencyKey.length > 128) throw invalidArgument('idempotency_key must be at most 128 characters');
  if (h.tags.length > MAX_TAGS) throw invalidArgument(`at most ${MAX_TAGS} tags`);
  for (const t of h.tags) validateTag(t);
  if (h.sealedHeader.byteLength === 0) throw invalidArgument('sealed_header is required');
}

/** A safe file name from an untrusted one (mail attachments, archive members): no paths, no controls, ≤ 255 bytes. */
export function safeFileName(raw: string, fallback: string): string {
  let name = (raw.split(/[/\\]/).pop() ?? '').replace(/\p{Cc}/gu, '_').trim();
  while (Buffer.byteLength(name) > 255) name = name.slice(0, -1);
  return name.length > 0 && name !== '.' && name !== '..' ? name : fallback;
}

/**
 * A document's tags from `tags` then `add` less `remove`, sorted: one tag whatever its case (`tag:steuer`
 * finds "Steuer"), so a tag it carries in another case keeps its first spelling, and a removal removes it
 * in any case.
 */
export function tagSet(tags: Iterable<string>, add: Iterable<string> = [], remove: Iterable<string> = []): string[] {
  const byKey = new Map<string, string>();
  for (const t of [...tags, ...add]) if (!byKey.has(tagKey(t))) byKey.set(tagKey(t), t);
  for (const t of remove) byKey.delete(tagKey(t));
  return [...byKey.values()].sort();
}

export function validateTag(tag: string): void {
  if (tag.length === 0 || tag.length > 64 || /\p{Cc}/u.test(tag)) {
    throw invalidArgument('a tag must be 1..64 printable characters');
  }
}
