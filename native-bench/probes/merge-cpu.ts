/**
 * The CPU of a forced merge (segment-merger.ts mergeSegments, on this thread): per round, `docs` benchmark-
 * corpus documents of their own are indexed in segments of `batch` (no automatic merges), then all of them
 * are merged into one. Prints the merge's wall time and the process CPU it took (this thread, V8's
 * compiler and GC threads, LMDB's writer; the idle pool's are near zero), that of this thread (mainMs) and of
 * the others (otherMs) in 10 ms ticks, and the load average to judge the noise by.
 *   npx tsx native-bench/probes/merge-cpu.ts [docs=20000] [rounds=3] [batch=1000]
 * Profile: node --cpu-prof --cpu-prof-dir=DIR --import tsx native-bench/probes/merge-cpu.ts, then
 * npx tsx native-bench/probes/cpuprofile-top.ts DIR/FILE 40.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IndexDoc } from '../../src/index/index.js';
import { benchPool, openBenchEngine } from '../harness/bench-engine.js';
import { Corpus } from '../harness/data.js';
import { threadCpu, threadCpuSince } from '../harness/thread-cpu.js';

const n = Number(process.argv[2] ?? 20000);
const rounds = Number(process.argv[3] ?? 3);
const batch = Number(process.argv[4] ?? 1000);
const corpus = new Corpus(1);
const pool = benchPool();
for (let r = 0; r < rounds; r++) {
  const docs: IndexDoc[] = Array.from({ length: n }, (_, i) => {
    const d = corpus.doc(r * n + i);
    return { docId: d.id, language: d.language, fields: { title: d.title, body: [d.body] } };
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'merge-cpu-'));
  const e = openBenchEngine(dir, { autoMerge: false, pool });
  await e.addAll('bench', docs, batch);
  await e.store.flushed();
  const cpu = process.cpuUsage();
  const threads = threadCpu();
  const t0 = performance.now();
  await e.engine.index.merge({ tenantId: 'bench', force: true });
  await e.store.flushed();
  const c = process.cpuUsage(cpu);
  // This thread apart from the rest (V8's GC and compiler threads, LMDB's writer, the pool: all named "node").
  let mainMs = 0;
  let otherMs = 0;
  for (const [k, v] of Object.entries(threadCpuSince(threads)))
    if (k.endsWith(`:${process.pid}`)) mainMs += v;
    else otherMs += v;
  console.log(
    JSON.stringify({
      round: r,
      mergeMs: Math.round(performance.now() - t0),
      cpuMs: Math.round((c.user + c.system) / 1000),
      load: os.loadavg()[0]?.toFixed(2),
      mainMs,
      otherMs,
    }),
  );
  await e.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
await pool.close();
