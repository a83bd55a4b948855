import './pool-thread-only.js';
import { isSealedFormatError, openStream, SealedFormatError, Sealer } from '../crypto/index.js';
import { clipList, clipText, MAX_METADATA_ENTRIES } from '../documents/metadata-limits.js';
import {
  createOcrEngine,
  type DocumentMetadata,
  type ExtractedDocument,
  type ExtractedPage,
  extractDocument,
  isPipelineError,
  type OcrEngine,
  PipelineError,
  recognizeValues,
  sniff,
} from '../pipeline/index.js';
import { makePreviews } from './previews.js';
import type {
  PreviewBytes,
  ProcessDocumentResult,
  ProcessDocumentTask,
  ProcessFailureKind,
  ProgressMessage,
  SealedChild,
  SealedInput,
} from './tasks.js';

// Worker side only: the OCR engine below is per thread, and the pipeline's libraries are heavy.

/** Word boxes per page, as served by Download kind `words` (schema in docs/pipeline.md). */
export const WORDS_FORMAT = 'archivar.words.v1';

let engine: Promise<OcrEngine> | undefined;

/** This thread's OCR engine: created on the first page that needs it, then reused for every document. */
function ocrEngine(): Promise<OcrEngine> {
  engine ??= createOcrEngine({ langs: ['deu', 'eng'] }).catch((err: unknown) => {
    engine = undefined;
    throw err;
  });
  return engine;
}

/** Text documents never pay for starting tesseract: the engine is only made when a page asks for it. */
const lazyOcr: OcrEngine = {
  langs: ['deu', 'eng'],
  async recognize(image, opts) {
    return (await ocrEngine()).recognize(image, opts);
  },
  async detectOrientation(image, opts) {
    return (await ocrEngine()).detectOrientation(image, opts);
  },
  async terminate() {},
};

export async function processDocument(task: ProcessDocumentTask): Promise<ProcessDocumentResult> {
  const started = performance.now();
  const budget = AbortSignal.timeout(task.limits.documentTimeMs);
  const post = (step: string, page = 0, pageCount = 0) =>
    task.progress?.postMessage({ type: 'progress', step, page, pageCount } satisfies ProgressMessage);
  let plaintext: Buffer | undefined;
  try {
    post('OPENING');
    plaintext = await openInMemory(task);
    checkTextSize(plaintext, task);
    post('EXTRACTING');
    const doc = await extractDocument(plaintext, {
      declaredType: task.declaredType,
      fileName: task.fileName,
      limits: { ...task.limits, maxInputBytes: task.maxPlaintextBytes },
      ocr: lazyOcr,
      depth: task.depth,
      onProgress: (p) => post(p.step, p.page, p.pageCount),
    });
    const metadata = toRecordMetadata(doc);
    addRecognized(metadata, doc);
    post('PREVIEWS');
    const previews = await previewsOf(plaintext, doc, task, budget);
    const children: SealedChild[] = [];
    if (task.extractChildren) {
      for (const child of doc.children ?? []) children.push(sealChild(child, task.serverPublicKey));
    } else if (doc.children?.length) {
      const skipped = (metadata.skipped as { name: string; reason: string }[] | undefined) ?? [];
      metadata.skipped = skippedOf([...skipped, ...doc.children.map((c) => ({ name: c.fileName, reason: 'nesting-depth' }))]);
    }
    return {
      type: 'process-document',
      outcome: 'extracted',
      status: doc.status,
      mediaType: doc.mediaType,
      language: doc.language,
      pageCount: doc.pages.length || doc.metadata.pageCount,
      metadata,
      text: ownBytes(pagesText(doc.pages)),
      words: ownBytes(wordsJson(doc.pages)),
      children,
      previews,
      plaintextBytes: plaintext.byteLength,
      elapsedMs: Math.round(performance.now() - started),
    };
  } catch (err) {
    return failure(err);
  } finally {
    task.fileKey.fill(0);
    plaintext?.fill(0);
    task.progress?.close();
  }
}

/**
 * Previews are an extra: when they cannot be made (a damaged page, the time budget), the document keeps
 * its text and metadata and the reason is recorded.
 */
async function previewsOf(
  plaintext: Buffer,
  doc: ExtractedDocument,
  task: ProcessDocumentTask,
  signal: AbortSignal,
): Promise<PreviewBytes> {
  try {
    const made = await makePreviews(plaintext, doc, {
      previewPages: task.previewPages,
      limits: task.limits,
      signal,
      ...(doc.metadata.title ? { title: doc.metadata.title } : {}),
    });
    return {
      ...(made.thumbnail ? { thumbnail: ownCopy(made.thumbnail) } : {}),
      pages: made.pages.map(ownCopy),
      ...(made.pdf ? { pdf: ownCopy(made.pdf) } : {}),
      pdfIsOriginal: made.pdfIsOriginal,
    };
  } catch (err) {
    const error = isPipelineError(err) ? err.message : 'previews failed with an internal error';
    return { pages: [], pdfIsOriginal: doc.mediaType === 'application/pdf' && doc.status === 'ok', error };
  }
}

