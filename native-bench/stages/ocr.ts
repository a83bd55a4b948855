import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createOcrEngine, type OcrEngine, openPdf } from '../../src/pipeline/index.js';
import { traineddataPath } from '../../src/pipeline/ocr-models.js';
import { forEachLimit } from '../harness/concurrency.js';
import { hasCommand, runNative } from '../harness/native.js';
import { cer, pageLines, scanPng, textPdf } from '../harness/pages.js';
import type { BenchContext, Benchmark } from '../harness/types.js';

/**
 * OCR pages/min at equal parallelism: N tesseract.js engines (one per core, as the pool runs them)
 * against N native `tesseract -l deu+eng` processes with OMP_THREAD_LIMIT=1, on the same pages — the
 * pages of a born-digital PDF rendered at 300 dpi (as the pipeline renders scans) — with the character
 * error rate of both against the PDF's text layer.
 */

export interface OcrPage {
  png: Buffer;
  file: string;
  truth: string;
  dpi: number;
}

export function makeOcrPages(dir: string, count: number): OcrPage[] {
  return Array.from({ length: count }, (_, i) => {
    const lines = pageLines(26, 5000 + i, 7);
    const png = scanPng(lines);
    const file = path.join(dir, `page-${i}.png`);
    fs.writeFileSync(file, png);
    return { png, file, truth: lines.join('\n'), dpi: 150 };
  });
}

/** Pages of a generated text PDF rendered at 300 dpi by the pipeline (pdf.js); truth = their text. */
export async function renderedOcrPages(dir: string, count: number): Promise<OcrPage[]> {
  const { bytes, text } = await textPdf(count, 5);
  const opened = await openPdf(bytes);
  if (opened.status !== 'ok') throw new Error('bench PDF did not open');
  try {
    const pages: OcrPage[] = [];
    for (let i = 0; i < count; i++) {
      const { png } = await opened.pdf.renderPage(i + 1, { dpi: 300 });
      const file = path.join(dir, `rendered-${i}.png`);
      fs.writeFileSync(file, png);
      pages.push({ png, file, truth: (text[i] ?? []).join('\n'), dpi: 300 });
    }
    return pages;
  } finally {
    await opened.pdf.close();
  }
}

/** Pages through `engines` in parallel (each engine one page at a time); returns seconds and mean CER. */
export async function oursOcr(
  engines: readonly OcrEngine[],
  pages: readonly OcrPage[],
): Promise<{ seconds: number; cer: number }> {
  const errors: number[] = [];
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    engines.map(async (engine) => {
      while (next < pages.length) {
        const page = pages[next++] as OcrPage;
        const r = await engine.recognize(page.png, { dpi: page.dpi });
        errors.push(cer(page.truth, r.text));
      }
    }),
  );
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, cer: errors.reduce((a, b) => a + b, 0) / errors.length };
}

/**
 * The models tesseract.js loads (`@tesseract.js-data/{deu,eng}` 4.0.0_best_int), unpacked into a
 * tessdata folder for the native CLI: the like-for-like reference. Debian's `tesseract-ocr-deu/-eng`
 * ship tessdata_fast, a smaller network (last LSTM layer 192 cells for deu, vs 512 in best).
 */
export function sameModelsTessdata(dir: string): string {
  const tessdata = path.join(dir, 'tessdata-best-int');
  fs.mkdirSync(tessdata, { recursive: true });
  for (const lang of ['deu', 'eng'] as const) {
    fs.writeFileSync(path.join(tessdata, `${lang}.traineddata`), gunzipSync(fs.readFileSync(traineddataPath(lang))));
  }
  return tessdata;
}

export async function nativeOcr(
  processes: number,
  pages: readonly OcrPage[],
  tessdata?: string,
): Promise<{ seconds: number; cer: number }> {
  const errors: number[] = [];
  const t0 = process.hrtime.bigint();
  await forEachLimit(pages, processes, async (page) => {
    const args = [page.file, '-', '-l', 'deu+eng', '--dpi', String(page.dpi), ...(tessdata ? ['--tessdata-dir', tessdata] : [])];
    const run = await runNative('tesseract', args, {
      env: { OMP_THREAD_LIMIT: '1' },
    });
    errors.push(cer(page.truth, run.stdout));
  });
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, cer: errors.reduce((a, b) => a + b, 0) / errors.length };
}

