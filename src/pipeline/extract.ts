import { abortError, PipelineError, throwIfAborted } from './errors.js';
import { htmlToText } from './html.js';
import { imageInfo, preprocessForOcr } from './image.js';
import { type DocumentLanguage, detectLanguage } from './language.js';
import { type PipelineLimits, resolveLimits } from './limits.js';
import { type ParsedEmail, parseEmail } from './mail.js';
import type { OcrEngine, OcrWord } from './ocr.js';
import { type PageTurn, recognizeUpright, turnedSize } from './orientation.js';
import { openPdf, type PdfMetadata } from './pdf.js';
import { sniff } from './sniff.js';
import { decodeText, decodeWith, type TextEncodingName } from './text.js';
import { extractZip, listZip } from './zip.js';

/**
 * The one entry point the worker calls: bytes in, text per page + metadata + child documents out.
 * Pure apart from CPU and memory: no file system, no network, no global state besides library caches.
 */
export type ExtractStep = 'EXTRACTING' | 'OCR';

export interface ExtractProgress {
  step: ExtractStep;
  /** 1-based page being worked on. */
  page: number;
  pageCount: number;
}

export interface ExtractOptions {
  /** Media type the client or the enclosing e-mail declared; a hint only. */
  declaredType?: string;
  fileName?: string;
  limits?: Partial<PipelineLimits>;
  signal?: AbortSignal;
  /** Without an engine, pages that need OCR come back with `needsOcr: true` and no OCR text. */
  ocr?: OcrEngine;
  onProgress?: (p: ExtractProgress) => void;
  /** Nesting depth of this document (0 for uploads); an e-mail passes it to `parseEmail`. */
  depth?: number;
}

export interface ExtractedPage {
  text: string;
  /** OCR words, boxes in the page's coordinate space (see width/height). */
  words?: OcrWord[];
  /** The text came from OCR. */
  ocr: boolean;
  /** The page has no usable text layer and was not OCR'd (no engine given). */
  needsOcr?: boolean;
  /** Page size: PDF points for text-layer pages, pixels for OCR'd PDF pages and images. */
  width?: number;
  height?: number;
  /** Resolution of an OCR'd PDF page's pixel space (points = pixels × 72 / dpi). */
  dpi?: number;
  /** Mean OCR word confidence, 0–100. */
  confidence?: number;
  /**
   * The page lay sideways or upside down: clockwise degrees it was turned by before OCR (after any EXIF
   * orientation). Words, width and height are of the turned (upright) page; previews turn it the same way.
   */
  turn?: Exclude<PageTurn, 0>;
}

/** The PDF info fields, plus what other kinds of document add. */
export interface DocumentMetadata extends Omit<PdfMetadata, 'hasJavaScript'> {
  /** Charset a text or HTML document was decoded from. */
  charset?: TextEncodingName;
  /** PDF: carries JavaScript (never run). */
  hasJavaScript?: boolean;
  image?: { format: string; width: number; height: number; takenAt?: Date; make?: string; model?: string };
  email?: Pick<ParsedEmail, 'from' | 'to' | 'cc' | 'date' | 'messageId' | 'inReplyTo' | 'subject'>;
  /** Archive or e-mail members that were not extracted, and why. */
  skipped?: { name: string; reason: string }[];
}

export interface ExtractedChild {
  fileName: string;
  bytes: Buffer;
  declaredType?: string;
}

export interface ExtractedDocument {
  mediaType: string;
  status: 'ok' | 'unsupported' | 'encrypted';
  pages: ExtractedPage[];
  metadata: DocumentMetadata;
  language: DocumentLanguage;
  children?: ExtractedChild[];
}

