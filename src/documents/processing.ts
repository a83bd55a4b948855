import { isSealedFormatError, rewrapHeaderForTenant } from '../crypto/index.js';
import { notFound } from '../server/errors.js';
import { type DocumentRecord, type DocumentStatus, hasOriginal, memberKey } from '../store/document-store.js';
import { newId } from '../store/ids.js';
import type { JobRecord } from '../store/job-queue.js';
import type { Extracted } from '../workers/tasks.js';
import type { DocumentsDeps } from './documents.js';

/**
 * Main-thread side of a processed document: what a worker extracted is written in one LMDB transaction
 * (sealed text and word boxes, metadata, status, child documents with their jobs), then handed to the
 * search index. Also re-processing (Admin.Reprocess).
 */

/** What the search index receives for one document (the index part implements this). */
export interface IndexedDocument {
  docId: string;
  /** deu, eng, deu+eng, or '' when unknown. */
  language: string;
  fields: {
    title: string;
    /** Text per page, page 1 first. */
    body: string[];
    fileName: string;
    subject: string;
    sender: string;
  };
  /** The document's own date when known (PDF creation, e-mail date, photo), else its upload time. */
  createdMs: number;
  mediaType: string;
}

/** The hook the job runner calls after a commit and on delete; `src/index` provides the real one. */
export interface DocumentIndexer {
  add(tenantId: string, doc: IndexedDocument): Promise<void> | void;
  remove(tenantId: string, docId: string): Promise<void> | void;
}

/** Blob kinds of extracted artifacts (sealed with the tenant key, bound to document and kind). */
export const TEXT_KIND = 'text';
export const WORDS_KIND = 'words';
/** Preview blob kinds: the thumbnail, `page-<n>` per page preview, the searchable PDF. */
export const THUMBNAIL_KIND = 'thumbnail';
export const PDF_KIND = 'pdf';
export const pageKind = (n: number) => `page-${n}`;
/** Artifact names on the record (`page` = one or more page previews). */
const PREVIEW_ARTIFACTS = new Set([THUMBNAIL_KIND, 'page', PDF_KIND]);
/** Pieces of at most 1 MiB per LMDB value, like uploads. */
const PIECE = 1 << 20;

export interface CommitOutcome {
  /** The updated record, or undefined when the document was deleted or re-queued meanwhile. */
  document: DocumentRecord | undefined;
  /** Child documents created (each with a queued job). */
  created: DocumentRecord[];
  /** The text per page that was stored (for the index). */
  pages: string[];
}

/** Nesting depth of a document: 0 for uploads, 1 for their members and attachments, … */
export function depthOf(deps: DocumentsDeps, doc: DocumentRecord): number {
  let depth = 0;
  let parentId = doc.parentId;
  while (parentId !== null && depth < 64) {
    depth++;
    parentId = deps.documents.get(doc.tenantId, parentId)?.parentId ?? null;
  }
  return depth;
}

/** Status and reason of a processed document, from what was found. */
export function outcomeStatus(x: Extracted): { status: DocumentStatus; statusReason: string } {
  if (x.status === 'unsupported') return { status: 'UNSUPPORTED', statusReason: `no text extraction for ${x.mediaType}` };
  if (x.status === 'encrypted')
    return { status: 'ENCRYPTED', statusReason: 'the document is password-protected; only its metadata was read' };
  if (x.text.byteLength > 0) return { status: 'INDEXED', statusReason: '' };
  // A mail is searched by its headers (subject, sender, recipients, date) as much as by its body: one with
  // only attachments, or only a subject, must still be found.
  if (x.mediaType === 'message/rfc822' && (typeof x.metadata.subject === 'string' || typeof x.metadata.from === 'string'))
    return { status: 'INDEXED', statusReason: '' };
  if (x.children.length > 0)
    return { status: 'STORED', statusReason: `no text of its own; ${x.children.length} contained documents` };
  return { status: 'STORED', statusReason: 'no text was found' };
}

/**
 * Writes one extraction: sealing happens first (async), then a single write transaction checks that the
 * job still owns the document and stores everything, so a crash leaves either all of it or none.
 */
