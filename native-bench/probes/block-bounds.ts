/**
 * How tight the block-max bounds of a term are on a kept index (probes/search-1m.ts build): the query is
 * scored exhaustively, and per segment the probe counts the blocks whose stored bound reaches the final
 * top-10 minimum against the blocks whose real best score does. Pruning can skip every other block, so the
 * first count is the work a top-10 query cannot avoid, the second the work exact bounds would leave.
 *
 *   flock /tmp/bench.lock npx tsx native-bench/probes/block-bounds.ts DIR [term=rechnung]
 */
import { TermScorer } from '../../src/index/scorers.js';
import { openOurs, TENANT } from '../stages/search-scaling.js';

const SECRET = new Uint8Array(32).fill(7); // search-1m.ts's test secret
const [dir, term = 'rechnung'] = process.argv.slice(2);
if (!dir) throw new Error('usage: block-bounds.ts DIR [term]');
const ours = await openOurs(dir, SECRET);

// The real best score per block, recorded as the exhaustive search scores every document.
type Inspected = { block: number; bound: Float64Array; skip: { blockCount: number } };
const best = new Map<Inspected, Float64Array>();
const score = TermScorer.prototype.score;
TermScorer.prototype.score = function (this: TermScorer) {
  const v = score.call(this);
  const self = this as unknown as Inspected;
  let m = best.get(self);
  if (m === undefined) {
    m = new Float64Array(self.skip.blockCount);
    best.set(self, m);
  }
  if (v > m[self.block]!) m[self.block] = v;
  return v;
};
const r = await ours.engine.index.search(TENANT, term, { limit: 10, snippets: false, exhaustive: true });
const min = r.hits.at(-1)?.score ?? 0;
const segments = [...best].map(([s, real]) => {
  let bounded = 0;
  let reaching = 0;
  for (let b = 0; b < real.length; b++) {
    if (s.bound[b]! >= min) bounded++;
    if (real[b]! >= min) reaching++;
  }
  return { blocks: real.length, boundAboveMin: bounded, realAboveMin: reaching };
});
console.log(
  JSON.stringify({ term, matches: r.total, top10Min: +min.toFixed(4), top1: +(r.hits[0]?.score ?? 0).toFixed(4), segments }),
);
await ours.close();
