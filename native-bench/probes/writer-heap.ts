/**
 * The index writer's JS heap after a build, as a server that has been indexing holds it: `docs` documents of
 * the benchmark corpus in batches of 1000 through the engine with its pool (autoMerge off), then two full
 * collections, then the heap in use. ROOT is the tree whose code runs (default: this one), so an older
 * commit's `git archive` copy can be measured by the same script.
 *   node --expose-gc --import tsx native-bench/probes/writer-heap.ts [ROOT] [docs=50000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(process.argv[2] ?? fileURLToPath(new URL('../..', import.meta.url)));
const n = Number(process.argv[3] ?? 50000);
const { benchPool, openBenchEngine } = await import(path.join(root, 'native-bench/harness/bench-engine.ts'));
const { Corpus } = await import(path.join(root, 'native-bench/harness/data.ts'));
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const pool = benchPool();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'writer-heap-'));
const e = openBenchEngine(dir, { autoMerge: false, pool });
const corpus = new Corpus(1);
gc();
gc();
const before = process.memoryUsage().heapUsed;
for (let first = 0; first < n; first += 10_000) {
  const docs = [];
  for (let i = first; i < Math.min(n, first + 10_000); i++) {
    const d = corpus.doc(i);
    docs.push({ docId: d.id, language: d.language, fields: { title: d.title, body: [d.body] } });
  }
  await e.addAll('bench', docs, 1000);
}
await e.store.flushed();
gc();
gc();
const after = process.memoryUsage().heapUsed;
console.log(
  JSON.stringify({ root, docs: n, heapBeforeMiB: +(before / 2 ** 20).toFixed(1), heapAfterMiB: +(after / 2 ** 20).toFixed(1) }),
);
await e.close();
await pool.close();
fs.rmSync(dir, { recursive: true, force: true });
