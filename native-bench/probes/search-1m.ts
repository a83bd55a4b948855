/**
 * The search-scaling stage's queries against an index that is built once and kept, so query code can be
 * iterated on without rebuilding 1M documents.
 *
 *   nice -n 19 npx tsx native-bench/probes/search-1m.ts build DIR [docs=1000000]
 *   flock /tmp/bench.lock npx tsx native-bench/probes/search-1m.ts query DIR [kinds=faceted,suggest,suggest.typo] [rounds=30]
 *   nice -n 19 npx tsx native-bench/probes/search-1m.ts fts-build DIR
 *
 * `build` indexes documents [0, docs) of the stage's corpus (Corpus seed 1, docMeta) into an empty DIR as the
 * stage does (batches of 1000, handed over 50 000 at a time, background merges on, settled after 10k, 100k
 * and docs) and writes DIR/built.json; the index is sealed with a fixed test secret so it can be reopened.
 * `query` reopens DIR and times the stage's queries of the given kinds (the same instances; two untimed
 * rounds, then `rounds` rounds), printing one JSON object: p50/p99/max per kind and per query, load average.
 * `fts-build` feeds the same documents to SQLite FTS5 as the stage does (DIR/fts5.db); once that exists,
 * `query` times FTS5's statement for each query right after ours (same rounds) and reports both.
 */
import fs from 'node:fs';
import inspector from 'node:inspector';
import os from 'node:os';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { Corpus } from '../harness/data.js';
import { loadSqlite } from '../harness/sqlite.js';
import {
  CHUNK,
  chooseTypos,
  chooseWords,
  docMeta,
  indexDoc,
  kinds,
  openOurs,
  openSqlite,
  percentile,
  type Sqlite,
} from '../stages/search-scaling.js';

const SECRET = new Uint8Array(32).fill(7);
const [mode, dir, arg3, arg4] = process.argv.slice(2);
if ((mode !== 'build' && mode !== 'query' && mode !== 'fts-build') || !dir)
  throw new Error('usage: search-1m.ts build|query|fts-build DIR …');
const marker = path.join(dir, 'built.json');
const load = () => os.loadavg().map((l) => +l.toFixed(2));
const log = (m: string) => console.error(`${new Date().toISOString()} ${m}`);

const corpus = new Corpus(1);
const words = chooseWords(corpus);

const ftsFile = path.join(dir, 'fts5.db');
const ftsMarker = path.join(dir, 'fts5-built.json');

