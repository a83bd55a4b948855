import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { assessText, type OpenPdf, openPdf, orderText } from '../../src/pipeline/index.js';
import {
  billionPagesPdf,
  COLUMNS,
  encryptedPdf,
  GERMAN_PAGES,
  germanPdf,
  JS_MARKER,
  javascriptPdf,
  scannedPdf,
  twoColumnPdf,
} from '../fixtures/pdfs.js';
import { pipelineError } from '../fixtures/pipeline-error.js';
import { renderTextPng } from '../fixtures/text-image.js';

const opened: OpenPdf[] = [];
async function open(bytes: Uint8Array): Promise<OpenPdf> {
  const r = await openPdf(bytes);
  if (r.status !== 'ok') throw new Error(`unexpected ${r.status}`);
  opened.push(r.pdf);
  return r.pdf;
}
afterAll(async () => {
  for (const p of opened) await p.close();
});

describe('pdf', () => {
  it('extracts the exact German text per page, with umlauts, ß and €', async () => {
    const pdf = await open(await germanPdf());
    expect(pdf.pageCount).toBe(2);
    for (const [i, lines] of GERMAN_PAGES.entries()) {
      const page = await pdf.pageText(i + 1);
      expect(page.text).toBe(lines.join('\n'));
      expect(page.needsOcr).toBe(false);
      expect(page.width).toBe(595);
      expect(page.height).toBe(842);
    }
  });

  it('reads metadata', async () => {
    const pdf = await open(await germanPdf());
    const meta = await pdf.metadata();
    expect(meta).toMatchObject({
      title: 'Prüfbericht Müller',
      author: 'Jörg Äßler',
      subject: 'Prüfung',
      keywords: 'Prüfung Rechnung',
      producer: 'archivar-tests',
      pageCount: 2,
      hasJavaScript: false,
    });
    expect(meta.created?.toISOString()).toBe('2024-03-01T10:00:00.000Z');
    expect(meta.modified?.toISOString()).toBe('2024-03-02T11:30:00.000Z');
  });

  it('reads a two-column page column by column, with title and footer in place', async () => {
    const pdf = await open(await twoColumnPdf());
    const { text } = await pdf.pageText(1);
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    expect(lines).toEqual([COLUMNS.title, ...COLUMNS.left, ...COLUMNS.right, COLUMNS.footer]);
  });

  it('orders synthetic runs: words on one baseline join, a table row keeps its cells apart', () => {
    const runs = [
      { str: 'world', x: 60, y: 100, w: 30, size: 10 },
      { str: 'Hello', x: 20, y: 100.5, w: 28, size: 10 },
      { str: 'next line', x: 20, y: 114, w: 50, size: 10 },
    ];
    expect(orderText(runs)).toBe('Hello world\nnext line');
  });

  it('flags empty, sparse and garbage text layers for OCR', () => {
    expect(assessText('', 595, 842)).toMatchObject({ needsOcr: true, reason: 'empty' });
    expect(assessText('Seite 1', 595, 842)).toMatchObject({ needsOcr: true, reason: 'sparse' });
    expect(assessText('\ue000\ue001\ue002\ufffd\ufffd abc \ue003\ue004\ue005\ue006', 100, 100)).toMatchObject({
      needsOcr: true,
      reason: 'garbage',
    });
    expect(assessText('Ein ganz normaler Absatz mit genug Text für eine Seite.', 595, 842)).toMatchObject({
      needsOcr: false,
      reason: 'text',
    });
  });

  it('counts characters by Unicode class, not only ASCII: other spaces, astral letters, C1 controls', () => {
    // U+3000 and U+2003 are whitespace; 𝐀𝐁𝐂 (astral) and Arabic-Indic digits are letters/digits.
    expect(assessText('𝐀𝐁𝐂 \u3000\u2003 \u0661\u0662\u0663', 100, 100)).toEqual({ chars: 6, needsOcr: true, reason: 'sparse' });
    // NEL (U+0085) is not \s in JS: a C1 control, bad like the C0 ones.
    expect(assessText('\u0085\u0001\u0002\u0003 abcdefghijkl', 100, 100)).toEqual({
      chars: 16,
      needsOcr: true,
      reason: 'garbage',
    });
    expect(assessText('\u0085\u0001 abcdefghijkl', 100, 100)).toEqual({ chars: 14, needsOcr: false, reason: 'text' });
  });

  it('collapses whitespace inside a segment and trims it, whatever the kind of space', () => {
    expect(orderText([{ str: '  a\u00a0\u00a0b\tc \u2003', x: 0, y: 10, w: 50, size: 10 }])).toBe('a b c');
    expect(orderText([{ str: 'one two', x: 0, y: 10, w: 30, size: 10 }])).toBe('one two');
    const runs = [
      { str: 'foo ', x: 0, y: 10, w: 20, size: 10 },
      { str: 'bar', x: 25, y: 10, w: 15, size: 10 },
      { str: '\u00a0baz', x: 45, y: 10, w: 15, size: 10 },
      { str: 'qux', x: 65, y: 10, w: 15, size: 10 },
    ];
    expect(orderText(runs)).toBe('foo bar baz qux');
  });

  it('orders hostile text layers at once: infinite or absurd coordinates, and more runs than a call has arguments', () => {
    // Two columns of lines, plus a run at x = 1e30 (the gutter sweep once stepped across all of it) and
    // runs at non-finite coordinates (skipped: they cannot be placed).
    const columns = Array.from({ length: 8 }, (_, i) => [
      { str: `links${i}`, x: 0, y: 10 + i * 12, w: 200, size: 10 },
      { str: `rechts${i}`, x: 300, y: 10 + i * 12, w: 200, size: 10 },
    ]).flat();
    const t0 = performance.now();
    const text = orderText([
      ...columns,
      { str: 'weit', x: 1e30, y: 500, w: 10, size: 10 },
      { str: 'unendlich', x: Number.POSITIVE_INFINITY, y: 20, w: 10, size: 10 },
      { str: 'nan', x: 10, y: Number.NaN, w: 10, size: 10 },
    ]);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(text).toContain('links0');
    expect(text).toContain('rechts7');
    expect(text).toContain('weit');
    expect(text).not.toContain('unendlich');
    expect(text).not.toContain('nan');
    const many = Array.from({ length: 200_000 }, (_, i) => ({
      str: `w${i}`,
      x: (i % 50) * 12,
      y: Math.floor(i / 50) * 12,
      w: 10,
      size: 10,
    }));
    expect(orderText(many).split(/\s+/)).toHaveLength(200_000);
  });

  it('marks image-only pages as needing OCR and renders them at the requested dpi', async () => {
    const png = renderTextPng(['Gescannte Seite'], { fontSize: 40 });
    const pdf = await open(await scannedPdf([png], 150));
    const page = await pdf.pageText(1);
    expect(page).toMatchObject({ text: '', needsOcr: true, reason: 'empty' });
    const meta = await sharp(png).metadata();
    const rendered = await pdf.renderPage(1, { dpi: 150 });
    expect(rendered.width).toBe(meta.width);
    expect(rendered.height).toBe(meta.height);
    const out = await sharp(rendered.png).metadata();
    expect(out).toMatchObject({ format: 'png', width: meta.width, channels: 1 });
    // Real ink, not a blank bitmap.
    const stats = await sharp(rendered.png).stats();
    expect(stats.channels[0]?.min).toBeLessThan(80);
    expect(stats.channels[0]?.max).toBeGreaterThan(240);
  });

  it('returns encrypted for a password-protected PDF', async () => {
    expect(await openPdf(encryptedPdf())).toEqual({ status: 'encrypted' });
  });

  it('does not believe a page tree claiming a billion pages: opens fast with the pages it really has', async () => {
    const t0 = performance.now();
    const pdf = await open(billionPagesPdf());
    expect(pdf.pageCount).toBe(1);
    expect((await pdf.pageText(1)).text).toBe('');
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('fails fast with a limit error when a PDF has more pages than allowed', async () => {
    const png = renderTextPng(['x'], { fontSize: 10 });
    const bytes = await scannedPdf([png, png, png, png, png]);
    const err = await pipelineError(openPdf(bytes, { limits: { maxPages: 3, maxPixels: 1e8 } }));
    expect(err.kind).toBe('limit');
    expect(err.message).toBe('PDF claims 5 pages, more than the limit of 3');
  });

  it('never runs embedded JavaScript, reports it, and still extracts the text', async () => {
    const pdf = await open(await javascriptPdf());
    const meta = await pdf.metadata();
    expect(meta.hasJavaScript).toBe(true);
    const page = await pdf.pageText(1);
    expect(page.text).toContain('must never run');
    await pdf.renderPage(1, { dpi: 50 });
    expect((globalThis as Record<string, unknown>)[JS_MARKER]).toBeUndefined();
  });

  it('reports corrupt PDFs as corrupt', async () => {
    const err = await pipelineError(openPdf(Buffer.from('%PDF-1.7\nthis is not a pdf at all\n%%EOF')));
    expect(err.kind).toBe('corrupt');
  });

  it('honours an aborted signal', async () => {
    const ac = new AbortController();
    ac.abort();
    expect((await pipelineError(openPdf(await germanPdf(), { signal: ac.signal }))).kind).toBe('aborted');
    const pdf = await open(await germanPdf());
    expect((await pipelineError(pdf.pageText(1, ac.signal))).kind).toBe('aborted');
  });
});
