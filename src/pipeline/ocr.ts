import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Tesseract from 'tesseract.js';
import { abortError, PipelineError, raceSignal, throwIfAborted } from './errors.js';
import { type OcrLanguage, osdTraineddataPath, traineddataPath } from './ocr-models.js';

/**
 * OCR on tesseract.js: one engine = one tesseract worker (one extra thread running single-threaded
 * WASM), created once per pool thread and reused for every page. Calls are serialised, since a page's
 * parameters and its recognition must not interleave with another page's.
 *
 * Language data comes from the npm packages @tesseract.js-data/{deu,eng}. tesseract.js reads every
 * language from one `langPath` folder, and its in-memory alternative (`{code, data}` objects) is broken
 * in v7 (initialize() joins `data` instead of `code`), so we make a temporary folder of *symlinks* to
 * the packaged files, let the worker read them into its in-memory FS, and delete the folder as soon as
 * the worker is initialised. No document data is ever written; caching is off (`cacheMethod: 'none'`).
 *
 * Orientation detection (`detectOrientation`) is tesseract's OSD (`DetectOS`), which needs the legacy
 * engine and `osd.traineddata` from @tesseract.js-data/osd: a second tesseract worker with only that model,
 * started on the first page that asks (most never do: see orientation.ts) and kept for later pages.
 */
export type { OcrLanguage } from './ocr-models.js';

/** auto = full page layout analysis; block = one uniform block (crops, short snippets); line = one line. */
export type SegmentationMode = 'auto' | 'block' | 'line' | 'sparse';

export interface OcrWord {
  text: string;
  /** Box in pixels of the recognised image, origin top-left. */
  x: number;
  y: number;
  w: number;
  h: number;
  /** 0–100. */
  confidence: number;
}

export interface OcrPageResult {
  text: string;
  words: OcrWord[];
  /** Size of the recognised image in pixels. */
  width: number;
  height: number;
  /** Mean word confidence, 0–100. */
  confidence: number;
  psm: SegmentationMode;
}

/** What tesseract's OSD says about a page image. */
export interface OrientationGuess {
  /** Clockwise degrees to turn the image by so that its text stands upright. */
  turn: 0 | 90 | 180 | 270;
  /** tesseract's orientation confidence (≥ ~5 for a few lines of clean text, ≥ ~15 for a full page). */
  confidence: number;
}

export interface OcrEngine {
  readonly langs: readonly OcrLanguage[];
  recognize(
    image: Buffer,
    opts?: { psm?: SegmentationMode; width?: number; height?: number; dpi?: number; signal?: AbortSignal },
  ): Promise<OcrPageResult>;
  /**
   * Orientation of the text on a PNG page image (tesseract OSD); undefined when there are too few
   * characters to tell (a blank page, a single word).
   */
  detectOrientation(image: Buffer, opts?: { dpi?: number; signal?: AbortSignal }): Promise<OrientationGuess | undefined>;
  terminate(): Promise<void>;
}

const PSM_CODE: Record<SegmentationMode, string> = { auto: '3', block: '6', line: '7', sparse: '11' };

export async function createOcrEngine(opts: { langs?: OcrLanguage[] } = {}): Promise<OcrEngine> {
  const langs: OcrLanguage[] = [...new Set<OcrLanguage>(opts.langs ?? ['deu', 'eng'])];
  if (langs.length === 0) throw new PipelineError('internal', 'OCR engine needs at least one language');
  const engine = new TesseractEngine(langs);
  await engine.start();
  return engine;
}

class TesseractEngine implements OcrEngine {
  private worker: Tesseract.Worker | undefined;
  private starting: Promise<Tesseract.Worker> | undefined;
  private osdWorker: Tesseract.Worker | undefined;
  private osdStarting: Promise<Tesseract.Worker> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private terminated = false;

  constructor(readonly langs: OcrLanguage[]) {}

  async start(): Promise<void> {
    await this.ensureWorker();
  }

  private ensureWorker(): Promise<Tesseract.Worker> {
    if (this.worker) return Promise.resolve(this.worker);
    this.starting ??= spawnTesseract(this.langs).then(
      (w) => {
        this.worker = w;
        this.starting = undefined;
        return w;
      },
      (err: unknown) => {
        this.starting = undefined;
        throw new PipelineError('internal', 'OCR engine failed to start', { cause: err });
      },
    );
    return this.starting;
  }

