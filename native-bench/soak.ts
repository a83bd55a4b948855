import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Rng } from './harness/data.js';
import { describeMachine } from './harness/machine.js';
import { runLoad } from './load/generator.js';
import { summarise } from './load/histogram.js';
import { parseMix, picker } from './load/ops.js';
import { openLoadSession } from './load/session.js';

/**
 * Soak: a mixed open-loop load in back-to-back windows for N minutes against a server this starts,
 * sampling the server process's RSS, heap, active handles and LMDB file size after every window.
 * Bars: RSS/heap/handles/LMDB size flat (last quarter vs first quarter after warm-up), zero errors.
 * `churn` (upload + delete) keeps the stored data steady, so LMDB must reuse its freed pages.
 */

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const WINDOW_MS = 15_000;
const MIX = 'get=45,list=25,churn=20,download=10';
const RATE = 40;

export async function runSoak(minutes: number): Promise<number> {
  const session = await openLoadSession({ connections: 2, seedDocs: 50, uploadBytes: 10 * 1024, deadlineMs: 10_000 });
  const server = session.server;
  if (!server) throw new Error('soak needs its own server');
  const pick = picker(parseMix(MIX), new Rng(7));
  const endAt = Date.now() + minutes * 60_000;
  const rows: string[] = ['elapsed_s,rss_mb,heap_used_mb,external_mb,active_resources,lmdb_mb,ok,errors,p99_ms'];
  const samples: Array<{ rss: number; heap: number; handles: number; lmdb: number }> = [];
  const errors = new Map<string, number>();
  let ok = 0;
  const t0 = Date.now();
  console.error(`soak: ${minutes} min, open loop ${RATE}/s, mix ${MIX}, windows of ${WINDOW_MS / 1000} s`);
  try {
    while (Date.now() < endAt) {
      const r = await runLoad(
        {
          mode: 'open',
          rate: RATE,
          concurrency: 1,
          durationMs: Math.min(WINDOW_MS, endAt - Date.now()),
          requests: 0,
          maxInFlight: 2000,
          drainMs: 20_000,
        },
        session.contexts,
        pick,
      );
      ok += r.all.ok;
      for (const [k, v] of r.all.errors) errors.set(k, (errors.get(k) ?? 0) + v);
      const s = await server.stats();
      const mb = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
      samples.push({ rss: s.rssBytes, heap: s.heapUsedBytes, handles: s.activeResources, lmdb: s.lmdbFileBytes });
      const errCount = [...r.all.errors.values()].reduce((a, b) => a + b, 0);
      const row = [
        ((Date.now() - t0) / 1000).toFixed(0),
        mb(s.rssBytes),
        mb(s.heapUsedBytes),
        mb(s.externalBytes),
        s.activeResources,
        mb(s.lmdbFileBytes),
        r.all.ok,
        errCount,
        summarise(r.all.histogram).p99_ms,
      ];
      rows.push(row.join(','));
      console.error(
        `soak ${row[0]} s: rss ${row[1]} MB, heap ${row[2]} MB, handles ${row[4]}, lmdb ${row[5]} MB, ok ${row[6]}, errors ${row[7]}, p99 ${row[8]} ms`,
      );
    }
  } finally {
    await session.close();
  }
  fs.mkdirSync(RESULTS, { recursive: true });
  const file = `${RESULTS}soak.csv`;
  fs.writeFileSync(file, `${rows.join('\n')}\n`);
  // Flatness: mean of the last quarter over the mean of the first quarter, skipping the first window (warm-up).
  const steady = samples.slice(1);
  const q = Math.max(1, Math.floor(steady.length / 4));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const growth = (key: 'rss' | 'heap' | 'handles' | 'lmdb') => {
    const first = mean(steady.slice(0, q).map((s) => s[key]));
    const last = mean(steady.slice(-q).map((s) => s[key]));
    return first > 0 ? last / first - 1 : 0;
  };
  const errorTotal = [...errors.values()].reduce((a, b) => a + b, 0);
  const summary = {
    name: 'soak',
    minutes,
    rate: RATE,
    mix: MIX,
    ok,
    errors: Object.fromEntries(errors),
    rss_growth_pct: Math.round(growth('rss') * 1000) / 10,
    heap_growth_pct: Math.round(growth('heap') * 1000) / 10,
    handles_growth_pct: Math.round(growth('handles') * 1000) / 10,
    lmdb_growth_pct: Math.round(growth('lmdb') * 1000) / 10,
    windows: samples.length,
    machine: describeMachine(),
  };
  console.log(JSON.stringify(summary));
  console.error(`wrote ${file}`);
  return errorTotal === 0 ? 0 : 1;
}
