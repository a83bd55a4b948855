import { createHash } from 'node:crypto';
import { invalidArgument, notFound } from '../server/errors.js';
import type { DocumentRecord } from '../store/document-store.js';
import { mapSealedError } from './crypto-errors.js';
import type { Artifact, Documents } from './documents.js';
import { PDF_KIND, pageKind, THUMBNAIL_KIND } from './processing.js';

/**
 * Extracted text (UTF-8, form feed between pages) or word boxes (JSON, docs/pipeline.md), opened from
 * their tenant-sealed blob and served as plaintext (over TLS).
 */
export async function extractedArtifact(
  documents: Documents,
  tenantId: string,
  id: string,
  kind: 'text' | 'words',
): Promise<Artifact> {
  const doc = documents.get(tenantId, id);
  documents.requireArtifact(doc, kind);
  const base = doc.fileName.replace(/\.[^.]*$/, '') || doc.fileName;
  return opened(
    await openBlob(documents, tenantId, id, kind),
    kind === 'text' ? `${base}.txt` : `${base}.words.json`,
    kind === 'text' ? 'text/plain; charset=utf-8' : 'application/json',
  );
}

/** Renders a page preview that processing did not make (past `--preview-pages`); see PageRenderer. */
export type RenderPage = (doc: DocumentRecord, page: number) => Promise<Buffer>;

/**
 * Previews: the thumbnail (WebP), page `page` (1-based, PNG) or the PDF (searchable PDF of an image or
 * scan, or the original of a born-digital PDF), opened from their tenant-sealed blobs and served as
 * plaintext. Pages past those made at ingest are rendered by `renderPage` on their first request, then kept.
 */
export async function previewArtifact(
  documents: Documents,
  tenantId: string,
  id: string,
  kind: 'thumbnail' | 'page' | 'pdf',
  page: number,
  renderPage?: RenderPage,
): Promise<Artifact> {
  const doc = documents.get(tenantId, id);
  const base = doc.fileName.replace(/\.[^.]*$/, '') || doc.fileName;
  if (kind === 'page') {
    // A document without page previews (a text, an e-mail) has none at any page: NOT_FOUND before the range.
    documents.requireArtifact(doc, 'page');
    const pageCount = typeof doc.metadata.pageCount === 'number' ? doc.metadata.pageCount : 0;
    if (pageCount > 0 && (page < 1 || page > pageCount))
      throw invalidArgument(`page must be between 1 and ${pageCount} (1-based)`);
    if (page < 1) throw invalidArgument('page must be given (1-based)');
    const name = `${base}.page-${page}.png`;
    const made = typeof doc.metadata.previewPages === 'number' ? doc.metadata.previewPages : 0;
    if (page <= made || documents.deps.blobs.size(tenantId, id, pageKind(page)) > 0) {
      return opened(await openBlob(documents, tenantId, id, pageKind(page)), name, 'image/png');
    }
    if (!renderPage || page > pageCount)
      throw notFound(`no preview of page ${page} was made (previews exist for pages 1 to ${made})`);
    return opened(await renderPage(doc, page), name, 'image/png');
  }
  documents.requireArtifact(doc, kind);
  if (kind === 'thumbnail') {
    return opened(await openBlob(documents, tenantId, id, THUMBNAIL_KIND), `${base}.thumbnail.webp`, 'image/webp');
  }
  if (documents.deps.blobs.size(tenantId, id, PDF_KIND) === 0) return documents.original(tenantId, id, 'plaintext');
  return opened(await openBlob(documents, tenantId, id, PDF_KIND), `${base}.pdf`, 'application/pdf');
}

async function openBlob(documents: Documents, tenantId: string, id: string, kind: string): Promise<Buffer> {
  const { blobs, keyring } = documents.deps;
  const sealed = Buffer.concat([...blobs.read(tenantId, id, kind)]);
  if (sealed.byteLength === 0) throw notFound(`the document has no ${kind}`);
  try {
    return await keyring.openForTenant(tenantId, sealed, { kind, id });
  } catch (err) {
    throw mapSealedError(err, `stored ${kind}`);
  }
}

function opened(plain: Buffer, fileName: string, mediaType: string): Artifact {
  return {
    fileName,
    mediaType,
    size: plain.byteLength,
    contentId: createHash('sha256').update(plain).digest('hex'),
    sealedHeader: Buffer.alloc(0),
    body: (async function* () {
      yield plain;
    })(),
  };
}