export async function commitExtraction(
  deps: DocumentsDeps,
  job: JobRecord,
  doc: DocumentRecord,
  x: Extracted,
): Promise<CommitOutcome> {
  const { store, documents, blobs, jobs, keyring, clock } = deps;
  const tenantId = doc.tenantId;
  const sealedText =
    x.text.byteLength > 0 ? await keyring.sealForTenant(tenantId, x.text, { kind: TEXT_KIND, id: doc.id }) : null;
  const sealedWords =
    x.words.byteLength > 0 ? await keyring.sealForTenant(tenantId, x.words, { kind: WORDS_KIND, id: doc.id }) : null;
  const pv = x.previews;
  const seal = (bytes: Uint8Array, kind: string) => keyring.sealForTenant(tenantId, bytes, { kind, id: doc.id });
  const sealedThumbnail = pv?.thumbnail ? await seal(pv.thumbnail, THUMBNAIL_KIND) : null;
  const sealedPdf = pv?.pdf ? await seal(pv.pdf, PDF_KIND) : null;
  const sealedPages: Uint8Array[] = [];
  for (const [i, page] of (pv?.pages ?? []).entries()) sealedPages.push(await seal(page, pageKind(i + 1)));
  const tenantKey = await keyring.tenantKey(tenantId);
  const source: DocumentRecord['source'] = x.mediaType === 'message/rfc822' ? 'attachment' : 'archive-member';
  const now = clock();
  const prepared = x.children.map((c) => {
    const id = newId('doc', now);
    // Same shape as an upload at rest: body sealed to the server key, file key re-wrapped to the tenant.
    const header = rewrapHeaderForTenant(c.header, keyring.serverKeyPair, tenantKey, {
      tenantId,
      documentId: id,
      kind: 'original',
    });
    return { id, header, child: c };
  });
  const { status, statusReason } = outcomeStatus(x);
  const text = Buffer.from(x.text.buffer, x.text.byteOffset, x.text.byteLength).toString('utf8');

  const result = await store.atomic(() => {
    const current = documents.get(tenantId, doc.id);
    if (!current || current.jobId !== job.id) return { document: undefined, created: [] as DocumentRecord[] };
    jobs.removeSync(job.id);
    blobs.removeSync(tenantId, doc.id, TEXT_KIND);
    blobs.removeSync(tenantId, doc.id, WORDS_KIND);
    if (sealedText) putPieces(deps, tenantId, doc.id, TEXT_KIND, sealedText);
    if (sealedWords) putPieces(deps, tenantId, doc.id, WORDS_KIND, sealedWords);
    blobs.removeSync(tenantId, doc.id, THUMBNAIL_KIND);
    blobs.removeSync(tenantId, doc.id, PDF_KIND);
    // Pages made at ingest and any rendered on request since (up to the old page count).
    const num = (v: unknown) => (typeof v === 'number' ? v : 0);
    const before = Math.max(num(current.metadata.previewPages), num(current.metadata.pageCount));
    for (let n = 1; n <= before; n++) blobs.removeSync(tenantId, doc.id, pageKind(n));
    if (sealedThumbnail) putPieces(deps, tenantId, doc.id, THUMBNAIL_KIND, sealedThumbnail);
    if (sealedPdf) putPieces(deps, tenantId, doc.id, PDF_KIND, sealedPdf);
    sealedPages.forEach((sealed, i) => {
      putPieces(deps, tenantId, doc.id, pageKind(i + 1), sealed);
    });

    // Re-processing finds the same members again: keep the existing child documents, and leave out those the
    // user deleted.
    const existing = new Set([
      ...current.children.flatMap((id) => {
        const c = documents.get(tenantId, id);
        return c ? [memberKey(c)] : [];
      }),
      ...(current.deletedMembers ?? []),
    ]);
    const created: DocumentRecord[] = [];
    for (const p of prepared) {
      const key = memberKey(p.child);
      if (existing.has(key)) continue;
      existing.add(key);
      putPieces(deps, tenantId, p.id, 'original', p.child.body);
      const childJob = jobs.enqueueSync(tenantId, p.id, now);
      const record: DocumentRecord = {
        id: p.id,
        tenantId,
        parentId: doc.id,
        children: [],
        fileName: p.child.fileName,
        declaredMediaType: p.child.declaredType,
        mediaType: p.child.declaredType || 'application/octet-stream',
        contentId: p.child.contentId,
        size: p.child.size,
        storedSize: p.child.body.byteLength,
        status: 'QUEUED',
        statusReason: '',
        source,
        // An attachment or member is filed as what it came in: `tag:` finds it with its mail or archive.
        tags: [...current.tags],
        createdMs: now,
        updatedMs: now,
        uploadedBy: current.uploadedBy,
        idempotencyKey: '',
        header: p.header,
        jobId: childJob.id,
        metadata: {},
        artifacts: [],
      };
      documents.insertSync(record);
      created.push(record);
    }
    const artifacts = current.artifacts.filter((a) => a !== TEXT_KIND && a !== WORDS_KIND && !PREVIEW_ARTIFACTS.has(a));
    if (sealedText) artifacts.push(TEXT_KIND);
    if (sealedWords) artifacts.push(WORDS_KIND);
    if (sealedThumbnail) artifacts.push(THUMBNAIL_KIND);
    // Pages past those made here are rendered on their first request (PageRenderer): a document with a
    // thumbnail has page previews even when `--preview-pages 0` made none at ingest.
    if (sealedPages.length > 0 || sealedThumbnail) artifacts.push('page');
    if (sealedPdf || pv?.pdfIsOriginal) artifacts.push(PDF_KIND);
    const metadata: Record<string, unknown> = { ...x.metadata };
    if (sealedPages.length > 0) metadata.previewPages = sealedPages.length;
    if (pv?.error) metadata.previewError = pv.error;
    const next: DocumentRecord = {
      ...current,
      status,
      statusReason,
      mediaType: x.mediaType,
      metadata,
      artifacts,
      children: [...current.children, ...created.map((c) => c.id)],
      jobId: null,
      updatedMs: now,
    };
    documents.updateSync(next);
    return { document: next, created };
  });
  await store.flushed();
  return { ...result, pages: text ? text.split('\f') : [] };
}

