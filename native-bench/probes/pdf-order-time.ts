/**
 * Ad-hoc probe (not a benchmark): the time of our own part of PDF text extraction — `orderText` (reading
 * order, columns) and `assessText` (OCR decision) — on the text runs of the bench's generated 50-page PDF
 * (`textPdf(50, 7)`), in isolation from pdf.js. The runs are collected once, as `pageText` builds them;
 * then both functions run over all pages `reps` times (after one untimed pass).
 * Usage: npx tsx native-bench/probes/pdf-order-time.ts [reps=200]
 */
import type { PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { assessText, openPdf, orderText, type TextRun, textRunsOf } from '../../src/pipeline/pdf.js';
import { textPdf } from '../harness/pages.js';

const reps = Number(process.argv[2] ?? 200);
const opened = await openPdf((await textPdf(50, 7)).bytes);
if (opened.status !== 'ok') throw new Error('bench PDF did not open');
// After openPdf: pdf.js is loaded (and V8's built-ins restored) the pipeline's way.
const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
const doc = (opened.pdf as unknown as { doc: PDFDocumentProxy }).doc;
const pages: { runs: TextRun[]; width: number; height: number }[] = [];
for (let p = 1; p <= doc.numPages; p++) {
  const page = await doc.getPage(p);
  const vp = page.getViewport({ scale: 1 });
  const runs = textRunsOf(pdfjs, vp.transform, (await page.getTextContent()).items);
  pages.push({ runs, width: vp.width, height: vp.height });
}
await opened.pdf.close();
const pass = () => {
  for (const { runs, width, height } of pages) assessText(orderText(runs), width, height);
};
pass();
const t0 = performance.now();
for (let i = 0; i < reps; i++) pass();
const us = ((performance.now() - t0) * 1000) / (reps * pages.length);
console.log(
  `orderText + assessText: ${us.toFixed(1)} µs/page (${pages.length} pages × ${reps}, ${pages[0]?.runs.length} runs/page)`,
);
