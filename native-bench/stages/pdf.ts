import fs from 'node:fs';
import path from 'node:path';
import { openPdf } from '../../src/pipeline/index.js';
import { hasCommand, runNative } from '../harness/native.js';
import { pagesCer, textPdf } from '../harness/pages.js';
import { alternate, seconds } from '../harness/stats.js';
import type { BenchContext, Benchmark } from '../harness/types.js';

/** PDF text-layer extraction (pdf.js through src/pipeline) vs poppler's `pdftotext` on the same file. */
async function run(ctx: BenchContext, pages: number, repetitions: number): Promise<void> {
  const { bytes, text } = await textPdf(pages, 7);
  const file = path.join(ctx.tmp, 'text.pdf');
  fs.writeFileSync(file, bytes);
  const truth = text.map((lines) => lines.join('\n'));
  let ours: string[] = [];
  let native: string[] = [];
  // Three warm-up runs each: the pool's threads extract document after document, so what a user gets is
  // pdf.js with its code optimised; the first runs of a fresh process took 25–85 % more CPU than later ones.
  const r = await alternate(
    { warmup: 3, repetitions },
    () =>
      seconds(async () => {
        const opened = await openPdf(bytes);
        if (opened.status !== 'ok') throw new Error('bench PDF did not open');
        const out: string[] = [];
        for (let p = 1; p <= opened.pdf.pageCount; p++) out.push((await opened.pdf.pageText(p)).text);
        await opened.pdf.close();
        ours = out;
      }),
    async () => {
      const run = await runNative('pdftotext', ['-layout', '-enc', 'UTF-8', file, '-']);
      native = run.stdout.split('\f');
      return run.seconds;
    },
  );
  ctx.record({
    name: `pdf-text.${pages}p`,
    unit: 'pages/s',
    higherIsBetter: true,
    ours: r.ours.map((s) => pages / s),
    reference: { label: 'pdftotext -layout (poppler, process)', values: r.reference.map((s) => pages / s) },
    bar: { text: '≥ 0.5 × pdftotext (issue 5)', ratioAtLeast: 0.5 },
    note: `generated ${pages}-page A4 PDF, ${bytes.byteLength} bytes; CER ours ${(pagesCer(truth, ours) * 100).toFixed(2)} %, pdftotext ${(pagesCer(truth, native) * 100).toFixed(2)} %`,
  });
}

export const pdfBenchmark: Benchmark = {
  name: 'pdf',
  description: 'PDF text extraction (pdf.js pipeline) vs pdftotext',
  async available() {
    return hasCommand('pdftotext') ? undefined : 'pdftotext missing (npm run bench:setup)';
  },
  quick: (ctx) => run(ctx, 50, 5),
  full: (ctx) => run(ctx, 500, 5),
};