/**
 * Stores a page preview rendered on request (sealed with the tenant key), unless the document was
 * deleted, re-queued or re-processed since `doc` was read: then the render is simply not kept.
 */
export async function storeRenderedPage(deps: DocumentsDeps, doc: DocumentRecord, page: number, png: Uint8Array): Promise<void> {
  const sealed = await deps.keyring.sealForTenant(doc.tenantId, png, { kind: pageKind(page), id: doc.id });
  const kept = await deps.store.atomic(() => {
    const current = deps.documents.get(doc.tenantId, doc.id);
    if (!current || current.jobId !== null || current.updatedMs !== doc.updatedMs) return false;
    putPieces(deps, doc.tenantId, doc.id, pageKind(page), sealed);
    return true;
  });
  if (kept) await deps.store.flushed();
}

function putPieces(deps: DocumentsDeps, tenantId: string, id: string, kind: string, bytes: Uint8Array): void {
  for (let i = 0, seq = 0; i < bytes.byteLength; i += PIECE, seq++) {
    deps.blobs.putSync(tenantId, id, kind, seq, bytes.subarray(i, Math.min(bytes.byteLength, i + PIECE)));
  }
}

/** The index's view of a committed document. */
export function indexedDocument(doc: DocumentRecord, pages: string[]): IndexedDocument {
  const m = doc.metadata;
  const str = (k: string) => (typeof m[k] === 'string' ? (m[k] as string) : '');
  const own = [m.createdMs, m.sentMs, m.cameraDateMs].find((v): v is number => typeof v === 'number' && v > 0);
  return {
    docId: doc.id,
    language: str('language'),
    fields: { title: str('title'), body: pages, fileName: doc.fileName, subject: str('subject'), sender: str('from') },
    createdMs: own ?? doc.createdMs,
    mediaType: doc.mediaType,
  };
}

/** A record for a batch over many documents: one that fails authentication is logged and skipped, not fatal. */
export function openOrSkip(deps: DocumentsDeps, tenantId: string, id: string): DocumentRecord | undefined {
  try {
    return deps.documents.get(tenantId, id);
  } catch (err) {
    if (!isSealedFormatError(err)) throw err;
    deps.log?.error({ err, tenantId, documentId: id }, 'a document record failed authentication; it is skipped');
    return undefined;
  }
}

export type ReprocessScope = { tenantId: string; documentId: string } | { tenantId: string } | 'all';

/**
 * Enqueues a job for every document in scope that has none yet; returns how many were enqueued. Works in
 * batches of transactions so that "all" never holds one huge write transaction.
 */
export async function reprocess(deps: DocumentsDeps, scope: ReprocessScope): Promise<number> {
  const { store, documents, jobs, keyring, clock } = deps;
  let targets: [string, string][];
  if (scope === 'all') {
    targets = [];
    for (const key of store.db('documents').getKeys()) {
      const [tenantId, id] = key as [string, string];
      targets.push([tenantId, id]);
    }
  } else if ('documentId' in scope) {
    if (!(await keyring.recordsReady(scope.tenantId)) || !documents.get(scope.tenantId, scope.documentId))
      throw notFound('no such document');
    targets = [[scope.tenantId, scope.documentId]];
  } else {
    if (!keyring.hasTenantKey(scope.tenantId)) throw notFound('no such tenant');
    targets = [...documents.ids(scope.tenantId)].map((id) => [scope.tenantId, id]);
  }
  // Records are sealed per tenant: load each tenant's keys first. What is left of an erased tenant (no key)
  // cannot be opened and is skipped.
  const readable = new Set<string>();
  for (const tenantId of new Set(targets.map(([t]) => t))) if (await keyring.recordsReady(tenantId)) readable.add(tenantId);
  targets = targets.filter(([t]) => readable.has(t));
  let enqueued = 0;
  const queued: DocumentRecord[] = [];
  for (let i = 0; i < targets.length; i += 500) {
    const batch = targets.slice(i, i + 500);
    await store.atomic(() => {
      const now = clock();
      for (const [tenantId, id] of batch) {
        const doc = openOrSkip(deps, tenantId, id);
        // A failed import without a stored original has nothing to process.
        if (!doc || !hasOriginal(doc) || (doc.jobId && jobs.get(doc.jobId))) continue;
        const job = jobs.enqueueSync(tenantId, id, now);
        const next: DocumentRecord = { ...doc, jobId: job.id, status: 'QUEUED', statusReason: '', updatedMs: now };
        documents.updateSync(next);
        queued.push(next);
        enqueued++;
      }
    });
  }
  await store.flushed();
  for (const doc of queued) deps.onQueued(doc);
  return enqueued;
}
