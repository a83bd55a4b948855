import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TermsAcceptance } from '../../src/gen/archivar/v1/accounts.js';
import { Role } from '../../src/gen/archivar/v1/common.js';
import { unary } from '../../src/sdk/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { TERMS } from '../helpers/test-server.js';
import { type AccountsServer, DAY, expectCode, PASSWORD, startAccountsServer } from './helpers.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const CURRENT_TEXT = 'Endbenutzerlizenzvereinbarung, Fassung 2026-01';
const CURRENT: TermsAcceptance = { textVersion: '2026-01', textSha256: sha256(CURRENT_TEXT), channel: 'web' };
const ADMIN_EMAIL = 'ops-terms@archivar.example';
const ADMIN_PASSWORD = 'operator passphrase 42';

const registerAs = (s: AccountsServer, email: string, terms: TermsAcceptance | undefined) =>
  unary(s.anon.accounts.register.bind(s.anon.accounts), { email, password: PASSWORD, firstName: 'T', lastName: 'T', terms });
const loginAs = (s: AccountsServer, email: string, terms: TermsAcceptance | undefined, password = PASSWORD) =>
  unary(s.anon.accounts.login.bind(s.anon.accounts), { email, password, terms });
const consentsOf = (s: AccountsServer, token: string) => {
  const c = s.connectAs(token);
  return unary(c.accounts.listConsents.bind(c.accounts), {}).then((r) => r.records);
};

describe('the end-user licence agreement in force (--terms-version, --terms-file)', () => {
  let s: AccountsServer;
  const files = tempDir('archivar-terms-');
  beforeAll(async () => {
    const eula = path.join(files.path, 'eula.txt');
    fs.writeFileSync(eula, CURRENT_TEXT);
    const adminPassword = path.join(files.path, 'admin-password');
    fs.writeFileSync(adminPassword, `${ADMIN_PASSWORD}\n`, { mode: 0o600 });
    s = await startAccountsServer({
      'terms-version': CURRENT.textVersion,
      'terms-file': eula,
      'admin-email': ADMIN_EMAIL,
      'admin-password-file': adminPassword,
    });
  });
  afterAll(async () => {
    await s.stop();
    files.cleanup();
  });

  it('registers only with the agreement in force, and records only that one as `terms`', async () => {
    const inForce = new RegExp(`version 2026-01, SHA-256 ${CURRENT.textSha256}`);
    await expectCode(registerAs(s, 'old-terms@example.org', TERMS), status.FAILED_PRECONDITION, inForce);
    await expectCode(
      registerAs(s, 'other-text@example.org', { ...CURRENT, textSha256: sha256('another text') }),
      status.FAILED_PRECONDITION,
      /terms\.text_version and terms\.text_sha256 do not name the end-user licence agreement in force/,
    );
    // A malformed agreement is still INVALID_ARGUMENT, and nothing was created for the refused ones.
    await expectCode(registerAs(s, 'bad-terms@example.org', { ...CURRENT, textSha256: 'abc' }), status.INVALID_ARGUMENT);
    await expectCode(loginAs(s, 'old-terms@example.org', undefined), status.UNAUTHENTICATED);
    await registerAs(s, 'old-terms@example.org', CURRENT);

    const owner = await loginAs(s, 'old-terms@example.org', undefined);
    expect((await consentsOf(s, owner.token)).map((r) => [r.purpose, r.textVersion, r.textSha256, r.channel])).toEqual([
      ['terms', CURRENT.textVersion, CURRENT.textSha256, 'web'],
    ]);
    const c = s.connectAs(owner.token);
    const give = (purpose: string, terms: TermsAcceptance) =>
      unary(c.accounts.recordConsent.bind(c.accounts), { purpose, ...terms });
    await expectCode(give('terms', TERMS), status.FAILED_PRECONDITION, inForce);
    // Other purposes name their own texts.
    expect((await give('privacy', TERMS)).record).toMatchObject({ purpose: 'privacy', textVersion: TERMS.textVersion });
  });

  it('a member an owner added has no consent until they agree at their first login, which then needs the agreement', async () => {
    await registerAs(s, 'terms-owner@example.org', CURRENT);
    const owner = await loginAs(s, 'terms-owner@example.org', undefined);
    const oc = s.connectAs(owner.token);
    const added = await unary(oc.accounts.addMember.bind(oc.accounts), {
      email: 'terms-member@example.org',
      password: PASSWORD,
      firstName: 'Mia',
      lastName: 'Mitglied',
      role: Role.ROLE_MEMBER,
    });
    const member = { tenantId: added.user?.tenantId ?? '', id: added.user?.id ?? '' };
    // The owner typed the member's data; they cannot agree for the member, so nothing is recorded for them.
    expect(s.server.app.accounts.consents.list(member.tenantId, member.id)).toEqual([]);

    await expectCode(
      loginAs(s, 'terms-member@example.org', undefined),
      status.FAILED_PRECONDITION,
      /you have not agreed to the end-user licence agreement yet.*in force: version 2026-01/,
    );
    // A wrong password says nothing about consent; no session was made by the refused logins.
    await expectCode(loginAs(s, 'terms-member@example.org', undefined, 'not the password at all'), status.UNAUTHENTICATED);
    await expectCode(loginAs(s, 'terms-member@example.org', TERMS), status.FAILED_PRECONDITION, /in force/);
    await expectCode(loginAs(s, 'terms-member@example.org', { ...CURRENT, channel: 'Web Site' }), status.INVALID_ARGUMENT);
    expect(s.server.app.accounts.sessionsOf(member.tenantId, member.id)).toEqual([]);
    expect(s.server.app.accounts.consents.list(member.tenantId, member.id)).toEqual([]);

    const first = await loginAs(s, 'terms-member@example.org', CURRENT);
    const log = await consentsOf(s, first.token);
    expect(log.map((r) => [r.purpose, r.textVersion, r.textSha256, r.granted, r.channel, Number(r.atMs)])).toEqual([
      ['terms', CURRENT.textVersion, CURRENT.textSha256, true, 'web', s.clock.now()],
    ]);
    expect(log[0]?.userId).toBe(member.id);
    // Later logins need nothing more, and sending the same agreement again records nothing.
    await loginAs(s, 'terms-member@example.org', undefined);
    await loginAs(s, 'terms-member@example.org', CURRENT);
    expect(s.server.app.accounts.consents.list(member.tenantId, member.id)).toHaveLength(1);
    // A revocation is logged and acts for the future (restrict, delete); it does not undo that it was given.
    const mc = s.connectAs(first.token);
    await unary(mc.accounts.revokeConsent.bind(mc.accounts), { purpose: 'terms', channel: 'web' });
    await loginAs(s, 'terms-member@example.org', undefined);
    // Operators are the provider's staff, not its customers: no agreement is asked of them.
    expect((await loginAs(s, ADMIN_EMAIL, undefined, ADMIN_PASSWORD)).user?.role).toBe(Role.ROLE_ADMIN);
  });
});

