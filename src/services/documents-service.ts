import { requireTenantUser } from '../accounts/authorize.js';
import type { Artifact, Documents } from '../documents/documents.js';
import { clipList, clipText } from '../documents/metadata-limits.js';
import { extractedArtifact, previewArtifact } from '../documents/processing-artifacts.js';
import { ArtifactKind, DocumentSource, DocumentStatus } from '../gen/archivar/v1/common.js';
import type { Document, DocumentsServiceService, RecognizedValue } from '../gen/archivar/v1/documents.js';
import type { AppContext } from '../server/app-context.js';
import { failedPrecondition, invalidArgument, notFound } from '../server/errors.js';
import type { AsyncService } from '../server/handler.js';
import type { DocumentRecord, DocumentStatus as Status } from '../store/document-store.js';
import { PageRenderer } from '../workers/page-renderer.js';

const STATUS_TO_PROTO: Record<Status, DocumentStatus> = {
  QUEUED: DocumentStatus.DOCUMENT_STATUS_QUEUED,
  PROCESSING: DocumentStatus.DOCUMENT_STATUS_PROCESSING,
  STORED: DocumentStatus.DOCUMENT_STATUS_STORED,
  INDEXED: DocumentStatus.DOCUMENT_STATUS_INDEXED,
  FAILED: DocumentStatus.DOCUMENT_STATUS_FAILED,
  UNSUPPORTED: DocumentStatus.DOCUMENT_STATUS_UNSUPPORTED,
  ENCRYPTED: DocumentStatus.DOCUMENT_STATUS_ENCRYPTED,
};
const STATUS_FROM_PROTO = new Map(Object.entries(STATUS_TO_PROTO).map(([k, v]) => [v, k as Status]));
const SOURCE_TO_PROTO: Record<DocumentRecord['source'], DocumentSource> = {
  upload: DocumentSource.DOCUMENT_SOURCE_UPLOAD,
  imap: DocumentSource.DOCUMENT_SOURCE_IMAP,
  attachment: DocumentSource.DOCUMENT_SOURCE_ATTACHMENT,
  'archive-member': DocumentSource.DOCUMENT_SOURCE_ARCHIVE_MEMBER,
};
const ARTIFACTS: Record<string, ArtifactKind> = {
  thumbnail: ArtifactKind.ARTIFACT_KIND_THUMBNAIL,
  page: ArtifactKind.ARTIFACT_KIND_PAGE,
  pdf: ArtifactKind.ARTIFACT_KIND_PDF,
  text: ArtifactKind.ARTIFACT_KIND_TEXT,
  words: ArtifactKind.ARTIFACT_KIND_WORDS,
};
const DOWNLOAD_PIECE = 1024 * 1024;

