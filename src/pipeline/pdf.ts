import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { PipelineError, raceSignal, throwIfAborted } from './errors.js';
import { DEFAULT_LIMITS, type PipelineLimits } from './limits.js';

/**
 * PDF stages on pdf.js (legacy build, in this thread): open from memory, metadata, text layer per page
 * in reading order, "does this page need OCR", and rendering a page to a grayscale PNG.
 *
 * pdf.js runs with its "fake worker" on purpose: the caller already is a pool thread, and a second
 * thread per document would break the one-thread-per-core budget. We hand pdf.js its worker module
 * through `globalThis.pdfjsWorker` so it neither spawns a Worker nor resolves a worker URL.
 */
type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');
type TextContentItems = Awaited<ReturnType<import('pdfjs-dist/legacy/build/pdf.mjs').PDFPageProxy['getTextContent']>>['items'];
type PDFDocumentProxy = import('pdfjs-dist/legacy/build/pdf.mjs').PDFDocumentProxy;
type PDFPageProxy = import('pdfjs-dist/legacy/build/pdf.mjs').PDFPageProxy;

export interface PdfMetadata {
  title?: string;
  author?: string;
  subject?: string;
  keywords?: string;
  creator?: string;
  producer?: string;
  created?: Date;
  modified?: Date;
  pageCount: number;
  /** The document carries JavaScript actions (never executed; reported for the record). */
  hasJavaScript: boolean;
}

export interface PdfPageText {
  /** 1-based page number. */
  page: number;
  text: string;
  /** Page size in PDF points (1/72 in), rotation applied. */
  width: number;
  height: number;
  /** Non-whitespace characters in the text layer. */
  chars: number;
  /** The text layer is missing, too sparse for the page, or garbage: render and OCR this page. */
  needsOcr: boolean;
  /** Why OCR is or is not needed, for logs and tests. */
  reason: 'text' | 'empty' | 'sparse' | 'garbage';
}

export type PdfOpenResult = { status: 'ok'; pdf: OpenPdf } | { status: 'encrypted' };

export interface OpenPdf {
  readonly pageCount: number;
  metadata(): Promise<PdfMetadata>;
  pageText(pageNumber: number, signal?: AbortSignal): Promise<PdfPageText>;
  renderPage(pageNumber: number, opts?: { dpi?: number; signal?: AbortSignal }): Promise<RenderedPage>;
  close(): Promise<void>;
}

type RenderCanvas = Parameters<PDFPageProxy['render']>[0]['canvas'];
interface CanvasFactory {
  create(width: number, height: number): { canvas: RenderCanvas };
  destroy(canvasAndContext: { canvas: RenderCanvas }): void;
}

export interface RenderedPage {
  /** Grayscale PNG. */
  png: Buffer;
  width: number;
  height: number;
  dpi: number;
}

const require = createRequire(import.meta.url);
const PDFJS_DIR = path.dirname(require.resolve('pdfjs-dist/package.json'));
// pdf.js reads these with fs in Node; it insists on a trailing slash.
const STANDARD_FONTS = `${path.join(PDFJS_DIR, 'standard_fonts')}/`;
const CMAPS = `${path.join(PDFJS_DIR, 'cmaps')}/`;
const WASM = `${path.join(PDFJS_DIR, 'wasm')}/`;
const ICCS = `${path.join(PDFJS_DIR, 'iccs')}/`;

let pdfjsPromise: Promise<PdfJs> | undefined;

/**
 * V8 built-ins that the legacy build's bundled core-js replaces, thread-wide, on Node 20 (V8 11.3):
 * `Array.prototype.push` (V8 ≤ 12.1 does not throw on arrays with a non-writable length),
 * `JSON.stringify` / `JSON.parse` (no `JSON.rawJSON` / reviver source text in V8 11.3) and
 * `Function.prototype.toString` (to make the polyfills look native). The push polyfill is plain JS
 * (`toObject`, `lengthOfArrayLike`, a property-descriptor check per call), and pdf.js's lexer and text
 * builder push per character and per glyph; the stringify polyfill re-scans every output string
 * character by character. None of the corner cases matters to pdf.js (its modern build calls the
 * built-ins), so we put V8's own functions back right after the import; the polyfills that *add*
 * missing functions (`Promise.withResolvers`, `Map.prototype.getOrInsertComputed`,
 * `Uint8Array.prototype.toHex`, …) stay. Measured: 9–19 % less CPU per page of text extraction, 25–30 %
 * together with `installSyncInflate` (native-bench/probes/pdf-text-profile.ts, docs/performance.md).
 */
