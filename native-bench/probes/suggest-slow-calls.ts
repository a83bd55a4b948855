/**
 * Why a Suggest call is slow now and then at 1M: times every Suggest query of the search-scaling stage for
 * R rounds (a search between rounds, as the stage mixes kinds) and prints each call over 1.5 ms with the
 * garbage collections that overlapped it, its major page faults and the process's CPU time over it (CPU
 * about equal to wall: work of ours, such as code being optimised; much less: the thread was not running).
 *   R=120 flock /tmp/bench.lock npx tsx native-bench/probes/suggest-slow-calls.ts DIR
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { openOurs } from '../stages/search-scaling.js';

const [dir] = process.argv.slice(2);
if (!dir) throw new Error('usage: suggest-slow-calls.ts DIR');
const rounds = Number(process.env.R ?? 30);
const ours = await openOurs(dir, new Uint8Array(32).fill(7));
const gcs: { start: number; end: number; kind: number }[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    gcs.push({
      start: e.startTime,
      end: e.startTime + e.duration,
      kind: (e as unknown as { detail: { kind: number } }).detail.kind,
    });
}).observe({ entryTypes: ['gc'] });
const queries = ['recnhu', 'invioc', 'schien', 'lateri', 'rec', 'rechn', 'mül', 'annual rep', 'sche', 'vertrag ste'];
for (let r = 0; r < 2; r++) for (const q of queries) await ours.suggest(q);
for (let r = 0; r < rounds; r++) {
  for (const q of queries) {
    const faults = process.resourceUsage().majorPageFault;
    const cpu = process.cpuUsage();
    const t = performance.now();
    await ours.suggest(q);
    const ms = performance.now() - t;
    const used = process.cpuUsage(cpu);
    if (ms <= 1.5) continue;
    const gc = gcs.filter((g) => g.end >= t && g.start <= t + ms).map((g) => `${g.kind}:${(g.end - g.start).toFixed(1)}`);
    console.log(
      JSON.stringify({
        round: r,
        q,
        ms: +ms.toFixed(2),
        cpuMs: +((used.user + used.system) / 1000).toFixed(2),
        majorFaults: process.resourceUsage().majorPageFault - faults,
        gc,
      }),
    );
  }
  await ours.search('rechnung vertrag');
}
await ours.close();
