import fs from 'node:fs/promises';
import { dummyVerify, hashPassword, needsRehash, type ScryptParams, verifyPassword } from '../crypto/password.js';
import type { Principal, SessionVerifier } from '../server/call-context.js';
import type { AccountsConfig } from '../server/config.js';
import {
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  notFound,
  permissionDenied,
  resourceExhausted,
  unauthenticated,
} from '../server/errors.js';
import type { Logger } from '../server/logger.js';
import type { Store } from '../store/index.js';
import type { Clock } from './clock.js';
import { ConsentLog, TERMS_PURPOSE } from './consent-log.js';
import { type ExportOptions, type ExportRequester, exportMyData, parseArchiveFormat } from './data-export.js';
import { Erasure, type ErasureResult } from './erasure.js';
import { newId, newSessionToken, sessionIdOf } from './ids.js';
import { ImapSettingsStore } from './imap-settings.js';
import { type MailImports, NO_MAIL_IMPORTS, type TenantDocuments, type TenantKeyring } from './ports.js';
import { peerAddress, RateLimiter } from './rate-limiter.js';
import {
  AccountRecords,
  OPERATORS_TENANT,
  type Profile,
  type StoredRole,
  type StoredSession,
  type StoredUser,
} from './records.js';
import { RetentionSweeper } from './retention.js';
import { UsageLedger } from './usage-ledger.js';
import { checkPasswordInput, checkPasswordPolicy, emailLookupForm, normaliseEmail, validateName } from './validation.js';

/** A user as the API shows it: profile opened, no password hash. */
export interface UserView {
  id: string;
  tenantId: string;
  email: string;
  firstName: string;
  lastName: string;
  role: StoredRole;
  createdMs: number;
  restricted: boolean;
}

export interface AccountsDeps {
  store: Store;
  keyring: TenantKeyring;
  documents: TenantDocuments;
  /** The IMAP import's status, for the export (default: none). */
  mailImports?: MailImports;
  clock: Clock;
  config: AccountsConfig;
  log: Logger;
}

export interface NewUser {
  email: string;
  password: string;
  firstName: string;
  lastName: string;
}

/** Whose data an erasure removed: one user, or the whole tenant. */
export interface ErasedAccount {
  tenantId: string;
  userId: string;
  tenantErased: boolean;
}

/** The end-user licence agreement a registering user agreed to (recorded as consent purpose `terms`). */
export interface TermsAcceptance {
  textVersion: string;
  textSha256: string;
  channel: string;
}

/**
 * The accounts domain: users and tenants, sessions, profile, members, restriction; and, through its
 * parts, consent, IMAP settings, usage and billing, export, erasure and retention. Every method takes the
 * tenant from the authenticated principal, never from a request.
 */
export class Accounts implements SessionVerifier {
  readonly consents: ConsentLog;
  readonly imap: ImapSettingsStore;
  readonly usage: UsageLedger;
  readonly erasure: Erasure;
  readonly retention: RetentionSweeper;
  readonly #records: AccountRecords;
  readonly #deps: AccountsDeps;
  readonly #scrypt: ScryptParams;
  readonly #loginPerEmail: RateLimiter;
  readonly #loginPerPeer: RateLimiter;
  readonly #registerPerPeer: RateLimiter;
  readonly #touchEveryMs: number;

  private constructor(records: AccountRecords, deps: AccountsDeps) {
    this.#records = records;
    this.#deps = deps;
    const { config, clock } = deps;
    this.#scrypt = { ...config.scrypt, saltBytes: 16, hashBytes: 32 };
    this.#loginPerEmail = new RateLimiter(clock, config.loginMaxPerEmail, config.rateWindowMs);
    this.#loginPerPeer = new RateLimiter(clock, config.loginMaxPerPeer, config.rateWindowMs);
    this.#registerPerPeer = new RateLimiter(clock, config.registerMaxPerPeer, config.rateWindowMs);
    // Writing lastSeen on every call would turn every RPC into a write; a tenth of the idle time is precise enough.
    this.#touchEveryMs = Math.min(60_000, Math.floor(config.sessionIdleMs / 10));
    this.consents = new ConsentLog(records, clock, config.terms);
    this.imap = new ImapSettingsStore(records, clock);
    this.usage = new UsageLedger(records, clock);
    this.erasure = new Erasure(records, deps.documents, this.consents, clock, config, deps.log);
    this.retention = new RetentionSweeper(records, clock, config, deps.log);
  }

