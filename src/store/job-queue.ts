import type { Store } from './database.js';
import { newId } from './ids.js';

/** A job as LMDB holds it, in the clear: ids, counters and times only (nothing of the document). */
export interface JobRecord {
  id: string;
  tenantId: string;
  documentId: string;
  attempts: number;
  state: 'queued' | 'running';
  /** When the job may run next (queued) or when its lease expires (running). */
  readyAtMs: number;
}

export interface JobQueueOptions {
  maxAttempts: number;
  /** How long a running job is owned before it counts as abandoned. */
  leaseMs: number;
  /** First retry delay; doubles per attempt. */
  backoffMs: number;
}

/**
 * The durable job queue: at-least-once, leases with expiry, retry with exponential backoff and a
 * maximum, after which the caller marks the document FAILED. Jobs live in `jobs` (id → record) and are
 * ordered for pickup in `jobQueue` ([readyAtMs, id]).
 */
export class JobQueue {
  readonly #store: Store;
  readonly options: JobQueueOptions;

  constructor(store: Store, options: JobQueueOptions) {
    this.#store = store;
    this.options = options;
  }

  get #jobs() {
    return this.#store.db<JobRecord>('jobs');
  }
  get #queue() {
    return this.#store.db<null>('jobQueue');
  }

  /** Adds a job inside the caller's write transaction (the same one as the document record). */
  enqueueSync(tenantId: string, documentId: string, nowMs: number): JobRecord {
    const job: JobRecord = {
      id: newId('job', nowMs),
      tenantId,
      documentId,
      attempts: 0,
      state: 'queued',
      readyAtMs: nowMs,
    };
    this.#jobs.putSync(job.id, job);
    this.#queue.putSync([job.readyAtMs, job.id], null);
    return job;
  }

  get(id: string): JobRecord | undefined {
    return this.#jobs.get(id);
  }

  /** Leases up to `max` due jobs: each is marked running until now + leaseMs. */
  async lease(nowMs: number, max: number): Promise<JobRecord[]> {
    return this.#store.atomic(() => {
      const leased: JobRecord[] = [];
      for (const key of this.#queue.getKeys({ start: [0], end: [nowMs, '\uffff'] })) {
        if (leased.length === max) break;
        const [, id] = key as [number, string];
        const job = this.#jobs.get(id);
        this.#queue.removeSync(key);
        if (!job) continue;
        const running: JobRecord = {
          ...job,
          state: 'running',
          attempts: job.attempts + 1,
          readyAtMs: nowMs + this.options.leaseMs,
        };
        this.#jobs.putSync(id, running);
        // If we die while it runs, the job becomes due again when its lease expires.
        this.#queue.putSync([running.readyAtMs, id], null);
        leased.push(running);
      }
      return leased;
    });
  }

  /** Removes a finished (or cancelled) job; call inside a write transaction. */
  removeSync(id: string): void {
    const job = this.#jobs.get(id);
    if (!job) return;
    this.#queue.removeSync([job.readyAtMs, id]);
    this.#jobs.removeSync(id);
  }

  /** Removes every job of a tenant (erasure; reads only the job records, which hold ids); inside a transaction. */
  removeTenantSync(tenantId: string): number {
    const ids: string[] = [];
    for (const { key, value } of this.#jobs.getRange()) if (value.tenantId === tenantId) ids.push(key as string);
    for (const id of ids) this.removeSync(id);
    return ids.length;
  }

  /**
   * After a failed attempt: reschedule with backoff, or return 'dead' when attempts are used up. Inside a
   * transaction. The reason is not kept here (job records are not sealed): the caller shows it in the
   * document's event and, when the job is dead, in the sealed record's status reason.
   */
  retryOrBurySync(id: string, nowMs: number): 'retry' | 'dead' {
    const job = this.#jobs.get(id);
    if (!job) return 'dead';
    this.#queue.removeSync([job.readyAtMs, id]);
    if (job.attempts >= this.options.maxAttempts) {
      this.#jobs.removeSync(id);
      return 'dead';
    }
    const readyAtMs = nowMs + this.options.backoffMs * 2 ** (job.attempts - 1);
    this.#jobs.putSync(id, { ...job, state: 'queued', readyAtMs });
    this.#queue.putSync([readyAtMs, id], null);
    return 'retry';
  }

  /**
   * Puts a leased job back, not counting the attempt, due again at `readyAtMs` (work that must wait, such
   * as a document whose uploader's processing is restricted). Inside a transaction.
   */
  deferSync(id: string, readyAtMs: number): void {
    const job = this.#jobs.get(id);
    if (!job) return;
    this.#queue.removeSync([job.readyAtMs, id]);
    this.#jobs.putSync(id, { ...job, state: 'queued', attempts: Math.max(0, job.attempts - 1), readyAtMs });
    this.#queue.putSync([readyAtMs, id], null);
  }

  /** At start-up nobody runs anything yet: every running job is due now. */
  async resumeAll(nowMs: number): Promise<number> {
    return this.#store.atomic(() => {
      let n = 0;
      for (const { key, value } of this.#jobs.getRange()) {
        if (value.state !== 'running') continue;
        this.#queue.removeSync([value.readyAtMs, key as string]);
        this.#jobs.putSync(key as string, { ...value, state: 'queued', readyAtMs: nowMs });
        this.#queue.putSync([nowMs, key as string], null);
        n++;
      }
      return n;
    });
  }

  /** Earliest readyAt of any job, to know when to wake up. */
  nextReadyAt(): number | undefined {
    for (const key of this.#queue.getKeys({ limit: 1 })) return (key as [number, string])[0];
    return undefined;
  }

  countByState(): Record<string, number> {
    const counts: Record<string, number> = { queued: 0, running: 0 };
    for (const { value } of this.#jobs.getRange()) counts[value.state] = (counts[value.state] ?? 0) + 1;
    return counts;
  }
}
