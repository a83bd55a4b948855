import { MessageChannel } from 'node:worker_threads';
import type { UsageRecorder } from '../accounts/index.js';
import { isSealedFormatError } from '../crypto/index.js';
import type { Documents } from '../documents/documents.js';
import { commitExtraction, type DocumentIndexer, depthOf, indexedDocument } from '../documents/processing.js';
import { AppError } from '../server/errors.js';
import type { Logger } from '../server/logger.js';
import type { DocumentRecord } from '../store/document-store.js';
import type { JobRecord } from '../store/job-queue.js';
import type { WorkerPool } from './pool.js';
import { sealedInputOf } from './sealed-input.js';
import type { ProgressMessage } from './tasks.js';

/** How long past its budget a document may run before its worker thread is terminated. */
const HARD_STOP_GRACE_MS = 10_000;
/**
 * A text document needs several copies of itself as strings (two bytes per character in the worst case,
 * then lower-cased for language detection): an eighth of the heap leaves room for all of them.
 */
const TEXT_BYTES_PER_HEAP_BYTE = 8;

/**
 * Main-thread side of processing: leases due jobs from the durable queue, hands each document to the
 * pool (one task per document, bounded by the pool's threads), and writes the outcome in one
 * transaction. A restart resumes every queued or running job.
 */
export interface JobRunnerOptions {
  /** Told about processed (and no longer processable) documents. */
  indexer?: DocumentIndexer;
  /** Where processed documents and OCR'd pages are recorded for billing. */
  usage?: UsageRecorder;
  /** Art. 18 GDPR: a document whose uploader's processing is restricted waits in the queue, unprocessed. */
  isRestricted?: (tenantId: string, userId: string) => boolean;
}

/** How long a restricted uploader's document waits before the runner looks again. */
const RESTRICTED_RECHECK_MS = 60_000;

export class JobRunner {
  readonly #documents: Documents;
  readonly #pool: WorkerPool;
  readonly #log: Logger;
  readonly #indexer: DocumentIndexer | undefined;
  readonly #running = new Map<string, AbortController>();
  #wake: (() => void) | undefined;
  #stopped = false;
  /** True while a lease transaction is in flight: its jobs are neither due nor running yet. */
  #leasing = false;
  #loop: Promise<void> | undefined;
  #idle = new Set<() => void>();

  readonly #usage: UsageRecorder | undefined;
  readonly #isRestricted: (tenantId: string, userId: string) => boolean;