export function ownCopy(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  out.set(bytes);
  return out;
}

/** Decrypts and decompresses into one buffer, then checks the digest against the record's content id. */
export async function openInMemory(task: SealedInput): Promise<Buffer> {
  const opened = openStream(
    task.header,
    [task.body],
    { fileKey: task.fileKey },
    { maxPlaintextBytes: task.maxPlaintextBytes, context: { kind: 'original' } },
  );
  const pieces: Buffer[] = [];
  for await (const piece of opened) pieces.push(piece);
  const summary = await opened.summary;
  if (summary.contentId !== task.contentId)
    throw new SealedFormatError('digest-mismatch', 'the document does not match its content id');
  const plaintext = Buffer.concat(pieces);
  for (const p of pieces) p.fill(0);
  return plaintext;
}

/**
 * Text, HTML and e-mail become JS strings (decoded, lower-cased, joined) in single allocations that V8
 * cannot interrupt: one far over the heap limit aborts the whole process instead of failing this worker.
 * So their size is bounded by the worker heap before the pipeline starts.
 */
function checkTextSize(plaintext: Buffer, task: ProcessDocumentTask): void {
  if (plaintext.byteLength <= task.maxTextBytes) return;
  const type = sniff(plaintext, task.declaredType).kind.type;
  if (type === 'text' || type === 'html' || type === 'email') {
    const mb = (n: number) => Math.round(n / 2 ** 20);
    throw new PipelineError(
      'limit',
      `a text document of ${mb(plaintext.byteLength)} MB exceeds the limit of ${mb(task.maxTextBytes)} MB for this server's worker heap`,
    );
  }
}

function failure(err: unknown): ProcessDocumentResult {
  return { type: 'process-document', outcome: 'failed', ...classifyFailure(err) };
}

/** What went wrong, in words safe to show the owner, and whether retrying could help. */
export function classifyFailure(err: unknown): { kind: ProcessFailureKind; reason: string; permanent: boolean } {
  let kind: ProcessFailureKind = 'internal';
  let reason = 'processing failed with an internal error';
  if (isSealedFormatError(err)) {
    kind = err.kind === 'too-large' ? 'limit' : 'verification';
    reason = `the stored document failed verification: ${err.message}`;
  } else if (isPipelineError(err)) {
    kind = err.kind;
    reason = err.message;
  }
  // Bad bytes and exceeded limits fail the same way every time; a library hiccup may not.
  return { kind, reason, permanent: kind !== 'internal' && kind !== 'aborted' };
}

/** Pages joined by form feeds (a form feed inside a page would shift page numbers, so it becomes a newline). */
function pagesText(pages: ExtractedPage[]): string {
  if (!pages.some((p) => p.text.trim().length > 0)) return '';
  return pages.map((p) => p.text.replaceAll('\f', '\n')).join('\f');
}

function wordsJson(pages: ExtractedPage[]): string {
  if (!pages.some((p) => p.words && p.words.length > 0)) return '';
  return JSON.stringify({
    format: WORDS_FORMAT,
    pages: pages.map((p, i) => ({
      page: i + 1,
      width: p.width ?? 0,
      height: p.height ?? 0,
      unit: p.ocr ? 'px' : 'pt',
      ...(p.dpi ? { dpi: p.dpi } : {}),
      ...(p.turn ? { turned: p.turn } : {}),
      ...(p.confidence !== undefined ? { confidence: p.confidence } : {}),
      // [text, x, y, w, h, confidence]: arrays, not objects, keep the JSON about half the size.
      words: (p.words ?? []).map((w) => [w.text, w.x, w.y, w.w, w.h, w.confidence]),
    })),
  });
}

/** A fresh ArrayBuffer of exactly these bytes, so it can be transferred (never Node's shared pool). */
function ownBytes(text: string): Uint8Array {
  return ownCopy(Buffer.from(text, 'utf8'));
}

