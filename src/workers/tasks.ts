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

/**
 * Opens a stored document in memory: decrypt, decompress, check the plaintext digest. The file key is
 * unwrapped on the main thread and moved here; nothing is written to disk.
 */
export interface OpenDocumentTask {
  type: 'open-document';
  /** 32-byte file key (transferred, wiped after use). */
  fileKey: Uint8Array;
  /** The stored sealed header. */
  header: Uint8Array;
  /** The sealed body (transferred). */
  body: Uint8Array;
  /** Expected hex SHA-256 of the plaintext. */
  contentId: string;
  maxPlaintextBytes: number;
}

export interface OpenDocumentResult {
  type: 'open-document';
  plaintextBytes: number;
  contentId: string;
}

export type WorkerTask = SelftestTask | OpenDocumentTask;
export type WorkerResult = SelftestResult | OpenDocumentResult;
export type TaskType = WorkerTask['type'];
export type ResultOf<T extends TaskType> = Extract<WorkerResult, { type: T }>;
