/**
 * A/B of query latency for two versions of the code in one process, on one kept index (search-1m.ts
 * `build`): both sides open it, then rounds of `per` calls alternate A B, B A, … so that this machine's
 * swings hit both alike; prints each side's median and first quartile in ms. Each side is a bundle of
 * native-bench/stages/search-scaling.ts (it exports openOurs) made with
 * `npx esbuild native-bench/stages/search-scaling.ts --bundle --platform=node --format=esm
 * --packages=external --outfile=native-bench/probes/_A.mjs` at each version; bundles need node_modules
 * beside them, and the worker pool's entry (`worker-entry.js`, e.g. a link to
 * src/workers/source-bootstrap.mjs) in the same folder. With the same bundle on both sides the medians
 * agreed within 0.5 % (2026-11-29). With `page` > 1, each side first pages through the query to that page
 * (10 hits a page) and then times that page, asked with its cursor.
 *   flock /tmp/bench.lock node native-bench/probes/query-ab.mjs ./_A.mjs ./_B.mjs DIR "query" [rounds=10] [per=30] [page=1]
 * DIR may be two folders, `DIR_A,DIR_B`: each side then opens its own index (for a change of the index
 * format, each side's built from the same documents by its own code).
 */
const [fa, fb, dir, q, roundsArg, perArg, pageArg] = process.argv.slice(2);
if (!fa || !fb || !dir || q === undefined) throw new Error('usage: query-ab.mjs A.mjs B.mjs DIR "query" [rounds] [per]');
const rounds = Number(roundsArg ?? 10);
const per = Number(perArg ?? 30);
const key = new Uint8Array(32).fill(7);
const page = Number(pageArg ?? 1);
const [dirA, dirB = dirA] = dir.split(',');
const open = async (f, d) => {
  const m = await import(f);
  const o = await m.openOurs(d, key);
  let cursor;
  for (let p = 1; p < page; p++)
    cursor = (await o.engine.search(m.TENANT, q, { limit: 10, snippets: false, ...(cursor ? { cursor } : {}) })).nextCursor;
  if (page > 1 && cursor === undefined) throw new Error(`the query has no page ${page}`);
  return { search: () => o.search(q, cursor ? { cursor } : {}), close: () => o.close() };
};
const a = await open(fa, dirA);
const b = await open(fb, dirB);
for (let i = 0; i < 10; i++) {
  await a.search();
  await b.search();
}
const times = { A: [], B: [] };
for (let r = 0; r < rounds; r++) {
  for (const [side, o] of r % 2
    ? [
        ['A', a],
        ['B', b],
      ]
    : [
        ['B', b],
        ['A', a],
      ]) {
    for (let i = 0; i < per; i++) {
      const t = performance.now();
      await o.search();
      times[side].push(performance.now() - t);
    }
  }
}
const at = (x, f) => x.sort((p, s) => p - s)[Math.floor(x.length * f)].toFixed(3);
console.log(
  JSON.stringify({ q, page, A: at(times.A, 0.5), A25: at(times.A, 0.25), B: at(times.B, 0.5), B25: at(times.B, 0.25) }),
);
await a.close();
await b.close();