export function nativeBuiltins(): () => void {
  const push = Array.prototype.push;
  const { stringify, parse } = JSON;
  const fnToString = Function.prototype.toString;
  return () => {
    const def = (o: object, k: string, v: unknown) =>
      Object.defineProperty(o, k, { value: v, writable: true, configurable: true, enumerable: false });
    if (Array.prototype.push !== push) def(Array.prototype, 'push', push);
    if (JSON.stringify !== stringify) def(JSON, 'stringify', stringify);
    if (JSON.parse !== parse) def(JSON, 'parse', parse);
    if (Function.prototype.toString !== fnToString) def(Function.prototype, 'toString', fnToString);
  };
}

/** Compressed streams up to this size are inflated in one synchronous zlib call (see below). */
const SYNC_INFLATE_MAX_BYTES = 4 << 20;

/**
 * pdf.js (v5) decodes every FlateDecode/Brotli stream — each page's content stream, embedded fonts,
 * images — through the web `DecompressionStream`, whose Node implementation wraps a zlib stream in
 * web streams (a writer, a reader, promise hops per chunk, the inflate on the libuv pool). For the few
 * kilobytes of a content stream that machinery costs more than the inflate. In the thread that loads
 * pdf.js, `DecompressionStream` for "deflate" and "brotli" becomes a stand-in with the subset of the
 * interface pdf.js uses (`writable.getWriter()` → ready/write/close, `readable` as an async iterable)
 * that inflates in one `zlib.inflateSync` / `brotliDecompressSync`; inputs above
 * SYNC_INFLATE_MAX_BYTES (large images) and every other format go to the built-in class. A failure
 * rejects the read exactly as the built-in does, and pdf.js then falls back to its own JS decoder.
 */
export function installSyncInflate(): void {
  type Ctor = new (format: string) => unknown;
  const g = globalThis as { DecompressionStream?: Ctor & { archivarSyncInflate?: true } };
  const found = g.DecompressionStream;
  if (!found || found.archivarSyncInflate) return;
  const Builtin: Ctor = found;
  class SyncDecompressionStream {
    static readonly archivarSyncInflate = true;
    readonly readable!: AsyncIterable<Uint8Array>;
    readonly writable!: { getWriter(): unknown };
    constructor(format: string) {
      if (format !== 'deflate' && format !== 'brotli') {
        // biome-ignore lint/correctness/noConstructorReturn: stands in for the built-in for other formats
        return new Builtin(format) as SyncDecompressionStream;
      }
      const chunks: Uint8Array[] = [];
      let size = 0;
      let close!: () => void;
      const closed = new Promise<void>((resolve) => {
        close = resolve;
      });
      const writer = {
        ready: Promise.resolve(),
        closed,
        desiredSize: 1,
        write: async (chunk: Uint8Array) => {
          chunks.push(chunk);
          size += chunk.byteLength;
        },
        close: async () => close(),
        abort: async () => close(),
        releaseLock: () => {},
      };
      this.writable = { getWriter: () => writer };
      this.readable = {
        async *[Symbol.asyncIterator]() {
          await closed;
          const input = chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks);
          if (size > SYNC_INFLATE_MAX_BYTES) {
            const ds = new Builtin(format) as { readable: AsyncIterable<Uint8Array>; writable: WritableStream<Uint8Array> };
            const w = ds.writable.getWriter();
            w.write(input)
              .then(() => w.close())
              .catch(() => {});
            yield* ds.readable;
            return;
          }
          yield format === 'deflate' ? zlib.inflateSync(input) : zlib.brotliDecompressSync(input);
        },
      };
    }
  }
  g.DecompressionStream = SyncDecompressionStream as unknown as Ctor;
}

