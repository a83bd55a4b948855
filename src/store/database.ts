import fs from 'node:fs';
import { type Database, open, type RootDatabase } from 'lmdb';

/**
 * Every named sub-database of the one LMDB environment, in one list so that nobody opens a name twice
 * with different options. Keys of tenant data begin with the tenant id (see `tenantKey`).
 */
export const SUB_DATABASES = {
  /** Server-wide settings. */
  meta: { encoding: 'msgpack' },
  /** Wrapped server key material (the X25519 key clients seal to). */
  keys: { encoding: 'binary' },
  /** Wrapped tenant keys: tenantId → wrapped key. Deleted first on erasure (crypto-shredding). */
  tenantKeys: { encoding: 'binary' },
  /** Sealed bytes by [tenant, object, kind, seq] (src/store/blob-store.ts). */
  blobs: { encoding: 'binary' },
  /** Document records by [tenant, document]: msgpack sealed with the tenant's record key (src/store/document-store.ts). */
  documents: { encoding: 'binary' },
  /** [tenant, 'idem', blind key] and [tenant, 'content', blind key] → document id (blind keys: HMAC under the tenant key). */
  documentKeys: { encoding: 'msgpack' },
  /** [tenant, -createdMs, document]: newest-first listing. */
  documentTimeline: { encoding: 'msgpack' },
  /**
   * Tag changes not yet in the search index by [tenant, document] → the change's token: written with the
   * record's tag commit, cleared once the index has the tags; what a crash leaves is applied at start-up.
   */
  documentTagsPending: { encoding: 'msgpack' },
  /** Uploads in flight by [tenant, document]: their blobs are removed at start-up after a crash. */
  pendingUploads: { encoding: 'msgpack' },
  /** Processing jobs by id, and their pickup order [readyAtMs, id] (src/store/job-queue.ts). */
  jobs: { encoding: 'msgpack' },
  jobQueue: { encoding: 'msgpack' },
  /** Accounts (src/accounts/records.ts): users by [tenant, user], personal fields sealed. */
  accountUsers: { encoding: 'msgpack' },
  /** HMAC of the lower-cased e-mail → {tenantId, userId}: login lookup and uniqueness. */
  accountEmails: { encoding: 'msgpack' },
  accountTenants: { encoding: 'msgpack' },
  /** SHA-256 (hex) of the session token → session; never the token itself. */
  accountSessions: { encoding: 'msgpack' },
  /** [tenant, user, session id]: a user's sessions, to end them all. */
  accountUserSessions: { encoding: 'msgpack' },
  /** Append-only consent log by [tenant, user, time, id]. */
  accountConsents: { encoding: 'msgpack' },
  /** [tenant] → IMAP settings and password, both sealed with the tenant key. */
  accountImap: { encoding: 'msgpack' },
  /** Usage records by [tenant, start, id]. */
  accountUsage: { encoding: 'msgpack' },
  /** Invoice records by [tenant, invoice]. */
  accountInvoices: { encoding: 'msgpack' },
  /** Records locked after erasure by [tenant, kind, id], with the end of their legal retention. */
  accountLocks: { encoding: 'msgpack' },
  /**
   * IMAP import ledger (src/imap/ledger.ts): [tenant, 'uid', account, folder, uidvalidity, uid] and
   * [tenant, 'mid', account, message-id] → outcome and document; account, folder and Message-ID hashed.
   */
  imapLedger: { encoding: 'msgpack' },
  /** IMAP watcher status by [tenant]: last run, counters, last error, backoff. */
  imapStatus: { encoding: 'msgpack' },
} as const satisfies Record<string, { encoding: 'msgpack' | 'binary' | 'json' | 'string' | 'ordered-binary' }>;

export type SubDatabaseName = keyof typeof SUB_DATABASES;

/** A key part: lmdb-js orders arrays of these element by element (ordered-binary). */
export type KeyPart = string | number | boolean;

/** The key of tenant data: the tenant id always comes first, so a tenant's keys form one range. */
export function tenantKey(tenantId: string, ...parts: KeyPart[]): KeyPart[] {
  if (tenantId.length === 0) throw new Error('tenantKey needs a tenant id');
  return [tenantId, ...parts];
}

