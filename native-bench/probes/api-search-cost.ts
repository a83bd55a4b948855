/**
 * Probe: what one search costs through the real server (gRPC, sealed texts, snippets) against the same
 * engine in process. Uploads the first N Cranfield documents to a server started in this process, then
 * times Cranfield queries (words OR'd, top 10) through the API as soon as processing is idle. Prints the
 * index's segments then (each processed upload is a segment until merges fold them); WAIT_S=N waits N
 * seconds first, printing them each second. With --cpu-prof, the profile shows where.
 *   [WAIT_S=3] npx tsx native-bench/probes/api-search-cost.ts [docs=400] [queries=20]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArchivarClient, connect } from '../../src/sdk/index.js';
import { loadConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/logger.js';
import { startServer } from '../../src/server/server.js';
import { realSession } from '../harness/bench-server.js';

const n = Number(process.argv[2] ?? 400);
const nq = Number(process.argv[3] ?? 20);
const dir = process.env.ARCHIVAR_CRANFIELD ?? path.join(import.meta.dirname, '../../../shared/eval/cranfield');
const docs = fs
  .readFileSync(path.join(dir, 'docs.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .slice(0, n)
  .map((l) => JSON.parse(l) as { id: string; title: string; text: string });
const queries = fs
  .readFileSync(path.join(dir, 'queries.tsv'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .slice(0, nq)
  .map((l) => l.split('\t')[1] ?? '');

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'archivar-apisearch-'));
const config = loadConfig({ listen: '127.0.0.1:0', data: dataDir, 'log-level': 'silent', 'retention-interval-ms': '0' }, {});
const server = await startServer(config, { log: createLogger('silent') });
const address = `127.0.0.1:${server.port}`;
const token = await realSession(address, { insecure: true });
const client = new ArchivarClient(connect({ server: address, insecure: true, token }));
for (let i = 0; i < docs.length; i += 16)
  await Promise.all(
    docs.slice(i, i + 16).map((d) => client.upload(Buffer.from(`${d.title}\n\n${d.text}`), { fileName: `c${d.id}.txt` })),
  );
await server.runner.whenIdle();
const meta = server.app.store.root.openDB({ name: 'index-meta', encoding: 'msgpack' });
const segments = () => [...meta.getKeys({})].filter((k) => (k as unknown[])[1] === 'seg').length;
for (let w = 0; w < Number(process.env.WAIT_S ?? 0); w++) {
  console.error(`segments ${segments()} after ${w} s`);
  await new Promise((r) => setTimeout(r, 1000));
}
const segmentsAtQueries = segments();
const times: number[] = [];
for (const q of queries) {
  const words = q
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .split(/\s+/)
    .filter(Boolean);
  const t0 = performance.now();
  await client.search(words.join(' OR '), { limit: 10 });
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    docs: n,
    queries: nq,
    segments: segmentsAtQueries,
    p50Ms: times[Math.floor(times.length / 2)],
    maxMs: times.at(-1),
  }),
);
await server.shutdown();
fs.rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