function sealChild(child: { fileName: string; bytes: Buffer; declaredType?: string }, serverPublicKey: Uint8Array): SealedChild {
  const sealer = new Sealer({ serverPublicKey, context: { kind: 'original' } });
  const pieces: Buffer[] = [];
  // Slices of 1 MiB keep zstd's output (and so the chunk list) growing smoothly.
  for (let i = 0; i < child.bytes.byteLength; i += 1 << 20) pieces.push(...sealer.write(child.bytes.subarray(i, i + (1 << 20))));
  pieces.push(...sealer.end());
  const body = new Uint8Array(pieces.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of pieces) {
    body.set(p, offset);
    offset += p.byteLength;
  }
  const header = new Uint8Array(sealer.header.byteLength);
  header.set(sealer.header);
  const size = child.bytes.byteLength;
  child.bytes.fill(0);
  return {
    fileName: cleanFileName(child.fileName),
    declaredType: child.declaredType ?? '',
    header,
    body,
    contentId: sealer.summary.contentId,
    size,
  };
}

/** Member paths and attachment names become plain file names that pass the upload rules. */
function cleanFileName(name: string): string {
  const base = name.split(/[/\\]/).filter(Boolean).pop() ?? '';
  // All of \p{Cc}: C1 ones too (U+009B is a terminal's CSI), from senders and archives nobody vetted.
  const clean = base.replace(/\p{Cc}/gu, '').slice(0, 200);
  return clean || 'unnamed';
}

/** Trimmed and cut by clipText; undefined when there is none. */
function metadataText(v: string | undefined): string | undefined {
  const s = v?.trim();
  return s === undefined ? undefined : clipText(s);
}

/** Skipped members by clean name, at most MAX_METADATA_ENTRIES of them (a ZIP may skip 10 000). */
function skippedOf(skipped: readonly { name: string; reason: string }[]): { name: string; reason: string }[] {
  return skipped.slice(0, MAX_METADATA_ENTRIES).map((s) => ({ name: cleanFileName(s.name), reason: clipText(s.reason) }));
}

/** The pipeline's metadata under the keys the Document message reads, dates as epoch milliseconds. */
export function toRecordMetadata(doc: ExtractedDocument): Record<string, unknown> {
  const m: DocumentMetadata = doc.metadata;
  const out: Record<string, unknown> = {};
  const set = (key: string, value: unknown) => {
    if (value === undefined || value === null || value === '') return;
    if (Array.isArray(value) && value.length === 0) return;
    out[key] = value;
  };
  set('title', metadataText(m.title));
  set('author', metadataText(m.author));
  set('subject', metadataText(m.subject));
  set(
    'keywords',
    clipList(
      (m.keywords ?? '')
        .split(/[,;]/)
        .map((k) => k.trim())
        .filter(Boolean),
    ),
  );
  set('createdMs', validMs(m.created));
  set('modifiedMs', validMs(m.modified));
  set('producer', metadataText(m.producer));
  set('creator', metadataText(m.creator));
  set('pageCount', doc.pages.length || m.pageCount);
  if (doc.language !== 'unknown') set('language', doc.language);
  const first = doc.pages[0];
  set('width', m.image?.width ?? (first?.width ? Math.round(first.width) : undefined));
  set('height', m.image?.height ?? (first?.height ? Math.round(first.height) : undefined));
  set('cameraDateMs', validMs(m.image?.takenAt));
  set('cameraMake', metadataText(m.image?.make));
  set('cameraModel', metadataText(m.image?.model));
  if (m.email) {
    set('from', metadataText(m.email.from));
    set('to', clipList(m.email.to));
    set('cc', clipList(m.email.cc));
    set('messageId', metadataText(m.email.messageId));
    set('inReplyTo', metadataText(m.email.inReplyTo));
    set('subject', metadataText(m.email.subject));
    set('sentMs', validMs(m.email.date));
  }
  set('charset', m.charset);
  if (m.hasJavaScript) set('hasJavaScript', true);
  const ocrPages = doc.pages.filter((p) => p.ocr).length;
  if (ocrPages > 0) set('ocrPages', ocrPages);
  // Pages OCR found lying sideways, [[page, degrees], …]: a page preview made later turns its page the same way.
  set(
    'turnedPages',
    doc.pages.flatMap((p, i) => (p.turn ? [[i + 1, p.turn]] : [])),
  );
  if (m.skipped?.length) out.skipped = skippedOf(m.skipped);
  return out;
}

/**
 * Typed values found in the text (dates, amounts, IBANs, …) and the document's own date, stored as
 * `recognized` and `documentDate` (search filters on them, `Get` returns them).
 */
function addRecognized(metadata: Record<string, unknown>, doc: ExtractedDocument): void {
  if (!doc.pages.some((p) => p.text.trim().length > 0)) return;
  const { values, documentDate } = recognizeValues(
    doc.pages.map((p) => p.text),
    doc.language === 'unknown' ? {} : { language: doc.language },
  );
  if (values.length > 0) metadata.recognized = values;
  if (documentDate) metadata.documentDate = documentDate;
}

function validMs(d: Date | undefined): number | undefined {
  const ms = d?.getTime();
  return ms !== undefined && Number.isFinite(ms) ? ms : undefined;
}
