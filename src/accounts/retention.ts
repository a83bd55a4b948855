import type { AccountsConfig } from '../server/config.js';
import type { Logger } from '../server/logger.js';
import type { KeyPart } from '../store/index.js';
import { addMonthsUtc, type Clock } from './clock.js';
import type { AccountRecords, StoredLock } from './records.js';

export interface RetentionResult {
  usageRecordsDeleted: number;
  accountsDeleted: number;
  sessionsDeleted: number;
  locksReleased: number;
}

/**
 * Deletes on schedule what may no longer be kept: expired sessions; usage data at most N (≤ 6) months after
 * its invoice was sent, and usage never billed M months after it ended (its only purpose is billing);
 * invoices after their legal period; locked records (and the locked master data of an
 * erased account, at the end of the calendar year after the contract ended) when their lock ends.
 */
export class RetentionSweeper {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<RetentionResult> | undefined;

  constructor(
    private readonly records: AccountRecords,
    private readonly clock: Clock,
    private readonly config: AccountsConfig,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.config.retentionIntervalMs === 0 || this.#timer) return;
    this.#timer = setInterval(() => {
      this.run().catch((err: unknown) => this.log.error({ err }, 'retention sweep failed'));
    }, this.config.retentionIntervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One sweep; concurrent callers share the sweep in progress. */
  run(): Promise<RetentionResult> {
    this.#running ??= this.#sweep().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #sweep(): Promise<RetentionResult> {
    const r = this.records;
    const now = this.clock.now();
    const result: RetentionResult = { usageRecordsDeleted: 0, accountsDeleted: 0, sessionsDeleted: 0, locksReleased: 0 };

    const sessions: Array<[string, KeyPart[]]> = [];
    for (const { key, value } of r.sessions.getRange({})) {
      if (now >= value.expiresMs || now - value.lastSeenMs >= this.config.sessionIdleMs) {
        sessions.push([String(key), [value.tenantId, value.userId, String(key)]]);
      }
    }

    const invoiceUntil = (sentMs: number) => addMonthsUtc(sentMs, 12 * this.config.invoiceRetentionYears);
    const usageUntil = (sentMs: number) => addMonthsUtc(sentMs, this.config.usageRetentionMonths);
    const unbilledUntil = (endMs: number) => addMonthsUtc(endMs, this.config.unbilledUsageRetentionMonths);
    const usage: KeyPart[][] = [];
    for (const { key, value } of r.usage.getRange({})) {
      if (value.invoiceId === '') {
        if (unbilledUntil(value.endMs) <= now) usage.push(key as KeyPart[]);
        continue;
      }
      const invoice = r.invoices.get([value.tenantId, value.invoiceId]);
      if (!invoice || usageUntil(invoice.sentMs) <= now) usage.push(key as KeyPart[]);
    }
    const invoices: KeyPart[][] = [];
    for (const { key, value } of r.invoices.getRange({})) if (invoiceUntil(value.sentMs) <= now) invoices.push(key as KeyPart[]);
    const released: StoredLock[] = [];
    for (const { value } of r.locks.getRange({})) if (value.lockedUntilMs <= now) released.push(value);

    await r.store.atomic(() => {
      for (const [id, index] of sessions) {
        r.sessions.remove(id);
        r.userSessions.remove(index);
      }
      result.sessionsDeleted = sessions.length;
      const usageDeleted = new Set<string>();
      for (const key of usage) {
        r.usage.remove(key);
        usageDeleted.add(JSON.stringify(key));
        const id = String(key[2]);
        r.locks.remove([String(key[0]), 'usage', id]);
      }
      for (const key of invoices) {
        r.invoices.remove(key);
        r.locks.remove([String(key[0]), 'invoice', String(key[1])]);
      }
      for (const lock of released) {
        r.locks.remove([lock.tenantId, lock.kind, lock.id]);
        if (lock.kind === 'usage' && lock.usageKey && !usageDeleted.has(JSON.stringify(lock.usageKey))) {
          r.usage.remove(lock.usageKey);
          usageDeleted.add(JSON.stringify(lock.usageKey));
        }
        if (lock.kind === 'invoice') r.invoices.remove([lock.tenantId, lock.id]);
        if (lock.kind === 'account') result.accountsDeleted++;
      }
      result.usageRecordsDeleted = usageDeleted.size;
      result.locksReleased = released.length;
      // An erased tenant's last trace goes with its last lock.
      for (const tenantId of new Set(released.map((l) => l.tenantId))) {
        const t = r.tenants.get(tenantId);
        if (t?.erasedMs === undefined) continue;
        const left = [...r.locks.getKeys({ start: [tenantId], end: [tenantId, '\uffff'] })];
        if (left.length === 0) r.tenants.remove(tenantId);
      }
    });
    if (Object.values(result).some((n) => n > 0)) this.log.info(result, 'retention sweep');
    return result;
  }

  lockedRecords(): StoredLock[] {
    return [...this.records.locks.getRange({}).map((e) => e.value)];
  }
}