  private ensureOsdWorker(): Promise<Tesseract.Worker> {
    if (this.osdWorker) return Promise.resolve(this.osdWorker);
    this.osdStarting ??= spawnOsd().then(
      (w) => {
        this.osdWorker = w;
        this.osdStarting = undefined;
        return w;
      },
      (err: unknown) => {
        this.osdStarting = undefined;
        throw new PipelineError('internal', 'OCR orientation detection failed to start', { cause: err });
      },
    );
    return this.osdStarting;
  }

  recognize(
    image: Buffer,
    opts: { psm?: SegmentationMode; width?: number; height?: number; dpi?: number; signal?: AbortSignal } = {},
  ): Promise<OcrPageResult> {
    const run = this.queue.then(() => this.recognizeNow(image, opts));
    this.queue = run.catch(() => {});
    return run;
  }

  // Serialised with recognize(): one page at a time per engine keeps a pool thread on one core.
  detectOrientation(image: Buffer, opts: { dpi?: number; signal?: AbortSignal } = {}): Promise<OrientationGuess | undefined> {
    const run = this.queue.then(() => this.detectNow(image, opts));
    this.queue = run.catch(() => {});
    return run;
  }

  private async detectNow(image: Buffer, opts: { dpi?: number; signal?: AbortSignal }): Promise<OrientationGuess | undefined> {
    if (this.terminated) throw new PipelineError('internal', 'OCR engine was terminated');
    throwIfAborted(opts.signal);
    if (!pngSize(image)) throw new PipelineError('corrupt', 'OCR input must be a PNG image');
    const worker = await this.ensureOsdWorker();
    // Without a resolution tesseract takes the PNG's (none: "Invalid resolution") and guesses.
    await worker.setParameters({ user_defined_dpi: String(Math.round(opts.dpi ?? 300)) });
    let result: Tesseract.DetectResult;
    try {
      result = await raceSignal(worker.detect(image), opts.signal);
    } catch (err) {
      if (opts.signal?.aborted) {
        this.osdWorker = undefined;
        void worker.terminate().catch(() => {});
        throw abortError(opts.signal);
      }
      throw new PipelineError('corrupt', 'orientation detection failed on this image', { cause: err });
    }
    const degrees = result.data.orientation_degrees;
    // tesseract reports how the text lies (counter-clockwise); turning clockwise by as much puts it upright.
    if (degrees !== 0 && degrees !== 90 && degrees !== 180 && degrees !== 270) return undefined;
    return { turn: degrees, confidence: Math.round((result.data.orientation_confidence ?? 0) * 100) / 100 };
  }

  private async recognizeNow(
    image: Buffer,
    opts: { psm?: SegmentationMode; width?: number; height?: number; dpi?: number; signal?: AbortSignal },
  ): Promise<OcrPageResult> {
    if (this.terminated) throw new PipelineError('internal', 'OCR engine was terminated');
    throwIfAborted(opts.signal);
    const size = opts.width && opts.height ? { width: opts.width, height: opts.height } : pngSize(image);
    if (!size) throw new PipelineError('corrupt', 'OCR input must be a PNG image');
    const psm = opts.psm ?? chooseSegmentation(size.width, size.height);
    const worker = await this.ensureWorker();
    await worker.setParameters({
      tessedit_pageseg_mode: PSM_CODE[psm] as Tesseract.PSM,
      // Our inputs are normalised to ~300 dpi; saying so stops tesseract from guessing.
      user_defined_dpi: String(Math.round(opts.dpi ?? 300)),
    });
    // Text plus TSV (one row per word with its box and confidence) is all we keep; the `blocks`
    // tree (blocks → paragraphs → lines → words → symbols with choices, built as JSON inside the
    // WASM worker, parsed there and cloned to this thread) costs more for the same word boxes.
    const job = worker.recognize(image, {}, { text: true, tsv: true });
    let result: Tesseract.RecognizeResult;
    try {
      result = await raceSignal(job, opts.signal);
    } catch (err) {
      if (opts.signal?.aborted) {
        // A page in flight cannot be interrupted: drop the worker, a new one starts on the next call.
        this.worker = undefined;
        void worker.terminate().catch(() => {});
        throw abortError(opts.signal);
      }
      throw new PipelineError('corrupt', 'OCR failed on this image', { cause: err });
    }
    return toPageResult(result.data, size.width, size.height, psm);
  }

