/**
 * Ad-hoc probe (not a benchmark): do deleted documents stay in the search index? Uploads small text
 * documents through the real server (in this process, temp data dir) and deletes each one after a random
 * pause of 0..MAXDELAY ms, so some deletes land while the job runner is between its processing commit and
 * the index write. Then it waits until the job runner is idle and compares the index's document ids
 * (`index-ids`, one entry per indexed, not tombstoned document) with the documents that exist.
 * Ghosts = indexed documents that no longer exist; they stay (with their terms, Suggest words and segment)
 * until a Reindex or erasure, and count in BM25 statistics and `total`.
 *
 * Usage: npx tsx native-bench/probes/index-ghosts.ts [churns=1500] [parallel=8] [maxDelayMs=40]
 * Exit code 1 when ghosts were found.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArchivarClient, connect, NO_RETRY } from '../../src/sdk/index.js';
import { loadConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/logger.js';
import { startServer } from '../../src/server/server.js';
import { realSession } from '../harness/bench-server.js';
import { Rng, textLike } from '../harness/data.js';
import { lmdbBreakdown } from '../harness/lmdb-stats.js';

const churns = Number(process.argv[2] ?? 1500);
const parallel = Number(process.argv[3] ?? 8);
const maxDelayMs = Number(process.argv[4] ?? 40);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'archivar-ghosts-'));
const config = loadConfig({ listen: '127.0.0.1:0', data: dataDir, 'log-level': 'silent', 'retention-interval-ms': '0' }, {});
const server = await startServer(config, { log: createLogger('silent') });
const address = `127.0.0.1:${server.port}`;
const token = await realSession(address, { insecure: true });
const conn = connect({ server: address, insecure: true, token });
const client = new ArchivarClient(conn, { retry: NO_RETRY, unaryTimeoutMs: 30_000 });
const rng = new Rng(4242);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let next = 0;
let failed = 0;
const t0 = Date.now();
await Promise.all(
  Array.from({ length: parallel }, async () => {
    while (next < churns) {
      const i = next++;
      try {
        const res = await client.upload(textLike(4096, 900_001 + i * 7), { fileName: `ghost-${i}.txt`, mediaType: 'text/plain' });
        await sleep(rng.below(maxDelayMs + 1));
        await client.delete(res.documentId);
      } catch (err) {
        failed++;
        if (failed <= 3) console.error(`churn ${i} failed:`, (err as Error).message);
      }
    }
  }),
);
await server.runner.whenIdle();
await sleep(2000); // index deletes run after the Delete RPC answered

const root = server.app.store.root;
const tenantOf = (k: unknown) => String((k as unknown[])[0]);
const idOf = (k: unknown) => String((k as unknown[])[1]);
const live = new Set(
  [...root.openDB({ name: 'documents' }).getKeys({ snapshot: false })].map((k) => `${tenantOf(k)}/${idOf(k)}`),
);
const indexed = [...root.openDB({ name: 'index-ids' }).getKeys({ snapshot: false })].map((k) => `${tenantOf(k)}/${idOf(k)}`);
const ghosts = indexed.filter((k) => !live.has(k));
const b = lmdbBreakdown(root);
console.log(
  JSON.stringify({
    churns,
    parallel,
    maxDelayMs,
    seconds: Math.round((Date.now() - t0) / 100) / 10,
    failed,
    liveDocuments: live.size,
    indexedDocuments: indexed.length,
    ghosts: ghosts.length,
    ghostIds: ghosts.slice(0, 10),
    segments: b.dbs['index-meta']?.entries,
    indexWords: b.dbs['index-words']?.entries,
  }),
);
conn.close();
await server.shutdown();
fs.rmSync(dataDir, { recursive: true, force: true });
process.exit(ghosts.length > 0 ? 1 : 0);
