/**
 * Ad-hoc probe (not a benchmark): where OCR time goes and what the model choice costs. One engine at a
 * time on the bench's pages (a generated text PDF rendered at 300 dpi by the pipeline), reporting wall
 * and process CPU seconds per page and the CER against the text layer, for variants of what we ask
 * tesseract.js for, and for native `tesseract` (one process per page, OMP_THREAD_LIMIT=1) with
 * Debian's models and with the very models we load (the @tesseract.js-data best_int files, unpacked to
 * a temp dir). Usage:
 *   npx tsx native-bench/probes/ocr-profile.ts [pages=4] [variants=all|comma list]
 * Variants: blocks, text, tsv, pgm, noinvert, 200dpi, relaxed (sets a V8 flag: runs after the others), native, native-best.
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import Tesseract from 'tesseract.js';
import { traineddataPath } from '../../src/pipeline/ocr-models.js';
import { runNative } from '../harness/native.js';
import { cer } from '../harness/pages.js';
import { renderedOcrPages } from '../stages/ocr.js';

const count = Number(process.argv[2] ?? 4);
const which = (process.argv[3] ?? 'all').split(',');
const want = (v: string) => which.includes('all') || which.includes(v);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ocr-probe-'));
const pages = await renderedOcrPages(tmp, count);

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function engine(): Promise<Tesseract.Worker> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ocr-probe-lang-'));
  for (const lang of ['deu', 'eng'] as const) symlinkSync(traineddataPath(lang), path.join(dir, `${lang}.traineddata.gz`));
  const w = await Tesseract.createWorker(['deu', 'eng'], Tesseract.OEM.LSTM_ONLY, {
    langPath: dir,
    gzip: true,
    cacheMethod: 'none',
    legacyCore: false,
    legacyLang: false,
    errorHandler: () => {},
  });
  rmSync(dir, { recursive: true, force: true });
  return w;
}

function report(label: string, wall: number[], cpuS: number[], errors: number[]): void {
  const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
  console.log(
    `${label.padEnd(48)} wall ${(sum(wall) / wall.length).toFixed(2)} s/page  cpu ${(sum(cpuS) / cpuS.length).toFixed(2)} s/page  CER ${((sum(errors) / errors.length) * 100).toFixed(3)} %`,
  );
}

type Input = (png: Buffer) => Promise<{ image: Buffer; dpi: number; scale: number }>;
const asPng: Input = async (png) => ({ image: png, dpi: 300, scale: 1 });
const asPgm: Input = async (png) => {
  const { data, info } = await sharp(png).grayscale().raw().toBuffer({ resolveWithObject: true });
  return { image: Buffer.concat([Buffer.from(`P5\n${info.width} ${info.height}\n255\n`), data]), dpi: 300, scale: 1 };
};
const scaled =
  (dpi: number): Input =>
  async (png) => {
    const meta = await sharp(png).metadata();
    const w = Math.round(((meta.width ?? 0) * dpi) / 300);
    const out = await sharp(png)
      .resize(w, null, { kernel: 'mitchell' })
      .png({ compressionLevel: 1, adaptiveFiltering: false })
      .toBuffer();
    return { image: out, dpi, scale: dpi / 300 };
  };

async function ours(label: string, output: Partial<Tesseract.OutputFormats>, params: Record<string, string>, input: Input) {
  const w = await engine();
  try {
    const wall: number[] = [];
    const cpuS: number[] = [];
    const errors: number[] = [];
    // warm-up on the first page
    const first = await input((pages[0] as (typeof pages)[0]).png);
    await w.setParameters({ tessedit_pageseg_mode: '3' as Tesseract.PSM, user_defined_dpi: String(first.dpi), ...params });
    await w.recognize(first.image, {}, output);
    for (const page of pages) {
      const c0 = cpu();
      const t0 = performance.now();
      const { image, dpi } = await input(page.png);
      await w.setParameters({ user_defined_dpi: String(dpi) });
      const r = await w.recognize(image, {}, output);
      wall.push((performance.now() - t0) / 1000);
      cpuS.push(cpu() - c0);
      errors.push(cer(page.truth, r.data.text ?? ''));
    }
    report(label, wall, cpuS, errors);
  } finally {
    await w.terminate();
  }
}

async function native(label: string, extra: string[]) {
  const wall: number[] = [];
  const cpuS: number[] = [];
  const errors: number[] = [];
  // /usr/bin/time reports the child's own CPU seconds (user + system) on stderr's last line.
  const run = (file: string) =>
    runNative('/usr/bin/time', ['-f', '%U %S', 'tesseract', file, '-', '-l', 'deu+eng', '--dpi', '300', ...extra], {
      env: { OMP_THREAD_LIMIT: '1' },
    });
  await run((pages[0] as (typeof pages)[0]).file);
  for (const page of pages) {
    const r = await run(page.file);
    const [user, sys] = (r.stderr.trim().split('\n').at(-1) ?? '0 0').split(' ').map(Number);
    wall.push(r.seconds);
    cpuS.push((user ?? 0) + (sys ?? 0));
    errors.push(cer(page.truth, r.stdout));
  }
  report(label, wall, cpuS, errors);
}

const text = { text: true };
const blocks = { text: true, blocks: true };
const tsv = { text: true, tsv: true };
if (want('blocks')) await ours('tesseract.js best_int, text+blocks (as now)', blocks, {}, asPng);
if (want('text')) await ours('tesseract.js best_int, text only', text, {}, asPng);
if (want('tsv')) await ours('tesseract.js best_int, text+tsv', tsv, {}, asPng);
if (want('pgm')) await ours('tesseract.js best_int, text, PGM input', text, {}, asPgm);
if (want('noinvert')) await ours('tesseract.js best_int, text, do_invert=0', text, { tessedit_do_invert: '0' }, asPng);
if (want('200dpi')) await ours('tesseract.js best_int, text, 200 dpi', text, {}, scaled(200));
if (want('relaxed')) {
  // Node 20's V8 11.3 has relaxed SIMD behind a flag; tesseract.js then loads its relaxed-SIMD core
  // (int8 dot products for the LSTM). Process-wide and one-way: run this variant last.
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  await ours('tesseract.js best_int, text+tsv, relaxed-SIMD core', tsv, {}, asPng);
}
if (want('native')) await native('native tesseract, Debian models (fast)', []);
if (want('native-best')) {
  const dir = path.join(tmp, 'tessdata');
  (await import('node:fs')).mkdirSync(dir);
  for (const lang of ['deu', 'eng'] as const)
    writeFileSync(path.join(dir, `${lang}.traineddata`), gunzipSync(readFileSync(traineddataPath(lang))));
  await native('native tesseract, our best_int models', ['--tessdata-dir', dir]);
}
rmSync(tmp, { recursive: true, force: true });
