/**
 * A/B of the pool's part of the index build (SegmentBuilder.addDocument, then finishSegment) for two
 * versions of the code in one process, passes interleaved (A B, B A, …), so that this machine's swings hit
 * both alike; prints each pass and the fastest analysis and finish ms per side (the first pass, cold, is not
 * counted). Each side is a bundle of `export { finishSegment, SegmentBuilder } from './src/index/segment-writer.js'`
 * made with `npx esbuild ENTRY.ts --bundle --platform=node --format=esm --packages=external`, the corpus
 * one of native-bench/harness/data.ts, bundled the same way to ./data.mjs beside this file's copy (bundles
 * need node_modules next to them). Both sides keep their own word caches. The side imported second measured
 * up to ~25 % slower in analysis with the same code on both sides: run both orders.
 *   node segment-build-ab.mjs ./A.mjs ./B.mjs [passes=4] [docs=20000] [fresh]
 */
import { Corpus } from './data.mjs';

const [fa, fb] = [process.argv[2] ?? './A.mjs', process.argv[3] ?? './B.mjs'];
const rounds = Number(process.argv[4] ?? 4);
const n = Number(process.argv[5] ?? 20000);
const fresh = process.argv[6] === 'fresh';
const mods = { A: await import(fa), B: await import(fb) };
const corpus = new Corpus(1);
const total = fresh ? n * (rounds + 1) : n;
const all = Array.from({ length: total }, (_, i) => {
  const d = corpus.doc(i);
  return { docId: d.id, language: d.language, fields: { title: d.title, body: [d.body] } };
});
const best = { A: [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY], B: [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY] };
for (let r = 0; r <= rounds; r++) {
  const docs = fresh ? all.slice(r * n, (r + 1) * n) : all;
  for (const k of r % 2 ? ['B', 'A'] : ['A', 'B']) {
    const { SegmentBuilder, finishSegment } = mods[k];
    let analyse = 0;
    let finish = 0;
    for (let b = 0; b < n; b += 1000) {
      const t0 = performance.now();
      const builder = new SegmentBuilder();
      for (let i = b; i < b + 1000; i++) builder.addDocument(docs[i], 'deu+eng');
      const t1 = performance.now();
      finishSegment(builder);
      finish += performance.now() - t1;
      analyse += t1 - t0;
    }
    if (r > 0) {
      best[k][0] = Math.min(best[k][0], analyse);
      best[k][1] = Math.min(best[k][1], finish);
    }
    console.log(k, r, Math.round(analyse), Math.round(finish));
  }
}
for (const k of ['A', 'B']) console.log(k, 'fastest analyse', Math.round(best[k][0]), 'finish', Math.round(best[k][1]));
