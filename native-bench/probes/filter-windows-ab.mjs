/**
 * A/B of filter-only queries whose matches' ids are not cached yet: each round asks both sides a date window
 * neither has seen (`days` days, one window a week from `from`), A and B alternately first, so each call
 * reads the ids of its matches afresh. Bundles and `worker-entry.js` as for query-ab.mjs; one warm-up window
 * first builds each side's per-segment date column. Prints each side's median and first quartile in ms.
 *   flock /tmp/bench.lock node native-bench/probes/filter-windows-ab.mjs ./_A.mjs ./_B.mjs DIR [windows=40] [days=6] [from=2015-01-05]
 */
const [fa, fb, dir, windowsArg, daysArg, fromArg] = process.argv.slice(2);
if (!fa || !fb || !dir) throw new Error('usage: filter-windows-ab.mjs A.mjs B.mjs DIR [windows] [days] [from]');
const windows = Number(windowsArg ?? 40);
const days = Number(daysArg ?? 6);
const from = Date.parse(`${fromArg ?? '2015-01-05'}T00:00:00Z`);
const key = new Uint8Array(32).fill(7);
const a = await (await import(fa)).openOurs(dir, key);
const b = await (await import(fb)).openOurs(dir, key);
const day = (ms) => new Date(ms).toISOString().slice(0, 10);
const windowQuery = (i) => `date:${day(from + i * 7 * 86_400_000)}..${day(from + (i * 7 + days - 1) * 86_400_000)}`;
await a.search(windowQuery(-1));
await b.search(windowQuery(-1));
const times = { A: [], B: [] };
for (let i = 0; i < windows; i++) {
  const q = windowQuery(i);
  for (const [side, o] of i % 2
    ? [
        ['A', a],
        ['B', b],
      ]
    : [
        ['B', b],
        ['A', a],
      ]) {
    const t = performance.now();
    await o.search(q);
    times[side].push(performance.now() - t);
  }
}
const at = (x, f) => x.sort((p, s) => p - s)[Math.floor(x.length * f)].toFixed(3);
console.log(
  JSON.stringify({ windows, days, A: at(times.A, 0.5), A25: at(times.A, 0.25), B: at(times.B, 0.5), B25: at(times.B, 0.25) }),
);
console.log('totals of the first windows:', await a.total(windowQuery(0)), await a.total(windowQuery(1)));
await a.close();
await b.close();
