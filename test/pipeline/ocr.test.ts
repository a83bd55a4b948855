import { mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import Tesseract from 'tesseract.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createOcrEngine,
  type ExtractProgress,
  extractDocument,
  type OcrEngine,
  PipelineError,
  preprocessForOcr,
} from '../../src/pipeline/index.js';
import { traineddataPath } from '../../src/pipeline/ocr-models.js';
import { cer } from '../fixtures/cer.js';
import { multiPageTiff, rotatedPhotoJpeg } from '../fixtures/images.js';
import { scannedPdf } from '../fixtures/pdfs.js';
import { renderTextPng } from '../fixtures/text-image.js';

const GERMAN = [
  'Sehr geehrte Frau Müller, die Prüfung',
  'ist abgeschlossen. Der Betrag über',
  '1.234,56 € wird am Freitag überwiesen.',
];
const ENGLISH = ['Dear Mr Smith, the invoice for the', 'delivery of twelve boxes has not', 'been paid yet. Please pay it soon.'];

// One engine for the whole file: creating it loads both models (~1 s).
let engine: OcrEngine;
// The engine is started with a temp directory of its own, so the check below sees only what this engine left
// (other test files start OCR engines in parallel, each making and removing its folder in the shared one).
let ownTmp = '';
beforeAll(async () => {
  ownTmp = await mkdtemp(path.join(os.tmpdir(), 'archivar-ocr-test-'));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = ownTmp;
  try {
    engine = await createOcrEngine({ langs: ['deu', 'eng'] });
  } finally {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
  }
});
afterAll(async () => {
  await engine?.terminate();
  await rm(ownTmp, { recursive: true, force: true });
});