  constructor(documents: Documents, pool: WorkerPool, log: Logger, options: JobRunnerOptions = {}) {
    this.#documents = documents;
    this.#pool = pool;
    this.#indexer = options.indexer;
    this.#usage = options.usage;
    this.#isRestricted = options.isRestricted ?? (() => false);
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
        const p = this.#process(job)
          .catch((err: unknown) => this.#log.error({ err, documentId: job.documentId }, 'a processing job failed unexpectedly'))
          .finally(() => {
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
      // stop() may have come while we were leasing: its wake() then found no sleeper to wake.
      if (this.#stopped) break;
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

  /** Counts as running (for whenIdle and cancel) from the lease on, also while the tenant's keys load. */
  async #process(job: JobRecord): Promise<void> {
    const controller = new AbortController();
    this.#running.set(job.documentId, controller);
    try {
      await this.#processLeased(job, controller);
    } finally {
      this.#running.delete(job.documentId);
    }
  }

  async #processLeased(job: JobRecord, controller: AbortController): Promise<void> {
    const deps = this.#documents.deps;
    let doc: DocumentRecord | undefined;
    try {
      // Records are sealed under the tenant's key: load it (never creating one: no key means erased).
      if (await deps.keyring.recordsReady(job.tenantId)) doc = deps.documents.get(job.tenantId, job.documentId);
    } catch (err) {
      // A record that fails authentication fails every time: drop its job (Get answers DATA_LOSS).
      this.#log.error({ err, documentId: job.documentId }, 'the document record cannot be opened; its job is dropped');
    }
    if (!doc) {
      await deps.store.atomic(() => deps.jobs.removeSync(job.id));
      return;
    }
    if (doc.uploadedBy && this.#isRestricted(doc.tenantId, doc.uploadedBy)) {
      const readyAt = deps.clock() + RESTRICTED_RECHECK_MS;
      await deps.store.atomic(() => deps.jobs.deferSync(job.id, readyAt));
      this.#documents.emit(doc, 'QUEUED', 'waiting: processing is restricted for the account that uploaded it');
      return;
    }
    const limits = deps.config.processing;
    // The worker enforces the budget itself; this catches a library stuck in a synchronous loop, which
    // only terminating the thread can stop.
    const budget = AbortSignal.timeout(limits.documentTimeMs + HARD_STOP_GRACE_MS);
    const signal = AbortSignal.any([controller.signal, budget]);
    const channel = new MessageChannel();
    channel.port1.on('message', (m: ProgressMessage) => {
      const current = this.#current(doc);
      if (current) this.#documents.emit(current, m.step, progressText(m), m.page, m.pageCount);
    });
    channel.port1.unref();
    try {
      await this.#setStatus(doc, { status: 'PROCESSING' }, 'PROCESSING', `attempt ${job.attempts}`);
      const { input, transfer } = await sealedInputOf(deps, doc);
      const { maxNestingDepth, previewPages, ...pipelineLimits } = limits;
      const depth = depthOf(deps, doc);
      const result = await this.#pool.run(
        {
          type: 'process-document',
          ...input,
          maxTextBytes: Math.floor((deps.config.pool.maxHeapMb * 2 ** 20) / TEXT_BYTES_PER_HEAP_BYTE),
          declaredType: doc.declaredMediaType,
          fileName: doc.fileName,
          limits: pipelineLimits,
          depth,
          previewPages,
          extractChildren: depth < maxNestingDepth,
          serverPublicKey: new Uint8Array(deps.keyring.serverKeyPair.publicKey),
          progress: channel.port2,
        },
        { signal, transfer: [...transfer, channel.port2] },
      );
      if (result.outcome === 'failed') {
        if (result.permanent) {
          await this.#finish(job, doc, { status: 'FAILED', statusReason: result.reason }, 'FAILED', result.reason);
          return;
        }
        throw new AppError(13, result.reason);
      }
      const doneMs = deps.clock();
      const committed = await commitExtraction(deps, job, doc, result);
      const updated = committed.document;
      if (!updated) return; // deleted or re-queued while it ran
      await this.#recordUsage(updated, doneMs - result.elapsedMs, doneMs);
      this.#log.debug(
        { documentId: doc.id, status: updated.status, ms: result.elapsedMs, bytes: result.plaintextBytes },
        'document processed',
      );
      this.#documents.emit(updated, updated.status, updated.statusReason || progressText({ step: updated.status }));
      for (const child of committed.created) this.#documents.emit(child, 'QUEUED', `contained in ${doc.id}`);
      if (committed.created.length > 0) this.wake();
      await this.#index(doc, updated, committed.pages);
    } catch (err) {
      if (controller.signal.aborted && this.#stopped) return; // resumed after restart
      if (!this.#current(doc)) return; // deleted (or its tenant erased) meanwhile
      if (budget.aborted && !controller.signal.aborted) {
        const reason = `processing took longer than the limit of ${Math.round(limits.documentTimeMs / 1000)} s`;
        await this.#finish(job, doc, { status: 'FAILED', statusReason: reason }, 'FAILED', reason);
        return;
      }
      const reason = failureReason(err);
      if (isSealedFormatError(err) || (err instanceof AppError && err.code === 15)) {
        // Stored bytes that fail authentication will fail every time: no retry.
        await this.#finish(job, doc, { status: 'FAILED', statusReason: reason }, 'FAILED', reason);
        return;
      }
      this.#log.warn({ err, documentId: doc.id, attempt: job.attempts }, 'processing attempt failed');
      const outcome = await deps.store.atomic(() => deps.jobs.retryOrBurySync(job.id, deps.clock()));
      if (outcome === 'dead') await this.#finish(job, doc, { status: 'FAILED', statusReason: reason }, 'FAILED', reason);
      else await this.#setStatus(doc, { status: 'QUEUED' }, 'RETRY', `retrying after: ${reason}`);
    } finally {
      channel.port1.close();
    }
  }

  /** The document's record now, or undefined when it is gone or can no longer be opened (tenant erased). */
  #current(doc: DocumentRecord): DocumentRecord | undefined {
    try {
      return this.#documents.deps.documents.get(doc.tenantId, doc.id);
    } catch {
      return undefined;
    }
  }

  /** Billing: one processed document, and its OCR'd pages (usage records, docs/privacy.md). */
  async #recordUsage(doc: DocumentRecord, startMs: number, endMs: number): Promise<void> {
    if (!this.#usage) return;
    const ocrPages = typeof doc.metadata.ocrPages === 'number' ? doc.metadata.ocrPages : 0;
    const base = { tenantId: doc.tenantId, userId: doc.uploadedBy, startMs, endMs };
    try {
      await this.#usage.record({ ...base, kind: 'documents_processed', quantity: 1 });
      if (ocrPages > 0) await this.#usage.record({ ...base, kind: 'pages_ocr', quantity: ocrPages });
    } catch (err) {
      // The document is processed either way; a lost usage record is logged, not retried as a job.
      this.#log.error({ err, documentId: doc.id }, 'usage of a processed document was not recorded');
    }
  }

  /** Feeds the index after the commit; an index failure is logged, the document stays processed. */
  async #index(before: DocumentRecord, after: DocumentRecord, pages: string[]): Promise<void> {
    if (!this.#indexer) return;
    try {
      if (after.status === 'INDEXED') await this.#indexer.add(after.tenantId, indexedDocument(after, pages));
      else if (before.status === 'INDEXED' || before.artifacts.includes('text'))
        await this.#indexer.remove(after.tenantId, after.id);
    } catch (err) {
      this.#log.error({ err, documentId: after.id }, 'the search index did not take the document');
    }
  }

  async #setStatus(doc: DocumentRecord, patch: Partial<DocumentRecord>, step: string, message: string): Promise<void> {
    const deps = this.#documents.deps;
    const updated = await deps.store.atomic(() => {
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
    const updated = await deps.store.atomic(() => {
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

/** `OCR page 3/12`, `EXTRACTING page 1/2`, `OPENING`. */
function progressText(m: { step: string; page?: number; pageCount?: number }): string {
  return m.page && m.pageCount ? `${m.step} page ${m.page}/${m.pageCount}` : m.step;
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
