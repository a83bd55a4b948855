/** Runs on the thread started by sqlite-thread.ts: answers each call, timed around the statement alone. */
import { type MessagePort, workerData } from 'node:worker_threads';
import { openSqlite } from '../stages/search-scaling.js';
import { loadSqlite } from './sqlite.js';

const { file, port, signal } = workerData as { file: string; port: MessagePort; signal: Int32Array };
const Database = await loadSqlite();
if (typeof Database === 'string') throw new Error(Database);
const sqlite = openSqlite(Database, file, false);

port.on('message', ({ method, args }: { method: 'run' | 'count' | 'facets' | 'close'; args: unknown[] }) => {
  let reply: { value?: unknown; ms: number; error?: string };
  try {
    const t0 = performance.now();
    const value =
      method === 'run'
        ? sqlite.run(...(args as Parameters<typeof sqlite.run>))
        : method === 'count'
          ? sqlite.count(...(args as Parameters<typeof sqlite.count>))
          : method === 'facets'
            ? sqlite.facets(args[0] as string)
            : sqlite.close();
    reply = { value, ms: performance.now() - t0 };
  } catch (err) {
    reply = { ms: 0, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
  if (method === 'close') port.close();
});
