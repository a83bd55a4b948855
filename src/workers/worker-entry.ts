import { setTimeout as sleep } from 'node:timers/promises';
import { isMainThread, threadId } from 'node:worker_threads';
import type { SelftestResult, SelftestTask, WorkerResult, WorkerTask } from './tasks.js';

// Heavy libraries and per-thread engines live here only; loading this on the main thread is a bug.
if (isMainThread) {
  throw new Error('src/workers/worker-entry is the pool worker entry and must not be imported on the main thread');
}

export async function selftest(task: SelftestTask): Promise<SelftestResult> {
  if (task.delayMs > 0) await sleep(task.delayMs);
  return { type: 'selftest', bytes: task.payload.byteLength, threadId };
}

/** Piscina calls the default export with each task; the tag picks the handler. */
export default async function runTask(task: WorkerTask): Promise<WorkerResult> {
  switch (task.type) {
    case 'selftest':
      return selftest(task);
  }
}
