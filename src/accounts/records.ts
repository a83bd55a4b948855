import { createHmac, randomBytes } from 'node:crypto';
import type { Database } from 'lmdb';
import type { KeyPart, Store } from '../store/index.js';
import type { TenantKeyring } from './ports.js';

/**
 * What the accounts part stores, and where. Personal data (e-mail, names, IMAP settings) is sealed with
 * the tenant key before it reaches LMDB, so deleted pages that LMDB does not zero hold only ciphertext and
 * shredding the tenant key makes every copy unreadable. What stays in the clear has no personal content:
 * random ids, roles, times, password hashes, consent purposes, usage amounts.
 */

export type StoredRole = 'owner' | 'member' | 'admin';

export interface StoredUser {
  id: string;
  tenantId: string;
  role: StoredRole;
  /** scrypt$… (src/crypto/password.ts), with its parameters. */
  passwordHash: string;
  /** Sealed JSON of `Profile`. */
  sealedProfile: Buffer;
  /** Key of this user in `accountEmails` (HMAC of the e-mail), to update or delete it. */
  emailKey: string;
  createdMs: number;
  /** Right to restriction (Art. 18 GDPR): no new processing while set. */
  restricted: boolean;
}

export interface Profile {
  email: string;
  firstName: string;
  lastName: string;
}

export interface StoredTenant {
  id: string;
  createdMs: number;
  /** Set when the tenant was erased but records had to be kept (locked); the contract ended then. */
  erasedMs?: number;
}

export interface StoredSession {
  tenantId: string;
  userId: string;
  createdMs: number;
  lastSeenMs: number;
  expiresMs: number;
}

export interface StoredConsent {
  id: string;
  userId: string;
  purpose: string;
  textVersion: string;
  textSha256: string;
  granted: boolean;
  channel: string;
  atMs: number;
}

export interface StoredImap {
  /** Sealed JSON of the settings without the password. */
  sealedSettings: Buffer;
  /** Sealed UTF-8 password; null only if never set. */
  sealedPassword: Buffer | null;
  updatedMs: number;
}

export interface StoredUsage {
  id: string;
  tenantId: string;
  userId: string;
  kind: string;
  quantity: number;
  startMs: number;
  endMs: number;
  invoiceId: string;
}

export interface StoredInvoice {
  id: string;
  tenantId: string;
  startMs: number;
  endMs: number;
  sentMs: number;
  totals: Record<string, number>;
}

export type LockKind = 'account' | 'invoice' | 'usage';

/** A record kept after erasure because the law obliges us to; only the retention sweeper touches it. */
export interface StoredLock {
  tenantId: string;
  kind: LockKind;
  id: string;
  lockedUntilMs: number;
  /** For `usage`: the record's key in `accountUsage`. */
  usageKey?: KeyPart[];
  /** For `account`: the billing contact, sealed under the retention key (the tenant key is gone). */
  sealedContact?: Buffer;
}

/** Pseudo-tenants of the key ring: operators' accounts, and records kept past a tenant's erasure. */
export const OPERATORS_TENANT = 'operators';
export const RETENTION_TENANT = 'retention';
const SERVER_TENANT = 'server';

const EMAIL_KEY_META = 'accounts.emailLookupKey';

export class AccountRecords {
  readonly users: Database<StoredUser, KeyPart[] | string>;
  readonly emails: Database<{ tenantId: string; userId: string }, KeyPart[] | string>;
  readonly tenants: Database<StoredTenant, KeyPart[] | string>;
  readonly sessions: Database<StoredSession, KeyPart[] | string>;
  readonly userSessions: Database<true, KeyPart[] | string>;
  readonly consents: Database<StoredConsent, KeyPart[] | string>;
  readonly imap: Database<StoredImap, KeyPart[] | string>;
  readonly usage: Database<StoredUsage, KeyPart[] | string>;
  readonly invoices: Database<StoredInvoice, KeyPart[] | string>;
  readonly locks: Database<StoredLock, KeyPart[] | string>;
  readonly #emailKey: Buffer;

  private constructor(
    readonly store: Store,
    readonly keyring: TenantKeyring,
    emailKey: Buffer,
  ) {
    this.users = store.db<StoredUser>('accountUsers');
    this.emails = store.db('accountEmails');
    this.tenants = store.db('accountTenants');
    this.sessions = store.db('accountSessions');
    this.userSessions = store.db('accountUserSessions');
    this.consents = store.db('accountConsents');
    this.imap = store.db('accountImap');
    this.usage = store.db('accountUsage');
    this.invoices = store.db('accountInvoices');
    this.locks = store.db('accountLocks');
    this.#emailKey = emailKey;
  }

  /**
   * Opens the records. The e-mail lookup key (an HMAC key, so the index holds no address in the clear and
   * cannot be reversed from the data directory alone) is sealed under the server pseudo-tenant's key.
   */
  static async open(store: Store, keyring: TenantKeyring): Promise<AccountRecords> {
    const meta = store.db<Buffer>('meta');
    const context = { kind: 'email-lookup-key', id: 'v1' };
    await keyring.ensureTenantKey(SERVER_TENANT);
    let sealed = meta.get(EMAIL_KEY_META);
    if (!sealed) {
      const fresh = await keyring.sealForTenant(SERVER_TENANT, randomBytes(32), context);
      await meta.ifNoExists(EMAIL_KEY_META, () => meta.put(EMAIL_KEY_META, fresh));
      sealed = meta.get(EMAIL_KEY_META);
      if (!sealed) throw new Error('could not store the e-mail lookup key');
    }
    const key = await keyring.openForTenant(SERVER_TENANT, Buffer.from(sealed), context);
    return new AccountRecords(store, keyring, key);
  }

  emailKey(lookupForm: string): string {
    return createHmac('sha256', this.#emailKey).update(lookupForm).digest('base64url');
  }

  async sealProfile(tenantId: string, userId: string, profile: Profile): Promise<Buffer> {
    return this.keyring.sealForTenant(tenantId, Buffer.from(JSON.stringify(profile)), { kind: 'profile', id: userId });
  }

  async openProfile(user: StoredUser): Promise<Profile> {
    const plain = await this.keyring.openForTenant(user.tenantId, Buffer.from(user.sealedProfile), {
      kind: 'profile',
      id: user.id,
    });
    return JSON.parse(plain.toString('utf8')) as Profile;
  }

  getUser(tenantId: string, userId: string): StoredUser | undefined {
    return this.users.get([tenantId, userId]);
  }

  /** Every user of a tenant (small: a tenant has a handful of members). */
  tenantUsers(tenantId: string): StoredUser[] {
    return [...this.users.getRange({ start: [tenantId], end: [tenantId, '\uffff'] }).map(({ value }) => value)];
  }
}
