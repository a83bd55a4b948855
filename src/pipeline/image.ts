import sharp, { type Metadata, type Sharp } from 'sharp';
import { PipelineError, throwIfAborted } from './errors.js';
import { type ExifInfo, parseExif } from './exif.js';
import { DEFAULT_LIMITS, type PipelineLimits } from './limits.js';
import { ELONGATED } from './ocr-tiles.js';

/**
 * Image stages on sharp: header inspection (dimensions, pages, EXIF) and preprocessing for OCR.
 * Every sharp instance gets `limitInputPixels`, and dimensions are also checked from the header
 * before any decode, so a 100 000 × 100 000 header fails in microseconds.
 */
export interface ImageInfo {
  format: string;
  /** Upright size (after EXIF orientation) of the first page. */
  width: number;
  height: number;
  pages: number;
  /** Pixels per inch, when the file says. */
  density?: number;
  /** EXIF/TIFF orientation (1–8) when the file has the tag; 1 is upright. */
  orientation?: number;
  exif: ExifInfo;
}

export interface OcrImage {
  /** Lossless grayscale PNG, upright, ready for the OCR engine. */
  png: Buffer;
  width: number;
  height: number;
  /** Factor from upright source pixels to `png` pixels (divide OCR boxes by it to map back). */
  scale: number;
  /** Upright size of the source page. */
  sourceWidth: number;
  sourceHeight: number;
}

export type ImageLimits = Pick<PipelineLimits, 'maxPixels' | 'maxPages'>;

// Tesseract reads best at ~300 dpi (x-height ≥ 20 px); scanners write 150–600 dpi.
const TARGET_DPI = 300;
// Without a trustworthy density, images whose long side is below this are upscaled to it.
const MIN_LONG_SIDE = 1800;
const MAX_UPSCALE = 3;
// Caps the OCR input of a page: an A4 page at 300 dpi is 2480 × 3508.
const MAX_LONG_SIDE = 5000;
// A strip (one side over ELONGATED times the other: a till receipt, a panorama) is OCR'd in tiles along its
// long side (ocr-tiles.ts) rather than shrunk until that side fits, which left its text a few pixels high:
// its short side and its pixels are capped instead (about four A4 pages at 300 dpi, within a page's time).
const MAX_STRIP_SHORT_SIDE = 2500;
const MAX_STRIP_PIXELS = 36_000_000;

function sharpOf(bytes: Uint8Array, limits: ImageLimits, page?: number): Sharp {
  return sharp(bytes, {
    limitInputPixels: limits.maxPixels,
    // 'error' rejects truncated and corrupt data; 'warning' would also reject harmless quirks of real scans.
    failOn: 'error',
    ...(page !== undefined ? { page } : {}),
  });
}

