/**
 * Messages between the main thread and the pool's worker threads: one tagged union per direction, shared
 * by both sides. Each task type is also the name of the worker entry's export that runs it.
 */

/** Diagnostic task: waits `delayMs` (abortable by terminating the worker) and echoes the payload size. */
export interface SelftestTask {
  type: 'selftest';
  delayMs: number;
  /** Transferred, not copied. */
  payload: Uint8Array;
}

export interface SelftestResult {
  type: 'selftest';
  bytes: number;
  threadId: number;
}

export type WorkerTask = SelftestTask;
export type WorkerResult = SelftestResult;
export type TaskType = WorkerTask['type'];
export type ResultOf<T extends TaskType> = Extract<WorkerResult, { type: T }>;
