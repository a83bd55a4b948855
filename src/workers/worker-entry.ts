import { setTimeout as sleep } from 'node:timers/promises';
import { isMainThread, threadId } from 'node:worker_threads';
import { openStream, SealedFormatError } from '../crypto/index.js';
import type { OpenDocumentResult, OpenDocumentTask, SelftestResult, SelftestTask, WorkerResult, WorkerTask } from './tasks.js';

// Heavy libraries and per-thread engines live here only; loading this on the main thread is a bug.
if (isMainThread) {
  throw new Error('src/workers/worker-entry is the pool worker entry and must not be imported on the main thread');
}

export async function selftest(task: SelftestTask): Promise<SelftestResult> {
  if (task.delayMs > 0) await sleep(task.delayMs);
  return { type: 'selftest', bytes: task.payload.byteLength, threadId };
}

export async function openDocument(task: OpenDocumentTask): Promise<OpenDocumentResult> {
  try {
    const opened = openStream(
      task.header,
      [task.body],
      { fileKey: task.fileKey },
      { maxPlaintextBytes: task.maxPlaintextBytes, context: { kind: 'original' } },
    );
    let plaintextBytes = 0;
    for await (const piece of opened) plaintextBytes += piece.byteLength;
    const summary = await opened.summary;
    if (summary.contentId !== task.contentId)
      throw new SealedFormatError('digest-mismatch', 'the document does not match its content id');
    return { type: 'open-document', plaintextBytes, contentId: summary.contentId };
  } finally {
    task.fileKey.fill(0);
  }
}

/** Piscina calls the default export with each task; the tag picks the handler. */
export default async function runTask(task: WorkerTask): Promise<WorkerResult> {
  switch (task.type) {
    case 'selftest':
      return selftest(task);
    case 'open-document':
      return openDocument(task);
  }
}
