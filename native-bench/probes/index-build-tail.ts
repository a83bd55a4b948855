/**
 * The tail of an index build: the time from the last segment built (its pool task resolved) to the last
 * write committed, with the build's wall time and process CPU, as the benchmark composes the engine (one
 * warm pool; a warm-up round of 2000 documents, then `rounds` builds of `docs` in batches of 1000). ROOT is
 * the tree whose code runs (default: this one), so an old commit's `git archive` copy can be measured by
 * the same script. With TRACE_BUILDS=1 each segment's build start and end go to stderr.
 *   npx tsx native-bench/probes/index-build-tail.ts [ROOT] [docs=20000] [rounds=4]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(process.argv[2] ?? fileURLToPath(new URL('../..', import.meta.url)));
const n = Number(process.argv[3] ?? 20000);
const rounds = Number(process.argv[4] ?? 4);
const { recordCipherFromSecret } = await import(`${root}/src/crypto/index.ts`);
const { poolAnalyser } = await import(`${root}/src/documents/search-adapters.ts`);
const { SearchEngine } = await import(`${root}/src/index/engine.ts`);
const { createLogger } = await import(`${root}/src/server/logger.ts`);
const { Store } = await import(`${root}/src/store/database.ts`);
const { WorkerPool } = await import(`${root}/src/workers/pool.ts`);
const { Corpus } = await import(`${root}/native-bench/harness/data.ts`);
const pool = new WorkerPool({ threads: os.availableParallelism(), maxQueue: 256 });
const corpus = new Corpus(1);
const docs = Array.from({ length: n }, (_, i) => {
  const d = corpus.doc(i);
  return { docId: d.id, language: d.language, fields: { title: d.title, body: [d.body] } };
});
const inner = poolAnalyser(pool, createLogger('warn'));
for (let r = 0; r <= rounds; r++) {
  const count = r === 0 ? 2000 : n;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'build-tail-'));
  const store = Store.open(dir, { mapSize: 64 * 2 ** 30 });
  let lastBuilt = 0;
  const engine = new SearchEngine(store.root, {
    cipher: recordCipherFromSecret(),
    autoMerge: false,
    analyser: async (...a: unknown[]) => {
      const ts = performance.now();
      const s = await (inner as (...x: unknown[]) => Promise<unknown>)(...a);
      lastBuilt = performance.now();
      if (process.env.TRACE_BUILDS)
        process.stderr.write(
          `B ${(a[0] as { docId: string }[])[0]!.docId} start=${ts.toFixed(0)} done=${lastBuilt.toFixed(0)}\n`,
        );
      return s;
    },
  });
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  const ps = [];
  for (let i = 0; i < count; i += 1000) ps.push(engine.index.addDocuments('bench', docs.slice(i, i + 1000)));
  await Promise.all(ps);
  const t1 = performance.now();
  await store.flushed();
  const t2 = performance.now();
  const u = process.cpuUsage(u0);
  if (r > 0)
    console.log(
      JSON.stringify({
        round: r,
        wallMs: Math.round(t2 - t0),
        builtAtMs: Math.round(lastBuilt - t0),
        tailMs: Math.round(t1 - lastBuilt),
        flushMs: Math.round(t2 - t1),
        cpuMs: Math.round((u.user + u.system) / 1000),
      }),
    );
  await engine.index.close();
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
await pool.close();
