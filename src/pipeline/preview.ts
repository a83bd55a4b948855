import sharp, { type Sharp } from 'sharp';
import { PipelineError, throwIfAborted } from './errors.js';
import { imageInfo } from './image.js';
import { DEFAULT_LIMITS, type PipelineLimits } from './limits.js';
import { type PageTurn, turnedSize } from './orientation.js';
import type { OpenPdf } from './pdf.js';

/**
 * Previews of a document's pages: a WebP thumbnail of the first page (~256 px wide) and a PNG per page
 * (~1024 px wide), from images (sharp) or from PDF pages (rendered by pdf.js, then resized by sharp).
 * Every sharp input carries `limitInputPixels`; `sharp.concurrency(1)` is the worker's business.
 */
export interface PreviewImage {
  bytes: Buffer;
  format: 'webp' | 'png';
  width: number;
  height: number;
}

export interface PreviewOptions {
  limits?: Pick<PipelineLimits, 'maxPixels' | 'maxPages'>;
  signal?: AbortSignal;
  /** @default 256 */
  thumbnailWidth?: number;
  /** @default 1024 */
  pageWidth?: number;
}

export interface DocumentPreviews {
  thumbnail: PreviewImage;
  /** Page previews for pages 1…n, n = min(pageCount, maxPages). */
  pages: PreviewImage[];
  pageCount: number;
}

export const THUMBNAIL_WIDTH = 256;
export const PAGE_PREVIEW_WIDTH = 1024;
// Very tall pages (receipts, web captures) are capped in height instead of becoming giant bitmaps.
const MAX_ASPECT = 8;
const MAX_PREVIEW_DPI = 300;

function sharpOf(input: Buffer | Uint8Array, maxPixels: number, page?: number): Sharp {
  return sharp(input, { limitInputPixels: maxPixels, failOn: 'error', ...(page !== undefined ? { page } : {}) });
}

function wrap(err: unknown, what: string): PipelineError {
  if (err instanceof PipelineError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (/pixel limit|exceeds pixel|too large/i.test(msg)) {
    return new PipelineError('limit', 'image dimensions exceed the pixel limit', { cause: err });
  }
  return new PipelineError('corrupt', `${what} could not be made`, { cause: err });
}

async function encode(pipeline: Sharp, width: number, format: 'webp' | 'png'): Promise<PreviewImage> {
  const resized = pipeline.resize({
    width,
    height: width * MAX_ASPECT,
    fit: 'inside',
    withoutEnlargement: true,
    kernel: 'lanczos3',
  });
  const out =
    format === 'webp'
      ? resized.webp({ quality: 75, effort: 2 })
      : resized.png({ compressionLevel: 6, adaptiveFiltering: false, palette: false });
  const { data, info } = await out.toBuffer({ resolveWithObject: true });
  return { bytes: data, format, width: info.width, height: info.height };
}

/**
 * Resizes an already decoded page bitmap (PNG, JPEG, …) to a preview, EXIF orientation applied, then
 * turned clockwise by `turn` (a page OCR found lying sideways, `ExtractedPage.turn`); the width is the turned one.
 */
export async function previewFromImage(
  bytes: Uint8Array,
  kind: 'thumbnail' | 'page',
  opts: PreviewOptions & { page?: number; turn?: PageTurn } = {},
): Promise<PreviewImage> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  throwIfAborted(opts.signal);
  try {
    let pipeline = sharpOf(bytes, limits.maxPixels, opts.page).autoOrient();
    if (opts.turn) pipeline = pipeline.rotate(opts.turn);
    pipeline = pipeline.flatten({ background: '#ffffff' });
    const result =
      kind === 'thumbnail'
        ? await encode(pipeline, opts.thumbnailWidth ?? THUMBNAIL_WIDTH, 'webp')
        : await encode(pipeline, opts.pageWidth ?? PAGE_PREVIEW_WIDTH, 'png');
    throwIfAborted(opts.signal);
    return result;
  } catch (err) {
    throw wrap(err, 'image preview');
  }
}

/** Page size in PDF points, rotation applied; the worker knows it from extraction. */
export interface PageSizePt {
  width: number;
  height: number;
}

/**
 * Renders a PDF page at the dpi that makes it `width` pixels wide. The page size comes from the
 * caller (extraction already measured it) or from the page's text layer, which is cheaper than a probe
 * render: it decodes no images. Rendering at the exact dpi also keeps posters from becoming huge canvases.
 */
