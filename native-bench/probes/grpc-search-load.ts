/**
 * Probe: searches over gRPC at C concurrent callers (the load generator's search op: its queries, top 10,
 * 2 snippets each) against a server started in this process, with N seeded text documents of the load
 * generator's kind; the searches alone are profiled (inspector), so the profile shows where a search's time
 * goes in the server. Prints one JSON line (throughput, p50/p99) and writes the profile to PROFILE if given.
 * WAIT_S=3 waits that long after the uploads (background merges take the burst's one-document segments
 * down to a handful within ~1 s), printing the segment count each second; NO_SNIPPETS=1 asks for hits without
 * snippets.
 *   WAIT_S=3 npx tsx native-bench/probes/grpc-search-load.ts [docs=1000] [callers=32] [seconds=15] [PROFILE]
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { ArchivarClient, connect, unary } from '../../src/sdk/index.js';
import { loadConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/logger.js';
import { startServer } from '../../src/server/server.js';
import { realSession } from '../harness/bench-server.js';
import { textLike } from '../harness/data.js';

const docs = Number(process.argv[2] ?? 1000);
const callers = Number(process.argv[3] ?? 32);
const seconds = Number(process.argv[4] ?? 15);
const profileFile = process.argv[5];
const noSnippets = process.env.NO_SNIPPETS === '1';
const QUERIES = ['rechnung', 'vertrag kunde', 'invoice amount', '"quarterly report"', 'müller', 'zahlung 2024', 'archive*'];

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'archivar-grpcsearch-'));
const config = loadConfig({ listen: '127.0.0.1:0', data: dataDir, 'log-level': 'silent', 'retention-interval-ms': '0' }, {});
const server = await startServer(config, { log: createLogger('silent') });
const address = `127.0.0.1:${server.port}`;
const token = await realSession(address, { insecure: true });
const connection = connect({ server: address, insecure: true, token });
const client = new ArchivarClient(connection);
for (let i = 0; i < docs; i += 16)
  await Promise.all(
    Array.from({ length: Math.min(16, docs - i) }, (_, j) =>
      client.upload(textLike(10240, 777_000 + i + j), { fileName: `seed-${i + j}.txt`, mediaType: 'text/plain' }),
    ),
  );
await server.runner.whenIdle();
const segmentCount = () => {
  const meta = server.app.store.root.openDB({ name: 'index-meta', encoding: 'msgpack' });
  let n = 0;
  for (const { key } of meta.getRange({})) if ((key as unknown[])[1] === 'seg') n++;
  return n;
};
for (let w = 0; w < Number(process.env.WAIT_S ?? 0); w++) {
  console.error(`segments ${segmentCount()} after ${w} s`);
  await new Promise((r) => setTimeout(r, 1000));
}

const search = (query: string) =>
  unary(connection.search.search.bind(connection.search), {
    query,
    limit: 10,
    cursor: '',
    sort: 0,
    facets: [],
    snippets: 2,
    noSnippets,
  });
for (const q of QUERIES) for (let r = 0; r < 5; r++) await search(q);

const session = new Session();
session.connect();
if (profileFile) {
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const times: number[] = [];
const byQuery = new Map<string, number[]>(QUERIES.map((q) => [q, []]));
const end = performance.now() + seconds * 1000;
let next = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: callers }, async () => {
    while (performance.now() < end) {
      const q = QUERIES[next++ % QUERIES.length] as string;
      const t = performance.now();
      await search(q);
      times.push(performance.now() - t);
      byQuery.get(q)?.push(performance.now() - t);
    }
  }),
);
const elapsed = (performance.now() - t0) / 1000;
if (profileFile) {
  const { profile } = await session.post('Profiler.stop');
  fs.writeFileSync(profileFile, JSON.stringify(profile));
}
const pick = (sorted: number[], f: number) =>
  +(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * f))] ?? 0).toFixed(2);
times.sort((a, b) => a - b);
const at = (f: number) => pick(times, f);
const perQuery = Object.fromEntries(
  [...byQuery].map(([q, ts]) => {
    ts.sort((a, b) => a - b);
    return [q, { p50: pick(ts, 0.5), p99: pick(ts, 0.99) }];
  }),
);
console.log(
  JSON.stringify({
    docs,
    callers,
    noSnippets,
    searches: times.length,
    perSecond: +(times.length / elapsed).toFixed(1),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    perQuery,
    load: os.loadavg().map((l) => +l.toFixed(2)),
  }),
);
connection.close();
await server.shutdown();
fs.rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