describe('a change of the agreement in force', () => {
  const data = tempDir('archivar-terms-change-');
  afterAll(() => data.cleanup());

  it('asks no new agreement of users who agreed to an earlier one; an agreement sent at login must be the one in force', async () => {
    const before = await startAccountsServer({}, { dataDir: data.path });
    try {
      // None configured: the server records the agreement a client sends, at registration and at a member's first login.
      await registerAs(before, 'early@example.org', TERMS);
      const owner = await loginAs(before, 'early@example.org', undefined);
      const oc = before.connectAs(owner.token);
      await unary(oc.accounts.addMember.bind(oc.accounts), {
        email: 'early-member@example.org',
        password: PASSWORD,
        firstName: 'M',
        lastName: 'M',
        role: Role.ROLE_MEMBER,
      });
      const refused = await expectCode(loginAs(before, 'early-member@example.org', undefined), status.FAILED_PRECONDITION);
      expect(refused.details).not.toMatch(/in force/);
      await loginAs(before, 'early-member@example.org', TERMS);
    } finally {
      await before.stop();
    }

    const after = await startAccountsServer(
      { 'terms-version': CURRENT.textVersion, 'terms-sha256': CURRENT.textSha256.toUpperCase() },
      { dataDir: data.path },
    );
    try {
      after.clock.advance(DAY); // a new manual clock starts at T0 again; the log is ordered by time
      for (const email of ['early@example.org', 'early-member@example.org']) await loginAs(after, email, undefined);
      await expectCode(loginAs(after, 'early@example.org', TERMS), status.FAILED_PRECONDITION, /in force/);
      const agreed = await loginAs(after, 'early@example.org', CURRENT);
      expect((await consentsOf(after, agreed.token)).map((r) => r.textVersion)).toEqual([TERMS.textVersion, CURRENT.textVersion]);
      await loginAs(after, 'early@example.org', CURRENT);
      expect(await consentsOf(after, agreed.token)).toHaveLength(2);
    } finally {
      await after.stop();
    }
  });
});
