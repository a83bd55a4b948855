import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createOcrEngine,
  DEFAULT_LIMITS,
  extractDocument,
  looksUpright,
  type OcrEngine,
  type OcrPageResult,
  type OcrWord,
  openPdf,
  PipelineError,
} from '../../src/pipeline/index.js';
import { checkOcrModels } from '../../src/pipeline/ocr-models.js';
import { readSideways } from '../../src/pipeline/orientation.js';
import { makePreviews } from '../../src/workers/previews.js';
import { scannedPdf } from '../fixtures/pdfs.js';
import { renderTextPng } from '../fixtures/text-image.js';

/**
 * Scans and images lying sideways or upside down without an EXIF orientation (docs/pipeline.md, "Pages
 * lying sideways"): real OCR of rendered text turned with sharp, which writes no orientation tag.
 */
const LINES = [
  'Sehr geehrte Frau Müller, die Prüfung',
  'ist abgeschlossen. Der Betrag über',
  '1.234,56 € wird am Freitag überwiesen.',
];
const WORDS = ['geehrte', 'Müller', 'Prüfung', 'abgeschlossen', 'Betrag', 'Freitag', 'überwiesen'];

let engine: OcrEngine;
let upright: Buffer;
beforeAll(async () => {
  engine = await createOcrEngine({ langs: ['deu', 'eng'] });
  upright = renderTextPng(LINES, { fontSize: 30 });
});
afterAll(async () => {
  await engine?.terminate();
});

function tokens(text: string): Set<string> {
  return new Set(text.split(/[\s,.;:]+/).filter(Boolean));
}

function result(words: Pick<OcrWord, 'text' | 'w' | 'h'>[], confidence: number): OcrPageResult {
  return {
    text: words.map((w) => w.text).join(' '),
    words: words.map((w) => ({ ...w, x: 0, y: 0, confidence })),
    width: 100,
    height: 100,
    confidence,
    psm: 'auto',
  };
}

describe('orientation of pages without an EXIF orientation', () => {
  it('takes a confident reading of horizontal words as upright, not a doubtful or vertical one', () => {
    const horizontal = [
      { text: 'Rechnung', w: 160, h: 30 },
      { text: 'vom', w: 60, h: 22 },
    ];
    const vertical = [
      { text: 'Rechnung', w: 30, h: 160 },
      { text: 'Betrag', w: 30, h: 120 },
      { text: 'Juli', w: 60, h: 50 },
    ];
    expect(looksUpright(result(horizontal, 95))).toBe(true);
    expect(looksUpright(result(horizontal, 55))).toBe(false);
    expect(looksUpright(result([], 0))).toBe(false);
    expect(readSideways(result(vertical, 95))).toBe(true);
    expect(looksUpright(result(vertical, 95))).toBe(false);
  });

  it('an upright image is read as it lies (no turn)', async () => {
    const doc = await extractDocument(upright, { ocr: engine });
    const page = doc.pages[0];
    expect(page?.turn).toBeUndefined();
    for (const w of WORDS) expect(tokens(page?.text ?? '')).toContain(w);
  });

  for (const degrees of [90, 180, 270] as const) {
    it(`an image turned ${degrees}° is turned back for OCR: its exact words, upright boxes and size`, async () => {
      const lying = await sharp(upright).rotate(degrees).png().toBuffer();
      expect((await sharp(lying).metadata()).orientation).toBeUndefined();
      const doc = await extractDocument(lying, { ocr: engine });
      const page = doc.pages[0];
      for (const w of WORDS) expect(tokens(page?.text ?? '')).toContain(w);
      expect(page?.turn).toBe((360 - degrees) % 360);
      const meta = await sharp(upright).metadata();
      expect([page?.width, page?.height]).toEqual([meta.width, meta.height]);
      const word = page?.words?.find((w) => w.text === 'abgeschlossen.' || w.text === 'abgeschlossen');
      expect(word?.w).toBeGreaterThan(3 * (word?.h ?? Infinity));
    });
  }

  it('a page OSD cannot read keeps its first pass, but an OSD that cannot start (a broken install) fails the document', async () => {
    const lying = await sharp(upright).rotate(180).png().toBuffer();
    const osdFails = (kind: 'corrupt' | 'internal'): OcrEngine => ({
      langs: engine.langs,
      recognize: (image, opts) => engine.recognize(image, opts),
      detectOrientation: async () => {
        throw new PipelineError(
          kind,
          kind === 'internal' ? 'OCR orientation detection failed to start' : 'orientation detection failed on this image',
        );
      },
      terminate: async () => {},
    });
    const kept = await extractDocument(lying, { ocr: osdFails('corrupt') });
    expect(kept.pages[0]?.turn).toBeUndefined();
    await expect(extractDocument(lying, { ocr: osdFails('internal') })).rejects.toMatchObject({ kind: 'internal' });
  });

  it('the server start checks every OCR model file', () => {
    expect(() => checkOcrModels()).not.toThrow();
    expect(() => checkOcrModels(['/nonexistent/osd.traineddata.gz'])).toThrow(
      /OCR model missing: \/nonexistent\/osd.traineddata.gz .*npm ci/,
    );
  });

  it('scanned PDF pages lying sideways and upside down are OCR’d upright; the searchable PDF and previews too', async () => {
    const pdf = await scannedPdf([
      await sharp(upright).rotate(270).png().toBuffer(),
      await sharp(upright).rotate(180).png().toBuffer(),
    ]);
    const doc = await extractDocument(pdf, { ocr: engine });
    expect(doc.pages.map((p) => p.turn)).toEqual([90, 180]);
    for (const page of doc.pages) {
      for (const w of WORDS) expect(tokens(page.text)).toContain(w);
      expect(page.width).toBeGreaterThan(page.height ?? Infinity);
    }

    const signal = AbortSignal.timeout(60_000);
    const made = await makePreviews(pdf, doc, { previewPages: 2, limits: DEFAULT_LIMITS, signal });
    expect(made.pages).toHaveLength(2);
    for (const png of made.pages) {
      const preview = await sharp(png).metadata();
      expect(preview.width).toBeGreaterThan(preview.height ?? Infinity);
    }
    const opened = await openPdf(made.pdf as Buffer);
    if (opened.status !== 'ok') throw new Error('searchable PDF did not open');
    try {
      for (const n of [1, 2]) {
        const layer = await opened.pdf.pageText(n);
        expect(layer.width).toBeGreaterThan(layer.height);
        for (const w of WORDS) expect(tokens(layer.text)).toContain(w);
      }
    } finally {
      await opened.pdf.close();
    }
  });
});
