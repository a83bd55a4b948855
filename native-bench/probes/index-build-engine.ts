/**
 * The index build as the benchmark runs it (SearchEngine, analysis in the worker pool, writer in this
 * thread), without FTS5 beside it: wall time and this thread's CPU for n documents in batches of 1000.
 * With `shared`, the warm-up build and the build use one pool (warm, as a running server's), else each
 * starts its own. `threadCpuMs`: the build's CPU per thread (harness/thread-cpu.ts).
 *   npx tsx native-bench/probes/index-build-engine.ts [docs=20000] [shared]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IndexDoc } from '../../src/index/index.js';
import { benchPool, openBenchEngine } from '../harness/bench-engine.js';
import { Corpus } from '../harness/data.js';
import { threadCpu, threadCpuSince } from '../harness/thread-cpu.js';

const n = Number(process.argv[2] ?? 20000);
const pool = process.argv[3] === 'shared' ? benchPool() : undefined;
const corpus = new Corpus(1);
const docs = Array.from({ length: n }, (_, i) => corpus.doc(i));
const indexDocs: IndexDoc[] = docs.map((d) => ({
  docId: d.id,
  language: d.language,
  fields: { title: d.title, body: [d.body] },
}));
let bytes = 0;
for (const d of docs) bytes += Buffer.byteLength(d.title) + Buffer.byteLength(d.body);
for (const [label, count] of [
  ['warm-up', 2000],
  ['build', n],
] as const) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'build-engine-'));
  const e = openBenchEngine(dir, { autoMerge: false, ...(pool ? { pool } : {}) });
  const th0 = threadCpu();
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  await e.addAll('bench', indexDocs.slice(0, count), 1000);
  await e.store.flushed();
  const ms = performance.now() - t0;
  const u = process.cpuUsage(u0);
  const threadCpuMs = threadCpuSince(th0);
  if (label === 'build')
    console.log(
      JSON.stringify({
        docs: count,
        pool: pool ? 'shared' : 'own',
        mb: +(bytes / 1e6).toFixed(1),
        wallMs: Math.round(ms),
        mbPerS: +(bytes / 1e6 / (ms / 1000)).toFixed(2),
        processCpuMs: Math.round((u.user + u.system) / 1000),
        threadCpuMs,
      }),
    );
  await e.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
await pool?.close();
