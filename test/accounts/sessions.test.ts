import fs from 'node:fs';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../../src/gen/archivar/v1/common.js';
import { unary } from '../../src/sdk/index.js';
import { TERMS } from '../helpers/test-server.js';
import { type AccountsServer, collect, DAY, expectCode, PASSWORD, startAccountsServer } from './helpers.js';

describe('registration, login and sessions', () => {
  let s: AccountsServer;
  beforeAll(async () => {
    s = await startAccountsServer();
  });
  afterAll(async () => {
    await s.stop();
  });

  const register = (
    req: Partial<{ email: string; password: string; firstName: string; lastName: string; terms: typeof TERMS | undefined }>,
  ) =>
    unary(s.anon.accounts.register.bind(s.anon.accounts), {
      email: 'someone@example.org',
      password: PASSWORD,
      firstName: 'Erika',
      lastName: 'Mustermann',
      terms: TERMS,
      ...req,
    });

  it('registers an owner of a new tenant, logs in, answers whoami and logs out', async () => {
    const user = await s.register('  Anna.Schmidt@Example.ORG ', 'Anna', 'Schmidt');
    expect(user).toMatchObject({
      email: 'Anna.Schmidt@example.org',
      firstName: 'Anna',
      lastName: 'Schmidt',
      role: Role.ROLE_OWNER,
    });
    expect(user.tenantId).toMatch(/^t_/);
    expect(user.id).toMatch(/^u_/);
    // Case of the address does not matter for login.
    const session = await s.login('anna.schmidt@example.org');
    expect(session.token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits, base64url
    const res = await unary(s.anon.accounts.login.bind(s.anon.accounts), {
      email: 'Anna.Schmidt@example.org',
      password: PASSWORD,
      terms: undefined,
    });
    expect(Number(res.expiresMs)).toBe(s.clock.now() + 7 * DAY);
    const me = await unary(session.c.accounts.getProfile.bind(session.c.accounts), {});
    expect(me.user).toMatchObject({ id: user.id, tenantId: user.tenantId, email: 'Anna.Schmidt@example.org' });
    await unary(session.c.accounts.logout.bind(session.c.accounts), {});
    await expectCode(unary(session.c.accounts.getProfile.bind(session.c.accounts), {}), status.UNAUTHENTICATED, /log in again/);
    // The other session of the same user is untouched.
    const other = s.connectAs(res.token);
    await unary(other.accounts.getProfile.bind(other.accounts), {});
  });

  it.each([
    ['no at sign', 'example.org'],
    ['two at signs', 'a@b@example.org'],
    ['no domain dot', 'a@localhost'],
    ['space inside', 'a b@example.org'],
    ['empty', ''],
    ['oversize (300 chars)', `${'a'.repeat(290)}@example.org`],
    ['numeric top-level domain', 'a@example.123'],
  ])('refuses a malformed e-mail (%s) with INVALID_ARGUMENT', async (_what, email) => {
    await expectCode(register({ email }), status.INVALID_ARGUMENT, /email/);
  });

  it.each([
    ['too short', 'short1!'],
    ['the e-mail', 'weak.pw@example.org'],
    ['the local part of the e-mail', 'weak.pw'],
    ['a common password', 'Password123'],
    ['one repeated character', 'zzzzzzzzzzzz'],
    ['oversize (2000 bytes)', 'x'.repeat(2000)],
  ])('refuses a weak password (%s) with INVALID_ARGUMENT', async (_what, password) => {
    await expectCode(register({ email: 'weak.pw@example.org', password }), status.INVALID_ARGUMENT, /password/);
  });

  it.each([
    ['control character', 'Eri\u0007ka'],
    ['newline', 'Erika\nMallory'],
    ['bidi override', 'Erika\u202Eakire'],
    ['oversize (101 chars)', 'E'.repeat(101)],
    ['empty', '   '],
  ])('refuses a first name with %s with INVALID_ARGUMENT', async (_what, firstName) => {
    await expectCode(register({ email: 'names@example.org', firstName }), status.INVALID_ARGUMENT, /first_name/);
  });

  it('records the agreement to the end-user licence agreement with the account, and registers no one without it', async () => {
    await expectCode(
      register({ email: 'no-terms@example.org', terms: undefined }),
      status.INVALID_ARGUMENT,
      /terms are required/,
    );
    await expectCode(
      register({ email: 'no-terms@example.org', terms: { ...TERMS, textSha256: 'abc' } }),
      status.INVALID_ARGUMENT,
      /terms\.text_sha256/,
    );
    await expectCode(
      register({ email: 'no-terms@example.org', terms: { ...TERMS, textVersion: '' } }),
      status.INVALID_ARGUMENT,
      /terms\.text_version/,
    );
    await expectCode(
      register({ email: 'no-terms@example.org', terms: { ...TERMS, channel: 'Web Form' } }),
      status.INVALID_ARGUMENT,
      /terms\.channel/,
    );
    // None of those made an account.
    await expectCode(s.login('no-terms@example.org'), status.UNAUTHENTICATED);

    const registeredAt = s.clock.now();
    const user = await s.register('terms@example.org');
    const a = await s.login('terms@example.org');
    const log = await unary(a.c.accounts.listConsents.bind(a.c.accounts), {});
    expect(log.records).toEqual([
      {
        id: expect.stringMatching(/^c_/),
        userId: user.id,
        purpose: 'terms',
        textVersion: TERMS.textVersion,
        textSha256: TERMS.textSha256,
        granted: true,
        channel: TERMS.channel,
        atMs: BigInt(registeredAt),
      },
    ]);
    // A duplicate registration leaves no second grant behind.
    await expectCode(register({ email: 'terms@example.org' }), status.ALREADY_EXISTS);
    expect((await unary(a.c.accounts.listConsents.bind(a.c.accounts), {})).records).toHaveLength(1);
  });

  it('accepts names from any script, 100 characters long', async () => {
    const user = await s.register('unicode@example.org', 'Ørjan-Łukasz', 'Müller-Lüdenscheidt'.padEnd(100, 'x'));
    expect(user.firstName).toBe('Ørjan-Łukasz');
  });

  it('refuses a duplicate registration with ALREADY_EXISTS, whatever the case of the address', async () => {
    await s.register('dup@example.org');
    await expectCode(register({ email: 'dup@example.org' }), status.ALREADY_EXISTS, /already exists/);
    await expectCode(register({ email: 'DUP@EXAMPLE.ORG' }), status.ALREADY_EXISTS);
  });

  it('answers an unknown e-mail exactly like a wrong password', async () => {
    await s.register('known@example.org');
    const wrong = await expectCode(s.login('known@example.org', 'not the password at all'), status.UNAUTHENTICATED);
    const unknown = await expectCode(s.login('unknown@example.org', 'not the password at all'), status.UNAUTHENTICATED);
    expect(unknown.details).toBe(wrong.details);
    expect(wrong.details).toBe('wrong e-mail or password');
  });

  it('refuses a forged token with UNAUTHENTICATED', async () => {
    const forged = s.connectAs('A'.repeat(43));
    await expectCode(unary(forged.accounts.getProfile.bind(forged.accounts), {}), status.UNAUTHENTICATED);
    const anonymous = s.anon;
    await expectCode(unary(anonymous.accounts.getProfile.bind(anonymous.accounts), {}), status.UNAUTHENTICATED);
  });

  it('ends a session at its absolute expiry, and after the idle timeout', async () => {
    const a = await s.signUp('expiry@example.org');
    // Keep it busy for 7 days: never idle, but expired at 7 days.
    for (let i = 0; i < 23; i++) {
      s.clock.advance(7 * 3_600_000);
      await unary(a.c.accounts.getProfile.bind(a.c.accounts), {});
    }
    s.clock.advance(7 * 3_600_000);
    await expectCode(unary(a.c.accounts.getProfile.bind(a.c.accounts), {}), status.UNAUTHENTICATED);

    const b = await s.login('expiry@example.org');
    s.clock.advance(8 * 3_600_000 - 1000);
    await unary(b.c.accounts.getProfile.bind(b.c.accounts), {});
    s.clock.advance(8 * 3_600_000 - 1000);
    await unary(b.c.accounts.getProfile.bind(b.c.accounts), {});
    s.clock.advance(8 * 3_600_000);
    await expectCode(unary(b.c.accounts.getProfile.bind(b.c.accounts), {}), status.UNAUTHENTICATED);
  });

  it('changing the password ends every other session and needs the current password', async () => {
    const one = await s.signUp('passwd@example.org');
    const two = await s.login('passwd@example.org');
    const three = await s.login('passwd@example.org');
    const change = (current: string, next: string) =>
      unary(one.c.accounts.changePassword.bind(one.c.accounts), { currentPassword: current, newPassword: next });
    await expectCode(change('wrong password here', 'a brand new passphrase'), status.PERMISSION_DENIED);
    await expectCode(change(PASSWORD, 'qwertzuiop'), status.INVALID_ARGUMENT, /new_password/);
    const res = await change(PASSWORD, 'a brand new passphrase');
    expect(res.sessionsEnded).toBe(2);
    await unary(one.c.accounts.getProfile.bind(one.c.accounts), {});
    await expectCode(unary(two.c.accounts.getProfile.bind(two.c.accounts), {}), status.UNAUTHENTICATED);
    await expectCode(unary(three.c.accounts.getProfile.bind(three.c.accounts), {}), status.UNAUTHENTICATED);
    await expectCode(s.login('passwd@example.org'), status.UNAUTHENTICATED);
    await s.login('passwd@example.org', 'a brand new passphrase');
  });

  it('corrects the profile; a new e-mail needs the current password and must be free', async () => {
    const a = await s.signUp('profile@example.org');
    await s.register('taken@example.org');
    const update = (req: Partial<{ firstName: string; lastName: string; email: string; currentPassword: string }>) =>
      unary(a.c.accounts.updateProfile.bind(a.c.accounts), {
        firstName: '',
        lastName: '',
        email: '',
        currentPassword: '',
        ...req,
      });
    const named = await update({ firstName: 'Eva', lastName: 'Musterfrau' });
    expect(named.user).toMatchObject({ firstName: 'Eva', lastName: 'Musterfrau', email: 'profile@example.org' });
    await expectCode(update({ lastName: 'x'.repeat(101) }), status.INVALID_ARGUMENT);
    await expectCode(update({ firstName: 'Eva\u0000' }), status.INVALID_ARGUMENT);
    await expectCode(update({ email: 'new@example.org' }), status.INVALID_ARGUMENT, /current_password/);
    await expectCode(update({ email: 'new@example.org', currentPassword: 'not my password!' }), status.PERMISSION_DENIED);
    await expectCode(update({ email: 'Taken@example.org', currentPassword: PASSWORD }), status.ALREADY_EXISTS);
    await expectCode(update({ email: 'not-an-address', currentPassword: PASSWORD }), status.INVALID_ARGUMENT);
    const moved = await update({ email: 'new@example.org', currentPassword: PASSWORD });
    expect(moved.user?.email).toBe('new@example.org');
    await expectCode(s.login('profile@example.org'), status.UNAUTHENTICATED);
    await s.login('new@example.org');
  });

  it('owners manage members; members get PERMISSION_DENIED on owner-only calls', async () => {
    const owner = await s.signUp('owner@example.org');
    const add = (c: typeof owner.c, email: string, role = Role.ROLE_MEMBER) =>
      unary(c.accounts.addMember.bind(c.accounts), { email, password: PASSWORD, firstName: 'Max', lastName: 'Muster', role });
    const added = await add(owner.c, 'member@example.org');
    expect(added.user).toMatchObject({ tenantId: owner.user.tenantId, role: Role.ROLE_MEMBER });
    await expectCode(add(owner.c, 'member@example.org'), status.ALREADY_EXISTS);
    await expectCode(add(owner.c, 'admin-role@example.org', Role.ROLE_ADMIN), status.INVALID_ARGUMENT);
    const member = await s.login('member@example.org');
    const members = await unary(member.c.accounts.listMembers.bind(member.c.accounts), {});
    expect(members.members.map((m) => m.email).sort()).toEqual(['member@example.org', 'owner@example.org']);

    await expectCode(add(member.c, 'sneaky@example.org'), status.PERMISSION_DENIED);
    await expectCode(
      unary(member.c.accounts.removeMember.bind(member.c.accounts), { userId: owner.user.id }),
      status.PERMISSION_DENIED,
    );
    await expectCode(
      unary(member.c.accounts.setImapSettings.bind(member.c.accounts), { settings: undefined, password: '' }),
      status.PERMISSION_DENIED,
    );
    await expectCode(
      unary(member.c.accounts.deleteAccount.bind(member.c.accounts), { password: PASSWORD, deleteTenant: true }),
      status.PERMISSION_DENIED,
    );

    await expectCode(
      unary(owner.c.accounts.removeMember.bind(owner.c.accounts), { userId: owner.user.id }),
      status.FAILED_PRECONDITION,
    );
    await expectCode(unary(owner.c.accounts.removeMember.bind(owner.c.accounts), { userId: 'u_nobody' }), status.NOT_FOUND);
    await unary(owner.c.accounts.removeMember.bind(owner.c.accounts), { userId: member.user.id });
    // Token of a deleted user.
    await expectCode(unary(member.c.accounts.getProfile.bind(member.c.accounts), {}), status.UNAUTHENTICATED);
    await expectCode(s.login('member@example.org'), status.UNAUTHENTICATED);
  });

  it('keeps tenants apart: another tenant sees neither members nor usage, and cannot remove them', async () => {
    const a = await s.signUp('tenant-a@example.org');
    const b = await s.signUp('tenant-b@example.org');
    await s.server.app.accounts.usage.record({
      tenantId: a.user.tenantId,
      userId: a.user.id,
      kind: 'searches',
      quantity: 3,
      startMs: s.clock.now(),
      endMs: s.clock.now(),
    });
    const bMembers = await unary(b.c.accounts.listMembers.bind(b.c.accounts), {});
    expect(bMembers.members.map((m) => m.id)).toEqual([b.user.id]);
    await expectCode(unary(b.c.accounts.removeMember.bind(b.c.accounts), { userId: a.user.id }), status.NOT_FOUND);
    const bUsage = await unary(b.c.accounts.listUsage.bind(b.c.accounts), { range: undefined, pageSize: 0, cursor: '' });
    expect(bUsage.records).toEqual([]);
    const aUsage = await unary(a.c.accounts.listUsage.bind(a.c.accounts), { range: undefined, pageSize: 0, cursor: '' });
    expect(aUsage.records).toHaveLength(1);
    // B's profile is B's, whatever it asks.
    const me = await unary(b.c.accounts.getProfile.bind(b.c.accounts), {});
    expect(me.user?.id).toBe(b.user.id);
  });

  it('restriction (the account is locked): export and delete answer FAILED_PRECONDITION until it is lifted', async () => {
    const a = await s.signUp('restricted@example.org');
    const set = (restricted: boolean) => unary(a.c.accounts.setProcessingRestriction.bind(a.c.accounts), { restricted });
    expect((await set(true)).user?.processingRestricted).toBe(true);
    expect(s.server.app.accounts.isProcessingRestricted(a.user.tenantId, a.user.id)).toBe(true);
    await expectCode(
      collect(a.c.accounts.exportMyData({ includeDocuments: false, archiveFormat: '' })),
      status.FAILED_PRECONDITION,
    );
    await expectCode(
      unary(a.c.accounts.deleteAccount.bind(a.c.accounts), { password: PASSWORD, deleteTenant: false }),
      status.FAILED_PRECONDITION,
    );
    await set(false);
    expect((await collect(a.c.accounts.exportMyData({ includeDocuments: false, archiveFormat: '' }))).byteLength).toBeGreaterThan(
      0,
    );
  });

  it('writes no session token and no password into the data directory', async () => {
    const a = await s.signUp('secrets@example.org', { password: 'unique-password-marker-77' });
    await s.server.app.store.flushed();
    const files = fs.readdirSync(s.dataDir).map((f) => fs.readFileSync(path.join(s.dataDir, f)));
    for (const bytes of files) {
      expect(bytes.includes(Buffer.from(a.token))).toBe(false);
      expect(bytes.includes(Buffer.from('unique-password-marker-77'))).toBe(false);
      expect(bytes.includes(Buffer.from('secrets@example.org'))).toBe(false);
    }
  });
});

describe('login rate limits and timing', () => {
  let s: AccountsServer;
  beforeAll(async () => {
    s = await startAccountsServer({ 'login-max-per-email': '3', 'login-max-per-peer': '20', 'scrypt-log-n': '13' });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('limits failed logins per e-mail, also for the right password, until the window passes', async () => {
    await s.register('limited@example.org');
    for (let i = 0; i < 3; i++) await expectCode(s.login('limited@example.org', 'wrong password here'), status.UNAUTHENTICATED);
    await expectCode(s.login('limited@example.org'), status.RESOURCE_EXHAUSTED);
    // The same for an unknown address: the limit does not tell them apart.
    for (let i = 0; i < 3; i++) await expectCode(s.login('ghost@example.org', 'wrong password here'), status.UNAUTHENTICATED);
    await expectCode(s.login('ghost@example.org', 'wrong password here'), status.RESOURCE_EXHAUSTED);
    s.clock.advance(15 * 60_000);
    await s.login('limited@example.org');
  });

  it('takes about the same time for an unknown e-mail as for a wrong password', async () => {
    await s.register('timing@example.org');
    s.clock.advance(15 * 60_000);
    const time = async (email: string) => {
      const started = process.hrtime.bigint();
      await expectCode(s.login(email, 'wrong password here'), status.UNAUTHENTICATED);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 4; i++) {
      s.clock.advance(15 * 60_000); // past the failed-login window, which allows three
      known.push(await time('timing@example.org'));
      unknown.push(await time(`nobody${i}@example.org`));
    }
    // Both run one scrypt of the same cost (~2^13); without the dummy hash, unknown would be ~0 ms. The
    // fastest of each: other test files on the same cores only ever add time (a mean of two samples was
    // once 22 vs 71 ms in a full run).
    expect(Math.min(...unknown)).toBeGreaterThan(Math.min(...known) * 0.4);
  });

  it('limits registrations per client address', async () => {
    const limited = await startAccountsServer({ 'register-max-per-peer': '2' });
    try {
      await limited.register('r1@example.org');
      await limited.register('r2@example.org');
      await expectCode(limited.register('r3@example.org'), status.RESOURCE_EXHAUSTED);
      limited.clock.advance(15 * 60_000);
      await limited.register('r3@example.org');
    } finally {
      await limited.stop();
    }
  });

  it('limits attempts per client address', async () => {
    s.clock.advance(15 * 60_000);
    let code = 0;
    for (let i = 0; i < 25 && code !== status.RESOURCE_EXHAUSTED; i++) {
      const err = await s.login(`peer${i}@example.org`, 'wrong password here').catch((e: { code: number }) => e);
      code = (err as { code: number }).code;
    }
    expect(code).toBe(status.RESOURCE_EXHAUSTED);
    await expectCode(s.login('timing@example.org'), status.RESOURCE_EXHAUSTED, /address/);
  });
});