/** Handlers of archivar.v1.DocumentsService: validate, authorise, call the documents domain, map to proto. */
export function createDocumentsService(app: AppContext, documents: Documents): AsyncService<typeof DocumentsServiceService> {
  const pages = new PageRenderer(documents.deps, app.pool);
  return {
    async getServerKey(_req, ctx) {
      requireTenantUser(ctx);
      const key = app.keyring.serverKeyPair;
      return {
        publicKey: key.publicKey,
        keyId: key.keyId,
        formatVersion: 1,
        maxUploadBytes: BigInt(app.config.documents.maxUploadBytes),
      };
    },

    async upload(messages, ctx) {
      const p = requireTenantUser(ctx);
      if (app.accounts.isProcessingRestricted(p.tenantId, p.userId)) {
        throw failedPrecondition('processing is restricted for this account (Art. 18 GDPR); lift the restriction to upload');
      }
      // The documents' clock (injectable), so "created by this call" compares like with like.
      const startMs = documents.deps.clock();
      const { document, duplicate } = await documents.upload({ tenantId: p.tenantId, userId: p.userId }, messages, ctx.signal);
      if (!duplicate && document.createdMs >= startMs) {
        await app.accounts.usage.record({
          tenantId: p.tenantId,
          userId: p.userId,
          kind: 'bytes_stored',
          quantity: document.storedSize,
          startMs,
          endMs: documents.deps.clock(),
        });
      }
      return {
        documentId: document.id,
        contentId: document.contentId,
        storedSize: BigInt(document.storedSize),
        status: STATUS_TO_PROTO[document.status],
        duplicate,
      };
    },

    async get(req, ctx) {
      const p = requireTenantUser(ctx);
      const doc = documents.get(p.tenantId, requireDocumentId(req.documentId));
      return { document: toProto(doc, documents) };
    },

    async list(req, ctx) {
      const p = requireTenantUser(ctx);
      const pageSize = req.pageSize === 0 ? 50 : req.pageSize;
      if (pageSize > 1000) throw invalidArgument('page_size must be at most 1000');
      const statuses = new Set(
        req.statuses.map((s) => {
          const status = STATUS_FROM_PROTO.get(s);
          if (!status) throw invalidArgument(`unknown status ${s}`);
          return status;
        }),
      );
      const { startMs = 0n, endMs = 0n } = req.created ?? {};
      if (startMs < 0n || endMs < 0n || (startMs > 0n && endMs > 0n && endMs <= startMs))
        throw invalidArgument('created: the range must end after it starts (milliseconds since 1970, 0 = open)');
      const page = documents.list(
        p.tenantId,
        {
          statuses,
          mediaTypes: new Set(req.mediaTypes),
          ...(req.tag ? { tag: req.tag } : {}),
          ...(req.created?.startMs ? { createdFromMs: Number(req.created.startMs) } : {}),
          ...(req.created?.endMs ? { createdToMs: Number(req.created.endMs) } : {}),
          ...(req.parentId ? { parentId: req.parentId } : {}),
        },
        pageSize,
        req.cursor,
      );
      return { documents: page.documents.map((d) => toProto(d, documents)), nextCursor: page.nextCursor };
    },

    async *download(req, ctx) {
      const p = requireTenantUser(ctx);
      requireDocumentId(req.documentId);
      const kind = req.kind === ArtifactKind.ARTIFACT_KIND_UNSPECIFIED ? ArtifactKind.ARTIFACT_KIND_ORIGINAL : req.kind;
      let artifact: Artifact;
      if (kind === ArtifactKind.ARTIFACT_KIND_ORIGINAL) {
        artifact = await documents.original(
          p.tenantId,
          req.documentId,
          req.plaintext ? 'plaintext' : { publicKey: req.recipientPublicKey },
        );
      } else if (kind === ArtifactKind.ARTIFACT_KIND_TEXT || kind === ArtifactKind.ARTIFACT_KIND_WORDS) {
        // Extracted artifacts are opened here and sent as plaintext over TLS, whatever `plaintext` says.
        const which = kind === ArtifactKind.ARTIFACT_KIND_TEXT ? 'text' : 'words';
        artifact = await extractedArtifact(documents, p.tenantId, req.documentId, which);
      } else if (
        kind === ArtifactKind.ARTIFACT_KIND_THUMBNAIL ||
        kind === ArtifactKind.ARTIFACT_KIND_PAGE ||
        kind === ArtifactKind.ARTIFACT_KIND_PDF
      ) {
        // Previews, like text and words, are opened here and sent as plaintext over TLS.
        const which =
          kind === ArtifactKind.ARTIFACT_KIND_THUMBNAIL ? 'thumbnail' : kind === ArtifactKind.ARTIFACT_KIND_PAGE ? 'page' : 'pdf';
        artifact = await previewArtifact(documents, p.tenantId, req.documentId, which, req.page, (doc, page) =>
          pages.render(doc, page, ctx.signal),
        );
      } else {
        const doc = documents.get(p.tenantId, req.documentId);
        const name = Object.entries(ARTIFACTS).find(([, v]) => v === kind)?.[0];
        if (!name) throw invalidArgument(`unknown artifact kind ${kind}`);
        documents.requireArtifact(doc, name);
        throw notFound(`the document has no ${name}`);
      }
      yield {
        part: {
          $case: 'header',
          value: {
            fileName: artifact.fileName,
            mediaType: artifact.mediaType,
            size: BigInt(artifact.size),
            sealedHeader: artifact.sealedHeader,
            contentId: artifact.contentId,
          },
        },
      };
      for await (const piece of artifact.body) {
        for (let i = 0; i < piece.byteLength; i += DOWNLOAD_PIECE) {
          yield { part: { $case: 'chunk', value: piece.subarray(i, i + DOWNLOAD_PIECE) } };
        }
      }
    },

    async delete(req, ctx) {
      const p = requireTenantUser(ctx);
      return { deletedIds: await documents.delete(p.tenantId, requireDocumentId(req.documentId)) };
    },

    async *watchProcessing(req, ctx) {
      const p = requireTenantUser(ctx);
      // An empty id watches every document of the tenant (the proto says so).
      for await (const e of documents.watch(p.tenantId, req.documentId, ctx.signal)) {
        yield {
          documentId: e.documentId,
          status: STATUS_TO_PROTO[e.status],
          step: e.step,
          page: e.page,
          pageCount: e.pageCount,
          message: e.message,
          atMs: BigInt(e.atMs),
        };
      }
    },

    async tag(req, ctx) {
      const p = requireTenantUser(ctx);
      return { tags: await documents.tag(p.tenantId, requireDocumentId(req.documentId), req.add, req.remove) };
    },
  };
}

