import {
  buildSearchablePdf,
  type ExtractedDocument,
  type ExtractedPage,
  imageInfo,
  imagePreviews,
  openPdf,
  type PageSizePt,
  type PreviewImage,
  pdfPreviews,
  previewFromImage,
  type SearchablePage,
  scanDensity,
  turnedSize,
  turnPng,
} from '../pipeline/index.js';
import type { ProcessLimits } from './tasks.js';

/**
 * Previews made in the worker (docs/pipeline.md): a WebP thumbnail and PNG page previews of images and
 * of fully scanned PDFs, and a searchable PDF (page images + invisible OCR text) for both. Born-digital
 * (and mixed) PDFs get a thumbnail and page previews rendered from the PDF; their original serves as the PDF.
 */
export interface MadePreviews {
  thumbnail?: Buffer;
  pages: Buffer[];
  pdf?: Buffer;
  /** The original document is the PDF preview (born-digital PDF). */
  pdfIsOriginal: boolean;
}

export async function makePreviews(
  bytes: Buffer,
  doc: ExtractedDocument,
  opts: { previewPages: number; limits: ProcessLimits; signal: AbortSignal; title?: string },
): Promise<MadePreviews> {
  const none: MadePreviews = { pages: [], pdfIsOriginal: false };
  if (doc.status !== 'ok') return none;
  if (doc.mediaType.startsWith('image/')) return fromImage(bytes, doc.pages, opts);
  if (doc.mediaType === 'application/pdf') {
    const scanned = doc.pages.length > 0 && doc.pages.every((p) => p.ocr && p.dpi);
    return scanned ? fromScannedPdf(bytes, doc.pages, opts) : fromBornDigitalPdf(bytes, doc.pages, opts);
  }
  return none;
}

type Opts = Parameters<typeof makePreviews>[2];

async function fromImage(bytes: Buffer, pages: ExtractedPage[], opts: Opts): Promise<MadePreviews> {
  const limits = { maxPixels: opts.limits.maxPixels, maxPages: opts.limits.maxPages };
  // A page OCR found lying sideways is shown turned as it was read, so boxes and pictures agree.
  const turns = pages.map((p) => p.turn);
  const made = await imagePreviews(bytes, { limits, maxPages: Math.max(1, opts.previewPages), signal: opts.signal, turns });
  const previews = made.pages.slice(0, opts.previewPages);
  if (pages.length === 0 || !pages.every((p) => p.ocr && p.width)) {
    return { thumbnail: made.thumbnail.bytes, pages: previews.map((p) => p.bytes), pdfIsOriginal: false };
  }
  // The PDF shows the 1024 px page image; OCR boxes (upright source pixels) are scaled to it. A scan's own
  // density (as OCR trusts it) gives its page the size of the paper: an A4 at 150 dpi is not printed as A6.
  const density = scanDensity((await imageInfo(bytes, limits)).density) ?? 300;
  const searchable: SearchablePage[] = [];
  for (let i = 0; i < pages.length; i++) {
    const page = pages[i] as ExtractedPage;
    const image: PreviewImage =
      made.pages[i] ??
      (await previewFromImage(bytes, 'page', {
        limits,
        signal: opts.signal,
        ...(pages.length > 1 ? { page: i } : {}),
        ...(page.turn ? { turn: page.turn } : {}),
      }));
    const s = image.width / (page.width ?? image.width);
    searchable.push({
      image: image.bytes,
      width: image.width,
      height: image.height,
      dpi: imageDpi(page.width ?? image.width, page.height ?? image.height, density) * s,
      words: (page.words ?? []).map((w) => ({ ...w, x: w.x * s, y: w.y * s, w: w.w * s, h: w.h * s })),
    });
  }
  const pdf = await searchablePdf(searchable, opts);
  return { thumbnail: made.thumbnail.bytes, pages: previews.map((p) => p.bytes), pdf, pdfIsOriginal: false };
}

