import fs from 'node:fs';
import path from 'node:path';
import { openPdf, pdfPreviews } from '../../src/pipeline/index.js';
import { hasCommand, runNative } from '../harness/native.js';
import { textPdf } from '../harness/pages.js';
import { alternate, seconds } from '../harness/stats.js';
import type { BenchContext, Benchmark } from '../harness/types.js';

/**
 * Previews of a born-digital PDF, one thread each: ours (pdf.js + @napi-rs/canvas render at 1024 px width,
 * PNG through sharp, plus the WebP thumbnail of page 1) against poppler's `pdftoppm -png -scale-to-x 1024`
 * for the same pages plus its 256 px first page, as one process writing into a temp dir.
 */
async function run(ctx: BenchContext, pages: number, repetitions: number): Promise<void> {
  const { bytes } = await textPdf(pages, 11);
  const file = path.join(ctx.tmp, 'previews.pdf');
  fs.writeFileSync(file, bytes);
  const out = path.join(ctx.tmp, 'out');
  fs.mkdirSync(out, { recursive: true });
  let oursBytes = 0;
  const r = await alternate(
    { warmup: 1, repetitions },
    () =>
      seconds(async () => {
        const opened = await openPdf(bytes);
        if (opened.status !== 'ok') throw new Error('bench PDF did not open');
        try {
          const made = await pdfPreviews(opened.pdf, { maxPages: pages });
          if (made.pages.length !== pages) throw new Error(`made ${made.pages.length} page previews of ${pages}`);
          oursBytes = made.pages.reduce((n, p) => n + p.bytes.byteLength, made.thumbnail.bytes.byteLength);
        } finally {
          await opened.pdf.close();
        }
      }),
    async () => {
      const pagesRun = await runNative('pdftoppm', [
        '-png',
        '-scale-to-x',
        '1024',
        '-scale-to-y',
        '-1',
        file,
        path.join(out, 'p'),
      ]);
      const thumb = await runNative('pdftoppm', [
        '-png',
        '-f',
        '1',
        '-l',
        '1',
        '-scale-to-x',
        '256',
        '-scale-to-y',
        '-1',
        file,
        path.join(out, 't'),
      ]);
      return pagesRun.seconds + thumb.seconds;
    },
  );
  const refBytes = fs.readdirSync(out).reduce((n, f) => n + fs.statSync(path.join(out, f)).size, 0);
  ctx.record({
    name: `previews.${pages}p`,
    unit: 'pages/s',
    higherIsBetter: true,
    ours: r.ours.map((s) => pages / s),
    reference: {
      label: 'pdftoppm -png -scale-to-x 1024 (+ 256 px page 1), poppler, process',
      values: r.reference.map((s) => pages / s),
    },
    note: `generated ${pages}-page A4 text PDF; a page PNG 1024 px wide plus the page-1 thumbnail; output ours ${(oursBytes / 1e6).toFixed(2)} MB in memory, pdftoppm ${(refBytes / 1e6).toFixed(2)} MB written to a temp dir`,
  });
}

export const previewsBenchmark: Benchmark = {
  name: 'previews',
  description: 'PDF page previews (PNG 1024 px + thumbnail) vs pdftoppm',
  async available() {
    return hasCommand('pdftoppm') ? undefined : 'pdftoppm missing (npm run bench:setup)';
  },
  quick: (ctx) => run(ctx, 20, 3), // 3 rounds: keeps `npm run bench` under 10 min
  full: (ctx) => run(ctx, 200, 5),
};
