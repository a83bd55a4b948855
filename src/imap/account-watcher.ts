import type { ImapFlow } from 'imapflow';
import type { Clock } from '../accounts/index.js';
import type { ImapImportConfig } from '../server/config.js';
import type { Logger } from '../server/logger.js';
import { newId } from '../store/ids.js';
import { type Credentials, classifyError, createClient, loginInputs } from './connection.js';
import type { ImportLedger, StatusRecord } from './ledger.js';
import type { ImportHooks, MailboxImporter } from './mailbox-importer.js';
import { resolvePath } from './mailbox-importer.js';
import type { Semaphore } from './semaphore.js';

/** What a watcher needs from the rest of the server (wired by `ImapWatchers`). */
export interface WatcherDeps {
  config: ImapImportConfig;
  ledger: ImportLedger;
  importer: MailboxImporter;
  semaphore: Semaphore;
  clock: Clock;
  log: Logger;
  hooks: ImportHooks;
  credentials(tenantId: string): Promise<Credentials | undefined>;
  /** Loads the tenant's record keys (the ledger's blind keys and sealed status); false: the tenant has no key (erased). */
  recordsReady(tenantId: string): Promise<boolean>;
  /** The user whose documents imported mail becomes, or null when the tenant has no owner. */
  mailboxUser(tenantId: string): Promise<string | null>;
  isRestricted(tenantId: string, userId: string): boolean;
  /** Settings are gone (removed, or the tenant erased): the manager drops this watcher and its ledger. */
  gone(tenantId: string): void;
}

/**
 * One tenant's mailbox: runs on a schedule (the settings' interval, or a backoff after a failure), on
 * request, and — with automatic import — when IDLE reports new mail. One run at a time; a request during
 * a run queues exactly one more.
 */
function log(logger: Logger, tenantId: string, err: unknown): void {
  logger.warn({ err, tenantId }, 'could not open the automatic-import folder for IDLE; new mail is found on schedule');
}

export class AccountWatcher {
  readonly tenantId: string;
  readonly #d: WatcherDeps;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | null = null;
  #soonTimer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #queuedRunId: string | null = null;
  #client: ImapFlow | null = null;
  #stopped = false;

  constructor(tenantId: string, deps: WatcherDeps) {
    this.tenantId = tenantId;
    this.#d = deps;
  }

  /** Schedules the first run from the stored status: at once if never run or overdue. */
  start(): void {
    this.#schedule(this.#d.ledger.nextRunMs(this.tenantId));
  }

  get running(): boolean {
    return this.#running !== null;
  }

  /** Starts a run now (or right after the current one) and returns its id. */
  trigger(): string {
    if (this.#running) {
      this.#queuedRunId ??= newId('run', this.#d.clock.now());
      return this.#queuedRunId;
    }
    const id = newId('run', this.#d.clock.now());
    this.#start(id, true);
    return id;
  }

  /** The stored status with the queued run's id, so a caller waiting for its run sees it as running. */
  status(): StatusRecord & { running: boolean } {
    const s = this.#d.ledger.status(this.tenantId);
    return { ...s, ...(this.#queuedRunId ? { lastRunId: this.#queuedRunId } : {}), running: this.#running !== null };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort(new Error('the IMAP watcher is stopping'));
    this.#clearTimers();
    const client = this.#client;
    this.#client = null;
    client?.close();
    await this.#running?.catch(() => undefined);
  }

  #clearTimers(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#soonTimer) clearTimeout(this.#soonTimer);
    this.#timer = null;
    this.#soonTimer = null;
  }

  #schedule(atMs: number): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    const delay = Math.max(0, Math.min(atMs - this.#d.clock.now(), 2 ** 31 - 1));
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (!this.#running) this.#start(newId('run', this.#d.clock.now()), false);
    }, delay);
    this.#timer.unref();
  }

