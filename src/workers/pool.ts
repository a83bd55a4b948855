import type { MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { resourceExhausted } from '../server/errors.js';
import type { ResultOf, WorkerTask } from './tasks.js';

export interface PoolOptions {
  /** Worker threads; never more than cores, since each may run an OCR engine. */
  threads: number;
  /** Tasks waiting for a thread; one more is RESOURCE_EXHAUSTED. */
  maxQueue: number;
  /** Old-generation heap per worker in MB: a runaway document kills its worker, not the server. */
  maxOldGenerationSizeMb?: number;
}

export interface PoolObserver {
  taskFinished(type: string, seconds: number, ok: boolean): void;
}

/**
 * The main side of the piscina pool. Runs tagged tasks (dispatched by `type` in the worker) with
 * transferred buffers and an AbortSignal; a full queue is RESOURCE_EXHAUSTED. Under vitest or tsx the
 * worker runs from TypeScript through tsx (source-bootstrap.mjs); after `npm run build` it runs the
 * compiled JavaScript.
 */
/**
 * A thread's young generation, larger than V8's default for a worker: a build-segment task allocates ~16 MB
 * that lives until the task ends (its documents, the segment being built). In the default, 20 tasks saw 17
 * scavenges, each copying what was live, and 4-6 mark-compacts of what they promoted; with 64 MB, 9-11 and
 * 3-4 (--trace-gc), and the index build's CPU fell 6 % (fresh 20k-document builds, 24 each way, alternating).
 */
const YOUNG_GENERATION_MB = 64;

export class WorkerPool {
  readonly #piscina: Piscina;
  readonly #observer: PoolObserver | undefined;
  readonly #capacity: number;
  #inFlight = 0;

  constructor(options: PoolOptions, observer?: PoolObserver) {
    const fromSource = import.meta.url.endsWith('.ts');
    this.#piscina = new Piscina({
      filename: new URL(fromSource ? './source-bootstrap.mjs' : './worker-entry.js', import.meta.url).href,
      minThreads: options.threads,
      maxThreads: options.threads,
      maxQueue: options.maxQueue,
      idleTimeout: 60_000,
      // A task that finds no free thread goes back to the head of the queue, not the tail (piscina's
      // default): tasks start in the order given, so the index writer, which commits segments in order,
      // is not left waiting for one sent to the back while later ones finish (the build's tail).
      stricterFIFO: true,
      resourceLimits: {
        maxOldGenerationSizeMb: options.maxOldGenerationSizeMb ?? 1024,
        maxYoungGenerationSizeMb: YOUNG_GENERATION_MB,
      },
    });
    this.#observer = observer;
    // Piscina does not count every waiting task against maxQueue (undistributed tasks can bypass it), so
    // the bound is enforced here: running plus waiting never exceeds threads + maxQueue.
    this.#capacity = options.threads + options.maxQueue;
  }

  get threads(): number {
    return this.#piscina.maxThreads;
  }

  /** Tasks accepted but not yet running. */
  get queueDepth(): number {
    return Math.max(0, this.#inFlight - this.threads);
  }

  /**
   * Runs `task` on a worker. `transfer` lists buffers to move instead of copy (they are unusable here
   * afterwards). An aborted signal rejects with the signal's reason and terminates a running task.
   */
  async run<T extends WorkerTask>(
    task: T,
    options: { signal?: AbortSignal; transfer?: (ArrayBufferLike | MessagePort)[] } = {},
  ): Promise<ResultOf<T['type']>> {
    if (this.#inFlight >= this.#capacity) throw resourceExhausted('the processing queue is full; retry later');
    this.#inFlight++;
    const started = process.hrtime.bigint();
    let ok = false;
    try {
      const result = (await this.#piscina.run(task, {
        signal: options.signal ?? null,
        transferList: (options.transfer ?? []) as ArrayBuffer[],
      })) as ResultOf<T['type']>;
      ok = true;
      return result;
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason ?? err;
      if (err instanceof Error && err.message === 'Task queue is at limit') {
        throw resourceExhausted('the processing queue is full; retry later');
      }
      throw err;
    } finally {
      this.#inFlight--;
      this.#observer?.taskFinished(task.type, Number(process.hrtime.bigint() - started) / 1e9, ok);
    }
  }

  /** Waits for running tasks, then stops the threads. */
  async close(): Promise<void> {
    await this.#piscina.close();
  }
}