export async function extractDocument(bytes: Uint8Array, opts: ExtractOptions = {}): Promise<ExtractedDocument> {
  const limits = resolveLimits(opts.limits);
  if (bytes.length === 0) throw new PipelineError('empty', 'document is empty (0 bytes)');
  if (bytes.length > limits.maxInputBytes) {
    throw new PipelineError('limit', `document of ${bytes.length} bytes exceeds the limit of ${limits.maxInputBytes} bytes`);
  }
  const docTimeout = AbortSignal.timeout(limits.documentTimeMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, docTimeout]) : docTimeout;
  throwIfAborted(signal);

  const sniffed = sniff(bytes, opts.declaredType);
  const ctx: Ctx = { bytes, opts, limits, signal, mediaType: sniffed.mediaType };
  let doc: Omit<ExtractedDocument, 'language'>;
  try {
    switch (sniffed.kind.type) {
      case 'empty':
        throw new PipelineError('empty', 'document is empty (0 bytes)');
      case 'pdf':
        doc = await extractPdf(ctx);
        break;
      case 'image':
        doc = await extractImage(ctx);
        break;
      case 'text':
        doc = extractText(ctx);
        break;
      case 'html':
        doc = extractHtml(ctx);
        break;
      case 'email':
        doc = await extractEmail(ctx);
        break;
      case 'zip':
        doc = await extractArchive(ctx);
        break;
      case 'unknown':
        doc = { mediaType: sniffed.mediaType, status: 'unsupported', pages: [], metadata: { pageCount: 0 } };
        break;
    }
  } catch (err) {
    // A library that saw the abort first may have thrown its own error; report the abort instead.
    if (signal.aborted && !(err instanceof PipelineError && (err.kind === 'aborted' || err.kind === 'timeout'))) {
      throw abortError(signal);
    }
    throw err;
  }
  const language = detectLanguage(doc.pages.map((p) => p.text).join('\n')).language;
  return { ...doc, language };
}

interface Ctx {
  bytes: Uint8Array;
  opts: ExtractOptions;
  limits: PipelineLimits;
  signal: AbortSignal;
  mediaType: string;
}

type Extracted = Omit<ExtractedDocument, 'language'>;

function pageSignal(ctx: Ctx): AbortSignal {
  return AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.limits.pageTimeMs)]);
}

function nonSpace(s: string): number {
  return s.replace(/\s+/g, '').length;
}

async function extractPdf(ctx: Ctx): Promise<Extracted> {
  const opened = await openPdf(ctx.bytes, { limits: ctx.limits, signal: ctx.signal });
  if (opened.status === 'encrypted') {
    return { mediaType: ctx.mediaType, status: 'encrypted', pages: [], metadata: { pageCount: 0 } };
  }
  const pdf = opened.pdf;
  try {
    const meta = await pdf.metadata();
    const pages: ExtractedPage[] = [];
    const pageCount = pdf.pageCount;
    for (let n = 1; n <= pageCount; n++) {
      throwIfAborted(ctx.signal);
      ctx.opts.onProgress?.({ step: 'EXTRACTING', page: n, pageCount });
      const signal = pageSignal(ctx);
      const layer = await pdf.pageText(n, signal);
      if (!layer.needsOcr) {
        pages.push({ text: layer.text, ocr: false, width: layer.width, height: layer.height });
        continue;
      }
      if (!ctx.opts.ocr) {
        pages.push({ text: layer.text, ocr: false, needsOcr: true, width: layer.width, height: layer.height });
        continue;
      }
      ctx.opts.onProgress?.({ step: 'OCR', page: n, pageCount });
      const rendered = await pdf.renderPage(n, { dpi: ctx.limits.renderDpi, signal });
      // A page scanned sideways is turned upright for OCR (its /Rotate, if any, pdf.js has applied).
      const { result, turn } = await recognizeUpright(ctx.opts.ocr, rendered.png, {
        width: rendered.width,
        height: rendered.height,
        dpi: rendered.dpi,
        psm: 'auto',
        signal,
      });
      // A sparse but real text layer (a one-line cover page) can beat OCR of the same page. An empty one
      // (a blank scanned back side) cannot: the page stays an OCR'd page, so a scan keeps its searchable PDF.
      const layerChars = nonSpace(layer.text);
      if (layerChars > 0 && layerChars >= nonSpace(result.text) && layer.reason !== 'garbage') {
        pages.push({ text: layer.text, ocr: false, width: layer.width, height: layer.height });
      } else {
        pages.push({
          text: result.text,
          words: result.words,
          ocr: true,
          width: result.width,
          height: result.height,
          dpi: rendered.dpi,
          confidence: result.confidence,
          ...(turn ? { turn } : {}),
        });
      }
    }
    const { pageCount: _pc, hasJavaScript, ...rest } = meta;
    return {
      mediaType: ctx.mediaType,
      status: 'ok',
      pages,
      metadata: { ...rest, pageCount, hasJavaScript },
    };
  } finally {
    await pdf.close();
  }
}