describe('OCR engine', () => {
  it('leaves nothing in the temp directory (the langPath folder of symlinks is gone after start)', async () => {
    expect(await readdir(ownTmp)).toEqual([]);
  });

  it('gives word boxes from TSV equal to the blocks output it replaced (confidences within 1)', async () => {
    const img = await preprocessForOcr(
      renderTextPng(['Sehr geehrte Frau Müller, die Prüfung', 'ist abgeschlossen. Der Betrag über'], { fontSize: 30 }),
    );
    const dir = await mkdtemp(path.join(os.tmpdir(), 'archivar-tsv-test-'));
    let worker: Tesseract.Worker | undefined;
    try {
      const ours = await engine.recognize(img.png, { psm: 'block' });
      for (const lang of ['deu', 'eng'] as const) await symlink(traineddataPath(lang), path.join(dir, `${lang}.traineddata.gz`));
      worker = await Tesseract.createWorker(['deu', 'eng'], Tesseract.OEM.LSTM_ONLY, {
        langPath: dir,
        gzip: true,
        cacheMethod: 'none',
        legacyCore: false,
        legacyLang: false,
      });
      await worker.setParameters({ tessedit_pageseg_mode: '6' as Tesseract.PSM, user_defined_dpi: '300' });
      const { data } = await worker.recognize(img.png, {}, { text: true, blocks: true });
      const fromBlocks = (data.blocks ?? []).flatMap((b) =>
        b.paragraphs.flatMap((p) =>
          p.lines.flatMap((l) =>
            l.words
              .filter((w) => w.text.trim())
              .map((w) => ({
                text: w.text.trim(),
                x: w.bbox.x0,
                y: w.bbox.y0,
                w: w.bbox.x1 - w.bbox.x0,
                h: w.bbox.y1 - w.bbox.y0,
                confidence: w.confidence,
              })),
          ),
        ),
      );
      expect(fromBlocks.length).toBeGreaterThan(8);
      // Same words and boxes; the blocks tree carries whole-number confidences, TSV one decimal.
      expect(ours.words.map(({ confidence, ...box }) => box)).toEqual(fromBlocks.map(({ confidence, ...box }) => box));
      for (const [i, w] of ours.words.entries()) {
        expect(Math.abs(w.confidence - (fromBlocks[i]?.confidence ?? -10))).toBeLessThan(1);
      }
    } finally {
      await worker?.terminate();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('recognises rendered German text with CER ≤ 5 % and returns word boxes inside the image', async () => {
    const png = renderTextPng(GERMAN, { fontSize: 30 });
    const img = await preprocessForOcr(png);
    const result = await engine.recognize(img.png);
    const rate = cer(GERMAN.join('\n'), result.text);
    console.info(`CER rendered German text: ${(rate * 100).toFixed(2)} %`);
    expect(rate).toBeLessThanOrEqual(0.05);
    expect(result.width).toBe(img.width);
    expect(result.height).toBe(img.height);
    expect(result.psm).toBe('block');
    expect(result.confidence).toBeGreaterThan(70);
    const words = result.words.map((w) => w.text);
    expect(words).toContain('Müller,');
    expect(words).toContain('Prüfung');
    for (const w of result.words) {
      expect(w.x).toBeGreaterThanOrEqual(0);
      expect(w.y).toBeGreaterThanOrEqual(0);
      expect(w.x + w.w).toBeLessThanOrEqual(img.width);
      expect(w.y + w.h).toBeLessThanOrEqual(img.height);
      expect(w.confidence).toBeGreaterThanOrEqual(0);
      expect(w.confidence).toBeLessThanOrEqual(100);
    }
    // Words read left to right on the first line.
    const first = result.words.slice(0, 3);
    expect(first.map((w) => w.text)).toEqual(['Sehr', 'geehrte', 'Frau']);
    expect(first[0]?.x ?? 0).toBeLessThan(first[1]?.x ?? 0);
  });

  it('stops a page when the signal fires and stays usable afterwards', async () => {
    const png = renderTextPng(ENGLISH, { fontSize: 30 });
    const img = await preprocessForOcr(png);
    const ac = new AbortController();
    const pending = engine.recognize(img.png, { signal: ac.signal });
    setTimeout(() => ac.abort(), 5);
    await expect(pending).rejects.toMatchObject({ kind: 'aborted' });
    const again = await engine.recognize(img.png);
    expect(cer(ENGLISH.join('\n'), again.text)).toBeLessThanOrEqual(0.05);
  });
});

describe('extractDocument with OCR', () => {
  it('OCRs a scanned two-page PDF per page, reports progress and detects the languages', async () => {
    const pages = [renderTextPng(GERMAN, { fontSize: 30 }), renderTextPng(ENGLISH, { fontSize: 30 })];
    const pdf = await scannedPdf(pages, 150);
    const progress: ExtractProgress[] = [];
    const doc = await extractDocument(pdf, { ocr: engine, onProgress: (p) => progress.push(p) });
    expect(doc.status).toBe('ok');
    expect(doc.mediaType).toBe('application/pdf');
    expect(doc.pages).toHaveLength(2);
    const rates = [cer(GERMAN.join('\n'), doc.pages[0]?.text ?? ''), cer(ENGLISH.join('\n'), doc.pages[1]?.text ?? '')];
    console.info(`CER scanned PDF pages: ${rates.map((r) => (r * 100).toFixed(2)).join(' %, ')} %`);
    for (const [i, page] of doc.pages.entries()) {
      expect(page.ocr).toBe(true);
      expect(rates[i]).toBeLessThanOrEqual(0.05);
      expect(page.dpi).toBe(300);
      expect(page.words?.length).toBeGreaterThan(10);
    }
    expect(doc.language).toBe('deu+eng');
    expect(progress).toEqual([
      { step: 'EXTRACTING', page: 1, pageCount: 2 },
      { step: 'OCR', page: 1, pageCount: 2 },
      { step: 'EXTRACTING', page: 2, pageCount: 2 },
      { step: 'OCR', page: 2, pageCount: 2 },
    ]);
  });

  it('OCRs a photo with EXIF orientation 6 upright and maps boxes to the upright photo', async () => {
    const upright = renderTextPng(GERMAN, { fontSize: 30 });
    const { width, height } = await sharp(upright).metadata();
    const doc = await extractDocument(await rotatedPhotoJpeg(upright), { ocr: engine });
    expect(doc.mediaType).toBe('image/jpeg');
    const page = doc.pages[0];
    if (!page) throw new Error('no page');
    const rate = cer(GERMAN.join('\n'), page.text);
    console.info(`CER rotated photo: ${(rate * 100).toFixed(2)} %`);
    expect(rate).toBeLessThanOrEqual(0.05);
    expect(page).toMatchObject({ ocr: true, width, height });
    for (const w of page.words ?? []) expect(w.x + w.w).toBeLessThanOrEqual((width ?? 0) + 2);
    expect(doc.metadata.image?.takenAt?.toISOString()).toBe('2023-07-14T09:26:53.000Z');
    expect(doc.language).toBe('deu');
  });

  it('OCRs every page of a multi-page TIFF', async () => {
    const tiff = await multiPageTiff([renderTextPng(ENGLISH, { fontSize: 30 }), renderTextPng(GERMAN, { fontSize: 30 })]);
    const doc = await extractDocument(tiff, { ocr: engine });
    expect(doc.mediaType).toBe('image/tiff');
    expect(doc.pages).toHaveLength(2);
    expect(cer(ENGLISH.join('\n'), doc.pages[0]?.text ?? '')).toBeLessThanOrEqual(0.05);
    expect(cer(GERMAN.join('\n'), doc.pages[1]?.text ?? '')).toBeLessThanOrEqual(0.05);
  });

  it('times out a page that takes longer than the per-page budget', async () => {
    const pdf = await scannedPdf([renderTextPng(GERMAN, { fontSize: 30 })], 150);
    const err = await extractDocument(pdf, { ocr: engine, limits: { pageTimeMs: 1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineError);
    expect((err as PipelineError).kind).toBe('timeout');
  });
});