/** The text runs of a page's text content in viewport coordinates: what orderText reads. */
export function textRunsOf(pdfjs: PdfJs, viewportTransform: number[], items: TextContentItems): TextRun[] {
  const runs: TextRun[] = [];
  for (const raw of items) {
    if (!('str' in raw) || raw.str.length === 0) continue;
    const tx = pdfjs.Util.transform(viewportTransform, raw.transform) as number[];
    const fontSize = Math.hypot(tx[2] ?? 0, tx[3] ?? 0) || Math.abs(raw.height) || 1;
    // Rotation of the text run; runs at ±90° are read like horizontal ones but in their own frame.
    const scaleX = Math.hypot(tx[0] ?? 0, tx[1] ?? 0) || 1;
    const w = raw.width * (raw.dir === 'ttb' ? 1 : scaleX / (Math.hypot(raw.transform[0] ?? 0, raw.transform[1] ?? 0) || 1));
    runs.push({ str: raw.str, x: tx[4] ?? 0, y: tx[5] ?? 0, w: Math.abs(w), size: fontSize, eol: raw.hasEOL });
  }
  return runs;
}

async function loadPdfjs(): Promise<PdfJs> {
  pdfjsPromise ??= (async () => {
    installSyncInflate();
    const restore = nativeBuiltins();
    const g = globalThis as { pdfjsWorker?: unknown };
    try {
      if (!g.pdfjsWorker) g.pdfjsWorker = await import('pdfjs-dist/legacy/build/pdf.worker.mjs');
    } finally {
      restore();
    }
    let pdfjs: PdfJs;
    try {
      pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
    } finally {
      restore();
    }
    // Only reached if the global above were missing; a file URL, never a network one.
    pdfjs.GlobalWorkerOptions.workerSrc = pathToFileURL(path.join(PDFJS_DIR, 'legacy/build/pdf.worker.mjs')).href;
    return pdfjs;
  })();
  return pdfjsPromise;
}

export async function openPdf(
  bytes: Uint8Array,
  opts: { limits?: Pick<PipelineLimits, 'maxPages' | 'maxPixels'>; signal?: AbortSignal; password?: string } = {},
): Promise<PdfOpenResult> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  throwIfAborted(opts.signal);
  const pdfjs = await loadPdfjs();
  const task = pdfjs.getDocument({
    // A copy: pdf.js takes ownership of (and may detach) the buffer it is given.
    data: new Uint8Array(bytes),
    ...(opts.password !== undefined ? { password: opts.password } : {}),
    isEvalSupported: false,
    enableXfa: false,
    disableFontFace: true,
    useSystemFonts: false,
    isOffscreenCanvasSupported: false,
    isImageDecoderSupported: false,
    standardFontDataUrl: STANDARD_FONTS,
    cMapUrl: CMAPS,
    cMapPacked: true,
    wasmUrl: WASM,
    iccUrl: ICCS,
    useWorkerFetch: false,
    disableAutoFetch: true,
    disableStream: true,
    disableRange: true,
    // Images larger than this are skipped by pdf.js instead of decoded.
    maxImageSize: limits.maxPixels,
    verbosity: 0,
  });
  let doc: PDFDocumentProxy;
  try {
    doc = await raceSignal(task.promise, opts.signal, () => void task.destroy());
  } catch (err) {
    await task.destroy().catch(() => {});
    if (err instanceof PipelineError) throw err;
    const name = (err as { name?: string } | null)?.name;
    if (name === 'PasswordException') return { status: 'encrypted' };
    throw new PipelineError('corrupt', 'PDF could not be opened', { cause: err });
  }
  const pageCount = doc.numPages;
  if (!Number.isInteger(pageCount) || pageCount < 1) {
    await doc.destroy();
    throw new PipelineError('corrupt', 'PDF has no pages');
  }
  if (pageCount > limits.maxPages) {
    await doc.destroy();
    throw new PipelineError('limit', `PDF claims ${pageCount} pages, more than the limit of ${limits.maxPages}`);
  }
  return { status: 'ok', pdf: new PdfHandle(doc, pageCount, limits) };
}

class PdfHandle implements OpenPdf {
  constructor(
    private readonly doc: PDFDocumentProxy,
    readonly pageCount: number,
    private readonly limits: Pick<PipelineLimits, 'maxPixels'>,
  ) {}

