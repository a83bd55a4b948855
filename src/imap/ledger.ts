import { createHash } from 'node:crypto';
import type { Store } from '../store/index.js';

/** What happened to one message. */
export type Outcome = 'imported' | 'duplicate' | 'failed' | 'skipped';

/** One message's entry, keyed by [tenant, 'uid', account, folder, UIDVALIDITY, UID]. */
export interface LedgerEntry {
  outcome: Outcome;
  /** The document: imported or duplicate, or the FAILED record without an original for failed and skipped. */
  documentId: string | null;
  /** Why it failed or was skipped (never mail content). */
  reason: string;
  atMs: number;
  /** The post-import action (move to Imported/Failed, or the flag in automatic folders) is done. */
  settled: boolean;
}

/** Where automatic import of a folder starts: mail that arrived after it was switched on. */
export interface Baseline {
  uidValidity: number;
  /** First UID not yet looked at. */
  nextUid: number;
  /** When automatic import first saw the folder; after a UIDVALIDITY change, mail since then is new. */
  sinceMs: number;
}

/** The watcher's status of a tenant, kept across restarts (so a backoff survives them too). */
export interface StatusRecord {
  lastRunId: string;
  lastRunStartMs: number;
  lastRunEndMs: number;
  nextRunMs: number;
  imported: number;
  failed: number;
  skipped: number;
  lastError: string;
  /** Consecutive failed runs and of which kind: drives the backoff. */
  failures: number;
  failureKind: '' | 'auth' | 'connection';
  /** Hash of the settings and password that failed to log in: a change retries at once. */
  failedFingerprint: string;
}

export const EMPTY_STATUS: StatusRecord = {
  lastRunId: '',
  lastRunStartMs: 0,
  lastRunEndMs: 0,
  nextRunMs: 0,
  imported: 0,
  failed: 0,
  skipped: 0,
  lastError: '',
  failures: 0,
  failureKind: '',
  failedFingerprint: '',
};

/** Hashes names before they become keys: host, user, folders and Message-IDs are personal data. */
export function keyHash(...parts: Array<string | number>): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(String(p)).update('\0');
  return h.digest('hex').slice(0, 32);
}

export interface MessageKey {
  tenantId: string;
  account: string;
  folder: string;
  uidValidity: number;
  uid: number;
}

/**
 * The exactly-once ledger. A message's entry is committed (and flushed) after its document is durable and
 * before the mail is moved or flagged; the document's idempotency key is derived from the same key, so a
 * crash anywhere in between ends in the same document and a move on the next run.
 */
export class ImportLedger {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  get #ledger() {
    return this.#store.db<unknown>('imapLedger');
  }

  get #status() {
    return this.#store.db<StatusRecord>('imapStatus');
  }

  static accountKey(tenantId: string, host: string, port: number, user: string): string {
    return keyHash('account', tenantId, host.toLowerCase(), port, user);
  }

  static idempotencyKey(k: MessageKey): string {
    return `imap:${k.account}:${keyHash(k.folder)}:${k.uidValidity}:${k.uid}`;
  }

  #uidKey(k: MessageKey) {
    return [k.tenantId, 'uid', k.account, keyHash(k.folder), k.uidValidity, k.uid];
  }

  get(k: MessageKey): LedgerEntry | undefined {
    return this.#ledger.get(this.#uidKey(k)) as LedgerEntry | undefined;
  }

  /** The document a Message-ID was imported as (per tenant: copies in other folders are not imported twice). */
  documentOfMessageId(tenantId: string, messageId: string): string | undefined {
    return this.#ledger.get([tenantId, 'mid', keyHash(messageId.trim())]) as string | undefined;
  }

  /** Commits a message's outcome with the tenant's counters in one transaction and waits until durable. */
  async commit(k: MessageKey, entry: LedgerEntry, messageId: string | null): Promise<void> {
    await this.#store.root.transaction(() => {
      this.#ledger.putSync(this.#uidKey(k), entry);
      if (messageId && entry.documentId && entry.outcome === 'imported') {
        this.#ledger.putSync([k.tenantId, 'mid', keyHash(messageId.trim())], entry.documentId);
      }
      const s = { ...EMPTY_STATUS, ...this.#status.get([k.tenantId]) };
      if (entry.outcome === 'imported') s.imported++;
      else if (entry.outcome === 'failed') s.failed++;
      else if (entry.outcome === 'skipped') s.skipped++;
      this.#status.putSync([k.tenantId], s);
    });
    await this.#store.flushed();
  }

  /** Marks the post-import action done (losing this write only repeats an idempotent move). */
  async settle(k: MessageKey): Promise<void> {
    const key = this.#uidKey(k);
    await this.#store.root.transaction(() => {
      const e = this.#ledger.get(key) as LedgerEntry | undefined;
      if (e) this.#ledger.putSync(key, { ...e, settled: true });
    });
  }

  baseline(tenantId: string, account: string, folder: string): Baseline | undefined {
    return this.#ledger.get([tenantId, 'base', account, keyHash(folder)]) as Baseline | undefined;
  }

  async setBaseline(tenantId: string, account: string, folder: string, b: Baseline): Promise<void> {
    await this.#ledger.put([tenantId, 'base', account, keyHash(folder)], b);
  }

  status(tenantId: string): StatusRecord {
    return { ...EMPTY_STATUS, ...this.#status.get([tenantId]) };
  }

  /** Read-modify-write of the status in one transaction (counters are updated by `commit` concurrently). */
  async updateStatus(tenantId: string, change: (s: StatusRecord) => Partial<StatusRecord>): Promise<StatusRecord> {
    return this.#store.root.transaction(() => {
      const s = { ...EMPTY_STATUS, ...this.#status.get([tenantId]) };
      const next = { ...s, ...change(s) };
      this.#status.putSync([tenantId], next);
      return next;
    });
  }

  /** Tenants with a status record (to find ledgers whose IMAP settings are gone). */
  tenantsWithStatus(): string[] {
    const out: string[] = [];
    for (const key of this.#status.getKeys()) out.push(String((key as unknown[])[0]));
    return out;
  }

  /** Removes everything kept about a tenant's mailbox (its settings are gone: erased). */
  async purge(tenantId: string): Promise<void> {
    await this.#store.root.transaction(() => {
      for (const key of this.#ledger.getKeys({ start: [tenantId], end: [tenantId, '\uffff'] })) this.#ledger.removeSync(key);
      this.#status.removeSync([tenantId]);
    });
  }
}