  static async open(deps: AccountsDeps): Promise<Accounts> {
    const records = await AccountRecords.open(deps.store, deps.keyring);
    return new Accounts(records, deps);
  }

  /** Starts the scheduled retention sweeper (if configured). */
  start(): void {
    this.retention.start();
  }

  close(): void {
    this.retention.stop();
  }

  // ---- registration, login, sessions

  /**
   * Registering is consenting to the end-user licence agreement (statement, section 1), and consent is
   * logged (section 7): the grant is written with the user, so no account exists without it.
   */
  async register(input: NewUser, terms: TermsAcceptance | undefined, peer: string): Promise<UserView> {
    if (!terms) {
      throw invalidArgument(
        'terms are required: registering means agreeing to the end-user licence agreement; send its text_version and text_sha256',
      );
    }
    if (!this.#registerPerPeer.take(peerAddress(peer)))
      throw resourceExhausted('too many registrations from this address; try later');
    return this.#createUser(input, newId('t'), 'owner', true, terms);
  }

  async #createUser(
    input: NewUser,
    tenantId: string,
    role: StoredRole,
    newTenant: boolean,
    terms?: TermsAcceptance,
  ): Promise<UserView> {
    const email = normaliseEmail(input.email);
    const firstName = validateName(input.firstName, 'first_name');
    const lastName = validateName(input.lastName, 'last_name');
    checkPasswordPolicy(input.password, email);
    const userId = newId('u');
    const consent = terms && this.consents.newGrant(userId, { purpose: TERMS_PURPOSE, ...terms }, 'terms.');
    const { keyring } = this.#records;
    // Hash before looking the e-mail up, so a taken address does not answer faster.
    const passwordHash = await hashPassword(input.password, this.#scrypt);
    await keyring.ensureTenantKey(tenantId);
    const profile: Profile = { email, firstName, lastName };
    const user: StoredUser = {
      id: userId,
      tenantId,
      role,
      passwordHash,
      sealedProfile: await this.#records.sealProfile(tenantId, userId, profile),
      emailKey: this.#records.emailKey(emailLookupForm(email)),
      createdMs: this.#deps.clock.now(),
      restricted: false,
    };
    const created = await this.#records.store.atomic(() => {
      if (this.#records.emails.get(user.emailKey)) return false;
      this.#records.emails.put(user.emailKey, { tenantId, userId });
      this.#records.users.put([tenantId, userId], user);
      if (consent) this.consents.putNew(tenantId, consent);
      if (newTenant) this.#records.tenants.put(tenantId, { id: tenantId, createdMs: user.createdMs });
      return true;
    });
    if (!created) {
      if (newTenant) await keyring.shredTenant(tenantId);
      throw alreadyExists('an account with this e-mail address already exists');
    }
    return view(user, profile);
  }