async function extractImage(ctx: Ctx): Promise<Extracted> {
  const info = await imageInfo(ctx.bytes, ctx.limits);
  const metadata: DocumentMetadata = {
    pageCount: info.pages,
    image: {
      format: info.format,
      width: info.width,
      height: info.height,
      ...(info.exif.dateTimeOriginal ? { takenAt: info.exif.dateTimeOriginal } : {}),
      ...(info.exif.make ? { make: info.exif.make } : {}),
      ...(info.exif.model ? { model: info.exif.model } : {}),
    },
  };
  if (info.exif.dateTimeOriginal) metadata.created = info.exif.dateTimeOriginal;
  const pages: ExtractedPage[] = [];
  for (let i = 0; i < info.pages; i++) {
    throwIfAborted(ctx.signal);
    ctx.opts.onProgress?.({ step: 'EXTRACTING', page: i + 1, pageCount: info.pages });
    if (!ctx.opts.ocr) {
      pages.push({ text: '', ocr: false, needsOcr: true, width: info.width, height: info.height });
      continue;
    }
    const signal = pageSignal(ctx);
    const img = await preprocessForOcr(ctx.bytes, {
      ...(info.pages > 1 ? { page: i } : {}),
      limits: ctx.limits,
      ...(info.density ? { density: info.density } : {}),
      signal,
    });
    ctx.opts.onProgress?.({ step: 'OCR', page: i + 1, pageCount: info.pages });
    // An EXIF orientation other than 1 says how the picture stands: trusted. Without one (scans, screenshots,
    // most converted files) a page lying sideways is detected and turned upright for OCR.
    const { result, turn } = await recognizeUpright(ctx.opts.ocr, img.png, {
      width: img.width,
      height: img.height,
      signal,
      detect: (info.orientation ?? 1) === 1,
    });
    const size = turnedSize(img.sourceWidth, img.sourceHeight, turn);
    // Boxes back into upright (and turned) source pixels, the frame previews are made in.
    const s = img.scale;
    const words = result.words.map((w) => ({
      ...w,
      x: Math.round(w.x / s),
      y: Math.round(w.y / s),
      w: Math.round(w.w / s),
      h: Math.round(w.h / s),
    }));
    pages.push({
      text: result.text,
      words,
      ocr: true,
      width: size.width,
      height: size.height,
      confidence: result.confidence,
      ...(turn ? { turn } : {}),
    });
  }
  return { mediaType: ctx.mediaType, status: 'ok', pages, metadata };
}

function extractText(ctx: Ctx): Extracted {
  const decoded = decodeText(ctx.bytes);
  return {
    mediaType: ctx.mediaType,
    status: 'ok',
    pages: [{ text: decoded.text.trim(), ocr: false }],
    metadata: { pageCount: 1, charset: decoded.encoding },
  };
}

const HTML_CHARSETS: Record<string, TextEncodingName> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  'windows-1252': 'windows-1252',
  'iso-8859-1': 'windows-1252', // WHATWG: browsers decode "latin1" pages as windows-1252
  latin1: 'windows-1252',
  'us-ascii': 'windows-1252',
  'iso-8859-15': 'iso-8859-15',
  'utf-16le': 'utf-16le',
  'utf-16be': 'utf-16be',
};

