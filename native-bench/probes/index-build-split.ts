/**
 * Where the index build's time goes, for batches of 1000 documents of the benchmark corpus, on one thread:
 * the pool's part in the server (buildSegment: analysis, sorting, encoding, the segment laid out; its result
 * cloned as the pool's message clones it) and the writer thread's part (writeBuiltSegment in one
 * transaction: words, sealing, LMDB). CPU ms of this process, steadier than wall time on a shared machine
 * (LMDB's commit thread counts in the write).
 *   npx tsx native-bench/probes/index-build-split.ts [docs=5000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open } from 'lmdb';
import { recordCipherFromSecret } from '../../src/crypto/index.js';
import { IndexStore } from '../../src/index/index-store.js';
import { buildSegment, writeBuiltSegment } from '../../src/index/segment-writer.js';
import { Corpus } from '../harness/data.js';

const n = Number(process.argv[2] ?? 5000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'split-'));
const root = open({ path: dir });
const cipher = recordCipherFromSecret();
await cipher.ready('t');
const store = new IndexStore(root, cipher);
const corpus = new Corpus(1);
const docs = Array.from({ length: n }, (_, i) => corpus.doc(i));
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const cpuMs = { build: 0, write: 0 };
let build = 0;
let write = 0;
let chars = 0;
for (let b = 0; b < n; b += 1000) {
  const c0 = cpu();
  const t0 = performance.now();
  const batch = docs.slice(b, b + 1000);
  const built = structuredClone(
    buildSegment(
      batch.map((d) => ({ docId: d.id, language: d.language, fields: { title: d.title, body: [d.body] } })),
      'deu+eng',
    ),
  );
  for (const d of batch) chars += d.body.length + d.title.length;
  const t1 = performance.now();
  const c1 = cpu();
  await root.transaction(() => {
    writeBuiltSegment(store, 't', b / 1000 + 1, built);
  });
  write += performance.now() - t1;
  cpuMs.write += cpu() - c1;
  cpuMs.build += c1 - c0;
  build += t1 - t0;
}
console.log(
  JSON.stringify({
    docs: n,
    mb: +(chars / 1e6).toFixed(1),
    buildMs: Math.round(build),
    writeMs: Math.round(write),
    cpuMs: Object.fromEntries(Object.entries(cpuMs).map(([k, v]) => [k, Math.round(v)])),
  }),
);
await root.close();
fs.rmSync(dir, { recursive: true, force: true });