if (mode === 'fts-build') {
  if (!fs.existsSync(marker)) throw new Error(`${dir} has no finished build (${marker})`);
  if (fs.existsSync(ftsFile)) throw new Error(`${ftsFile} exists`);
  const { docs } = JSON.parse(fs.readFileSync(marker, 'utf8')) as { docs: number };
  const Database = await loadSqlite();
  if (typeof Database === 'string') throw new Error(Database);
  const sqlite = openSqlite(Database, ftsFile);
  const t0 = performance.now();
  for (let at = 0; at < docs; at += CHUNK) {
    const n = Math.min(CHUNK, docs - at);
    const batch = Array.from({ length: n }, (_, j) => corpus.doc(at + j));
    sqlite.add(
      batch,
      batch.map((_, j) => docMeta(at + j)),
      at,
    );
    log(`fts5: ${at + n} added`);
  }
  sqlite.close();
  fs.writeFileSync(ftsMarker, JSON.stringify({ docs, seconds: Math.round((performance.now() - t0) / 1000) }));
} else if (mode === 'build') {
  const docs = Number(arg3 ?? 1_000_000);
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) throw new Error(`${dir} is not empty`);
  fs.mkdirSync(dir, { recursive: true });
  const ours = await openOurs(dir, SECRET);
  const t0 = performance.now();
  let indexed = 0;
  for (const size of [10_000, 100_000, docs].filter((s, i, a) => s <= docs && a.indexOf(s) === i)) {
    while (indexed < size) {
      const n = Math.min(CHUNK, size - indexed);
      const batch = [];
      for (let i = indexed; i < indexed + n; i++) batch.push(indexDoc(corpus.doc(i), docMeta(i)));
      await ours.add(batch);
      indexed += n;
      log(`${indexed} indexed, load ${load().join(' ')}`);
    }
    await ours.settle();
    log(`${size}: settled, ${ours.segments()} segment(s)`);
  }
  const built = { docs, seconds: Math.round((performance.now() - t0) / 1000), segments: ours.segments() };
  await ours.close();
  fs.writeFileSync(marker, JSON.stringify(built));
  console.log(JSON.stringify(built));
} else {
  if (!fs.existsSync(marker)) throw new Error(`${dir} has no finished build (${marker})`);
  const wanted = (arg3 ?? 'faceted,suggest,suggest.typo').split(',');
  const rounds = Number(arg4 ?? 30);
  const ours = await openOurs(dir, SECRET);
  const Database = fs.existsSync(ftsMarker) ? await loadSqlite() : undefined;
  const sqlite: Sqlite | undefined = typeof Database === 'function' ? openSqlite(Database, ftsFile, false) : undefined;
  const typos = await chooseTypos(ours, words.typoTargets, log);
  // ONLY=regexp keeps the queries whose label matches it (for profiling one query).
  const only = process.env.ONLY === undefined ? undefined : new RegExp(process.env.ONLY);
  const selected = kinds(words, typos)
    .filter((k) => wanted.includes(k.kind))
    .map((k) => ({ ...k, instances: k.instances.filter((q) => only === undefined || only.test(q.label)) }))
    .filter((k) => k.instances.length > 0);
  // The pool's workers boot in the background after open (a few seconds of CPU on both cores): time
  // queries only once this process is quiet, not against its own workers' start.
  const quietMs = await quiet();
  log(`process quiet after ${quietMs} ms`);
  const loadBefore = load();
  const result: Record<string, unknown> = {};
  const tOpen = performance.now();
  for (const k of selected)
    for (let i = 0; i < 2; i++)
      for (const q of k.instances) {
        await q.ours(ours);
        if (sqlite) q.sql?.(sqlite);
      }
  const warmMs = Math.round(performance.now() - tOpen);
  // PROF=file.cpuprofile: a CPU profile of the timed rounds only (not the warm-up's lazy loading).
  const profFile = process.env.PROF;
  // HEAPPROF=file.heapprofile: where the timed rounds allocate (sampled, collected objects included).
  const heapFile = process.env.HEAPPROF;
  const session = profFile || heapFile ? new inspector.Session() : undefined;
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session?.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  session?.connect();
  if (heapFile)
    await post('HeapProfiler.startSampling', {
      samplingInterval: 16384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  if (profFile) {
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 200 });
    await post('Profiler.start');
  }
  // Garbage collections during the timed rounds (count, longest pause, total).
  const gcs: number[] = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push(e.duration);
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  for (const k of selected) {
    const all: number[] = [];
    const allSql: number[] = [];
    const per = new Map<string, number[]>(k.instances.map((q) => [q.label, []]));
    const perSql = new Map<string, number[]>(k.instances.map((q) => [q.label, []]));
    for (let r = 0; r < rounds; r++)
      for (const q of k.instances) {
        const t0 = performance.now();
        await q.ours(ours);
        const t = performance.now() - t0;
        all.push(t);
        per.get(q.label)?.push(t);
        if (sqlite && q.sql) {
          const s0 = performance.now();
          q.sql(sqlite);
          const st = performance.now() - s0;
          allSql.push(st);
          perSql.get(q.label)?.push(st);
        }
      }
    const stats = (v: number[]) => ({
      p50: +percentile(v, 0.5).toFixed(3),
      p99: +percentile(v, 0.99).toFixed(3),
      max: +Math.max(...v).toFixed(3),
    });
    result[k.kind] = {
      ...stats(all),
      samples: all.length,
      queries: Object.fromEntries([...per].map(([label, v]) => [label, stats(v)])),
      ...(allSql.length > 0
        ? {
            fts5: {
              ...stats(allSql),
              queries: Object.fromEntries([...perSql].filter(([, v]) => v.length > 0).map(([label, v]) => [label, stats(v)])),
            },
          }
        : {}),
    };
  }
  if (heapFile) {
    const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: unknown };
    fs.writeFileSync(heapFile, JSON.stringify(profile));
  }
  if (profFile) {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    fs.writeFileSync(profFile, JSON.stringify(profile));
  }
  session?.disconnect();
  await new Promise((r) => setTimeout(r, 200)); // gc entries are delivered asynchronously
  gcObserver.disconnect();
  const totals: Record<string, string> = {};
  for (const k of selected) for (const q of k.instances) totals[q.label] = await q.oursTotal(ours);
  console.log(
    JSON.stringify({
      segments: ours.segments(),
      rounds,
      warmMs,
      loadBefore,
      loadAfter: load(),
      rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
      heapMiB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
      // RSS split (Linux): mapped file pages (the LMDB map, evictable) and anonymous memory (heaps, native).
      rssAnonMiB: statusMiB('RssAnon'),
      rssFileMiB: statusMiB('RssFile'),
      gc: { count: gcs.length, maxMs: +Math.max(0, ...gcs).toFixed(2), totalMs: +gcs.reduce((a, b) => a + b, 0).toFixed(1) },
      result,
      totals,
    }),
  );
  await ours.close();
  sqlite?.close();
}

/** Waits until this process (all its threads) uses under 5 % of a core over 250 ms; returns the wait in ms. */
async function quiet(limitMs = 60_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const c0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 250));
    const c = process.cpuUsage(c0);
    if ((c.user + c.system) / 1000 < 12.5 || performance.now() - t0 > limitMs) return Math.round(performance.now() - t0);
  }
}

/** A `kB` line of /proc/self/status in MiB, or -1 elsewhere. */
function statusMiB(field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : -1;
  } catch {
    return -1;
  }
}
