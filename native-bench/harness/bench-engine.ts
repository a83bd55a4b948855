import os from 'node:os';
import { recordCipherFromSecret } from '../../src/crypto/index.js';
import { poolAnalyser } from '../../src/documents/search-adapters.js';
import { SearchEngine } from '../../src/index/engine.js';
import type { IndexDoc } from '../../src/index/index.js';
import { createLogger } from '../../src/server/logger.js';
import { Store } from '../../src/store/database.js';
import { WorkerPool } from '../../src/workers/pool.js';

/** Our search engine in a benchmark, composed as the server composes it. */
export interface BenchEngine {
  store: Store;
  engine: SearchEngine;
  /** Hands every batch over at once: the pool analyses ahead while the writer commits them in order. */
  addAll(tenantId: string, docs: readonly IndexDoc[], batch: number): Promise<void>;
  /** Throws the first background (merge) error, if any. */
  check(): void;
  close(): Promise<void>;
}

/**
 * LMDB in `dir`, the index sealed with a record key (the server seals it with the tenant's), analysis in a
 * worker pool of one thread per core, the writer in this thread. A fixed `secret` (default: random) lets a
 * probe reopen an index it built earlier. A given `pool` (a running server's pool, already warm) is used
 * and left open; without one the engine starts its own and closes it.
 */
export function openBenchEngine(
  dir: string,
  options: { autoMerge: boolean; secret?: Uint8Array; pool?: WorkerPool },
): BenchEngine {
  const store = Store.open(dir, { mapSize: 64 * 2 ** 30 });
  let failed: unknown;
  const pool = options.pool ?? benchPool();
  const engine = new SearchEngine(store.root, {
    cipher: recordCipherFromSecret(options.secret),
    analyser: poolAnalyser(pool, createLogger('warn')),
    buildsAtOnce: pool.threads,
    autoMerge: options.autoMerge,
    onBackgroundError: (err) => {
      failed = err;
    },
  });
  const check = () => {
    if (failed !== undefined) throw failed;
  };
  return {
    store,
    engine,
    async addAll(tenantId, docs, batch) {
      const batches: Promise<unknown>[] = [];
      for (let i = 0; i < docs.length; i += batch) batches.push(engine.index.addDocuments(tenantId, docs.slice(i, i + batch)));
      await Promise.all(batches);
      check();
    },
    check,
    async close() {
      await engine.index.close();
      await store.close();
      if (!options.pool) await pool.close();
    },
  };
}

/** A worker pool as the server starts it: one thread per core. */
export function benchPool(): WorkerPool {
  return new WorkerPool({ threads: os.availableParallelism(), maxQueue: 256 });
}
