import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArchivarClient } from '../src/sdk/index.js';
import { realSession, startBenchServer } from './harness/bench-server.js';
import { forEachLimit } from './harness/concurrency.js';
import { textLike } from './harness/data.js';
import { describeMachine } from './harness/machine.js';
import { lineChart } from './harness/svg.js';
import { makeOcrPages, nativeOcr } from './stages/ocr.js';

/**
 * Scaling curves of the processing path: the real server (own process) with --pool-threads 1..cores;
 * documents are uploaded and the clock stops when the job runner is idle. Native tesseract with the
 * same number of processes is the reference series for OCR. Writes results/scaling.{csv,svg}.
 */

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

interface Point {
  series: string;
  threads: number;
  value: number;
  unit: string;
}

async function processThrough(threads: number, docs: ReadonlyArray<{ bytes: Buffer; mediaType: string }>): Promise<number> {
  const server = await startBenchServer({ 'pool-threads': String(threads) });
  try {
    const token = await realSession(server.address);
    const client = new ArchivarClient({ server: server.address, insecure: true, token });
    try {
      await client.upload(textLike(4096, 31), { fileName: 'warm.txt' });
      await server.idle();
      const t0 = process.hrtime.bigint();
      await forEachLimit(docs, 8, async (d, i) => {
        await client.upload(d.bytes, { fileName: `doc-${i}`, mediaType: d.mediaType });
      });
      await server.idle();
      return Number(process.hrtime.bigint() - t0) / 1e9;
    } finally {
      client.close();
    }
  } finally {
    await server.stop();
  }
}

export async function runScaling(mode: 'quick' | 'full'): Promise<number> {
  const machine = describeMachine();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'archivar-bench-scaling-'));
  const points: Point[] = [];
  try {
    const ocrPages = makeOcrPages(tmp, mode === 'full' ? 8 * machine.cores : 3 * machine.cores);
    const textDocs = Array.from({ length: mode === 'full' ? 2000 : 300 }, (_, i) => ({
      bytes: textLike(64 * 1024, 40_000 + i),
      mediaType: 'text/plain',
    }));
    for (let t = 1; t <= machine.cores; t++) {
      console.error(`scaling: ${t} pool thread(s): text documents`);
      const ts = await processThrough(t, textDocs);
      points.push({ series: 'text docs (upload→processed)', threads: t, value: textDocs.length / ts, unit: 'docs/s' });
      console.error(`scaling: ${t} pool thread(s): OCR pages`);
      const os_ = await processThrough(
        t,
        ocrPages.map((p) => ({ bytes: p.png, mediaType: 'image/png' })),
      );
      points.push({ series: 'OCR pages through the pool', threads: t, value: (ocrPages.length / os_) * 60, unit: 'pages/min' });
      const nat = await nativeOcr(t, ocrPages);
      points.push({
        series: 'native tesseract (processes)',
        threads: t,
        value: (ocrPages.length / nat.seconds) * 60,
        unit: 'pages/min',
      });
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  fs.mkdirSync(RESULTS, { recursive: true });
  const base = new Map<string, number>();
  for (const p of points) if (p.threads === 1) base.set(p.series, p.value);
  const csv = ['series,threads,value,unit,speedup_vs_1_thread'];
  for (const p of points)
    csv.push(
      `"${p.series}",${p.threads},${p.value.toFixed(3)},${p.unit},${(p.value / (base.get(p.series) ?? p.value)).toFixed(3)}`,
    );
  fs.writeFileSync(path.join(RESULTS, 'scaling.csv'), `${csv.join('\n')}\n`);
  const seriesNames = [...new Set(points.map((p) => p.series))];
  const svg = lineChart(
    `Processing throughput vs pool threads (${machine.cores} cores)`,
    'pool threads / processes',
    'speed-up vs 1 thread',
    [
      { name: 'ideal (linear)', points: Array.from({ length: machine.cores }, (_, i) => [i + 1, i + 1] as const), dashed: true },
      ...seriesNames.map((name) => ({
        name,
        points: points.filter((p) => p.series === name).map((p) => [p.threads, p.value / (base.get(name) ?? p.value)] as const),
      })),
    ],
  );
  fs.writeFileSync(path.join(RESULTS, 'scaling.svg'), svg);
  console.log(csv.join('\n'));
  console.error(`wrote ${path.join(RESULTS, 'scaling.csv')} and scaling.svg`);
  return 0;
}
