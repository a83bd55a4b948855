import type { AccountsConfig } from '../server/config.js';
import { failedPrecondition, invalidArgument, notFound } from '../server/errors.js';
import type { Clock } from './clock.js';
import { newId } from './ids.js';
import type { AccountRecords, StoredConsent } from './records.js';
import { validateToken } from './validation.js';

export interface ConsentInput {
  purpose: string;
  textVersion: string;
  textSha256: string;
  channel: string;
}

/** The consent purpose of the end-user licence agreement (agreed to at registration, or at a member's first login). */
export const TERMS_PURPOSE = 'terms';

const PURPOSE = /^[a-z0-9-]+$/;
const VERSION = /^[A-Za-z0-9._+-]+$/;
const CHANNEL = /^[a-z0-9-]+$/;

function validateGrant(input: ConsentInput, field = ''): Omit<StoredConsent, 'id' | 'userId' | 'atMs'> {
  const purpose = validateToken(input.purpose, `${field}purpose`, PURPOSE, 64);
  const textVersion = validateToken(input.textVersion, `${field}text_version`, VERSION, 32);
  if (!/^[0-9a-f]{64}$/.test(input.textSha256)) throw invalidArgument(`${field}text_sha256 must be 64 lower-case hex characters`);
  const channel = validateToken(input.channel, `${field}channel`, CHANNEL, 32);
  return { purpose, textVersion, textSha256: input.textSha256, channel, granted: true };
}

/**
 * The append-only consent log (Art. 7(1) GDPR: we must be able to show consent was given). Records are
 * never changed; a revocation is a new record that takes effect from its time on. When the operator set
 * the agreement in force (`terms`), a `terms` grant must name it: nobody is recorded as agreeing to another.
 */
export class ConsentLog {
  constructor(
    private readonly records: AccountRecords,
    private readonly clock: Clock,
    private readonly terms: AccountsConfig['terms'],
  ) {}

  async give(tenantId: string, userId: string, input: ConsentInput): Promise<StoredConsent> {
    return this.#append(tenantId, userId, this.#checked(input, ''));
  }

  /**
   * A checked grant for a user who does not exist yet (registration) or who is logging in, written with
   * `putNew` in the transaction that creates the user or the session; `field` prefixes the names in error
   * messages.
   */
  newGrant(userId: string, input: ConsentInput, field: string): StoredConsent {
    return { id: newId('c'), userId, atMs: this.clock.now(), ...this.#checked(input, field) };
  }

  #checked(input: ConsentInput, field: string): Omit<StoredConsent, 'id' | 'userId' | 'atMs'> {
    const grant = validateGrant(input, field);
    const current = this.terms;
    if (
      grant.purpose === TERMS_PURPOSE &&
      current !== null &&
      (grant.textVersion !== current.textVersion || grant.textSha256 !== current.textSha256)
    ) {
      throw failedPrecondition(
        `${field}text_version and ${field}text_sha256 do not name the end-user licence agreement in force: version ${current.textVersion}, SHA-256 ${current.textSha256}; show that text and send its version and SHA-256`,
      );
    }
    return grant;
  }

  /** Writes a `newGrant` record inside the write transaction that creates its user or session (its key is new). */
  putNew(tenantId: string, record: StoredConsent): void {
    this.records.consents.put([tenantId, record.userId, record.atMs, record.id], record);
  }

  /** Revokes the consent currently given for `purpose`; NOT_FOUND when none is in force. */
  async revoke(tenantId: string, userId: string, purposeRaw: string, channelRaw: string): Promise<StoredConsent> {
    const purpose = validateToken(purposeRaw, 'purpose', PURPOSE, 64);
    const channel = validateToken(channelRaw, 'channel', CHANNEL, 32);
    const current = this.inForce(tenantId, userId, purpose);
    if (!current) throw notFound(`no consent is in force for purpose "${purpose}"`);
    return this.#append(tenantId, userId, {
      purpose,
      textVersion: current.textVersion,
      textSha256: current.textSha256,
      channel,
      granted: false,
    });
  }

  /** Oldest first. */
  list(tenantId: string, userId: string): StoredConsent[] {
    return [
      ...this.records.consents.getRange({ start: [tenantId, userId], end: [tenantId, userId, '\uffff'] }).map((e) => e.value),
    ];
  }

  /** Whether the user ever agreed to `purpose` (a later revocation does not undo that it was given). */
  everGiven(tenantId: string, userId: string, purpose: string): boolean {
    return this.list(tenantId, userId).some((r) => r.purpose === purpose && r.granted);
  }

  /** The latest grant for `purpose` if no revocation followed it. */
  inForce(tenantId: string, userId: string, purpose: string): StoredConsent | undefined {
    let latest: StoredConsent | undefined;
    for (const r of this.list(tenantId, userId)) if (r.purpose === purpose) latest = r;
    return latest?.granted ? latest : undefined;
  }

  async #append(tenantId: string, userId: string, fields: Omit<StoredConsent, 'id' | 'userId' | 'atMs'>): Promise<StoredConsent> {
    const record: StoredConsent = { id: newId('c'), userId, atMs: this.clock.now(), ...fields };
    // The key holds the time, so the log reads back in order; ifNoExists keeps it append-only.
    const key = [tenantId, userId, record.atMs, record.id];
    const written = await this.records.consents.ifNoExists(key, () => this.records.consents.put(key, record));
    if (!written) throw new Error('consent record key collision');
    return record;
  }

  /** Deletes a user's consent log (erasure of that user); call inside a write transaction. */
  removeUser(tenantId: string, userId: string): number {
    const keys = [...this.records.consents.getKeys({ start: [tenantId, userId], end: [tenantId, userId, '\uffff'] })];
    for (const key of keys) this.records.consents.remove(key);
    return keys.length;
  }
}