  async metadata(): Promise<PdfMetadata> {
    const pdfjs = await loadPdfjs();
    const { info, metadata: xmp } = await this.doc.getMetadata().catch(() => ({ info: {}, metadata: null }));
    const i = (info ?? {}) as Record<string, unknown>;
    const str = (v: unknown): string | undefined => {
      if (typeof v !== 'string') return undefined;
      const s = v.replace(/\0/g, '').trim();
      return s ? s : undefined;
    };
    const date = (v: unknown): Date | undefined => {
      if (typeof v !== 'string') return undefined;
      const d = pdfjs.PDFDateString.toDateObject(v);
      return d && !Number.isNaN(d.getTime()) ? d : undefined;
    };
    const fromXmp = (key: string): string | undefined => {
      try {
        return str(xmp?.get(key));
      } catch {
        return undefined;
      }
    };
    let hasJavaScript = false;
    try {
      hasJavaScript = (await this.doc.getJSActions()) !== null;
    } catch {
      hasJavaScript = false;
    }
    const out: PdfMetadata = { pageCount: this.pageCount, hasJavaScript };
    const title = str(i.Title) ?? fromXmp('dc:title');
    const author = str(i.Author) ?? fromXmp('dc:creator');
    const subject = str(i.Subject) ?? fromXmp('dc:description');
    const keywords = str(i.Keywords) ?? fromXmp('pdf:keywords');
    const creator = str(i.Creator);
    const producer = str(i.Producer);
    const created = date(i.CreationDate);
    const modified = date(i.ModDate);
    if (title) out.title = title;
    if (author) out.author = author;
    if (subject) out.subject = subject;
    if (keywords) out.keywords = keywords;
    if (creator) out.creator = creator;
    if (producer) out.producer = producer;
    if (created) out.created = created;
    if (modified) out.modified = modified;
    return out;
  }

  async pageText(pageNumber: number, signal?: AbortSignal): Promise<PdfPageText> {
    throwIfAborted(signal);
    const page = await this.getPage(pageNumber, signal);
    try {
      const viewport = page.getViewport({ scale: 1 });
      const content = await raceSignal(page.getTextContent({ includeMarkedContent: false }), signal);
      const text = orderText(textRunsOf(await loadPdfjs(), viewport.transform, content.items));
      const quality = assessText(text, viewport.width, viewport.height);
      return { page: pageNumber, text, width: viewport.width, height: viewport.height, ...quality };
    } finally {
      page.cleanup();
    }
  }

  async renderPage(pageNumber: number, opts: { dpi?: number; signal?: AbortSignal } = {}): Promise<RenderedPage> {
    throwIfAborted(opts.signal);
    const page = await this.getPage(pageNumber, opts.signal);
    try {
      let dpi = opts.dpi ?? 300;
      const base = page.getViewport({ scale: 1 });
      // Giant page boxes (a "page" of 200 × 200 inches) get a lower dpi instead of a huge bitmap.
      const pixelsAt = (d: number) => (base.width * d * base.height * d) / (72 * 72);
      if (pixelsAt(dpi) > this.limits.maxPixels)
        dpi = Math.floor(72 * Math.sqrt(this.limits.maxPixels / (base.width * base.height)));
      if (dpi < 1) throw new PipelineError('limit', 'PDF page is too large to render');
      const viewport = page.getViewport({ scale: dpi / 72 });
      const width = Math.max(1, Math.floor(viewport.width));
      const height = Math.max(1, Math.floor(viewport.height));
      // pdfjs-dist pins its own @napi-rs/canvas; drawing its Path2D/images into a canvas of another
      // copy of the addon crashes natively, so the canvas must come from pdf.js's own factory.
      const factory = this.doc.canvasFactory as CanvasFactory;
      const { canvas } = factory.create(width, height);
      const task = page.render({
        canvas,
        viewport,
        background: '#ffffff',
        intent: 'print', // print intent: no form-field widgets drawn as UI, annotations as printed
      });
      await raceSignal(task.promise, opts.signal, () => task.cancel());
      // Opaque white background: the premultiplied RGBA equals straight RGBA.
      let pixels: Buffer;
      try {
        pixels = Buffer.from((canvas as unknown as { data(): Buffer }).data());
      } finally {
        factory.destroy({ canvas });
      }
      const png = await sharp(pixels, { raw: { width, height, channels: 4 } })
        .removeAlpha()
        .toColourspace('b-w')
        .png({ compressionLevel: 1, adaptiveFiltering: false })
        .toBuffer();
      return { png, width, height, dpi };
    } catch (err) {
      if (err instanceof PipelineError) throw err;
      throw new PipelineError('corrupt', `PDF page ${pageNumber} could not be rendered`, { cause: err });
    } finally {
      page.cleanup();
    }
  }