/** The first and last possible key of a tenant's range (for getRange / deletes). */
export function tenantRange(tenantId: string, ...prefix: KeyPart[]): { start: KeyPart[]; end: KeyPart[] } {
  // In ordered-binary, an array that extends the prefix sorts after it and before prefix + [Buffer 0xff…];
  // a trailing string of U+FFFF sorts after any id we generate.
  return { start: [tenantId, ...prefix], end: [tenantId, ...prefix, '\uffff'] };
}

/** The tenant of a key read back from a sub-database: lmdb-js gives a one-part key `[tenantId]` back as `tenantId`. */
export function tenantOfKey(key: KeyPart[] | KeyPart): string {
  return String(Array.isArray(key) ? key[0] : key);
}

/**
 * Removes up to `max` keys of a tenant's range from `db` without reading a value (erasure); call inside a
 * write transaction. Returns how many were removed: fewer than `max` means the range is empty now.
 */
export function removeTenantRangeSync(db: Database<unknown, KeyPart[] | string>, tenantId: string, max: number): number {
  const keys = [...db.getKeys({ ...tenantRange(tenantId), limit: max })];
  for (const key of keys) db.removeSync(key);
  return keys.length;
}

/**
 * True for a failed LMDB commit (disk full, I/O error). lmdb-js rejects the write and also a `commitError`
 * promise that nobody else awaits; this marks that one handled so it cannot crash the process.
 */
export function isStorageFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const commitError = (err as { commitError?: Promise<unknown> }).commitError;
  if (commitError && typeof commitError.catch === 'function') commitError.catch(() => {});
  const code = (err as { code?: unknown }).code;
  return (
    err.message.startsWith('Commit failed') ||
    code === 'ENOSPC' ||
    code === 'EIO' ||
    code === 5 ||
    code === 'MDB_MAP_FULL' ||
    /MDB_MAP_FULL|No space left|Input\/output error/.test(err.message)
  );
}

export interface StoreOptions {
  /** Upper bound of the database file, bytes. */
  mapSize: number;
}

/** The one LMDB environment of a server and its named sub-databases. */
export class Store {
  readonly root: RootDatabase;
  readonly #dbs = new Map<string, Database>();

  private constructor(root: RootDatabase) {
    this.root = root;
  }

  static open(dir: string, options: StoreOptions): Store {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const root = open({
      path: `${dir}/archivar.mdb`,
      mapSize: options.mapSize,
      maxDbs: 64,
      // Keys are our own arrays and strings; values are msgpack unless a sub-database says otherwise.
      encoding: 'msgpack',
      // Commits are synchronous to disk before `flushed` resolves; see docs/storage.md for the crash test.
      noSync: false,
      compression: false,
    });
    return new Store(root);
  }

  /**
   * Runs `fn` in a write transaction that commits all of its writes or none. lmdb-js's `transaction()`
   * commits whatever the callback wrote before it threw (it is a batch, not a unit); a child transaction
   * is rolled back when the callback throws. Every write that must be all-or-nothing goes through here.
   */
  atomic<T>(fn: () => T): Promise<T> {
    return this.root.childTransaction(fn);
  }

  /** A named sub-database (opened once, then cached). */
  db<V = unknown>(name: SubDatabaseName | `index-${string}` | `${string}`): Database<V, KeyPart[] | string> {
    let db = this.#dbs.get(name);
    if (!db) {
      const spec = (SUB_DATABASES as Record<string, { encoding: string }>)[name];
      db = this.root.openDB({ name, encoding: (spec?.encoding ?? 'msgpack') as 'msgpack' });
      this.#dbs.set(name, db);
    }
    return db as Database<V, KeyPart[] | string>;
  }

  /** Resolves once every committed write is on disk (fsync'd). */
  async flushed(): Promise<void> {
    await Promise.resolve(this.root.flushed).catch((err: unknown) => {
      isStorageFailure(err);
      throw err;
    });
  }

  /**
   * Closes the environment. After a failed commit (disk full) lmdb-js may wait forever for writes that
   * cannot land; after `timeoutMs` we stop waiting and return false. What was committed is safe either
   * way: LMDB never needs a clean close.
   */
  async close(timeoutMs = 5000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([
        Promise.resolve(this.root.close()).then(
          () => true,
          (err: unknown) => {
            if (isStorageFailure(err)) return false;
            throw err;
          },
        ),
        gaveUp,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
