import {
  beginText,
  endText,
  PDFDocument,
  type PDFFont,
  type PDFImage,
  type PDFName,
  type PDFPage,
  popGraphicsState,
  pushGraphicsState,
  StandardFonts,
  setCharacterSqueeze,
  setFontAndSize,
  setTextMatrix,
  setTextRenderingMode,
  showText,
  TextRenderingMode,
} from 'pdf-lib';
import { PipelineError, throwIfAborted } from './errors.js';
import type { OcrWord } from './ocr.js';

/**
 * A searchable PDF from page images and OCR words (pdf-lib): each page is its image, with every word
 * drawn over it in text rendering mode 3 (invisible) at the word's box, so viewers find and select
 * the text where it is seen. Helvetica (a standard font, WinAnsi): nothing is embedded, and words
 * with characters outside WinAnsi are transliterated (NFKD base letters, a few known mappings, "?").
 */
export interface SearchablePage {
  /** The page image, PNG or JPEG. */
  image: Uint8Array;
  /** Image size in pixels; the OCR boxes are in this space. */
  width: number;
  height: number;
  /** Resolution of the image; the PDF page is width × 72 / dpi points wide. @default 300 */
  dpi?: number;
  words: readonly OcrWord[];
}

export interface SearchablePdfOptions {
  title?: string;
  /** Pages accepted at most. @default 2000 */
  maxPages?: number;
  signal?: AbortSignal;
}

// Helvetica's descender (−207/1000): a word with descenders has its baseline that far above the box bottom.
const DESCENT = 0.207;
// Box height to font size: a box spans the word's ink, about ascender (0.718) to descender for mixed words.
const BOX_TO_SIZE = 1 / (0.718 + DESCENT);

export async function buildSearchablePdf(pages: readonly SearchablePage[], opts: SearchablePdfOptions = {}): Promise<Buffer> {
  if (pages.length === 0) throw new PipelineError('empty', 'a searchable PDF needs at least one page');
  const maxPages = opts.maxPages ?? 2000;
  if (pages.length > maxPages) {
    throw new PipelineError('limit', `searchable PDF of ${pages.length} pages exceeds the limit of ${maxPages}`);
  }
  const doc = await PDFDocument.create({ updateMetadata: false });
  doc.setProducer('Archivar');
  doc.setCreator('Archivar OCR');
  if (opts.title) doc.setTitle(opts.title);
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const charset = new Set(font.getCharacterSet());

  for (const [i, p] of pages.entries()) {
    throwIfAborted(opts.signal);
    if (!(p.width > 0 && p.height > 0)) throw new PipelineError('corrupt', `page ${i + 1} has no size`);
    const dpi = p.dpi && p.dpi > 0 ? p.dpi : 300;
    const scale = 72 / dpi;
    const wPt = p.width * scale;
    const hPt = p.height * scale;
    if (wPt > 14_400 || hPt > 14_400) {
      // PDF viewers' page-size limit (200 inches); a lower dpi guess would fix it, not silently shrinking.
      throw new PipelineError('limit', `page ${i + 1} would be larger than 200 inches at ${dpi} dpi`);
    }
    const image = await embedImage(doc, p.image, i + 1);
    const page = doc.addPage([wPt, hPt]);
    page.drawImage(image, { x: 0, y: 0, width: wPt, height: hPt });
    drawInvisibleWords(page, font, charset, p.words, scale, hPt);
  }
  return Buffer.from(await doc.save({ useObjectStreams: true }));
}

async function embedImage(doc: PDFDocument, bytes: Uint8Array, pageNumber: number): Promise<PDFImage> {
  try {
    if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return await doc.embedPng(bytes);
    if (bytes[0] === 0xff && bytes[1] === 0xd8) return await doc.embedJpg(bytes);
  } catch (err) {
    throw new PipelineError('corrupt', `page ${pageNumber} image could not be embedded`, { cause: err });
  }
  throw new PipelineError('corrupt', `page ${pageNumber} image must be PNG or JPEG`);
}

function drawInvisibleWords(
  page: PDFPage,
  font: PDFFont,
  charset: Set<number>,
  words: readonly OcrWord[],
  scale: number,
  pageHeightPt: number,
): void {
  const ops = [];
  let fontKey: PDFName | undefined;
  for (const w of words) {
    const text = toWinAnsi(w.text.trim(), charset);
    if (!text || !(w.w > 0 && w.h > 0)) continue;
    fontKey ??= page.node.newFontDictionary('OcrText', font.ref);
    const boxW = w.w * scale;
    const boxH = w.h * scale;
    const size = Math.max(1, boxH * BOX_TO_SIZE);
    const natural = font.widthOfTextAtSize(text, size);
    // Horizontal scaling (Tz) stretches the word to its box, so selection covers exactly what is seen.
    const squeeze = natural > 0 ? (100 * boxW) / natural : 100;
    const descends = /[gjpqy,;(){}[\]|@µ]/.test(text);
    const baseline = pageHeightPt - (w.y + w.h) * scale + (descends ? DESCENT * size : 0);
    ops.push(
      setFontAndSize(fontKey, size),
      setCharacterSqueeze(squeeze),
      setTextMatrix(1, 0, 0, 1, w.x * scale, baseline),
      showText(font.encodeText(text)),
    );
  }
  if (ops.length === 0) return;
  page.pushOperators(
    pushGraphicsState(),
    beginText(),
    setTextRenderingMode(TextRenderingMode.Invisible),
    ...ops,
    endText(),
    popGraphicsState(),
  );
}

const FALLBACK: Record<string, string> = {
  ł: 'l',
  Ł: 'L',
  đ: 'd',
  Đ: 'D',
  ø: 'o',
  Ø: 'O',
  ı: 'i',
  '\u2010': '-',
  '\u2011': '-',
  '\u2212': '-',
  '\u00a0': ' ',
};

/** Maps a word onto Helvetica's WinAnsi character set: kept, transliterated, or replaced by "?". */
export function toWinAnsi(text: string, charset: ReadonlySet<number>): string {
  let out = '';
  for (const ch of text.normalize('NFC')) {
    const cp = ch.codePointAt(0) ?? 0;
    if (charset.has(cp)) {
      out += ch;
      continue;
    }
    const mapped = FALLBACK[ch];
    if (mapped !== undefined) {
      out += mapped;
      continue;
    }
    // Compatibility forms (ligatures, full-width) and accented letters: their base characters.
    const decomposed = ch
      .normalize('NFKD')
      .replace(/\p{M}/gu, '')
      .split('')
      .filter((c) => charset.has(c.codePointAt(0) ?? 0))
      .join('');
    out += decomposed || '?';
  }
  return out;
}