function wrapSharpError(err: unknown): PipelineError {
  if (err instanceof PipelineError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (/pixel limit|exceeds pixel|too large/i.test(msg)) {
    return new PipelineError('limit', 'image dimensions exceed the pixel limit', { cause: err });
  }
  return new PipelineError('corrupt', 'image could not be decoded', { cause: err });
}

export async function imageInfo(bytes: Uint8Array, limits: ImageLimits = DEFAULT_LIMITS): Promise<ImageInfo> {
  let meta: Metadata;
  try {
    meta = await sharpOf(bytes, limits).metadata();
  } catch (err) {
    throw wrapSharpError(err);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (!(width > 0 && height > 0)) throw new PipelineError('corrupt', 'image has no dimensions');
  // metadata() reads headers only and does not enforce limitInputPixels: check here.
  if (width * height > limits.maxPixels) {
    throw new PipelineError('limit', `image of ${width} × ${height} pixels exceeds the limit of ${limits.maxPixels} pixels`);
  }
  const pages = meta.format === 'gif' || meta.format === 'webp' ? 1 : Math.max(1, meta.pages ?? 1);
  if (pages > limits.maxPages) {
    throw new PipelineError('limit', `image has ${pages} pages, more than the limit of ${limits.maxPages}`);
  }
  const swap = (meta.orientation ?? 1) >= 5;
  return {
    format: meta.format,
    width: swap ? height : width,
    height: swap ? width : height,
    pages,
    ...(meta.density && meta.density >= 50 && meta.density <= 2400 ? { density: meta.density } : {}),
    ...(meta.orientation ? { orientation: meta.orientation } : {}),
    exif: parseExif(meta.exif),
  };
}

/**
 * One page of an image, upright, grayscale, contrast-stretched and scaled to roughly 300 dpi.
 * Animated GIF/WebP: the first frame only (frames are not pages of a document).
 */
export async function preprocessForOcr(
  bytes: Uint8Array,
  opts: { page?: number; limits?: ImageLimits; density?: number; signal?: AbortSignal } = {},
): Promise<OcrImage> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  throwIfAborted(opts.signal);
  try {
    const meta = await sharpOf(bytes, limits, opts.page).metadata();
    const w0 = meta.width ?? 0;
    const h0 = meta.height ?? 0;
    if (!(w0 > 0 && h0 > 0)) throw new PipelineError('corrupt', 'image has no dimensions');
    if (w0 * h0 > limits.maxPixels) {
      throw new PipelineError('limit', `image of ${w0} × ${h0} pixels exceeds the limit of ${limits.maxPixels} pixels`);
    }
    const swap = (meta.orientation ?? 1) >= 5;
    const sourceWidth = swap ? h0 : w0;
    const sourceHeight = swap ? w0 : h0;
    const scale = chooseScale(sourceWidth, sourceHeight, opts.density ?? meta.density);
    const width = Math.max(1, Math.round(sourceWidth * scale));
    const height = Math.max(1, Math.round(sourceHeight * scale));

    let pipeline = sharpOf(bytes, limits, opts.page).autoOrient().flatten({ background: '#ffffff' }).grayscale();
    if (width !== sourceWidth || height !== sourceHeight) {
      pipeline = pipeline.resize(width, height, { kernel: scale > 1 ? 'lanczos3' : 'mitchell', fit: 'fill' });
    }
    const png = await pipeline
      .normalise({ lower: 1, upper: 99 })
      .toColourspace('b-w')
      .png({ compressionLevel: 1, adaptiveFiltering: false })
      .toBuffer();
    throwIfAborted(opts.signal);
    return { png, width, height, scale, sourceWidth, sourceHeight };
  } catch (err) {
    throw wrapSharpError(err);
  }
}

/** The density of a scan when plausible: 72/96 are screen defaults written by tools that know nothing about it. */
export function scanDensity(density?: number): number | undefined {
  return density && density >= 100 && density <= 1200 && density !== 72 && density !== 96 ? density : undefined;
}

/** Scale factor to ~300 dpi: from the density when plausible, else from the size. */
export function chooseScale(width: number, height: number, density?: number): number {
  const long = Math.max(width, height);
  let scale = 1;
  const dpi = scanDensity(density);
  if (dpi) {
    scale = TARGET_DPI / dpi;
  } else if (long < MIN_LONG_SIDE) {
    scale = MIN_LONG_SIDE / long;
  }
  scale = Math.min(scale, MAX_UPSCALE);
  const short = Math.min(width, height);
  if (long > ELONGATED * short) {
    if (short * scale > MAX_STRIP_SHORT_SIDE) scale = MAX_STRIP_SHORT_SIDE / short;
    if (long * short * scale * scale > MAX_STRIP_PIXELS) scale = Math.sqrt(MAX_STRIP_PIXELS / (long * short));
  } else if (long * scale > MAX_LONG_SIDE) scale = MAX_LONG_SIDE / long;
  // Small changes cost resampling blur and time for nothing.
  if (Math.abs(scale - 1) < 0.15) scale = 1;
  return scale;
}

/** Page images of a multi-page TIFF (or the single page of any other image), preprocessed for OCR. */
export async function* imagePagesForOcr(
  bytes: Uint8Array,
  opts: { limits?: ImageLimits; signal?: AbortSignal } = {},
): AsyncGenerator<OcrImage & { page: number; pageCount: number }> {
  const info = await imageInfo(bytes, opts.limits);
  for (let page = 0; page < info.pages; page++) {
    throwIfAborted(opts.signal);
    const img = await preprocessForOcr(bytes, {
      ...(info.pages > 1 ? { page } : {}),
      ...(opts.limits ? { limits: opts.limits } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    yield { ...img, page, pageCount: info.pages };
  }
}
