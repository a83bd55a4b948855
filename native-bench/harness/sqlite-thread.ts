/**
 * SQLite FTS5 timed on a thread of its own, called synchronously. A reference run in the same isolate as
 * ours leaves its garbage in our heap: in the 1M probe the FTS5 side of the interleaved rounds made ~4×
 * the scavenges (90 against 23 for ours alone, ~3 ms each), and they landed on our sub-millisecond
 * queries (Suggest). On its own thread it keeps its own heap, while the rounds still alternate query by
 * query. Each call is timed inside the thread, around the statement only (not the message passing).
 */
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { SqliteQueries } from '../stages/search-scaling.js';

type Call = { method: 'run' | 'count' | 'facets' | 'close'; args: unknown[] };
type Reply = { value?: unknown; ms: number; error?: string };

export interface TimedSqlite extends SqliteQueries {
  close(): void;
  /** Milliseconds spent in the statements since the last call of takeMs (then starts again at 0). */
  takeMs(): number;
}

/** Opens the FTS5 file built before (`openSqlite(…, false)`) on a new thread. */
export function openSqliteThread(file: string): TimedSqlite {
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL('./sqlite-thread-boot.mjs', import.meta.url), {
    workerData: { file, port: port2, signal },
    transferList: [port2],
  });
  worker.unref();
  let spent = 0;
  const call = (method: Call['method'], args: unknown[]): unknown => {
    Atomics.store(signal, 0, 0);
    port1.postMessage({ method, args } satisfies Call);
    for (;;) {
      const waited = Atomics.wait(signal, 0, 0, 600_000);
      const got = receiveMessageOnPort(port1);
      if (got === undefined) {
        if (waited === 'timed-out') throw new Error(`sqlite thread: no answer to ${method} in 10 min`);
        continue;
      }
      const reply = got.message as Reply;
      if (reply.error !== undefined) throw new Error(`sqlite thread: ${reply.error}`);
      spent += reply.ms;
      return reply.value;
    }
  };
  return {
    run: (name, ...params) => call('run', [name, ...params]) as number,
    count: (name, ...params) => call('count', [name, ...params]) as number,
    facets: (match) => call('facets', [match]) as Map<string, number>,
    close() {
      call('close', []);
      port1.close();
      void worker.terminate();
    },
    takeMs() {
      const ms = spent;
      spent = 0;
      return ms;
    },
  };
}
