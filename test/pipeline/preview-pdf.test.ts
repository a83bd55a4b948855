import { PDFDocument, StandardFonts } from 'pdf-lib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { type OpenPdf, openPdf, pdfPreviews } from '../../src/pipeline/index.js';
import { germanPdf } from '../fixtures/pdfs.js';

async function decoded(bytes: Buffer): Promise<{ format: string; width: number; height: number }> {
  const { info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  const meta = await sharp(bytes).metadata();
  return { format: meta.format, width: info.width, height: info.height };
}

async function open(bytes: Buffer): Promise<OpenPdf> {
  const r = await openPdf(bytes);
  if (r.status !== 'ok') throw new Error('expected an open PDF');
  return r.pdf;
}

describe('PDF previews', () => {
  it('A4 pages: PNG 1024 wide per page, WebP thumbnail 256 wide, both decode', async () => {
    const pdf = await open(await germanPdf());
    try {
      const p = await pdfPreviews(pdf);
      expect(p.pageCount).toBe(2);
      expect(p.pages).toHaveLength(2);
      for (const page of p.pages) {
        const d = await decoded(page.bytes);
        expect(d.format).toBe('png');
        expect(d.width).toBe(1024);
        expect(Math.abs(d.height - Math.round((1024 * 842) / 595))).toBeLessThanOrEqual(2);
      }
      const t = await decoded(p.thumbnail.bytes);
      expect(t.format).toBe('webp');
      expect(t.width).toBe(256);
      expect(Math.abs(t.height - Math.round((256 * 842) / 595))).toBeLessThanOrEqual(2);
      // The page is not blank: the rendered text darkens some pixels.
      const stats = await sharp(p.pages[0]?.bytes).stats();
      expect(stats.channels[0]?.min).toBeLessThan(100);
    } finally {
      await pdf.close();
    }
  });

  it('an aborted signal stops before rendering', async () => {
    const pdf = await open(await germanPdf());
    const ac = new AbortController();
    ac.abort();
    try {
      await expect(pdfPreviews(pdf, { signal: ac.signal })).rejects.toMatchObject({ kind: 'aborted' });
    } finally {
      await pdf.close();
    }
  });
  it('a wide poster page comes out 1024 wide, a narrow receipt at 300 dpi; maxPages bounds the work', async () => {
    const doc = await PDFDocument.create();
    doc.addPage([200, 600]).drawText('Kassenbon', { x: 20, y: 560, size: 14 });
    doc.addPage([2400, 1200]).drawText('Poster', { x: 100, y: 600, size: 14 });
    doc.addPage([595, 842]);
    const pdf = await open(Buffer.from(await doc.save()));
    try {
      const p = await pdfPreviews(pdf, { maxPages: 2 });
      expect(p.pageCount).toBe(3);
      // 200 pt at the 300 dpi cap.
      expect(p.pages.map((x) => x.width)).toEqual([833, 1024]);
      expect(Math.abs((p.pages[0]?.height ?? 0) - 2500)).toBeLessThanOrEqual(2);
      expect(Math.abs((p.pages[1]?.height ?? 0) - 512)).toBeLessThanOrEqual(2);
    } finally {
      await pdf.close();
    }
  });

  it('large glyphs, several documents in one process: renders are identical every time', async () => {
    // Regression: the pixels were read after the canvas was destroyed (a use-after-free), which crashed
    // the process on large glyphs or a second document and made identical renders differ.
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.HelveticaBold);
    doc.addPage([595, 842]).drawText('Übersicht', { x: 40, y: 600, size: 120, font });
    const bytes = Buffer.from(await doc.save());
    const renders: Buffer[] = [];
    for (let i = 0; i < 3; i++) {
      const pdf = await open(bytes);
      try {
        renders.push((await pdf.renderPage(1, { dpi: 300 })).png);
      } finally {
        await pdf.close();
      }
    }
    expect(renders[1]?.equals(renders[0] as Buffer)).toBe(true);
    expect(renders[2]?.equals(renders[0] as Buffer)).toBe(true);
    const stats = await sharp(renders[0]).stats();
    expect(stats.channels[0]?.min).toBeLessThan(100);
  });
});