async function run(ctx: BenchContext, pageCount: number, rounds: number): Promise<void> {
  const n = ctx.machine.cores;
  const pages = await renderedOcrPages(ctx.tmp, pageCount);
  ctx.log(`starting ${n} OCR engines`);
  const engines = await Promise.all(Array.from({ length: n }, () => createOcrEngine({ langs: ['deu', 'eng'] })));
  try {
    // Warm-up: one page per engine and one native run.
    const bestInt = sameModelsTessdata(ctx.tmp);
    await oursOcr(engines, pages.slice(0, n));
    await nativeOcr(n, pages.slice(0, 1));
    await nativeOcr(n, pages.slice(0, 1), bestInt);
    const ours: number[] = [];
    const ref: number[] = [];
    const same: number[] = [];
    const oc: number[] = [];
    const nc: number[] = [];
    const sc: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const o = await oursOcr(engines, pages);
      const t = await nativeOcr(n, pages);
      const b = await nativeOcr(n, pages, bestInt);
      ours.push((pages.length / o.seconds) * 60);
      ref.push((pages.length / t.seconds) * 60);
      same.push((pages.length / b.seconds) * 60);
      oc.push(o.cer);
      nc.push(t.cer);
      sc.push(b.cer);
      ctx.log(
        `round ${i + 1}/${rounds}: ours ${ours.at(-1)?.toFixed(1)} pages/min, tesseract (Debian fast) ${ref.at(-1)?.toFixed(1)}, tesseract (best_int) ${same.at(-1)?.toFixed(1)}`,
      );
    }
    ctx.record({
      name: `ocr.${n}x`,
      unit: 'pages/min',
      higherIsBetter: true,
      ours,
      reference: { label: `tesseract 5 CLI -l deu+eng, ${n} processes, OMP_THREAD_LIMIT=1`, values: ref },
      bar: { text: '≥ native tesseract at the same core count', ratioAtLeast: 1 },
      note: `${pageCount} pages of a generated text PDF rendered at 300 dpi, per round; ours = ${n} tesseract.js engines (@tesseract.js-data best_int deu+eng); reference = Debian's tessdata_fast models`,
    });
    ctx.record({
      name: `ocr.${n}x.same-models`,
      unit: 'pages/min',
      higherIsBetter: true,
      ours,
      reference: { label: `tesseract 5 CLI -l deu+eng, ${n} processes, the @tesseract.js-data best_int models`, values: same },
      note: 'like-for-like: the native engine with the very models tesseract.js loads',
    });
    ctx.record({
      name: `ocr.${n}x.cer`,
      unit: 'CER %',
      higherIsBetter: false,
      ours: oc.map((c) => c * 100),
      reference: { label: 'tesseract 5 CLI -l deu+eng', values: nc.map((c) => c * 100) },
      bar: { text: 'CER no worse than native', notWorseThanReference: true },
      note: 'character error rate against the PDF text layer (whitespace normalised), mean over the pages',
    });
    ctx.record({
      name: `ocr.${n}x.same-models.cer`,
      unit: 'CER %',
      higherIsBetter: false,
      ours: oc.map((c) => c * 100),
      reference: { label: 'tesseract 5 CLI -l deu+eng, best_int models', values: sc.map((c) => c * 100) },
      note: 'character error rate against the PDF text layer, native with the same models as ours',
    });
  } finally {
    await Promise.all(engines.map((e) => e.terminate()));
  }
}

export const ocrBenchmark: Benchmark = {
  name: 'ocr',
  description: 'OCR pages/min and CER: tesseract.js engines vs native tesseract at equal parallelism',
  async available() {
    return hasCommand('tesseract') ? undefined : 'tesseract missing (npm run bench:setup)';
  },
  quick: (ctx) => run(ctx, 4, 2), // 2 pages per engine and process per round: keeps `npm run bench` under 10 min
  full: (ctx) => run(ctx, 24, 3),
};
