import type { Accounts, Clock } from '../accounts/index.js';
import type { Documents } from '../documents/documents.js';
import type { ImapImportConfig } from '../server/config.js';
import { failedPrecondition, notFound } from '../server/errors.js';
import type { Logger } from '../server/logger.js';
import { type Store, tenantOfKey } from '../store/index.js';
import { AccountWatcher } from './account-watcher.js';
import { classifyError, createClient, type ErrorKind } from './connection.js';
import { ImportLedger, type StatusRecord } from './ledger.js';
import { type ImportHooks, MailboxImporter } from './mailbox-importer.js';
import { Semaphore } from './semaphore.js';

export interface ImapWatchersDeps {
  store: Store;
  accounts: Accounts;
  documents: Documents;
  config: ImapImportConfig;
  clock: Clock;
  log: Logger;
}

export interface ImapTestResult {
  ok: boolean;
  errorKind: ErrorKind | '';
  errorMessage: string;
  folders: string[];
}

export type ImapStatus = StatusRecord & { running: boolean };

/**
 * All mailbox watchers of the server: one per tenant with stored IMAP settings, found at start-up, every
 * `--imap-rescan-ms` and whenever an RPC names a tenant. Imports of many accounts share a semaphore
 * (`--imap-concurrency`).
 */
export class ImapWatchers {
  /** Test seams (crash points, connection attempts); empty in production. */
  readonly hooks: ImportHooks = {};
  readonly ledger: ImportLedger;
  readonly #d: ImapWatchersDeps;
  readonly #importer: MailboxImporter;
  readonly #semaphore: Semaphore;
  readonly #watchers = new Map<string, AccountWatcher>();
  #rescanTimer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(deps: ImapWatchersDeps) {
    this.#d = deps;
    this.ledger = new ImportLedger(deps.store, deps.documents.deps.keyring.records);
    this.#semaphore = new Semaphore(deps.config.concurrency);
    this.#importer = new MailboxImporter({
      documents: deps.documents,
      ledger: this.ledger,
      config: deps.config,
      usage: deps.accounts.usage,
      clock: deps.clock,
      log: deps.log,
      hooks: this.hooks,
    });
  }

  start(): void {
    this.#rescan();
    if (this.#d.config.rescanMs > 0) {
      this.#rescanTimer = setInterval(() => this.#rescan(), this.#d.config.rescanMs);
      this.#rescanTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#rescanTimer) clearInterval(this.#rescanTimer);
    const all = [...this.#watchers.values()];
    this.#watchers.clear();
    await Promise.all(all.map((w) => w.stop()));
  }

  /** TriggerImapImport: a run now; its id. */
  async trigger(tenantId: string, userId: string): Promise<string> {
    await this.#requireSettings(tenantId);
    if (this.#d.accounts.isProcessingRestricted(tenantId, userId)) {
      throw failedPrecondition('processing is restricted for your account; lift the restriction first');
    }
    return this.#watcher(tenantId).trigger();
  }

  /** GetImapStatus. */
  async status(tenantId: string): Promise<ImapStatus> {
    await this.#requireSettings(tenantId);
    return this.#watcher(tenantId).status();
  }

  /** TestImapSettings: connect, log in, list folders; a failure says what failed. */
  async test(tenantId: string): Promise<ImapTestResult> {
    const creds = await this.#d.accounts.imap.credentials(tenantId);
    if (!creds) throw notFound('no IMAP settings (with a password) are stored');
    const { config } = this.#d;
    const client = createClient(creds, { timeoutMs: config.timeoutMs, maxMessageBytes: config.maxMessageBytes, idle: false });
    client.on('error', () => undefined);
    try {
      await this.hooks.beforeConnect?.(tenantId);
      await client.connect();
      const folders = (await client.list()).map((m) => m.path).sort();
      await client.logout();
      return { ok: true, errorKind: '', errorMessage: '', folders };
    } catch (err) {
      client.close();
      const { kind, message } = classifyError(err);
      return { ok: false, errorKind: kind, errorMessage: message, folders: [] };
    }
  }

  /**
   * DeleteImapSettings: the settings and password go first, so no new run can log in; then the watcher
   * stops (a running run is aborted) and the ledger and status go, so nothing is left of the mailbox.
   */
  async removeSettings(tenantId: string): Promise<void> {
    if (!(await this.#d.accounts.imap.remove(tenantId))) throw notFound('no IMAP settings are stored');
    await this.#drop(tenantId);
  }

  async #requireSettings(tenantId: string): Promise<void> {
    if (!(await this.#d.accounts.imap.get(tenantId))) throw notFound('no IMAP settings are stored');
  }

  #watcher(tenantId: string): AccountWatcher {
    let w = this.#watchers.get(tenantId);
    if (!w) {
      w = new AccountWatcher(tenantId, {
        config: this.#d.config,
        ledger: this.ledger,
        importer: this.#importer,
        semaphore: this.#semaphore,
        clock: this.#d.clock,
        log: this.#d.log,
        hooks: this.hooks,
        credentials: (t) => this.#d.accounts.imap.credentials(t),
        recordsReady: (t) => this.#d.documents.deps.keyring.recordsReady(t),
        mailboxUser: (t) => this.#mailboxUser(t),
        isRestricted: (t, u) => this.#d.accounts.isProcessingRestricted(t, u),
        gone: (t) => void this.#forget(t),
      });
      this.#watchers.set(tenantId, w);
      if (!this.#stopped) w.start();
    }
    return w;
  }

  /** Settings are per tenant: imported mail belongs to the tenant's first owner. */
  async #mailboxUser(tenantId: string): Promise<string | null> {
    const members = await this.#d.accounts.listMembers({ tenantId, userId: '', role: 'owner', sessionId: '' });
    const owners = members.filter((m) => m.role === 'owner').sort((a, b) => a.createdMs - b.createdMs);
    return owners[0]?.id ?? null;
  }

  /** Finds tenants with IMAP settings (keys only; the settings stay sealed) and drops ledgers without any. */
  #rescan(): void {
    if (this.#stopped) return;
    const configured = new Set<string>();
    for (const key of this.#d.store.db('accountImap').getKeys()) {
      const tenantId = tenantOfKey(key);
      configured.add(tenantId);
      this.#watcher(tenantId);
    }
    for (const tenantId of [...this.#watchers.keys()]) if (!configured.has(tenantId)) void this.#forget(tenantId);
    for (const tenantId of this.ledger.tenantsWithStatus()) if (!configured.has(tenantId)) void this.#forget(tenantId);
  }

  /** The tenant's settings are gone (removed, or the tenant erased): stop watching and drop what the ledger holds. */
  async #forget(tenantId: string): Promise<void> {
    await this.#drop(tenantId).catch((err: unknown) => this.#d.log.error({ err, tenantId }, 'could not drop an IMAP ledger'));
  }

  async #drop(tenantId: string): Promise<void> {
    const w = this.#watchers.get(tenantId);
    this.#watchers.delete(tenantId);
    if (w) await w.stop();
    await this.ledger.purge(tenantId);
  }
}
