/**
 * The pool's part of the index build on one thread, without a pool or a store: buildSegment over the
 * benchmark corpus in batches of 1000, `passes` times over the same documents (the first pass warms the
 * JIT and the word cache as a pool thread's first tasks do), split into analysis (SegmentBuilder.addDocument)
 * and the rest (finishSegment: sort, encode, lay out). Wall ms per pass, then the fastest of the passes after
 * the first (this machine's wall times swing with its neighbours); run under --cpu-prof to see where.
 * With `fresh`, each pass takes the next `docs` documents of the corpus instead of the same ones again
 * (words new to the thread's word cache, as in a real build).
 *   npx tsx native-bench/probes/segment-build-cpu.ts [docs=20000] [passes=3] [fresh]
 */
import { finishSegment, SegmentBuilder } from '../../src/index/segment-writer.js';
import { Corpus } from '../harness/data.js';

const n = Number(process.argv[2] ?? 20000);
const passes = Number(process.argv[3] ?? 3);
const corpus = new Corpus(1);
const fresh = process.argv[4] === 'fresh';
const all = Array.from({ length: fresh ? n * passes : n }, (_, i) => {
  const d = corpus.doc(i);
  return { docId: d.id, language: d.language, fields: { title: d.title, body: [d.body] } };
});
const best = { analyseMs: Number.POSITIVE_INFINITY, finishMs: Number.POSITIVE_INFINITY };
for (let p = 0; p < passes; p++) {
  const docs = fresh ? all.slice(p * n, (p + 1) * n) : all;
  let analyse = 0;
  let finish = 0;
  for (let b = 0; b < n; b += 1000) {
    const t0 = performance.now();
    const builder = new SegmentBuilder();
    for (const d of docs.slice(b, b + 1000)) builder.addDocument(d, 'deu+eng');
    const t1 = performance.now();
    finishSegment(builder);
    finish += performance.now() - t1;
    analyse += t1 - t0;
  }
  console.log(JSON.stringify({ pass: p + 1, docs: n, fresh, analyseMs: Math.round(analyse), finishMs: Math.round(finish) }));
  if (p > 0) {
    best.analyseMs = Math.min(best.analyseMs, Math.round(analyse));
    best.finishMs = Math.min(best.finishMs, Math.round(finish));
  }
}
if (passes > 1) console.log(JSON.stringify({ fastest: true, ...best }));
