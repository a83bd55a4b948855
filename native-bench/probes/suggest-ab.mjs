/**
 * A/B of Suggest latency for two versions of the code in one process, on one kept index (search-1m.ts
 * `build`), as query-ab.mjs does for searches: both sides open it; then each round calls every query once
 * on each side, the side that goes first alternating, so the calls made before V8 has optimised the code
 * (the slow ones behind the p99) are timed on both sides alike. Bundles as for query-ab.mjs (esbuild of
 * native-bench/stages/search-scaling.ts at each version, worker-entry.js beside). Prints per side, in ms:
 * the slowest call of the first two rounds (the stage does not time those), then over the later rounds
 * p50, p99 and max, and the mean of rounds 2–16.
 *   flock /tmp/bench.lock node native-bench/probes/suggest-ab.mjs ./_A.mjs ./_B.mjs DIR recnhu,invioc,schien,lateri [rounds=32]
 */
const [fa, fb, dir, qs, roundsArg] = process.argv.slice(2);
if (!fa || !fb || !dir || !qs) throw new Error('usage: suggest-ab.mjs A.mjs B.mjs DIR q1,q2,… [rounds]');
const queries = qs.split(',');
const rounds = Number(roundsArg ?? 32);
const key = new Uint8Array(32).fill(7);
const a = await (await import(fa)).openOurs(dir, key);
const b = await (await import(fb)).openOurs(dir, key);
// Both sides' caches are loaded by a first Suggest each (warm-up of the tenant), not timed.
await a.engine.ready('bench');
await b.engine.ready('bench');
const first = { A: 0, B: 0 };
const times = { A: [], B: [] };
const early = { A: [], B: [] };
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? ['A', 'B'] : ['B', 'A'];
  for (const side of order) {
    const o = side === 'A' ? a : b;
    for (const q of queries) {
      const t = performance.now();
      await o.suggest(q);
      const ms = performance.now() - t;
      if (r < 2) first[side] = Math.max(first[side], ms);
      else times[side].push(ms);
      if (r >= 2 && r < 17) early[side].push(ms);
    }
  }
}
const at = (x, f) => +[...x].sort((p, s) => p - s)[Math.min(x.length - 1, Math.floor(x.length * f))].toFixed(3);
const mean = (x) => +(x.reduce((s, v) => s + v, 0) / x.length).toFixed(3);
const stats = (side) => ({
  first: +first[side].toFixed(3),
  p50: at(times[side], 0.5),
  p99: at(times[side], 0.99),
  max: at(times[side], 1),
  early: mean(early[side]),
});
console.log(JSON.stringify({ queries, A: stats('A'), B: stats('B') }));
await a.close();
await b.close();