  /** New mail reported by IDLE: run shortly (one run for a burst of arrivals). */
  #soon(): void {
    if (this.#soonTimer || this.#stopped) return;
    this.#soonTimer = setTimeout(() => {
      this.#soonTimer = null;
      this.trigger();
    }, 500);
    this.#soonTimer.unref();
  }

  #start(runId: string, requested: boolean): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#running = this.#run(runId, requested)
      .catch((err: unknown) => this.#d.log.error({ err, tenantId: this.tenantId }, 'IMAP run failed unexpectedly'))
      .finally(() => {
        this.#running = null;
        const queued = this.#queuedRunId;
        this.#queuedRunId = null;
        if (queued && !this.#stopped) this.#start(queued, true);
        else this.#schedule(this.#d.ledger.nextRunMs(this.tenantId));
      });
  }

  async #run(runId: string, requested: boolean): Promise<void> {
    const { ledger, clock, config, log } = this.#d;
    const signal = this.#abort.signal;
    const release = await this.#d.semaphore.acquire(signal);
    try {
      if (!(await this.#d.recordsReady(this.tenantId))) {
        this.#d.gone(this.tenantId);
        return;
      }
      const started = clock.now();
      await ledger.updateStatus(this.tenantId, () => ({ lastRunId: runId, lastRunStartMs: started, lastRunDuplicates: 0 }));
      const creds = await this.#d.credentials(this.tenantId);
      if (!creds) {
        this.#d.gone(this.tenantId);
        return;
      }
      const intervalMs = creds.config.intervalMinutes * 60_000;
      const userId = await this.#d.mailboxUser(this.tenantId);
      if (userId === null || this.#d.isRestricted(this.tenantId, userId)) {
        await this.#finish({
          lastError: 'processing is restricted for this account: nothing is imported',
          nextRunMs: started + intervalMs,
        });
        return;
      }
      const fp = ledger.loginFingerprint(this.tenantId, loginInputs(creds));
      const before = ledger.status(this.tenantId);
      if (requested && before.failureKind === 'auth' && before.failedFingerprint === fp && started < before.nextRunMs) {
        // A request does not bypass the login backoff unless the settings changed: retries would lock the mailbox.
        await this.#finish({
          lastError: `${before.lastError} (not retried before ${new Date(before.nextRunMs).toISOString()}; store the correct password to retry at once)`,
          nextRunMs: before.nextRunMs,
        });
        return;
      }
      let client = this.#client?.usable ? this.#client : null;
      try {
        if (!client) {
          await this.#d.hooks.beforeConnect?.(this.tenantId);
          const keep = creds.config.autoImport && config.idle;
          client = createClient(creds, { timeoutMs: config.timeoutMs, maxMessageBytes: config.maxMessageBytes, idle: keep });
          client.on('error', (err: unknown) => log.debug({ err, tenantId: this.tenantId }, 'IMAP connection error'));
          await client.connect();
        }
        const counts = await this.#d.importer.run(
          client,
          {
            tenantId: this.tenantId,
            userId,
            account: ledger.accountKey(this.tenantId, creds.config.host, creds.config.port, creds.config.user),
            settings: creds.config,
          },
          signal,
        );
        const notes = [
          counts.failed > 0 ? `${counts.failed} mail(s) failed to import and were moved to the failed folder` : '',
          // Otherwise a mistyped folder name would import nothing, silently, forever.
          counts.missingFolders.length > 0
            ? `automatic-import folder not found on the server: ${counts.missingFolders.join(', ')}`
            : '',
        ];
        await this.#finish({
          lastError: notes.filter((n) => n !== '').join('; '),
          failures: 0,
          failureKind: '',
          failedFingerprint: '',
          nextRunMs: clock.now() + intervalMs,
        });
        log.info({ tenantId: this.tenantId, runId, ...counts }, 'IMAP import run finished');
        await this.#keepOrClose(client, creds, counts.missingFolders);
      } catch (err) {
        client?.close();
        if (this.#client === client) this.#client = null;
        if (signal.aborted) throw err;
        const { kind, message } = classifyError(err);
        const failures = before.failureKind === (kind === 'auth' ? 'auth' : 'connection') ? before.failures + 1 : 1;
        const first = kind === 'auth' ? config.authBackoffMs : config.backoffMs;
        const backoff = Math.min(config.maxBackoffMs, first * 2 ** Math.min(failures - 1, 30));
        await this.#finish({
          lastError: `${kind}: ${message}`,
          failures,
          failureKind: kind === 'auth' ? 'auth' : 'connection',
          failedFingerprint: kind === 'auth' ? fp : '',
          nextRunMs: clock.now() + backoff,
        });
        log.warn({ tenantId: this.tenantId, runId, kind, failures, backoffMs: backoff }, 'IMAP run failed; retrying later');
      }
    } finally {
      release();
    }
  }

  async #finish(change: Partial<StatusRecord>): Promise<void> {
    await this.#d.ledger.updateStatus(this.tenantId, () => ({ ...change, lastRunEndMs: this.#d.clock.now() }));
  }

  /**
   * With automatic import the connection stays open, IDLE on the first automatic folder the server has;
   * else (or when it has none of them) it is closed.
   */
  async #keepOrClose(client: ImapFlow, creds: Credentials, missing: readonly string[]): Promise<void> {
    const { config } = creds;
    const first = (config.folders.length > 0 ? config.folders : ['INBOX']).find((f) => !missing.includes(f));
    if (!(config.autoImport && this.#d.config.idle) || this.#stopped || first === undefined) {
      if (this.#client === client) this.#client = null;
      await client.logout().catch(() => client.close());
      return;
    }
    if (this.#client !== client) {
      this.#client = client;
      client.on('exists', (info: { count: number; prevCount: number }) => {
        if (info.count > info.prevCount) this.#soon();
      });
      client.on('close', () => {
        if (this.#client !== client) return;
        this.#client = null;
        // Lost the IDLE connection (server restart, network): reconnect after the usual backoff.
        if (!this.#stopped && !this.#running) {
          const next = Math.min(this.#d.ledger.nextRunMs(this.tenantId), this.#d.clock.now() + this.#d.config.backoffMs);
          this.#schedule(next);
        }
      });
    }
    try {
      await client.mailboxOpen(resolvePath(client, first));
      // IDLE at once (not after the auto-IDLE delay); the next command of a run ends it by itself.
      void client.idle().catch(() => undefined);
    } catch (err) {
      log(this.#d.log, this.tenantId, err);
    }
  }
}
