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

// Slices over 20 ms, with the callers that began and ended them (Slicer.next is awaited at the end of every
// slice): a slice that spans the end of one load and the start of the next shows both.
// cpuMs: the process's CPU time over the slice (all threads): far below ms, the slice waited for a core.
const longSlices: { ms: number; cpuMs: number; at: string }[] = [];
const resumed = new WeakMap<Slicer, { t: number; cpu: NodeJS.CpuUsage; from: string }>();
const caller = () =>
  (new Error().stack ?? '')
    .split('\n')[3]
    ?.trim()
    .replace(/^at /, '')
    .replace(/\(.*\/src\//, '(src/') ?? '';
const next = Slicer.prototype.next;
Slicer.prototype.next = async function (this: Slicer) {
  const at = caller();
  const from = resumed.get(this);
  const ms = performance.now() - (from?.t ?? performance.now());
  if (ms > 20) {
    const cpu = from === undefined ? 0 : process.cpuUsage(from.cpu);
    longSlices.push({
      ms: Math.round(ms),
      cpuMs: cpu === 0 ? 0 : Math.round((cpu.user + cpu.system) / 1000),
      at: from === undefined || from.from === at ? at : `${from.from} → ${at}`,
    });
  }
  await next.call(this);
  resumed.set(this, { t: performance.now(), cpu: process.cpuUsage(), from: at });
};

const ours = await openOurs(dir, new Uint8Array(32).fill(7));
const engine = ours.engine;
await engine.index.store.cipher.ready(tenant);
const out: Record<string, number> = {};
const h = monitorEventLoopDelay({ resolution: 1 });
let t = performance.now();
let cpu = process.cpuUsage();
// firstFacetedCpuMs: the process's CPU time (all threads) over the first query, which a busy machine does not inflate.
const lap = (k: string) => {
  const n = performance.now();
  out[k] = Math.round(n - t);
  if (k === 'firstFacetedMs') {
    const c = process.cpuUsage(cpu);
    out.firstFacetedCpuMs = Math.round((c.user + c.system) / 1000);
  }
  t = n;
  cpu = process.cpuUsage();
};
// After a reset the first sample is dropped (it has no previous tick): re-arm with one timer turn.
const arm = async () => {
  h.reset();
  await new Promise((r) => setTimeout(r, 5));
  t = performance.now();
  cpu = process.cpuUsage();
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
    longest: longSlices.slice(0, 6),
  }),
);
await ours.close();