  async terminate(): Promise<void> {
    this.terminated = true;
    await this.queue.catch(() => {});
    const w = this.worker ?? (await this.starting?.catch(() => undefined));
    this.worker = undefined;
    await w?.terminate().catch(() => {});
    const osd = this.osdWorker ?? (await this.osdStarting?.catch(() => undefined));
    this.osdWorker = undefined;
    await osd?.terminate().catch(() => {});
  }
}

async function spawnTesseract(langs: OcrLanguage[]): Promise<Tesseract.Worker> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'archivar-tessdata-'));
  try {
    for (const lang of langs) await symlink(traineddataPath(lang), path.join(dir, `${lang}.traineddata.gz`));
    return await Tesseract.createWorker(langs, Tesseract.OEM.LSTM_ONLY, {
      langPath: dir,
      gzip: true,
      cacheMethod: 'none',
      legacyCore: false,
      legacyLang: false,
      // Without a handler tesseract.js rethrows worker errors from an event listener (process crash).
      errorHandler: () => {},
    });
  } finally {
    // The worker holds the models in memory now; the folder of symlinks is no longer needed.
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The OSD worker: the legacy engine (`DetectOS` has no LSTM variant) with only `osd.traineddata`, read
 * from a folder of one symlink like the language models. Its tesseract messages ("Too few characters")
 * go to /dev/null instead of the process's stderr, where the server's JSON logs are.
 */
async function spawnOsd(): Promise<Tesseract.Worker> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'archivar-tessdata-'));
  try {
    await symlink(osdTraineddataPath(), path.join(dir, 'osd.traineddata.gz'));
    const worker = await Tesseract.createWorker('osd', Tesseract.OEM.TESSERACT_ONLY, {
      langPath: dir,
      gzip: true,
      cacheMethod: 'none',
      legacyCore: true,
      legacyLang: true,
      errorHandler: () => {},
    });
    await worker.setParameters({ debug_file: '/dev/null' });
    return worker;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Full layout analysis for pages; one block for small crops; one line for strips. */
export function chooseSegmentation(width: number, height: number): SegmentationMode {
  if (height < 120 && width > 3 * height) return 'line';
  if (width * height < 1_500_000) return 'block';
  return 'auto';
}

function pngSize(b: Buffer): { width: number; height: number } | undefined {
  if (b.length < 24 || b.readUInt32BE(0) !== 0x89504e47 || b.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

function toPageResult(page: Tesseract.Page, width: number, height: number, psm: SegmentationMode): OcrPageResult {
  const words = wordsFromTsv(page.tsv ?? '');
  const confidence = words.length ? words.reduce((s, w) => s + w.confidence, 0) / words.length : 0;
  const text = (page.text ?? '')
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { text, words, width, height, confidence: Math.round(confidence * 10) / 10, psm };
}

/**
 * Words from tesseract's TSV output: `level page block par line word left top width height conf text`,
 * one row per layout element; level 5 rows are words (box in image pixels, confidence 0–100).
 */
export function wordsFromTsv(tsv: string): OcrWord[] {
  const words: OcrWord[] = [];
  for (const row of tsv.split('\n')) {
    if (!row.startsWith('5\t')) continue;
    const cols = row.split('\t');
    if (cols.length < 12) continue;
    const text = cols.slice(11).join('\t').trim();
    if (!text) continue;
    const [x, y, w, h, conf] = cols.slice(6, 11).map(Number) as [number, number, number, number, number];
    if (![x, y, w, h, conf].every(Number.isFinite)) continue;
    words.push({
      text,
      x,
      y,
      w: Math.max(0, w),
      h: Math.max(0, h),
      confidence: Math.round(Math.min(100, Math.max(0, conf)) * 10) / 10,
    });
  }
  return words;
}
