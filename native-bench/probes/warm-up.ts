/**
 * The search warm-up after a start at scale (src/index/warm-up.ts): how long it takes, the longest
 * event-loop stall meanwhile, the slices that ran long (where), and the first faceted query and Suggest
 * after it.
 *
 *   flock /tmp/bench.lock npx tsx native-bench/probes/warm-up.ts DIR [tenant=bench]
 *
 * DIR: an index kept by search-1m.ts (`build`). Prints one JSON line.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Slicer } from '../../src/index/warm-up.js';
import { openOurs } from '../stages/search-scaling.js';

const [dir, tenant = 'bench'] = process.argv.slice(2);
if (!dir) throw new Error('usage: warm-up.ts DIR [tenant]');

// Slices over 20 ms and the caller that ran them (Slicer.next is awaited at the end of every slice).
const longSlices: { ms: number; at: string }[] = [];
const resumed = new WeakMap<Slicer, number>();
const next = Slicer.prototype.next;
Slicer.prototype.next = async function (this: Slicer) {
  const ms = performance.now() - (resumed.get(this) ?? performance.now());
  if (ms > 20) {
    const at =
      (new Error().stack ?? '')
        .split('\n')[2]
        ?.trim()
        .replace(/^at /, '')
        .replace(/\(.*\/src\//, '(src/') ?? '';
    longSlices.push({ ms: Math.round(ms), at });
  }
  await next.call(this);
  resumed.set(this, performance.now());
};

const ours = await openOurs(dir, new Uint8Array(32).fill(7));
const engine = ours.engine;
await engine.index.store.cipher.ready(tenant);
const out: Record<string, number> = {};
const h = monitorEventLoopDelay({ resolution: 1 });
let t = performance.now();
const lap = (k: string) => {
  const n = performance.now();
  out[k] = Math.round(n - t);
  t = n;
};
// After a reset the first sample is dropped (it has no previous tick): re-arm with one timer turn.
const arm = async () => {
  h.reset();
  await new Promise((r) => setTimeout(r, 5));
  t = performance.now();
};
// A timer turn first: the histogram records a blocked loop only once the loop runs its timers again.
const maxDelay = async (k: string) => {
  await new Promise((r) => setTimeout(r, 20));
  out[k] = Math.round(h.max / 1e6);
  await arm();
};
h.enable();
await arm();
await engine.warmUp();
lap('warmUpMs');
await maxDelay('warmUpMaxStallMs');
await ours.facets('rechnung');
lap('firstFacetedMs');
await ours.suggest('rech');
lap('firstSuggestMs');
await maxDelay('firstCallsMaxStallMs');
await ours.facets('vertrag');
lap('secondFacetedMs');
await ours.suggest('vers');
lap('secondSuggestMs');
const m = process.memoryUsage();
const mib = (x: number) => Math.round(x / 2 ** 20);
longSlices.sort((a, b) => b.ms - a.ms);
console.log(
  JSON.stringify({
    ...out,
    heapMiB: mib(m.heapUsed),
    rssMiB: mib(m.rss),
    slicesOver20ms: longSlices.length,
    longest: longSlices.slice(0, 5),
  }),
);
await ours.close();