  /**
   * Same answer and the same work (one scrypt) for an unknown e-mail and a wrong password. A user who never
   * agreed to the end-user licence agreement (a member an owner added: the owner cannot consent for them)
   * agrees here, at their first login, before any session exists (statement, sections 1 and 7); `terms`
   * sent by anyone else is recorded when it is not the agreement already in force for them.
   */
  async login(
    emailRaw: string,
    password: string,
    peer: string,
    terms?: TermsAcceptance,
  ): Promise<{ token: string; expiresMs: number; user: UserView }> {
    checkPasswordInput(password);
    const email = normaliseEmail(emailRaw);
    const emailKey = this.#records.emailKey(emailLookupForm(email));
    const entry = this.#records.emails.get(emailKey);
    // Refused logins are security events an operator must be able to see; logged by random ids only
    // (no address, no e-mail: docs/privacy.md), `account: null` for an address without one.
    const refused = (reason: string) =>
      this.#deps.log.warn({ tenantId: entry?.tenantId ?? null, account: entry?.userId ?? null, reason }, 'login refused');
    if (!this.#loginPerPeer.take(peerAddress(peer))) {
      refused('too many attempts from the client address');
      throw resourceExhausted('too many login attempts from this address; try later');
    }
    if (this.#loginPerEmail.blocked(emailKey)) {
      refused('too many failed logins for the account');
      throw resourceExhausted('too many failed logins for this account; try later');
    }
    const user = entry ? this.#records.getUser(entry.tenantId, entry.userId) : undefined;
    const ok = user ? await verifyPassword(password, user.passwordHash, this.#scrypt) : await dummyVerify(password, this.#scrypt);
    if (!ok || !user) {
      this.#loginPerEmail.take(emailKey);
      refused(user ? 'wrong password' : 'no account');
      throw unauthenticated('wrong e-mail or password');
    }
    this.#loginPerEmail.reset(emailKey);
    const consent = this.#termsAtLogin(user, terms);
    if (needsRehash(user.passwordHash, this.#scrypt)) {
      const passwordHash = await hashPassword(password, this.#scrypt);
      await this.#records.users.put([user.tenantId, user.id], { ...user, passwordHash });
    }
    const token = newSessionToken();
    const now = this.#deps.clock.now();
    const session: StoredSession = {
      tenantId: user.tenantId,
      userId: user.id,
      createdMs: now,
      lastSeenMs: now,
      expiresMs: now + this.#deps.config.sessionMaxAgeMs,
    };
    const sessionId = sessionIdOf(token);
    await this.#records.store.atomic(() => {
      this.#records.sessions.put(sessionId, session);
      this.#records.userSessions.put([user.tenantId, user.id, sessionId], true);
      if (consent) this.consents.putNew(user.tenantId, consent);
    });
    return { token, expiresMs: session.expiresMs, user: view(user, await this.#records.openProfile(user)) };
  }

  /** The `terms` grant a login records, if any; FAILED_PRECONDITION for a user who never agreed and sent none. */
  #termsAtLogin(user: StoredUser, terms: TermsAcceptance | undefined) {
    if (user.role === 'admin') return undefined; // operators are the provider's staff, not its customers
    if (!terms) {
      if (this.consents.everGiven(user.tenantId, user.id, TERMS_PURPOSE)) return undefined;
      const current = this.#deps.config.terms;
      throw failedPrecondition(
        `you have not agreed to the end-user licence agreement yet: log in again with terms, the version and SHA-256 of the agreement you were shown${current ? ` (in force: version ${current.textVersion}, SHA-256 ${current.textSha256})` : ''}`,
      );
    }
    const grant = this.consents.newGrant(user.id, { purpose: TERMS_PURPOSE, ...terms }, 'terms.');
    const inForce = this.consents.inForce(user.tenantId, user.id, TERMS_PURPOSE);
    return inForce?.textVersion === grant.textVersion && inForce.textSha256 === grant.textSha256 ? undefined : grant;
  }

  /** The auth interceptor's check: unknown, expired, idle and deleted-user sessions are all null. */
  async verify(token: string): Promise<Principal | null> {
    const sessionId = sessionIdOf(token);
    const session = this.#records.sessions.get(sessionId);
    if (!session) return null;
    const now = this.#deps.clock.now();
    const user = this.#records.getUser(session.tenantId, session.userId);
    if (!user || now >= session.expiresMs || now - session.lastSeenMs >= this.#deps.config.sessionIdleMs) {
      await this.#endSessions([[sessionId, session]]);
      return null;
    }
    if (now - session.lastSeenMs >= this.#touchEveryMs)
      await this.#records.sessions.put(sessionId, { ...session, lastSeenMs: now });
    return { userId: user.id, tenantId: user.tenantId, role: user.role, sessionId };
  }

  async logout(principal: Principal): Promise<void> {
    const session = this.#records.sessions.get(principal.sessionId);
    if (session) await this.#endSessions([[principal.sessionId, session]]);
  }

  async #endSessions(sessions: Array<[string, StoredSession]>): Promise<void> {
    await this.#records.store.atomic(() => {
      for (const [id, s] of sessions) {
        this.#records.sessions.remove(id);
        this.#records.userSessions.remove([s.tenantId, s.userId, id]);
      }
    });
  }