function extractHtml(ctx: Ctx): Extracted {
  let decoded = decodeText(ctx.bytes);
  const first = htmlToText(decoded.text);
  let result = first;
  // The detector wins for BOMs and valid UTF-8; otherwise the page's own <meta charset> does.
  const declared = first.declaredCharset ? HTML_CHARSETS[first.declaredCharset] : undefined;
  if (!decoded.bom && declared && declared !== decoded.encoding && decoded.encoding !== 'utf-8') {
    decoded = { text: decodeWith(ctx.bytes, declared), encoding: declared, bom: false };
    result = htmlToText(decoded.text);
  }
  const metadata: DocumentMetadata = { pageCount: 1, charset: decoded.encoding };
  if (result.title) metadata.title = result.title;
  if (result.meta.author) metadata.author = result.meta.author;
  if (result.meta.description) metadata.subject = result.meta.description;
  if (result.meta.keywords) metadata.keywords = result.meta.keywords;
  return { mediaType: ctx.mediaType, status: 'ok', pages: [{ text: result.text, ocr: false }], metadata };
}

async function extractEmail(ctx: Ctx): Promise<Extracted> {
  // The stage's own limits (1 000 attachments, 100 MiB each, 256 KiB of headers, depth 8), not the ZIP ones.
  const mail = await parseEmail(ctx.bytes, { depth: ctx.opts.depth ?? 0, signal: ctx.signal });
  throwIfAborted(ctx.signal);
  const total = mail.attachments.reduce((s, a) => s + a.bytes.length, 0);
  if (total > ctx.limits.maxDecompressedBytes) {
    throw new PipelineError('limit', `e-mail attachments exceed ${ctx.limits.maxDecompressedBytes} bytes`);
  }
  const metadata: DocumentMetadata = {
    pageCount: 1,
    email: {
      to: mail.to,
      cc: mail.cc,
      ...(mail.from ? { from: mail.from } : {}),
      ...(mail.date ? { date: mail.date } : {}),
      ...(mail.messageId ? { messageId: mail.messageId } : {}),
      ...(mail.inReplyTo ? { inReplyTo: mail.inReplyTo } : {}),
      ...(mail.subject ? { subject: mail.subject } : {}),
    },
  };
  if (mail.skipped.length > 0) metadata.skipped = mail.skipped;
  if (mail.subject) metadata.title = mail.subject;
  if (mail.from) metadata.author = mail.from;
  if (mail.date) metadata.created = mail.date;
  return {
    mediaType: ctx.mediaType,
    status: 'ok',
    pages: [{ text: mail.text, ocr: false }],
    metadata,
    children: mail.attachments.map((a) => ({ fileName: a.fileName, bytes: a.bytes, declaredType: a.contentType })),
  };
}

const OOXML_PARTS: [string, string][] = [
  ['word/document.xml', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
  ['xl/workbook.xml', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
  ['ppt/presentation.xml', 'application/vnd.openxmlformats-officedocument.presentationml.presentation'],
];

async function extractArchive(ctx: Ctx): Promise<Extracted> {
  // Office files and e-books are ZIPs too, but their parts are not documents of their own:
  // report the real type as unsupported instead of exploding them into XML children.
  const names = new Set(listZip(ctx.bytes, ctx.limits).map((e) => e.name));
  const office = OOXML_PARTS.find(([part]) => names.has(part))?.[1];
  const container = office ?? (ctx.mediaType !== 'application/zip' ? ctx.mediaType : undefined);
  if (container) return { mediaType: container, status: 'unsupported', pages: [], metadata: { pageCount: 0 } };

  const { members, skipped } = await extractZip(ctx.bytes, { limits: ctx.limits, signal: ctx.signal });
  return {
    mediaType: ctx.mediaType,
    status: 'ok',
    pages: [],
    metadata: { pageCount: 0, ...(skipped.length ? { skipped } : {}) },
    children: members.map((m) => ({ fileName: m.fileName, bytes: m.bytes })),
  };
}
