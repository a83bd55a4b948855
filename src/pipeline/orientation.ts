import sharp from 'sharp';
import { PipelineError, throwIfAborted } from './errors.js';
import type { OcrEngine, OcrPageResult, OrientationGuess, SegmentationMode } from './ocr.js';
import { recognizeTiled } from './ocr-tiles.js';

/**
 * Pages that lie sideways or upside down (a scan fed in turned, an image without an EXIF orientation):
 * OCR of them as they lie gives garbage, so the document could not be found by its words.
 *
 * The upright case stays as cheap as before: the page is OCR'd as it lies, and only a doubtful result
 * (no words, a mean word confidence under UPRIGHT_CONFIDENCE — upright clean text scores ~95, text
 * lying sideways or upside down 40–60 —, or words read as vertical text, `readSideways`) asks tesseract's OSD which way the text lies (tens to a few hundred
 * ms). When OSD names a turn, the page is turned (sharp) and OCR'd again, and the turned result is kept
 * only if its confidence is clearly higher, so a wrong guess costs one OCR pass and never the text. When
 * OSD has too few characters to tell (a line or two), the three turns are tried instead, but only on a
 * page where the first pass read some words (a blank page is not tried three more times).
 */
export type PageTurn = 0 | 90 | 180 | 270;

/** A first pass at or above this mean word confidence is taken as upright without asking OSD. */
export const UPRIGHT_CONFIDENCE = 80;
/**
 * OSD answers below this confidence are not acted on. Two lines of clean text already get their turn
 * right at 1.8–2.8 (three lines ~5, a full page 13–18); a wrong answer costs one OCR pass, never the text.
 */
export const MIN_OSD_CONFIDENCE = 1;
/** A turned page's OCR must beat the page as it lies by this many confidence points to be kept. */
export const MIN_CONFIDENCE_GAIN = 10;

export interface UprightOcr {
  result: OcrPageResult;
  /** Clockwise degrees the image was turned by before the kept OCR pass (0: as it lies). */
  turn: PageTurn;
  /** The image the kept result was read from (the input when `turn` is 0). */
  png: Buffer;
}

export interface UprightOptions {
  width: number;
  height: number;
  dpi?: number;
  /** Segmentation of the page; without it the engine chooses from the (turned) size. */
  psm?: SegmentationMode;
  signal?: AbortSignal;
  /** false: OCR as it lies, no detection (an image whose EXIF orientation already said how it stands). */
  detect?: boolean;
}

/** Whether an OCR pass looks like text read the right way up. */
export function looksUpright(result: OcrPageResult): boolean {
  return result.words.length > 0 && result.confidence >= UPRIGHT_CONFIDENCE && !readSideways(result);
}

/**
 * Full-page layout analysis (`auto`) reads lines standing at 90° as vertical text, often correctly, but
 * its word boxes are then tall and narrow: a searchable PDF would put each word's text into a column, and
 * the previews would show the page lying. Such a page is turned like one OCR could not read. Horizontal
 * words of four or more characters are wider than tall; more than half of them standing up is sideways.
 */
export function readSideways(result: OcrPageResult): boolean {
  let long = 0;
  let standing = 0;
  for (const w of result.words) {
    if ([...w.text].length < 4) continue;
    long++;
    if (w.h > w.w) standing++;
  }
  return long > 0 && standing * 2 > long;
}

/** Whether `candidate` (a turned page) should replace `best` (the page as it lies, or an earlier turn). */
function better(candidate: OcrPageResult, best: UprightOcr): boolean {
  if (candidate.words.length === 0 || readSideways(candidate)) return false;
  const b = best.result;
  // The page as it lies was read as vertical text: the turned reading only needs to be about as sure.
  if (readSideways(b)) return candidate.confidence >= b.confidence - MIN_CONFIDENCE_GAIN;
  return candidate.confidence >= b.confidence + (best.turn === 0 ? MIN_CONFIDENCE_GAIN : 1);
}

/** OCR of a page image (in tiles when it is a long strip: ocr-tiles.ts), turned upright first when it lies sideways or upside down (see above). */
export async function recognizeUpright(engine: OcrEngine, png: Buffer, opts: UprightOptions): Promise<UprightOcr> {
  const first = await recognizeTiled(engine, png, recognizeOpts(opts, 0));
  const asItLies: UprightOcr = { result: first, turn: 0, png };
  if (opts.detect === false || looksUpright(first)) return asItLies;

  let guess: OrientationGuess | undefined;
  try {
    guess = await engine.detectOrientation(png, { ...(opts.dpi ? { dpi: opts.dpi } : {}), ...signalOf(opts) });
  } catch (err) {
    // Best effort: a page OSD cannot read keeps its first pass. An abort still ends the document, and so does
    // an OSD that cannot start (its model missing: a broken install), which would otherwise index every
    // upside-down page as garbage without a word in the log.
    if (
      opts.signal?.aborted ||
      (err instanceof PipelineError && (err.kind === 'aborted' || err.kind === 'timeout' || err.kind === 'internal'))
    )
      throw err;
    return asItLies;
  }
  let turns: PageTurn[];
  if (guess === undefined) turns = first.words.length > 0 ? [180, 90, 270] : [];
  else turns = guess.turn !== 0 && guess.confidence >= MIN_OSD_CONFIDENCE ? [guess.turn] : [];

  let best = asItLies;
  for (const turn of turns) {
    throwIfAborted(opts.signal);
    const turned = await turnPng(png, turn);
    const result = await recognizeTiled(engine, turned, recognizeOpts(opts, turn));
    if (better(result, best)) {
      best = { result, turn, png: turned };
      if (looksUpright(result)) break;
    }
  }
  return best;
}

function signalOf(opts: UprightOptions): { signal?: AbortSignal } {
  return opts.signal ? { signal: opts.signal } : {};
}

function recognizeOpts(opts: UprightOptions, turn: PageTurn) {
  const swap = turn === 90 || turn === 270;
  return {
    width: swap ? opts.height : opts.width,
    height: swap ? opts.width : opts.height,
    ...(opts.dpi ? { dpi: opts.dpi } : {}),
    ...(opts.psm ? { psm: opts.psm } : {}),
    ...signalOf(opts),
  };
}

/** The PNG turned clockwise by `turn` degrees (lossless, fast compression: it only feeds OCR). */
export async function turnPng(png: Buffer, turn: PageTurn): Promise<Buffer> {
  if (turn === 0) return png;
  return sharp(png).rotate(turn).png({ compressionLevel: 1, adaptiveFiltering: false }).toBuffer();
}

/** Width and height of a page after turning it by `turn`. */
export function turnedSize(width: number, height: number, turn: PageTurn | undefined): { width: number; height: number } {
  return turn === 90 || turn === 270 ? { width: height, height: width } : { width, height };
}