/** An empty id is the caller's mistake (INVALID_ARGUMENT), not an unknown document (NOT_FOUND). */
function requireDocumentId(id: string): string {
  if (!id) throw invalidArgument('document_id is required');
  return id;
}

function toProto(doc: DocumentRecord, documents: Documents): Document {
  const m = doc.metadata as Record<string, unknown>;
  // Cut again: a record stored before the worker cut its metadata may carry megabytes of it (metadata-limits.ts).
  const str = (k: string) => (typeof m[k] === 'string' ? clipText(m[k] as string) : '');
  const num = (k: string) => (typeof m[k] === 'number' ? (m[k] as number) : 0);
  const list = (k: string) =>
    Array.isArray(m[k]) ? clipList((m[k] as unknown[]).filter((x): x is string => typeof x === 'string')) : [];
  return {
    id: doc.id,
    parentId: doc.parentId ?? '',
    fileName: doc.fileName,
    mediaType: doc.mediaType,
    contentId: doc.contentId,
    size: BigInt(doc.size),
    storedSize: BigInt(doc.storedSize),
    status: STATUS_TO_PROTO[doc.status],
    statusReason: doc.statusReason,
    source: SOURCE_TO_PROTO[doc.source],
    tags: doc.tags,
    createdMs: BigInt(doc.createdMs),
    updatedMs: BigInt(doc.updatedMs),
    metadata: {
      title: str('title'),
      author: str('author'),
      subject: str('subject'),
      keywords: list('keywords'),
      createdMs: BigInt(num('createdMs')),
      modifiedMs: BigInt(num('modifiedMs')),
      producer: str('producer'),
      pageCount: num('pageCount'),
      language: str('language'),
      width: num('width'),
      height: num('height'),
      cameraDateMs: BigInt(num('cameraDateMs')),
      from: str('from'),
      to: list('to'),
      cc: list('cc'),
      messageId: str('messageId'),
      inReplyTo: str('inReplyTo'),
      sentMs: BigInt(num('sentMs')),
      recognized: recognizedOf(m.recognized),
    },
    children: doc.children.flatMap((id) => {
      const child = documents.deps.documents.get(doc.tenantId, id);
      return child
        ? [{ id: child.id, fileName: child.fileName, mediaType: child.mediaType, status: STATUS_TO_PROTO[child.status] }]
        : [];
    }),
    artifacts: [
      ArtifactKind.ARTIFACT_KIND_ORIGINAL,
      ...doc.artifacts.flatMap((a) => (ARTIFACTS[a] === undefined ? [] : [ARTIFACTS[a]])),
    ],
  };
}

/** The record's recognised values (docs/pipeline-stages.md) as proto RecognizedValues; anything else is dropped. */
function recognizedOf(v: unknown): RecognizedValue[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((r: unknown) => {
    if (typeof r !== 'object' || r === null) return [];
    const { kind, text, normalized, page } = r as Record<string, unknown>;
    if (typeof kind !== 'string' || typeof text !== 'string' || typeof normalized !== 'string') return [];
    return [{ kind, text, normalized, page: typeof page === 'number' ? page : 0 }];
  });
}
