import { type MailImportStatus, NO_MAIL_IMPORT_STATUS } from '../accounts/ports.js';
import type { RecordCipher } from '../crypto/index.js';
import { type Store, tenantOfKey } from '../store/index.js';

/** What happened to one message. */
export type Outcome = 'imported' | 'duplicate' | 'failed' | 'skipped';

/** One message's entry, keyed by [tenant, 'uid', account, folder, UIDVALIDITY, UID] (account and folder blinded). */
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

/**
 * The watcher's status of a tenant, kept across restarts (so a backoff survives them too): what GetImapStatus
 * and the data export show (MailImportStatus), and the watcher's own bookkeeping.
 */
export interface StatusRecord extends MailImportStatus {
  lastRunId: string;
  /** Of the duplicates (copies of imported mail, by Message-ID or bytes, not imported again), the ones of the
   * last run (reset when a run starts; counted as its messages commit). */
  lastRunDuplicates: number;
  /** Consecutive failed runs and of which kind: drives the backoff. */
  failures: number;
  failureKind: '' | 'auth' | 'connection';
  /** Blind key of the settings and password that failed to log in: a change retries at once. */
  failedFingerprint: string;
}

export const EMPTY_STATUS: StatusRecord = {
  ...NO_MAIL_IMPORT_STATUS,
  lastRunId: '',
  lastRunDuplicates: 0,
  failures: 0,
  failureKind: '',
  failedFingerprint: '',
};

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
 *
 * Nothing here names the mailbox in the clear: the account (host, port, user), folders and Message-IDs
 * become blind keys (HMAC under the tenant's record key, purpose 'imap'), so the disk neither shows them nor
 * lets anyone confirm a guess; the status's last error (which may quote the server) is sealed. Every call
 * except `nextRunMs`, `tenantsWithStatus` and `purge` needs the tenant's record keys loaded.
 */
export class ImportLedger {
  readonly #store: Store;
  readonly #cipher: RecordCipher;

  constructor(store: Store, cipher: RecordCipher) {
    this.#store = store;
    this.#cipher = cipher;
  }

  get #ledger() {
    return this.#store.db<unknown>('imapLedger');
  }

  get #status() {
    return this.#store.db<StoredStatus>('imapStatus');
  }

  /** The mailbox account's key in the ledger. */
  accountKey(tenantId: string, host: string, port: number, user: string): string {
    return this.#blind(tenantId, 'account', host.toLowerCase(), port, user);
  }

  /** The document idempotency key of a message (the same message always becomes the same document). */
  idempotencyKey(k: MessageKey): string {
    return `imap:${k.account}:${this.#folder(k.tenantId, k.folder)}:${k.uidValidity}:${k.uid}`;
  }

  /** What a login depends on (settings and password), blinded: a failed login is retried early only when it changes. */
  loginFingerprint(tenantId: string, parts: unknown[]): string {
    return this.#blind(tenantId, 'login', JSON.stringify(parts));
  }

  #uidKey(k: MessageKey) {
    return [k.tenantId, 'uid', k.account, this.#folder(k.tenantId, k.folder), k.uidValidity, k.uid];
  }

  get(k: MessageKey): LedgerEntry | undefined {
    return this.#ledger.get(this.#uidKey(k)) as LedgerEntry | undefined;
  }

  /** The document a Message-ID was imported as (per tenant: copies in other folders are not imported twice). */
  documentOfMessageId(tenantId: string, messageId: string): string | undefined {
    return this.#ledger.get([tenantId, 'mid', this.#blind(tenantId, 'mid', messageId.trim())]) as string | undefined;
  }

  /** Commits a message's outcome with the tenant's counters in one transaction and waits until durable. */
  async commit(k: MessageKey, entry: LedgerEntry, messageId: string | null): Promise<void> {
    const uidKey = this.#uidKey(k);
    const midKey = messageId ? [k.tenantId, 'mid', this.#blind(k.tenantId, 'mid', messageId.trim())] : null;
    await this.#store.atomic(() => {
      this.#ledger.putSync(uidKey, entry);
      if (midKey && entry.documentId && entry.outcome === 'imported') this.#ledger.putSync(midKey, entry.documentId);
      // Counters only: the sealed last error is kept as it is.
      const s: StoredStatus = { ...EMPTY_STORED, ...this.#status.get([k.tenantId]) };
      if (entry.outcome === 'imported') s.imported++;
      else if (entry.outcome === 'failed') s.failed++;
      else if (entry.outcome === 'skipped') s.skipped++;
      else if (entry.outcome === 'duplicate') {
        // A tenant's runs follow one another, and each starts by zeroing the last run's count.
        s.duplicates++;
        s.lastRunDuplicates++;
      }
      this.#status.putSync([k.tenantId], s);
    });
    await this.#store.flushed();
  }

  /** Marks the post-import action done (losing this write only repeats an idempotent move). */
  async settle(k: MessageKey): Promise<void> {
    const key = this.#uidKey(k);
    await this.#store.atomic(() => {
      const e = this.#ledger.get(key) as LedgerEntry | undefined;
      if (e) this.#ledger.putSync(key, { ...e, settled: true });
    });
  }

  baseline(tenantId: string, account: string, folder: string): Baseline | undefined {
    return this.#ledger.get([tenantId, 'base', account, this.#folder(tenantId, folder)]) as Baseline | undefined;
  }

  async setBaseline(tenantId: string, account: string, folder: string, b: Baseline): Promise<void> {
    await this.#ledger.put([tenantId, 'base', account, this.#folder(tenantId, folder)], b);
  }

  status(tenantId: string): StatusRecord {
    return this.#open(tenantId, this.#status.get([tenantId]));
  }

  /** When the next run is due (0: never ran); needs no keys. */
  nextRunMs(tenantId: string): number {
    return this.#status.get([tenantId])?.nextRunMs ?? 0;
  }

  /** Read-modify-write of the status in one transaction (counters are updated by `commit` concurrently). */
  async updateStatus(tenantId: string, change: (s: StatusRecord) => Partial<StatusRecord>): Promise<StatusRecord> {
    return this.#store.atomic(() => {
      const s = this.#open(tenantId, this.#status.get([tenantId]));
      const next = { ...s, ...change(s) };
      const { lastError, ...rest } = next;
      const stored: StoredStatus = {
        ...rest,
        lastError: lastError ? this.#cipher.seal(tenantId, 'imap', Buffer.from(lastError, 'utf8'), statusAad(tenantId)) : null,
      };
      this.#status.putSync([tenantId], stored);
      return next;
    });
  }

  /** Tenants with a status record (to find ledgers whose IMAP settings are gone). */
  tenantsWithStatus(): string[] {
    const out: string[] = [];
    for (const key of this.#status.getKeys()) out.push(tenantOfKey(key));
    return out;
  }

  /** Removes everything kept about a tenant's mailbox (its settings are gone: removed, or the tenant erased). */
  async purge(tenantId: string): Promise<void> {
    await this.#store.atomic(() => {
      for (const key of this.#ledger.getKeys({ start: [tenantId], end: [tenantId, '\uffff'] })) this.#ledger.removeSync(key);
      this.#status.removeSync([tenantId]);
    });
  }

  #open(tenantId: string, stored: StoredStatus | undefined): StatusRecord {
    const { lastError, ...rest } = { ...EMPTY_STORED, ...stored };
    return {
      ...rest,
      lastError:
        lastError instanceof Uint8Array && lastError.byteLength > 0
          ? this.#cipher.open(tenantId, 'imap', lastError, statusAad(tenantId)).toString('utf8')
          : '',
    };
  }

  #folder(tenantId: string, folder: string): string {
    return this.#blind(tenantId, 'folder', folder);
  }

  #blind(tenantId: string, kind: string, ...parts: Array<string | number>): string {
    return this.#cipher.blindKey(tenantId, 'imap', [kind, ...parts].join('\u0000'));
  }
}

/** The status as stored: the last error (which may quote the IMAP server) sealed, the rest counters and times. */
interface StoredStatus extends Omit<StatusRecord, 'lastError'> {
  lastError: Buffer | null;
}

const EMPTY_STORED: StoredStatus = { ...EMPTY_STATUS, lastError: null };

function statusAad(tenantId: string): string {
  return `imapStatus/${tenantId}`;
}
