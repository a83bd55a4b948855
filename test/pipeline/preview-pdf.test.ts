import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { type OpenPdf, openPdf, pdfPreviews } from '../../src/pipeline/index.js';
import { germanPdf } from '../fixtures/pdfs.js';

/*
 * Kept apart from the image previews on purpose: this file must not load the test fixtures' copy of
 * @napi-rs/canvas (text-image.ts) next to pdf.js's own copy. Large glyphs (≳ 60 px) rendered by
 * pdf.js crashed the vitest fork natively here, so the fixtures keep headings small.
 */
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
});
