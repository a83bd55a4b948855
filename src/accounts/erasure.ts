import type { AccountsConfig } from '../server/config.js';
import type { Logger } from '../server/logger.js';
import type { KeyPart } from '../store/index.js';
import { addMonthsUtc, type Clock, endOfFollowingYearUtc } from './clock.js';
import type { ConsentLog } from './consent-log.js';
import type { TenantDocuments } from './ports.js';
import { type AccountRecords, RETENTION_TENANT, type StoredLock, type StoredSession, type StoredUser } from './records.js';

export interface ErasureResult {
  /** Records kept under a legal obligation, locked until their period ends. */
  lockedRecords: number;
  /** End of the longest such period; 0 when nothing is kept. */
  lockedUntilMs: number;
}

/**
 * Right to erasure (Art. 17 GDPR). A whole tenant: crypto-shred its key first, then delete documents and
 * every record; invoices and the usage behind them that are still inside their legal retention period are
 * kept but locked (only the retention sweeper reads them, to delete them when the period ends). One member:
 * delete the user, sessions and consent log, and anonymise their usage (the tenant is still billed).
 */
export class Erasure {
  constructor(
    private readonly records: AccountRecords,
    private readonly documents: TenantDocuments,
    private readonly consents: ConsentLog,
    private readonly clock: Clock,
    private readonly config: AccountsConfig,
    private readonly log: Logger,
  ) {}

  async eraseTenant(owner: StoredUser): Promise<ErasureResult> {
    const { tenantId } = owner;
    const r = this.records;
    const now = this.clock.now();
    const locks: StoredLock[] = [];
    const lockedInvoices = new Map<string, number>();
    for (const inv of [...r.invoices.getRange({ start: [tenantId], end: [tenantId, '\uffff'] }).map((e) => e.value)]) {
      const until = addMonthsUtc(inv.sentMs, 12 * this.config.invoiceRetentionYears);
      if (until > now) {
        lockedInvoices.set(inv.id, inv.sentMs);
        locks.push({ tenantId, kind: 'invoice', id: inv.id, lockedUntilMs: until });
      }
    }
    const usageKeys = [...r.usage.getRange({ start: [tenantId], end: [tenantId, '\uffff'] })];
    const deleteUsage: KeyPart[][] = [];
    for (const { key, value } of usageKeys) {
      const sent = lockedInvoices.get(value.invoiceId);
      const until = sent === undefined ? 0 : addMonthsUtc(sent, this.config.usageRetentionMonths);
      if (until > now) locks.push({ tenantId, kind: 'usage', id: value.id, lockedUntilMs: until, usageKey: key as KeyPart[] });
      else deleteUsage.push(key as KeyPart[]);
    }
    if (lockedInvoices.size > 0) {
      // Invoices must name who they were sent to: keep the owner's contact until the end of the following
      // year (TKG/GDPR master data rule), sealed under the retention key because the tenant key goes now.
      const profile = await r.openProfile(owner);
      await r.keyring.ensureTenantKey(RETENTION_TENANT);
      const sealedContact = await r.keyring.sealForTenant(RETENTION_TENANT, Buffer.from(JSON.stringify(profile)), {
        kind: 'locked-contact',
        id: `${tenantId}/${owner.id}`,
      });
      locks.push({ tenantId, kind: 'account', id: owner.id, lockedUntilMs: endOfFollowingYearUtc(now), sealedContact });
    }

    // Crypto-shredding first: from here on no copy of a sealed profile, IMAP password or document is readable.
    await r.keyring.shredTenant(tenantId);
    const documents = await this.documents.deleteTenant(tenantId);

    const users = r.tenantUsers(tenantId);
    const sessionKeys = [...r.userSessions.getKeys({ start: [tenantId], end: [tenantId, '\uffff'] })] as KeyPart[][];
    const lockedInvoiceIds = new Set(lockedInvoices.keys());
    await r.store.atomic(() => {
      for (const key of sessionKeys) {
        r.sessions.remove(String(key[2]));
        r.userSessions.remove(key);
      }
      for (const u of users) {
        r.emails.remove(u.emailKey);
        r.users.remove([tenantId, u.id]);
      }
      for (const key of [...r.consents.getKeys({ start: [tenantId], end: [tenantId, '\uffff'] })]) r.consents.remove(key);
      r.imap.remove([tenantId]);
      // The IMAP import ledger and status (hashed mailbox keys) go with the settings, in this transaction.
      for (const name of ['imapLedger', 'imapStatus'] as const) {
        const db = r.store.db(name);
        for (const key of [...db.getKeys({ start: [tenantId], end: [tenantId, '\uffff'] })]) db.remove(key);
      }
      for (const key of deleteUsage) r.usage.remove(key);
      for (const key of [...r.invoices.getKeys({ start: [tenantId], end: [tenantId, '\uffff'] })] as KeyPart[][]) {
        if (!lockedInvoiceIds.has(String(key[1]))) r.invoices.remove(key);
      }
      for (const lock of locks) r.locks.put([tenantId, lock.kind, lock.id], lock);
      if (locks.length > 0)
        r.tenants.put(tenantId, { id: tenantId, createdMs: r.tenants.get(tenantId)?.createdMs ?? now, erasedMs: now });
      else r.tenants.remove(tenantId);
    });
    await r.store.flushed();
    const lockedUntilMs = locks.reduce((m, l) => Math.max(m, l.lockedUntilMs), 0);
    this.log.info({ tenantId, users: users.length, documents, locked: locks.length }, 'tenant erased');
    return { lockedRecords: locks.length, lockedUntilMs };
  }

  async removeUser(user: StoredUser, sessions: Array<[string, StoredSession]>): Promise<void> {
    const r = this.records;
    const usage = [...r.usage.getRange({ start: [user.tenantId], end: [user.tenantId, '\uffff'] })].filter(
      (e) => e.value.userId === user.id,
    );
    await r.store.atomic(() => {
      for (const [id] of sessions) {
        r.sessions.remove(id);
        r.userSessions.remove([user.tenantId, user.id, id]);
      }
      r.emails.remove(user.emailKey);
      r.users.remove([user.tenantId, user.id]);
      this.consents.removeUser(user.tenantId, user.id);
      // The tenant is still billed for what the member used; who used it is no longer needed.
      for (const { key, value } of usage) r.usage.put(key, { ...value, userId: '' });
    });
    await r.store.flushed();
    this.log.info({ tenantId: user.tenantId, userId: user.id }, 'user erased');
  }
}
