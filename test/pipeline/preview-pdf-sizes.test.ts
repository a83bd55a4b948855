import { PDFDocument } from 'pdf-lib';
import { describe, expect, it } from 'vitest';
import { type OpenPdf, openPdf, pdfPreviews } from '../../src/pipeline/index.js';

/*
 * Kept apart from the image previews on purpose: this file must not load the test fixtures' copy of
 * @napi-rs/canvas (text-image.ts) next to pdf.js's own copy. Large glyphs (≳ 60 px) rendered by
 * pdf.js crashed the vitest fork natively here, so the fixtures keep headings small.
 * A second document rendered in the same process after germanPdf's pages crashed it too: this case
 * has a file (a fresh process) of its own until pdf.ts's rendering is fixed.
 */
async function open(bytes: Buffer): Promise<OpenPdf> {
  const r = await openPdf(bytes);
  if (r.status !== 'ok') throw new Error('expected an open PDF');
  return r.pdf;
}

describe('PDF previews of odd page sizes', () => {
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
});
