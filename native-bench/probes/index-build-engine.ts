/**
 * The index build as the benchmark runs it (SearchEngine, analysis in the worker pool, writer in this
 * thread), without FTS5 beside it: wall time and CPU for n documents in batches of 1000, into a fresh index.
 * With `shared`, the warm-up build (2 000 documents) and the builds use one pool (warm, as a running
 * server's), else each starts its own. With `builds` > 1 each build indexes documents of its own, as a server
 * indexes new ones (the first builds still warm the pool's code: compare the later ones). Per build:
 * `threadCpuMs`, its CPU per thread (harness/thread-cpu.ts: the pool's threads, this one, V8's), and the
 * process's minor page faults and system CPU.
 *   npx tsx native-bench/probes/index-build-engine.ts [docs=20000] [shared] [builds=1]
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
const builds = Number(process.argv[4] ?? 1);
const corpus = new Corpus(1);
const WARM_UP = 2000;

function documents(first: number, count: number): { indexDocs: IndexDoc[]; bytes: number } {
  let bytes = 0;
  const indexDocs: IndexDoc[] = [];
  for (let i = first; i < first + count; i++) {
    const d = corpus.doc(i);
    bytes += Buffer.byteLength(d.title) + Buffer.byteLength(d.body);
    indexDocs.push({ docId: d.id, language: d.language, fields: { title: d.title, body: [d.body] } });
  }
  return { indexDocs, bytes };
}

// The warm-up takes documents after the builds' own.
for (let b = -1; b < builds; b++) {
  const { indexDocs, bytes } = b < 0 ? documents(builds * n, WARM_UP) : documents(b * n, n);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'build-engine-'));
  const e = openBenchEngine(dir, { autoMerge: false, ...(pool ? { pool } : {}) });
  const r0 = process.resourceUsage();
  const th0 = threadCpu();
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  await e.addAll('bench', indexDocs, 1000);
  await e.store.flushed();
  const ms = performance.now() - t0;
  const u = process.cpuUsage(u0);
  const threadCpuMs = threadCpuSince(th0);
  const r1 = process.resourceUsage();
  if (b >= 0) {
    const cpuMs = (u.user + u.system) / 1000;
    console.log(
      JSON.stringify({
        build: b + 1,
        docs: indexDocs.length,
        pool: pool ? 'shared' : 'own',
        mb: +(bytes / 1e6).toFixed(1),
        wallMs: Math.round(ms),
        mbPerS: +(bytes / 1e6 / (ms / 1000)).toFixed(2),
        processCpuMs: Math.round(cpuMs),
        mbPerCpuS: +(bytes / 1e6 / (cpuMs / 1000)).toFixed(2),
        systemCpuMs: Math.round((r1.systemCPUTime - r0.systemCPUTime) / 1000),
        minorFaults: r1.minorPageFault - r0.minorPageFault,
        threadCpuMs,
      }),
    );
  }
  await e.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
await pool?.close();
