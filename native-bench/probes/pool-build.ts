/**
 * The pool's part of the index build alone: build-segment tasks for the benchmark corpus in batches of 1000,
 * all handed to the pool at once as the benchmark does, no store and no writer. Wall and process CPU per
 * round (a warm-up of 2000 documents first, then `rounds` rounds over the same documents, as the benchmark's
 * builds share one pool), to compare with segment-build-cpu.ts's one thread; and per thread
 * (harness/thread-cpu.ts).
 *   npx tsx native-bench/probes/pool-build.ts [docs=20000] [rounds=3]
 */
import type { IndexDoc } from '../../src/index/index.js';
import { benchPool } from '../harness/bench-engine.js';
import { Corpus } from '../harness/data.js';
import { threadCpu, threadCpuSince } from '../harness/thread-cpu.js';

const n = Number(process.argv[2] ?? 20000);
const rounds = Number(process.argv[3] ?? 3);
const corpus = new Corpus(1);
const docs: IndexDoc[] = Array.from({ length: n }, (_, i) => {
  const d = corpus.doc(i);
  return { docId: d.id, language: d.language, fields: { title: d.title, body: [d.body] } };
});
const pool = benchPool();
const run = async (count: number) => {
  const tasks: Promise<unknown>[] = [];
  for (let b = 0; b < count; b += 1000)
    tasks.push(pool.run({ type: 'build-segment', docs: docs.slice(b, b + 1000), defaultLanguage: 'deu+eng' }));
  await Promise.all(tasks);
};
await run(2000);
for (let r = 0; r < rounds; r++) {
  const th0 = threadCpu();
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  await run(n);
  const ms = performance.now() - t0;
  const u = process.cpuUsage(u0);
  console.log(
    JSON.stringify({
      round: r + 1,
      docs: n,
      wallMs: Math.round(ms),
      processCpuMs: Math.round((u.user + u.system) / 1000),
      threadCpuMs: threadCpuSince(th0),
    }),
  );
}
await pool.close();