  async close(): Promise<void> {
    await this.doc.destroy().catch(() => {});
  }

  private async getPage(n: number, signal?: AbortSignal): Promise<PDFPageProxy> {
    if (!Number.isInteger(n) || n < 1 || n > this.pageCount) throw new RangeError(`page ${n} out of range`);
    try {
      return await raceSignal(this.doc.getPage(n), signal);
    } catch (err) {
      if (err instanceof PipelineError) throw err;
      throw new PipelineError('corrupt', `PDF page ${n} could not be read`, { cause: err });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reading order

/** A text run in viewport space: origin top-left, y down, (x, y) at the baseline start. */
export interface TextRun {
  str: string;
  x: number;
  y: number;
  w: number;
  size: number;
  eol?: boolean;
}

interface Segment {
  runs: TextRun[];
  x0: number;
  x1: number;
  y: number;
  size: number;
}

/**
 * Orders text runs into lines and columns: runs on one baseline form a line, a line is cut into
 * segments at wide horizontal gaps, and a vertical gutter that (almost) no segment crosses splits the
 * page into columns that are read one after the other. Segments that span the gutter (a title over
 * both columns, a footer) separate zones, so "title, left column, right column, footer" reads right.
 */
export function orderText(runs: TextRun[]): string {
  // A hostile page may place text at infinite or absurd coordinates: such runs cannot be ordered.
  const visible = runs.filter(
    (r) =>
      r.str.trim().length > 0 && Number.isFinite(r.x) && Number.isFinite(r.y) && Number.isFinite(r.w) && Number.isFinite(r.size),
  );
  if (visible.length === 0) return '';
  const segments = toSegments(visible);
  const lines = orderSegments(segments, 0);
  return lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Math.min/max over a mapped array without spreading it (a page can have more runs than a call has arguments). */
function minOf<T>(items: readonly T[], f: (t: T) => number): number {
  let m = Number.POSITIVE_INFINITY;
  for (const it of items) m = Math.min(m, f(it));
  return m;
}

function maxOf<T>(items: readonly T[], f: (t: T) => number): number {
  let m = Number.NEGATIVE_INFINITY;
  for (const it of items) m = Math.max(m, f(it));
  return m;
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

function groupLines<T extends { y: number; size: number }>(items: T[]): T[][] {
  const sorted = [...items].sort((a, b) => a.y - b.y);
  const lines: T[][] = [];
  let current: T[] = [];
  let lineY = Number.NEGATIVE_INFINITY;
  let lineSize = 0;
  for (const it of sorted) {
    if (current.length > 0 && Math.abs(it.y - lineY) <= 0.45 * Math.max(lineSize, it.size)) {
      current.push(it);
      continue;
    }
    if (current.length) lines.push(current);
    current = [it];
    lineY = it.y;
    lineSize = it.size;
  }
  if (current.length) lines.push(current);
  return lines;
}

function toSegments(runs: TextRun[]): Segment[] {
  const out: Segment[] = [];
  for (const line of groupLines(runs)) {
    line.sort((a, b) => a.x - b.x);
    let seg: Segment | undefined;
    for (const r of line) {
      // A gap wider than ~1.5 em is a column gutter or a table cell boundary, not a word space.
      const gapLimit = 1.5 * Math.max(r.size, seg?.size ?? 0);
      if (seg && r.x - seg.x1 <= gapLimit) {
        seg.runs.push(r);
        seg.x1 = Math.max(seg.x1, r.x + r.w);
        seg.size = Math.max(seg.size, r.size);
      } else {
        if (seg) out.push(seg);
        seg = { runs: [r], x0: r.x, x1: r.x + r.w, y: r.y, size: r.size };
      }
    }
    if (seg) out.push(seg);
  }
  return out;
}

function segmentText(seg: Segment): string {
  if (seg.runs.length === 1) return collapseSpaces((seg.runs[0] as TextRun).str);
  let s = '';
  let prevEnd = Number.NEGATIVE_INFINITY;
  for (const r of seg.runs) {
    if (s.length > 0) {
      const gap = r.x - prevEnd;
      const needsSpace = gap > 0.15 * r.size && !isSpaceAt(s, s.length - 1) && !isSpaceAt(r.str, 0);
      if (needsSpace) s += ' ';
    }
    s += r.str;
    prevEnd = r.x + r.w;
  }
  return collapseSpaces(s);
}

/** `s.replace(/\s+/g, ' ').trim()`, without the regex pass when `s` already has single inner spaces only. */
function collapseSpaces(s: string): string {
  const n = s.length;
  if (n === 0) return s;
  if (isSpaceAt(s, 0) || isSpaceAt(s, n - 1)) return s.replace(/\s+/g, ' ').trim();
  for (let i = 1; i < n - 1; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x20) {
      if (isSpaceAt(s, i + 1)) return s.replace(/\s+/g, ' ').trim();
    } else if (c < 0x80 ? c >= 0x09 && c <= 0x0d : isSpaceAt(s, i)) {
      return s.replace(/\s+/g, ' ').trim();
    }
  }
  return s;
}

/** `/\s/` for the code unit at `i` (every \s character is one UTF-16 code unit); false outside the string. */
function isSpaceAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c < 0x80) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  return WHITESPACE.test(s.charAt(i));
}

function orderSegments(segments: Segment[], depth: number): string[] {
  const gutter = depth < 3 ? findGutter(segments) : undefined;
  if (gutter === undefined) return linesOf(segments);

  // Zones between spanning segments; within a zone, the left column then the right column.
  const sorted = [...segments].sort((a, b) => a.y - b.y || a.x0 - b.x0);
  const out: string[] = [];
  let left: Segment[] = [];
  let right: Segment[] = [];
  const flush = () => {
    if (left.length) out.push(...orderSegments(left, depth + 1));
    if (left.length && right.length) out.push('');
    if (right.length) out.push(...orderSegments(right, depth + 1));
    left = [];
    right = [];
  };
  for (const seg of sorted) {
    if (seg.x1 <= gutter.from) left.push(seg);
    else if (seg.x0 >= gutter.to) right.push(seg);
    else {
      flush();
      out.push(...linesOf([seg]));
    }
  }
  flush();
  return out;
}

function linesOf(segments: Segment[]): string[] {
  const lines = groupLines(segments);
  const out: string[] = [];
  let prevY: number | undefined;
  const sizes = segments.map((s) => s.size);
  const typical = median(sizes) || 10;
  for (const line of lines) {
    line.sort((a, b) => a.x0 - b.x0);
    const y = median(line.map((s) => s.y));
    // A vertical gap well beyond normal leading marks a paragraph break.
    if (prevY !== undefined && y - prevY > 2.2 * typical) out.push('');
    out.push(line.map(segmentText).join('\t'));
    prevY = y;
  }
  return out;
}

/**
 * A vertical band, at least ~1 em wide, that at most a few segments cross while enough lines sit on
 * both sides at overlapping heights. Returns the band, or undefined for single-column text.
 */
function findGutter(segments: Segment[]): { from: number; to: number } | undefined {
  if (segments.length < 6) return undefined;
  const minX = minOf(segments, (s) => s.x0);
  const maxX = maxOf(segments, (s) => s.x1);
  const width = maxX - minX;
  if (width <= 0) return undefined;
  const em = median(segments.map((s) => s.size)) || 10;
  // At most ~4k steps across the block, however wide a hostile page claims to be.
  const step = Math.max(0.5, em / 4, width / 4096);
  // Titles, headings and footers over both columns cross the gutter; they become zone separators.
  const allowedCrossers = Math.max(2, Math.floor(segments.length * 0.3));

  let best: { from: number; to: number; score: number } | undefined;
  let runStart: number | undefined;
  const consider = (runFrom: number, runTo: number) => {
    const mid = (runFrom + runTo) / 2;
    // Column gutters sit away from the edges of the text block.
    if (mid < minX + 0.15 * width || mid > maxX - 0.15 * width) return;
    const left = segments.filter((s) => s.x1 <= mid);
    const right = segments.filter((s) => s.x0 >= mid);
    if (left.length < 3 || right.length < 3) return;
    // The real gutter lies between the columns' ragged edges, inside the low-coverage run.
    const from = maxOf(left, (s) => s.x1);
    const to = minOf(right, (s) => s.x0);
    if (to - from < 0.8 * em) return;
    // Both sides must share height: a caption beside a figure is not a column.
    const ly0 = minOf(left, (s) => s.y);
    const ly1 = maxOf(left, (s) => s.y);
    const ry0 = minOf(right, (s) => s.y);
    const ry1 = maxOf(right, (s) => s.y);
    const overlap = Math.min(ly1, ry1) - Math.max(ly0, ry0);
    if (overlap < 2 * em) return;
    // Column text fills its column; short cells beside a wide gap are a table, read row by row.
    const leftFill = median(left.map((s) => s.x1 - s.x0)) / Math.max(1, from - minX);
    const rightFill = median(right.map((s) => s.x1 - s.x0)) / Math.max(1, maxX - to);
    if (leftFill < 0.5 || rightFill < 0.5) return;
    const score = (to - from) * Math.min(left.length, right.length);
    if (!best || score > best.score) best = { from, to, score };
  };
  // Segments crossing x (x0 < x < x1), counted from both edge lists sorted, as x only grows: those
  // started before x minus those ended by x. A segment with x1 <= x0 never crosses.
  const starts: number[] = [];
  const ends: number[] = [];
  for (const s of segments) {
    if (s.x0 < s.x1) {
      starts.push(s.x0);
      ends.push(s.x1);
    }
  }
  starts.sort((a, b) => a - b);
  ends.sort((a, b) => a - b);
  let started = 0;
  let ended = 0;
  for (let x = minX; x <= maxX; x += step) {
    while (started < starts.length && (starts[started] as number) < x) started++;
    while (ended < ends.length && (ends[ended] as number) <= x) ended++;
    const crossers = started - ended;
    if (crossers <= allowedCrossers) runStart ??= x;
    else if (runStart !== undefined) {
      consider(runStart, x);
      runStart = undefined;
    }
  }
  if (runStart !== undefined) consider(runStart, maxX);
  if (!best) return undefined;
  const { from, to } = best;
  return { from, to };
}

// ---------------------------------------------------------------------------------------------
// Text-layer quality

const A4_AREA = 595 * 842;
const WHITESPACE = /^\s$/;
const LETTER_OR_DIGIT = /^[\p{L}\p{N}]$/u;
/** 1 for ASCII letters and digits (what \p{L}/\p{N} match below U+0080). */
const ASCII_ALNUM = new Uint8Array(128).map((_, c) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ? 1 : 0,
);

/**
 * Decides whether a page's text layer is usable. Too few characters for the page's area means a
 * scan (perhaps with a stamped header); many replacement, private-use or control characters mean
 * fonts without a usable Unicode mapping.
 */
export function assessText(text: string, widthPt: number, heightPt: number): Pick<PdfPageText, 'chars' | 'needsOcr' | 'reason'> {
  let chars = 0;
  let bad = 0;
  let letters = 0;
  // By code point; ASCII (nearly all of a Latin text layer) is classified by table, the rest by the
  // same Unicode regexes as before (\s, \p{L}, \p{N}); two regex tests per character cost ~0.2 ms a page.
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) continue;
      chars++;
      if (c < 0x20 || c === 0x7f) bad++;
      else if (ASCII_ALNUM[c] === 1) letters++;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const lo = text.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    if (c <= 0xffff && WHITESPACE.test(String.fromCharCode(c))) continue;
    chars++;
    if (c === 0xfffd || (c >= 0xe000 && c <= 0xf8ff) || (c >= 0x7f && c <= 0x9f)) bad++;
    else if (LETTER_OR_DIGIT.test(String.fromCodePoint(c))) letters++;
  }
  if (chars === 0) return { chars, needsOcr: true, reason: 'empty' };
  if (bad / chars > 0.2 || (chars >= 20 && letters / chars < 0.4)) return { chars, needsOcr: true, reason: 'garbage' };
  // ~25 characters on a whole A4 page is a page number or a stamp, not content.
  const minChars = Math.max(10, 25 * ((widthPt * heightPt) / A4_AREA));
  if (chars < minChars) return { chars, needsOcr: true, reason: 'sparse' };
  return { chars, needsOcr: false, reason: 'text' };
}
