import { isSealedFormatError, unwrapFileKeyForTenant } from '../crypto/index.js';
import type { Documents } from '../documents/documents.js';
import { AppError } from '../server/errors.js';
import type { Logger } from '../server/logger.js';
import type { DocumentRecord } from '../store/document-store.js';
import type { JobRecord } from '../store/job-queue.js';
import type { WorkerPool } from './pool.js';

/**
 * Main-thread side of processing: leases due jobs from the durable queue, hands each document to the
 * pool (one task per document, bounded by the pool's threads), and writes the outcome in one
 * transaction. A restart resumes every queued or running job.
 */
export class JobRunner {
  readonly #documents: Documents;
  readonly #pool: WorkerPool;
  readonly #log: Logger;
  readonly #running = new Map<string, AbortController>();
  #wake: (() => void) | undefined;
  #stopped = false;
  /** True while a lease transaction is in flight: its jobs are neither due nor running yet. */
  #leasing = false;
  #loop: Promise<void> | undefined;
  #idle = new Set<() => void>();

  constructor(documents: Documents, pool: WorkerPool, log: Logger) {
    this.#documents = documents;
    this.#pool = pool;
    this.#log = log.child({ part: 'job-runner' });
  }

  async start(): Promise<void> {
    const resumed = await this.#documents.deps.jobs.resumeAll(this.#documents.deps.clock());
    if (resumed > 0) this.#log.info({ resumed }, 'resumed jobs that were running before the restart');
    this.#loop = this.#run();
  }

  /** New work is there: look now instead of at the next timer. */
  wake(): void {
    this.#wake?.();
  }

  /** Aborts the running job of a deleted document. */
  cancel(documentId: string): void {
    this.#running.get(documentId)?.abort(new AppError(1, 'the document was deleted'));
  }

  /** Resolves when no job is running and none is due (tests and benchmarks await this). */
  whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const c of this.#running.values()) c.abort(new AppError(14, 'the server is shutting down'));
    this.wake();
    await this.#loop;
  }

  #isIdle(): boolean {
    const next = this.#documents.deps.jobs.nextReadyAt();
    return !this.#leasing && this.#running.size === 0 && (next === undefined || next > this.#documents.deps.clock());
  }

  async #run(): Promise<void> {
    const { jobs, clock } = this.#documents.deps;
    const capacity = this.#pool.threads;
    const active = new Set<Promise<void>>();
    while (!this.#stopped) {
      const free = capacity - active.size;
      this.#leasing = true;
      const leased = free > 0 ? await jobs.lease(clock(), free) : [];
      for (const job of leased) {
        const p = this.#process(job).finally(() => {
          active.delete(p);
          this.wake();
        });
        active.add(p);
      }
      this.#leasing = false;
      if (leased.length > 0) continue;
      if (this.#isIdle()) {
        for (const resolve of this.#idle) resolve();
        this.#idle.clear();
      }
      const next = jobs.nextReadyAt();
      const delay = next === undefined ? 60_000 : Math.max(5, Math.min(60_000, next - clock()));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await Promise.allSettled(active);
  }

  async #process(job: JobRecord): Promise<void> {
    const deps = this.#documents.deps;
    const doc = deps.documents.get(job.tenantId, job.documentId);
    if (!doc) {
      await deps.store.root.transaction(() => deps.jobs.removeSync(job.id));
      return;
    }
    const controller = new AbortController();
    this.#running.set(doc.id, controller);
    try {
      await this.#setStatus(doc, { status: 'PROCESSING' }, 'OPENING', `attempt ${job.attempts}`);
      const tenantKey = await deps.keyring.tenantKey(doc.tenantId);
      const key = unwrapFileKeyForTenant(doc.header, tenantKey, { tenantId: doc.tenantId, documentId: doc.id, kind: 'original' });
      // Own ArrayBuffers (not Node's shared pool), so they can be moved to the worker.
      const fileKey = new Uint8Array(key);
      key.fill(0);
      const body = new Uint8Array(doc.storedSize);
      let offset = 0;
      for (const piece of deps.blobs.read(doc.tenantId, doc.id, 'original')) {
        body.set(piece, offset);
        offset += piece.byteLength;
      }
      await this.#pool.run(
        {
          type: 'open-document',
          fileKey,
          header: new Uint8Array(doc.header),
          body,
          contentId: doc.contentId,
          maxPlaintextBytes: deps.config.documents.maxDocumentBytes,
        },
        { signal: controller.signal, transfer: [fileKey.buffer, body.buffer] },
      );
      await this.#finish(job, doc, { status: 'STORED', statusReason: '' }, 'STORED', 'stored and verified');
    } catch (err) {
      if (controller.signal.aborted && this.#stopped) return; // resumed after restart
      if (!deps.documents.get(doc.tenantId, doc.id)) return; // deleted meanwhile
      const reason = failureReason(err);
      if (isSealedFormatError(err) || (err instanceof AppError && err.code === 15)) {
        // Stored bytes that fail authentication will fail every time: no retry.
        await this.#finish(job, doc, { status: 'FAILED', statusReason: reason }, 'FAILED', reason);
        return;
      }
      this.#log.warn({ err, documentId: doc.id, attempt: job.attempts }, 'processing attempt failed');
      const outcome = await deps.store.root.transaction(() => deps.jobs.retryOrBurySync(job.id, reason, deps.clock()));
      if (outcome === 'dead') await this.#finish(job, doc, { status: 'FAILED', statusReason: reason }, 'FAILED', reason);
      else await this.#setStatus(doc, { status: 'QUEUED' }, 'RETRY', `retrying after: ${reason}`);
    } finally {
      this.#running.delete(doc.id);
    }
  }

  async #setStatus(doc: DocumentRecord, patch: Partial<DocumentRecord>, step: string, message: string): Promise<void> {
    const deps = this.#documents.deps;
    const updated = await deps.store.root.transaction(() => {
      const current = deps.documents.get(doc.tenantId, doc.id);
      if (!current) return undefined;
      const next = { ...current, ...patch, updatedMs: deps.clock() };
      deps.documents.updateSync(next);
      return next;
    });
    if (updated) this.#documents.emit(updated, step, message);
  }

  async #finish(
    job: JobRecord,
    doc: DocumentRecord,
    patch: Partial<DocumentRecord>,
    step: string,
    message: string,
  ): Promise<void> {
    const deps = this.#documents.deps;
    const updated = await deps.store.root.transaction(() => {
      deps.jobs.removeSync(job.id);
      const current = deps.documents.get(doc.tenantId, doc.id);
      if (!current) return undefined;
      const next = { ...current, ...patch, jobId: null, updatedMs: deps.clock() };
      deps.documents.updateSync(next);
      return next;
    });
    await deps.store.flushed();
    if (updated) this.#documents.emit(updated, step, message);
  }
}

/** A reason safe to show the document's owner. */
function failureReason(err: unknown): string {
  if (isSealedFormatError(err)) return `the stored document failed verification: ${err.message}`;
  if (err instanceof AppError) return err.message;
  if (
    err instanceof Error &&
    /worker exited|ERR_WORKER_OUT_OF_MEMORY|Terminating worker/.test(`${err.message} ${(err as { code?: string }).code ?? ''}`)
  ) {
    return 'the processing worker crashed or ran out of memory';
  }
  return 'processing failed with an internal error';
}
