/**
 * Where the index build's time goes, for batches of 1000 documents of the benchmark corpus: analysis
 * (analyseDocument: the pool's part in the server), SegmentBuilder.add and words() (the writer thread's
 * part before the write), and the write (writeSegment in one transaction: sorting, encoding, sealing, LMDB).
 *   npx tsx native-bench/probes/index-build-split.ts [docs=5000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open } from 'lmdb';
import { recordCipherFromSecret } from '../../src/crypto/index.js';
import { analyseDocument } from '../../src/index/analyse-document.js';
import { IndexStore } from '../../src/index/index-store.js';
import { SegmentBuilder, writeSegment } from '../../src/index/segment-writer.js';
import { Corpus } from '../harness/data.js';

const n = Number(process.argv[2] ?? 5000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'split-'));
const root = open({ path: dir });
const cipher = recordCipherFromSecret();
await cipher.ready('t');
const store = new IndexStore(root, cipher);
const corpus = new Corpus(1);
const docs = Array.from({ length: n }, (_, i) => corpus.doc(i));
/** CPU ms of this process (steadier than wall time on a shared machine; LMDB's commit thread counts in the write). */
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const cpuMs = { analyse: 0, add: 0, words: 0, write: 0 };
let analyse = 0;
let add = 0;
let words = 0;
let write = 0;
let chars = 0;
for (let b = 0; b < n; b += 1000) {
  const c0 = cpu();
  const t0 = performance.now();
  const batch = docs.slice(b, b + 1000);
  // Cloned as the pool's messages clone them: the writer gets fresh strings, not the analyser's cached ones.
  const analysed = structuredClone(
    batch.map((d) =>
      analyseDocument({ docId: d.id, language: d.language, fields: { title: d.title, body: [d.body] } }, 'deu+eng'),
    ),
  );
  for (const d of batch) chars += d.body.length + d.title.length;
  const t1 = performance.now();
  const c1 = cpu();
  const builder = new SegmentBuilder();
  for (const a of analysed) builder.add(a);
  const t2 = performance.now();
  const c2 = cpu();
  const segmentWords = builder.words();
  const t3 = performance.now();
  const c3 = cpu();
  await root.transaction(() => {
    writeSegment(store, 't', b / 1000 + 1, builder.sortedTerms(), builder.normsBytes(), builder.records, segmentWords);
  });
  write += performance.now() - t3;
  cpuMs.write += cpu() - c3;
  cpuMs.words += c3 - c2;
  cpuMs.add += c2 - c1;
  cpuMs.analyse += c1 - c0;
  words += t3 - t2;
  add += t2 - t1;
  analyse += t1 - t0;
}
console.log(
  JSON.stringify({
    docs: n,
    mb: +(chars / 1e6).toFixed(1),
    analyseMs: Math.round(analyse),
    addMs: Math.round(add),
    wordsMs: Math.round(words),
    writeMs: Math.round(write),
    cpuMs: Object.fromEntries(Object.entries(cpuMs).map(([k, v]) => [k, Math.round(v)])),
  }),
);
await root.close();
fs.rmSync(dir, { recursive: true, force: true });
