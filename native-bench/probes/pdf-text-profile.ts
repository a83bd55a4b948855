/**
 * Ad-hoc probe (not a benchmark): where the CPU time of PDF text extraction goes, per page, on the
 * bench's generated 50-page PDF (`textPdf(50, 7)`, 48 lines per page). Run one mode per process (the
 * modes differ in what is installed thread-wide):
 *   raw       bare pdf.js legacy build as shipped, the options of `openPdf`, our ordering on top;
 *             RESTORE=1 puts V8's push/JSON/toString back after the import, SHIM=1 installs the
 *             synchronous inflate (both as `openPdf` now does); TC='{"disableNormalization":true}'
 *             passes getTextContent options; prints CPU ms/page split into open/getPage/text/order
 *   ours      `openPdf` + `pageText` (the pipeline as the bench runs it)
 *   native    one `pdftotext -layout` process for the file (wall ms/page)
 * Usage: npx tsx native-bench/probes/pdf-text-profile.ts MODE [repetitions=8]
 * Profile: node --import tsx --cpu-prof --cpu-prof-dir=/tmp/p native-bench/probes/pdf-text-profile.ts raw 30
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { assessText, installSyncInflate, nativeBuiltins, openPdf, orderText, textRunsOf } from '../../src/pipeline/pdf.js';
import { textPdf } from '../harness/pages.js';

const mode = process.argv[2] ?? 'ours';
const reps = Number(process.argv[3] ?? 8);
const pages = 50;
const { bytes } = await textPdf(pages, 7);
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const med = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1] as number;

if (mode === 'native') {
  const file = path.join(os.tmpdir(), `probe-${process.pid}.pdf`);
  fs.writeFileSync(file, bytes);
  const wall: number[] = [];
  for (let i = 0; i <= reps; i++) {
    const t0 = performance.now();
    spawnSync('pdftotext', ['-layout', '-enc', 'UTF-8', file, '/dev/null']);
    if (i > 0) wall.push(performance.now() - t0);
  }
  fs.rmSync(file);
  console.log(`native pdftotext -layout: wall ${(med(wall) / pages).toFixed(2)} ms/page`);
} else if (mode === 'ours') {
  const run = async () => {
    const opened = await openPdf(bytes);
    if (opened.status !== 'ok') throw new Error('not ok');
    for (let p = 1; p <= opened.pdf.pageCount; p++) await opened.pdf.pageText(p);
    await opened.pdf.close();
  };
  await run();
  const c: number[] = [];
  const w: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = cpu();
    const t0 = performance.now();
    await run();
    w.push(performance.now() - t0);
    c.push(cpu() - c0);
  }
  console.log(`ours openPdf+pageText: cpu ${(med(c) / pages).toFixed(2)} ms/page, wall ${(med(w) / pages).toFixed(2)} ms/page`);
} else {
  const require = createRequire(import.meta.url);
  const DIR = path.dirname(require.resolve('pdfjs-dist/package.json'));
  if (process.env.SHIM === '1') installSyncInflate();
  const restore = nativeBuiltins();
  const g = globalThis as { pdfjsWorker?: unknown };
  g.pdfjsWorker = await import('pdfjs-dist/legacy/build/pdf.worker.mjs');
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  if (process.env.RESTORE === '1') restore();
  const tcOpts = JSON.parse(process.env.TC ?? '{"includeMarkedContent":false}');
  const acc = { open: 0, getPage: 0, text: 0, order: 0, close: 0 };
  const once = async (record: boolean) => {
    let c = cpu();
    const tick = (k: keyof typeof acc) => {
      const n = cpu();
      if (record) acc[k] += n - c;
      c = n;
    };
    const doc = await pdfjs.getDocument({
      data: new Uint8Array(bytes),
      isEvalSupported: false,
      enableXfa: false,
      disableFontFace: true,
      useSystemFonts: false,
      isOffscreenCanvasSupported: false,
      isImageDecoderSupported: false,
      standardFontDataUrl: `${DIR}/standard_fonts/`,
      cMapUrl: `${DIR}/cmaps/`,
      cMapPacked: true,
      wasmUrl: `${DIR}/wasm/`,
      iccUrl: `${DIR}/iccs/`,
      useWorkerFetch: false,
      disableAutoFetch: true,
      disableStream: true,
      disableRange: true,
      verbosity: 0,
    }).promise;
    tick('open');
    for (let p = 1; p <= pages; p++) {
      const page = await doc.getPage(p);
      tick('getPage');
      const vp = page.getViewport({ scale: 1 });
      const content = await page.getTextContent(tcOpts);
      tick('text');
      assessText(orderText(textRunsOf(pdfjs, vp.transform, content.items)), vp.width, vp.height);
      page.cleanup();
      tick('order');
    }
    await doc.destroy();
    tick('close');
  };
  await once(false);
  for (let i = 0; i < reps; i++) await once(true);
  const n = reps * pages;
  const total = Object.values(acc).reduce((a, b) => a + b, 0) / n;
  console.log(
    `raw pdf.js RESTORE=${process.env.RESTORE ?? 0} SHIM=${process.env.SHIM ?? 0} TC=${JSON.stringify(tcOpts)}: cpu ${total.toFixed(2)} ms/page (${Object.entries(
      acc,
    )
      .map(([k, v]) => `${k} ${(v / n).toFixed(2)}`)
      .join(', ')})`,
  );
}
