/**
 * Where the index build's main-thread time goes: analysis (SegmentBuilder.add) against encoding, sealing
 * and the LMDB write (writeSegment in one transaction), for batches of the benchmark corpus.
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
let analyse = 0;
let write = 0;
let chars = 0;
for (let b = 0; b < n; b += 1000) {
  const t0 = performance.now();
  const builder = new SegmentBuilder();
  for (const d of docs.slice(b, b + 1000)) {
    builder.add(analyseDocument({ docId: d.id, language: d.language, fields: { title: d.title, body: [d.body] } }, 'deu+eng'));
    chars += d.body.length + d.title.length;
  }
  const t1 = performance.now();
  await root.transaction(() => {
    writeSegment(store, 't', b / 1000 + 1, builder.sortedTerms(), builder.normsBytes(), builder.records, builder.words());
  });
  write += performance.now() - t1;
  analyse += t1 - t0;
}
console.log(
  JSON.stringify({ docs: n, mb: +(chars / 1e6).toFixed(1), analyseMs: Math.round(analyse), writeMs: Math.round(write) }),
);
await root.close();
fs.rmSync(dir, { recursive: true, force: true });