/**
 * The resolution a source image is taken to have for its page in the searchable PDF: its scan density (else
 * 300 dpi), more for one over 200 inches at that (a panorama) and less for one under 3 points (a few pixels),
 * so the page stays within what PDF viewers open (3 to 14 400 points a side) and the previews are not lost to
 * the PDF's page-size limit.
 */
export function imageDpi(width: number, height: number, density = 300): number {
  return Math.min(Math.max(density, Math.max(width, height) / 199), Math.min(width, height) * 24);
}

function searchablePdf(pages: SearchablePage[], opts: Opts): Promise<Buffer> {
  return buildSearchablePdf(pages, {
    maxPages: opts.limits.maxPages,
    signal: opts.signal,
    ...(opts.title ? { title: opts.title } : {}),
  });
}

/** Text-layer (or mixed) PDF: pages 1…previewPages rendered at 1024 px width; the original is the PDF. */
async function fromBornDigitalPdf(bytes: Buffer, pages: ExtractedPage[], opts: Opts): Promise<MadePreviews> {
  const opened = await openPdf(bytes, { limits: opts.limits, signal: opts.signal });
  if (opened.status === 'encrypted') return { pages: [], pdfIsOriginal: true };
  const pdf = opened.pdf;
  try {
    const made = await pdfPreviews(pdf, {
      maxPages: Math.max(1, opts.previewPages),
      pageSizesPt: pages.map(pageSizePt),
      turns: pages.map((p) => p.turn),
      signal: opts.signal,
    });
    return {
      thumbnail: made.thumbnail.bytes,
      pages: made.pages.slice(0, opts.previewPages).map((p) => p.bytes),
      pdfIsOriginal: true,
    };
  } finally {
    await pdf.close();
  }
}

/**
 * A page's size in points from extraction: text-layer pages are measured in points, OCR'd ones in pixels
 * (of the page as shown: turned, when OCR found it lying sideways).
 */
export function pageSizePt(page: ExtractedPage | undefined): PageSizePt | undefined {
  if (!page?.width || !page.height) return undefined;
  const s = page.ocr && page.dpi ? 72 / page.dpi : 1;
  return { width: page.width * s, height: page.height * s };
}

/** Every page was OCR'd (image-only): each is rendered again at its OCR dpi, so the word boxes fit. */
async function fromScannedPdf(bytes: Buffer, pages: ExtractedPage[], opts: Opts): Promise<MadePreviews> {
  const opened = await openPdf(bytes, { limits: opts.limits, signal: opts.signal });
  if (opened.status === 'encrypted') return { pages: [], pdfIsOriginal: false };
  const pdf = opened.pdf;
  const previews: Buffer[] = [];
  const searchable: SearchablePage[] = [];
  let thumbnail: Buffer | undefined;
  try {
    for (let n = 1; n <= pages.length; n++) {
      const page = pages[n - 1] as ExtractedPage;
      const lying = await pdf.renderPage(n, { dpi: page.dpi ?? opts.limits.renderDpi, signal: opts.signal });
      // Turned like OCR turned it: the words' boxes are of the turned render.
      const rendered = page.turn
        ? { ...lying, png: await turnPng(lying.png, page.turn), ...turnedSize(lying.width, lying.height, page.turn) }
        : lying;
      if (n <= opts.previewPages || n === 1) {
        const preview = await previewFromImage(rendered.png, 'page', { signal: opts.signal });
        if (n === 1) thumbnail = (await previewFromImage(preview.bytes, 'thumbnail', { signal: opts.signal })).bytes;
        if (n <= opts.previewPages) previews.push(preview.bytes);
      }
      searchable.push({
        image: rendered.png,
        width: rendered.width,
        height: rendered.height,
        dpi: rendered.dpi,
        words: page.words ?? [],
      });
    }
  } finally {
    await pdf.close();
  }
  const out = await searchablePdf(searchable, opts);
  return { ...(thumbnail ? { thumbnail } : {}), pages: previews, pdf: out, pdfIsOriginal: false };
}
