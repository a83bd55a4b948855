import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildSearchablePdf,
  createOcrEngine,
  isPipelineError,
  type OcrEngine,
  type OcrPageResult,
  openPdf,
  toWinAnsi,
} from '../../src/pipeline/index.js';
import { renderTextPng } from '../fixtures/text-image.js';

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');

// pdf.js with its fake worker, as src/pipeline/pdf.ts runs it: text positions only, no rendering.
async function loadPdfjs(): Promise<PdfJs> {
  const g = globalThis as { pdfjsWorker?: unknown };
  if (!g.pdfjsWorker) g.pdfjsWorker = await import('pdfjs-dist/legacy/build/pdf.worker.mjs');
  return import('pdfjs-dist/legacy/build/pdf.mjs');
}

interface Item {
  str: string;
  x: number;
  y: number;
  width: number;
}

async function textItems(pdf: Buffer): Promise<{ pages: Item[][]; sizes: [number, number][] }> {
  const pdfjs = await loadPdfjs();
  const doc = await pdfjs.getDocument({ data: new Uint8Array(pdf), isEvalSupported: false, verbosity: 0 }).promise;
  const pages: Item[][] = [];
  const sizes: [number, number][] = [];
  for (let n = 1; n <= doc.numPages; n++) {
    const page = await doc.getPage(n);
    const vp = page.getViewport({ scale: 1 });
    sizes.push([vp.width, vp.height]);
    const content = await page.getTextContent();
    pages.push(
      content.items
        .filter((i): i is Extract<typeof i, { str: string }> => 'str' in i && i.str.trim().length > 0)
        .map((i) => ({ str: i.str.trim(), x: i.transform[4] ?? 0, y: i.transform[5] ?? 0, width: i.width })),
    );
  }
  await doc.destroy();
  return { pages, sizes };
}

const PAGE1 = ['Rechnung Nummer 4711', 'Betrag fällig am Freitag'];
const PAGE2 = ['Invoice for delivery', 'Thank you kindly'];
const DPI = 150;

let engine: OcrEngine;
let images: Buffer[];
let ocr: OcrPageResult[];
beforeAll(async () => {
  engine = await createOcrEngine({ langs: ['deu', 'eng'] });
  images = [renderTextPng(PAGE1, { fontSize: 32 }), renderTextPng(PAGE2, { fontSize: 32 })];
  ocr = [];
  for (const png of images) ocr.push(await engine.recognize(png));
});
afterAll(async () => {
  await engine?.terminate();
});

describe('buildSearchablePdf', () => {
  it('the OCR words come back from pdf.js on the right page, at the word boxes (within tolerance)', async () => {
    const pages = await Promise.all(
      images.map(async (image, i) => {
        const meta = await sharp(image).metadata();
        return { image, width: meta.width ?? 0, height: meta.height ?? 0, dpi: DPI, words: ocr[i]?.words ?? [] };
      }),
    );
    const pdf = await buildSearchablePdf(pages, { title: 'Scan' });
    const { pages: items, sizes } = await textItems(pdf);
    expect(items).toHaveLength(2);
    const s = 72 / DPI;
    for (const [p, page] of pages.entries()) {
      // Page size in points from the image and its dpi.
      expect(sizes[p]?.[0]).toBeCloseTo(page.width * s, 1);
      expect(sizes[p]?.[1]).toBeCloseTo(page.height * s, 1);
      const hPt = page.height * s;
      expect(page.words.length).toBeGreaterThanOrEqual(6);
      // pdf.js joins the words of one line into one item: every OCR word is in the page's text, in order…
      const pageText = items[p]?.map((it) => it.str).join(' ') ?? '';
      expect(pageText.split(/\s+/)).toEqual(page.words.map((w) => w.text));
      // …and every item starts at the box of its first word and spans to the box end of its last word.
      let next = 0;
      for (const it of items[p] ?? []) {
        const n = it.str.split(/\s+/).length;
        const first = page.words[next];
        const last = page.words[next + n - 1];
        next += n;
        if (!first || !last) throw new Error('more text than OCR words');
        const tol = Math.max(2, first.h * s * 0.5);
        expect(Math.abs(it.x - first.x * s), `x of "${it.str}"`).toBeLessThanOrEqual(tol);
        // The baseline lies inside the first word's box (PDF y grows upwards).
        expect(it.y).toBeGreaterThanOrEqual(hPt - (first.y + first.h) * s - tol);
        expect(it.y).toBeLessThanOrEqual(hPt - first.y * s);
        const span = (last.x + last.w - first.x) * s;
        expect(Math.abs(it.width - span), `width of "${it.str}"`).toBeLessThanOrEqual(Math.max(3, span * 0.1));
      }
    }
    // Searchable through our own extraction, too: the text layer is good enough not to need OCR.
    const opened = await openPdf(pdf);
    if (opened.status !== 'ok') throw new Error('expected an open PDF');
    try {
      const t1 = await opened.pdf.pageText(1);
      expect(t1.text).toContain('Rechnung');
      expect(t1.text).toContain('4711');
      expect(t1.text).toContain('fällig');
      const t2 = await opened.pdf.pageText(2);
      expect(t2.text).toContain('delivery');
    } finally {
      await opened.pdf.close();
    }
  });

  it('JPEG pages and words outside WinAnsi (transliterated) are accepted', async () => {
    const jpeg = await sharp(images[0]).jpeg({ quality: 80 }).toBuffer();
    const meta = await sharp(jpeg).metadata();
    const words = [
      { text: 'Łódź', x: 10, y: 10, w: 80, h: 30, confidence: 90 },
      { text: 'ﬁle', x: 100, y: 10, w: 40, h: 30, confidence: 90 },
      { text: '日本', x: 150, y: 10, w: 60, h: 30, confidence: 90 },
      { text: 'Grüße€', x: 220, y: 10, w: 90, h: 30, confidence: 90 },
    ];
    const pdf = await buildSearchablePdf([{ image: jpeg, width: meta.width ?? 0, height: meta.height ?? 0, words }]);
    const { pages } = await textItems(pdf);
    // ó is WinAnsi and stays; Ł and ź lose what WinAnsi lacks; ﬁ splits; CJK has no stand-in.
    expect(pages[0]?.map((i) => i.str).join(' ')).toBe('Lódz file ?? Grüße€');
  });

  it('toWinAnsi keeps German letters and €, strips accents it cannot keep', () => {
    const charset = new Set<number>();
    for (let c = 0x20; c < 0x7f; c++) charset.add(c);
    for (const ch of 'äöüÄÖÜßé€') charset.add(ch.codePointAt(0) ?? 0);
    expect(toWinAnsi('Müller ĕ ł €', charset)).toBe('Müller e l €');
  });

  it('bad input is a typed error: no pages, an image that is neither PNG nor JPEG, a 300-inch page', async () => {
    const errs = await Promise.all([
      buildSearchablePdf([]).catch((e: unknown) => e),
      buildSearchablePdf([{ image: Buffer.from('GIF89a'), width: 10, height: 10, words: [] }]).catch((e: unknown) => e),
      buildSearchablePdf([{ image: images[0] ?? Buffer.alloc(0), width: 90_000, height: 100, dpi: 300, words: [] }]).catch(
        (e: unknown) => e,
      ),
    ]);
    expect(errs.map((e) => (isPipelineError(e) ? e.kind : String(e)))).toEqual(['empty', 'corrupt', 'limit']);
  });
});