export async function renderPdfPagePng(
  pdf: OpenPdf,
  pageNumber: number,
  width: number,
  opts: { signal?: AbortSignal; pageSizePt?: PageSizePt } = {},
): Promise<{ png: Buffer; width: number; height: number; dpi: number }> {
  const signal = opts.signal ? { signal: opts.signal } : {};
  const size = opts.pageSizePt?.width ? opts.pageSizePt : await pdf.pageText(pageNumber, opts.signal);
  // +0.5 px so that flooring the viewport size in renderPage does not lose the last column. Capped at
  // 300 dpi, the resolution the OCR path renders at: pages narrower than ~3.4 in get a narrower preview
  // rather than an upscale that shows nothing more.
  const dpi = Math.min(MAX_PREVIEW_DPI, Math.max(1, ((width + 0.5) * 72) / Math.max(1, size.width)));
  const r = await pdf.renderPage(pageNumber, { dpi, ...signal });
  return { png: r.png, width: r.width, height: r.height, dpi: r.dpi };
}

/**
 * The page preview (PNG) of one PDF page, turned clockwise by `turn` (a scanned page OCR found lying
 * sideways). `pageSizePt` is the size as shown, after the turn; the preview is `pageWidth` wide after it.
 */
export async function pdfPagePreview(
  pdf: OpenPdf,
  pageNumber: number,
  opts: PreviewOptions & { pageSizePt?: PageSizePt; turn?: PageTurn } = {},
): Promise<PreviewImage> {
  const width = opts.pageWidth ?? PAGE_PREVIEW_WIDTH;
  let shown = opts.pageSizePt;
  if (!shown?.width && opts.turn) {
    const lying = await pdf.pageText(pageNumber, opts.signal);
    shown = turnedSize(lying.width, lying.height, opts.turn);
  }
  // The render's dpi comes from the shown width: turned by 90°, the rendered height becomes that width.
  const rendered = await renderPdfPagePng(pdf, pageNumber, width, {
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(shown ? { pageSizePt: shown } : {}),
  });
  return previewFromImage(rendered.png, 'page', { ...opts, pageWidth: width });
}

/**
 * Thumbnail (WebP) and page previews (PNG) of a PDF: pages 1…min(pageCount, maxPages).
 * `pageSizesPt[i]` is page i + 1's size when the caller knows it (saves a text-layer read per page).
 */
export async function pdfPreviews(
  pdf: OpenPdf,
  opts: PreviewOptions & {
    maxPages?: number;
    pageSizesPt?: readonly (PageSizePt | undefined)[];
    /** `turns[i]`: page i + 1 lay sideways and is shown turned (then `pageSizesPt[i]` is the turned size). */
    turns?: readonly (PageTurn | undefined)[];
  } = {},
): Promise<DocumentPreviews> {
  const n = Math.min(pdf.pageCount, Math.max(1, opts.maxPages ?? pdf.pageCount));
  const pages: PreviewImage[] = [];
  const { turns, pageSizesPt, ...rest } = opts;
  for (let p = 1; p <= n; p++) {
    throwIfAborted(opts.signal);
    const pageSizePt = pageSizesPt?.[p - 1];
    const turn = turns?.[p - 1];
    pages.push(await pdfPagePreview(pdf, p, { ...rest, ...(pageSizePt ? { pageSizePt } : {}), ...(turn ? { turn } : {}) }));
  }
  // The first page preview is already a clean bitmap: the thumbnail is a downscale of it.
  const first = pages[0] as PreviewImage;
  const thumbnail = await previewFromImage(first.bytes, 'thumbnail', opts);
  return { thumbnail, pages, pageCount: pdf.pageCount };
}

/** Thumbnail and page previews of an image; multi-page TIFFs get one page preview per page. */
export async function imagePreviews(
  bytes: Uint8Array,
  opts: PreviewOptions & {
    maxPages?: number;
    /** `turns[i]`: page i + 1 lay sideways (`ExtractedPage.turn`) and is shown turned by as much. */
    turns?: readonly (PageTurn | undefined)[];
  } = {},
): Promise<DocumentPreviews> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const info = await imageInfo(bytes, limits);
  const n = Math.min(info.pages, Math.max(1, opts.maxPages ?? info.pages));
  const pages: PreviewImage[] = [];
  const { turns, ...rest } = opts;
  for (let p = 0; p < n; p++) {
    throwIfAborted(opts.signal);
    const turn = turns?.[p];
    pages.push(
      await previewFromImage(bytes, 'page', { ...rest, ...(info.pages > 1 ? { page: p } : {}), ...(turn ? { turn } : {}) }),
    );
  }
  // Downscaling the page preview (already turned) is far cheaper than decoding a camera JPEG a second time.
  const thumbnail = await previewFromImage((pages[0] as PreviewImage).bytes, 'thumbnail', rest);
  return { thumbnail, pages, pageCount: info.pages };
}
