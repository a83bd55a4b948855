import { isMainThread, threadId } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkerPool } from '../../src/workers/pool.js';

describe('worker entry', () => {
  const pool = new WorkerPool({ threads: 1, maxQueue: 1 });
  afterAll(async () => {
    await pool.close();
  });

  // Each pool module imports the guard first, so it throws before any heavy library loads here.
  const GUARD = /^src\/workers pool modules run inside pool workers only, never on the main thread$/;

  it.each([
    ['worker-entry', () => import('../../src/workers/worker-entry.js')],
    ['process-document', () => import('../../src/workers/process-document.js')],
    ['render-page', () => import('../../src/workers/render-page.js')],
  ])('%s refuses to load on the main thread', async (_name, load) => {
    // vitest runs this file in a forked process (pool: 'forks'): this is its main thread.
    expect(isMainThread).toBe(true);
    await expect(load()).rejects.toThrow(GUARD);
  });

  it('loads on a pool thread', async () => {
    const result = await pool.run({ type: 'selftest', delayMs: 0, payload: new Uint8Array(3) });
    expect(result).toMatchObject({ type: 'selftest', bytes: 3 });
    expect(result.threadId).not.toBe(threadId);
  });

  it('starts queued tasks in the order they were given', async () => {
    // The index writer commits segments in order; one sent to the back of the queue held every later one.
    const one = new WorkerPool({ threads: 1, maxQueue: 16 });
    try {
      const done: number[] = [];
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          one.run({ type: 'selftest', delayMs: 0, payload: new Uint8Array(i) }).then((r) => done.push(r.bytes)),
        ),
      );
      expect(done).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    } finally {
      await one.close();
    }
  });
});
