/**
 * A benchmark server in its own process (so the load generator and the server do not share one event
 * loop): the real composition root on 127.0.0.1:0 with a temp data dir, plus the bare gRPC sink used as
 * the upload reference. Talks to its parent over IPC: `ready`, then answers `stats` and `idle`
 * requests; exits when told to, or when the parent goes away.
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { loadConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/logger.js';
import { startServer } from '../../src/server/server.js';
import { type LmdbBreakdown, lmdbBreakdown } from './lmdb-stats.js';
import { SINK_SERVICE, sinkHandlers } from './sink.js';

export type ParentMessage =
  | { type: 'stats'; id: number }
  | { type: 'idle'; id: number }
  | { type: 'profile'; id: number; file: string }
  | { type: 'shutdown' };
export interface ServerStats {
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  /** Active libuv handles and requests (process.getActiveResourcesInfo). */
  activeResources: number;
  lmdbFileBytes: number;
  /** Pages and entries per sub-database, free pages, readers (harness/lmdb-stats.ts). */
  lmdb: LmdbBreakdown;
}
export type ChildMessage =
  | { type: 'ready'; port: number; sinkPort: number; pid: number }
  | { type: 'stats'; id: number; stats: ServerStats }
  | { type: 'idle'; id: number }
  | { type: 'profile'; id: number };

const settings = JSON.parse(process.argv[2] ?? '{}') as Record<string, string>;
const dataDir = settings.data;
if (!dataDir) throw new Error('server-child: settings.data is required');
const send = (m: ChildMessage) => process.send?.(m);

const config = loadConfig({ listen: '127.0.0.1:0', 'log-level': 'silent', 'retention-interval-ms': '0', ...settings }, {});
const server = await startServer(config, { log: createLogger('silent') });
const sink = new Server();
sink.addService(SINK_SERVICE, sinkHandlers);
const sinkPort = await new Promise<number>((resolve, reject) =>
  sink.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
);

function stats(): ServerStats {
  const m = process.memoryUsage();
  let lmdbFileBytes = 0;
  try {
    lmdbFileBytes = fs.statSync(`${dataDir}/archivar.mdb`).size;
  } catch {
    // not created yet
  }
  return {
    rssBytes: m.rss,
    heapUsedBytes: m.heapUsed,
    heapTotalBytes: m.heapTotal,
    externalBytes: m.external,
    activeResources: process.getActiveResourcesInfo().length,
    lmdbFileBytes,
    lmdb: lmdbBreakdown(server.app.store.root),
  };
}

let stopping = false;
async function stop(parentGone = false): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (profileSession && profileFile) {
    const { profile } = await profileSession.post('Profiler.stop');
    fs.writeFileSync(profileFile, JSON.stringify(profile));
  }
  sink.forceShutdown();
  await server.shutdown();
  // The parent removes the data dir after a normal stop; an orphan cleans up after itself.
  if (parentGone) fs.rmSync(dataDir as string, { recursive: true, force: true });
  process.exit(0);
}

/** The server's V8 CPU profile from now until it stops, written to `file` (the measured phase only). */
async function profile(file: string): Promise<void> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  profileFile = file;
  profileSession = session;
}
let profileFile: string | undefined;
let profileSession: Session | undefined;

process.on('message', (m: ParentMessage) => {
  if (m.type === 'stats') send({ type: 'stats', id: m.id, stats: stats() });
  else if (m.type === 'profile') void profile(m.file).then(() => send({ type: 'profile', id: m.id }));
  else if (m.type === 'idle') void server.runner.whenIdle().then(() => send({ type: 'idle', id: m.id }));
  else if (m.type === 'shutdown') void stop();
});
// Never outlive the benchmark that started us.
process.on('disconnect', () => void stop(true));
send({ type: 'ready', port: server.port, sinkPort, pid: process.pid });