  // ---- profile

  #user(principal: Principal): StoredUser {
    const user = this.#records.getUser(principal.tenantId, principal.userId);
    // The session outlived its user only for the instant of an erasure.
    if (!user) throw unauthenticated('the session is invalid or has expired; log in again');
    return user;
  }

  async profile(principal: Principal): Promise<UserView> {
    const user = this.#user(principal);
    return view(user, await this.#records.openProfile(user));
  }

  async updateProfile(
    principal: Principal,
    change: { firstName: string; lastName: string; email: string; currentPassword: string },
  ): Promise<UserView> {
    const user = this.#user(principal);
    const profile = await this.#records.openProfile(user);
    const next: Profile = {
      firstName: change.firstName === '' ? profile.firstName : validateName(change.firstName, 'first_name'),
      lastName: change.lastName === '' ? profile.lastName : validateName(change.lastName, 'last_name'),
      email: change.email === '' ? profile.email : normaliseEmail(change.email),
    };
    const emailKey = this.#records.emailKey(emailLookupForm(next.email));
    if (emailKey !== user.emailKey) {
      if (change.currentPassword === '') throw invalidArgument('current_password is required to change the e-mail address');
      checkPasswordInput(change.currentPassword, 'current_password');
      if (!(await verifyPassword(change.currentPassword, user.passwordHash, this.#scrypt))) {
        throw permissionDenied('the current password is wrong');
      }
    }
    const updated: StoredUser = {
      ...user,
      emailKey,
      sealedProfile: await this.#records.sealProfile(user.tenantId, user.id, next),
    };
    const ok = await this.#records.store.atomic(() => {
      if (emailKey !== user.emailKey) {
        if (this.#records.emails.get(emailKey)) return false;
        this.#records.emails.remove(user.emailKey);
        this.#records.emails.put(emailKey, { tenantId: user.tenantId, userId: user.id });
      }
      this.#records.users.put([user.tenantId, user.id], updated);
      return true;
    });
    if (!ok) throw alreadyExists('an account with this e-mail address already exists');
    return view(updated, next);
  }

  /** Returns how many other sessions were ended. */
  async changePassword(principal: Principal, current: string, next: string): Promise<number> {
    const user = this.#user(principal);
    checkPasswordInput(current, 'current_password');
    if (!(await verifyPassword(current, user.passwordHash, this.#scrypt)))
      throw permissionDenied('the current password is wrong');
    const { email } = await this.#records.openProfile(user);
    checkPasswordPolicy(next, email, 'new_password');
    const passwordHash = await hashPassword(next, this.#scrypt);
    await this.#records.users.put([user.tenantId, user.id], { ...user, passwordHash });
    const others = this.sessionsOf(user.tenantId, user.id).filter(([id]) => id !== principal.sessionId);
    await this.#endSessions(others);
    return others.length;
  }

  sessionsOf(tenantId: string, userId: string): Array<[string, StoredSession]> {
    const out: Array<[string, StoredSession]> = [];
    for (const key of this.#records.userSessions.getKeys({ start: [tenantId, userId], end: [tenantId, userId, '\uffff'] })) {
      const id = String((key as unknown[])[2]);
      const s = this.#records.sessions.get(id);
      if (s) out.push([id, s]);
    }
    return out;
  }

  async setRestriction(principal: Principal, restricted: boolean): Promise<UserView> {
    const user = { ...this.#user(principal), restricted };
    await this.#records.users.put([user.tenantId, user.id], user);
    return view(user, await this.#records.openProfile(user));
  }

  /** For the documents and IMAP parts: no new processing for a user who asked for restriction. */
  isProcessingRestricted(tenantId: string, userId: string): boolean {
    return this.#records.getUser(tenantId, userId)?.restricted ?? false;
  }

  // ---- members (owners only; the handler checks the role)

  async addMember(principal: Principal, input: NewUser, role: 'owner' | 'member'): Promise<UserView> {
    return this.#createUser(input, principal.tenantId, role, false);
  }

  async listMembers(principal: Principal): Promise<UserView[]> {
    const users = this.#records.tenantUsers(principal.tenantId);
    return Promise.all(users.map(async (u) => view(u, await this.#records.openProfile(u))));
  }

  async removeMember(principal: Principal, userId: string): Promise<void> {
    const target = userId === '' ? undefined : this.#records.getUser(principal.tenantId, userId);
    if (!target) throw notFound('no such member in this tenant');
    const owners = this.#records.tenantUsers(principal.tenantId).filter((u) => u.role === 'owner');
    if (target.role === 'owner' && owners.length === 1) throw failedPrecondition('cannot remove the last owner of the tenant');
    await this.erasure.removeUser(target, this.sessionsOf(target.tenantId, target.id));
  }

  // ---- export and erasure

  exportMyData(principal: Principal, options: ExportOptions, signal: AbortSignal): AsyncIterable<Buffer> {
    const user = this.#user(principal);
    if (user.restricted) throw failedPrecondition('the account is locked (processing restricted); lift the restriction first');
    return this.#export(user, options, 'self', signal);
  }

  /**
   * Right of access on a written request (statement, section 6), run by an operator for a person who cannot or
   * will not log in: what ExportMyData gives them, without the tenant's documents (operators never read those),
   * and also while their processing is restricted (it is their own request).
   */
  async exportOnRequest(
    emailRaw: string,
    format: string,
    signal: AbortSignal,
  ): Promise<{ tenantId: string; userId: string; archive: AsyncIterable<Buffer> }> {
    const user = this.#requestedUser(emailRaw);
    if (user.role === 'admin') throw failedPrecondition('operator accounts are not exported this way');
    parseArchiveFormat(format);
    // The operator's session belongs to another tenant: load this one's record keys (its IMAP status is sealed).
    if (!(await this.#records.keyring.recordsReady(user.tenantId))) throw notFound('no account has this e-mail address');
    return {
      tenantId: user.tenantId,
      userId: user.id,
      archive: this.#export(user, { includeDocuments: false, format }, 'operator', signal),
    };
  }

  #export(user: StoredUser, options: ExportOptions, requestedBy: ExportRequester, signal: AbortSignal): AsyncIterable<Buffer> {
    return exportMyData(
      {
        records: this.#records,
        documents: this.#deps.documents,
        consents: this.consents,
        imap: this.imap,
        mailImports: this.#deps.mailImports ?? NO_MAIL_IMPORTS,
        usage: this.usage,
        sessions: this.sessionsOf(user.tenantId, user.id).map(([, s]) => s),
        clock: this.#deps.clock,
      },
      user,
      { ...options, requestedBy },
      signal,
    );
  }

  async deleteAccount(principal: Principal, password: string, deleteTenant: boolean): Promise<ErasureResult> {
    const user = this.#user(principal);
    checkPasswordInput(password);
    if (!(await verifyPassword(password, user.passwordHash, this.#scrypt))) throw permissionDenied('the password is wrong');
    if (user.restricted) throw failedPrecondition('the account is locked (processing restricted); lift the restriction first');
    if (deleteTenant && user.role !== 'owner') throw permissionDenied('only an owner can delete the tenant');
    const { lockedRecords, lockedUntilMs } = await this.#erase(user, deleteTenant);
    return { lockedRecords, lockedUntilMs };
  }

  /**
   * Erasure on a written request, run by an operator for a person who cannot or will not log in (the
   * statement: a simple message suffices). The operator has checked who asks, so no password; a restriction
   * the person asked for does not stand in the way of their own erasure request.
   */
  async eraseOnRequest(emailRaw: string, deleteTenant: boolean): Promise<ErasureResult & ErasedAccount> {
    const user = this.#requestedUser(emailRaw);
    if (user.role === 'admin') throw failedPrecondition('operator accounts are not erased this way');
    if (deleteTenant && user.role !== 'owner') {
      throw failedPrecondition('delete_tenant needs an owner’s account; this account is a member of its tenant');
    }
    return this.#erase(user, deleteTenant);
  }

  /** The account a written request names, by its e-mail address (in any case). */
  #requestedUser(emailRaw: string): StoredUser {
    const entry = this.#records.emails.get(this.#records.emailKey(emailLookupForm(normaliseEmail(emailRaw))));
    const user = entry ? this.#records.getUser(entry.tenantId, entry.userId) : undefined;
    if (!user) throw notFound('no account has this e-mail address');
    return user;
  }

  /** The whole tenant when asked (owners) or when the user is its last one; otherwise the one user. */
  async #erase(user: StoredUser, deleteTenant: boolean): Promise<ErasureResult & ErasedAccount> {
    const ids = { tenantId: user.tenantId, userId: user.id };
    const others = this.#records.tenantUsers(user.tenantId).filter((u) => u.id !== user.id);
    if (deleteTenant || others.length === 0) return { ...(await this.erasure.eraseTenant(user)), ...ids, tenantErased: true };
    if (user.role === 'owner' && !others.some((u) => u.role === 'owner')) {
      throw failedPrecondition('the tenant has other members: remove them, make one an owner, or set delete_tenant');
    }
    await this.erasure.removeUser(user, this.sessionsOf(user.tenantId, user.id));
    return { lockedRecords: 0, lockedUntilMs: 0, ...ids, tenantErased: false };
  }

  // ---- operators

  /** Creates the operator account from the start-up settings unless one with that e-mail exists. */
  async ensureAdmin(email: string, passwordFile: string): Promise<'created' | 'exists'> {
    const normalised = normaliseEmail(email, 'admin-email');
    if (this.#records.emails.get(this.#records.emailKey(emailLookupForm(normalised)))) return 'exists';
    const password = (await fs.readFile(passwordFile, 'utf8')).replace(/\r?\n$/, '');
    await this.#createUser(
      { email: normalised, password, firstName: 'Archivar', lastName: 'Operator' },
      OPERATORS_TENANT,
      'admin',
      false,
    );
    return 'created';
  }

  documentStats(): Promise<{ documents: number; storedBytes: number }> {
    return this.#deps.documents.stats();
  }

  /** Counts for Admin.GetStats (tenants exclude the operators' pseudo-tenant). */
  counts(): { tenants: number; users: number } {
    let tenants = 0;
    for (const { value } of this.#records.tenants.getRange({})) if (value.erasedMs === undefined) tenants++;
    return { tenants, users: this.#records.users.getCount() };
  }
}

function view(user: StoredUser, profile: Profile): UserView {
  return {
    id: user.id,
    tenantId: user.tenantId,
    email: profile.email,
    firstName: profile.firstName,
    lastName: profile.lastName,
    role: user.role,
    createdMs: user.createdMs,
    restricted: user.restricted,
  };
}
