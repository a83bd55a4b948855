import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionIdOf } from '../../src/accounts/ids.js';
import type { StoredSession, StoredUser } from '../../src/accounts/records.js';
import { ImapTlsMode } from '../../src/gen/archivar/v1/accounts.js';
import { Role } from '../../src/gen/archivar/v1/common.js';
import { ArchivarClient, unary } from '../../src/sdk/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import {
  type AccountsServer,
  type CapturedLog,
  captureLog,
  collect,
  expectCode,
  PASSWORD,
  startAccountsServer,
  untar,
} from './helpers.js';

const HOUR = 3_600_000;

/** The stored user record (its scrypt hash is kept in the clear, with its parameters). */
function storedUser(s: AccountsServer, tenantId: string, userId: string): StoredUser | undefined {
  return s.server.app.store.db<StoredUser>('accountUsers').get([tenantId, userId]);
}

function storedSession(s: AccountsServer, token: string): StoredSession | undefined {
  return s.server.app.store.db<StoredSession>('accountSessions').get(sessionIdOf(token));
}

describe('logs never contain passwords, tokens, e-mail addresses or names', () => {
  let s: AccountsServer;
  let captured: CapturedLog;
  beforeAll(async () => {
    captured = captureLog('debug');
    s = await startAccountsServer({ 'imap-rescan-ms': '0' }, { log: captured.log });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('logs at debug level through register, login, profile, password, IMAP, members, failed logins and erasure without a secret', async () => {
    const secrets = {
      password: 'logmarker password one',
      newPassword: 'logmarker password two',
      email: 'Log.Marker-Person@example.org',
      newEmail: 'log.marker-moved@example.org',
      firstName: 'Logfirstmarker',
      lastName: 'Loglastmarker',
      newFirstName: 'Lognewfirstmarker',
      newLastName: 'Lognewlastmarker',
      imapPassword: 'logmarker-imap-secret-4711',
      imapUser: 'logmarker-imap-user@example.org',
      memberEmail: 'log.marker-member@example.org',
      memberFirst: 'Logmemberfirstmarker',
      memberLast: 'Logmemberlastmarker',
      memberPassword: 'logmarker member password',
      ghostEmail: 'log.marker-ghost@example.org',
      wrongPassword: 'logmarker wrong password',
    };
    const tokens: string[] = [];
    const linesAtStart = captured.lines.length;

    await s.register(secrets.email, secrets.firstName, secrets.lastName, secrets.password);
    await expectCode(s.register(secrets.email, 'Other', 'Person', secrets.password), status.ALREADY_EXISTS);
    const a = await s.login(secrets.email, secrets.password);
    tokens.push(a.token);
    await unary(a.c.accounts.getProfile.bind(a.c.accounts), {});
    await unary(a.c.accounts.updateProfile.bind(a.c.accounts), {
      firstName: secrets.newFirstName,
      lastName: secrets.newLastName,
      email: secrets.newEmail,
      currentPassword: secrets.password,
    });
    await expectCode(
      unary(a.c.accounts.updateProfile.bind(a.c.accounts), {
        firstName: '',
        lastName: '',
        email: secrets.email,
        currentPassword: secrets.wrongPassword,
      }),
      status.PERMISSION_DENIED,
    );
    await expectCode(
      unary(a.c.accounts.changePassword.bind(a.c.accounts), {
        currentPassword: secrets.wrongPassword,
        newPassword: secrets.newPassword,
      }),
      status.PERMISSION_DENIED,
    );
    await unary(a.c.accounts.changePassword.bind(a.c.accounts), {
      currentPassword: secrets.password,
      newPassword: secrets.newPassword,
    });
    // A port nothing listens on: the connection test fails, with the password in hand.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closedPort = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const settings = {
      host: '127.0.0.1',
      port: closedPort,
      tls: ImapTlsMode.IMAP_TLS_MODE_NONE,
      user: secrets.imapUser,
      caPem: '',
      folders: ['INBOX'],
      autoImport: false,
      intervalMinutes: 0,
      filterFrom: '',
      filterSubjectContains: '',
      filterHasAttachment: false,
    };
    await unary(a.c.accounts.setImapSettings.bind(a.c.accounts), { settings, password: secrets.imapPassword });
    await unary(a.c.accounts.getImapSettings.bind(a.c.accounts), {});
    expect((await unary(a.c.accounts.testImapSettings.bind(a.c.accounts), {})).ok).toBe(false);
    await unary(a.c.accounts.addMember.bind(a.c.accounts), {
      email: secrets.memberEmail,
      password: secrets.memberPassword,
      firstName: secrets.memberFirst,
      lastName: secrets.memberLast,
      role: Role.ROLE_MEMBER,
    });
    const member = await s.login(secrets.memberEmail, secrets.memberPassword);
    tokens.push(member.token);
    await unary(a.c.accounts.removeMember.bind(a.c.accounts), { userId: member.user.id });
    await expectCode(unary(member.c.accounts.getProfile.bind(member.c.accounts), {}), status.UNAUTHENTICATED);

    // Failed logins: the old password, an unknown address, a wrong password.
    await expectCode(s.login(secrets.newEmail, secrets.password), status.UNAUTHENTICATED);
    await expectCode(s.login(secrets.ghostEmail, secrets.wrongPassword), status.UNAUTHENTICATED);
    await expectCode(s.login(secrets.newEmail, secrets.wrongPassword), status.UNAUTHENTICATED);
    const b = await s.login(secrets.newEmail, secrets.newPassword);
    tokens.push(b.token);
    await unary(a.c.accounts.logout.bind(a.c.accounts), {});
    await expectCode(unary(a.c.accounts.getProfile.bind(a.c.accounts), {}), status.UNAUTHENTICATED);
    await unary(b.c.accounts.deleteAccount.bind(b.c.accounts), { password: secrets.newPassword, deleteTenant: true });
    await captured.next((e) => e.msg === 'tenant erased');

    // The capture works: the flow's own lines are there (the member's and the tenant's erasure, by id).
    const flow = captured.lines.slice(linesAtStart);
    expect(flow.some((l) => l.includes('"user erased"') && l.includes(member.user.id))).toBe(true);
    expect(flow.some((l) => l.includes('"tenant erased"') && l.includes(a.user.tenantId))).toBe(true);
    // Refused logins are logged as security events, by ids only.
    const refused = flow.filter((l) => l.includes('"login refused"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(refused.map((e) => [e.account, e.reason])).toEqual([
      [a.user.id, 'wrong password'],
      [null, 'no account'],
      [a.user.id, 'wrong password'],
    ]);
    expect(refused.every((e) => e.level === 40)).toBe(true);
    expect(captured.log.level).toBe('debug');
    const log = captured.lines.join('\n').toLowerCase();
    const found = [...Object.values(secrets), ...tokens].filter((secret) => log.includes(secret.toLowerCase()));
    expect(found).toEqual([]);
  });
});

describe('start-up against an existing data directory', () => {
  const dirs: Array<{ cleanup(): void }> = [];
  afterAll(() => {
    for (const d of dirs) d.cleanup();
  });
  const dataDir = () => {
    const d = tempDir('archivar-restart-');
    dirs.push(d);
    return d.path;
  };

  it('re-hashes a password stored with weaker scrypt parameters at the next login', async () => {
    const dir = dataDir();
    const weak = await startAccountsServer({ 'scrypt-log-n': '10' }, { dataDir: dir });
    let user: { tenantId: string; id: string };
    try {
      const u = await weak.register('rehash@example.org');
      user = { tenantId: u.tenantId, id: u.id };
      expect(storedUser(weak, user.tenantId, user.id)?.passwordHash).toMatch(/^scrypt\$10\$8\$1\$/);
    } finally {
      await weak.stop();
    }

    const strong = await startAccountsServer({ 'scrypt-log-n': '12', 'scrypt-r': '8' }, { dataDir: dir });
    try {
      const before = storedUser(strong, user.tenantId, user.id)?.passwordHash;
      expect(before).toMatch(/^scrypt\$10\$8\$1\$/);
      // A failed login changes nothing.
      await expectCode(strong.login('rehash@example.org', 'not the password at all'), status.UNAUTHENTICATED);
      expect(storedUser(strong, user.tenantId, user.id)?.passwordHash).toBe(before);
      await strong.login('rehash@example.org');
      const after = storedUser(strong, user.tenantId, user.id)?.passwordHash;
      expect(after).toMatch(/^scrypt\$12\$8\$1\$/);
      expect(after).not.toBe(before);
      // The password still works, the hash is now current (no second re-hash), and a wrong one still fails.
      await strong.login('rehash@example.org');
      expect(storedUser(strong, user.tenantId, user.id)?.passwordHash).toBe(after);
      await expectCode(strong.login('rehash@example.org', 'not the password at all'), status.UNAUTHENTICATED);
    } finally {
      await strong.stop();
    }
  });

  it('operator start-up leaves an existing account unchanged', async () => {
    const dir = dataDir();
    const secrets = tempDir('archivar-admin-');
    dirs.push(secrets);
    const first = path.join(secrets.path, 'first');
    const second = path.join(secrets.path, 'second');
    fs.writeFileSync(first, 'first operator passphrase\n', { mode: 0o600 });
    fs.writeFileSync(second, 'second operator passphrase\n', { mode: 0o600 });
    const admin = { 'admin-email': 'ops-restart@archivar.example' };

    const one = await startAccountsServer({ ...admin, 'admin-password-file': first }, { dataDir: dir });
    try {
      const ops = await one.login('ops-restart@archivar.example', 'first operator passphrase');
      expect(ops.user.role).toBe(Role.ROLE_ADMIN);
    } finally {
      await one.stop();
    }
    const captured = captureLog('info');
    const two = await startAccountsServer({ ...admin, 'admin-password-file': second }, { dataDir: dir, log: captured.log });
    try {
      expect(await captured.next((e) => e.msg === 'operator account from --admin-email')).toMatchObject({ outcome: 'exists' });
      await expectCode(two.login('ops-restart@archivar.example', 'second operator passphrase'), status.UNAUTHENTICATED);
      const ops = await two.login('ops-restart@archivar.example', 'first operator passphrase');
      expect(ops.user.role).toBe(Role.ROLE_ADMIN);
    } finally {
      await two.stop();
    }
  });
});

describe('built-in limits and the last-seen write throttle', () => {
  let s: AccountsServer;
  beforeAll(async () => {
    // No limit overridden: the defaults of `archivar serve`.
    s = await startAccountsServer({}, { defaultLimits: true });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('rate limits by default: 10 failed logins per e-mail, 100 attempts per address, 20 registrations per address, per 15 min', async () => {
    for (let i = 0; i < 20; i++) await s.register(`limit${i}@example.org`);
    await expectCode(s.register('limit20@example.org'), status.RESOURCE_EXHAUSTED, /registrations/);

    for (let i = 0; i < 10; i++) await expectCode(s.login('limit0@example.org', 'wrong password here'), status.UNAUTHENTICATED);
    await expectCode(s.login('limit0@example.org'), status.RESOURCE_EXHAUSTED, /failed logins/);
    // Another address is not affected by limit0's failures (11 attempts from this address so far).
    await s.login('limit1@example.org');
    for (let i = 12; i < 100; i++) {
      await expectCode(s.login(`ghost${i}@example.org`, 'wrong password here'), status.UNAUTHENTICATED);
    }
    await expectCode(s.login('limit2@example.org'), status.RESOURCE_EXHAUSTED, /address/);

    s.clock.advance(15 * 60_000 - 1);
    await expectCode(s.login('limit2@example.org'), status.RESOURCE_EXHAUSTED, /address/);
    await expectCode(s.register('limit20@example.org'), status.RESOURCE_EXHAUSTED, /registrations/);
    s.clock.advance(1);
    await s.login('limit0@example.org');
    await s.register('limit20@example.org');
  });

  it('writes last-seen at most every min(60 s, idle/10): every 60 s at the default idle time of 8 h', async () => {
    s.clock.advance(15 * 60_000);
    const a = await s.signUp('last-seen@example.org');
    const loginMs = s.clock.now();
    const call = () => unary(a.c.accounts.getProfile.bind(a.c.accounts), {});
    const exportedLastSeen = async () => {
      const files = untar(await collect(a.c.accounts.exportMyData({ includeDocuments: false, archiveFormat: 'tar' })));
      return JSON.parse(files.get('export.json')?.toString() ?? '{}').sessions[0].lastSeenMs as number;
    };
    expect(storedSession(s, a.token)?.lastSeenMs).toBe(loginMs);
    s.clock.advance(59_999);
    await call();
    expect(storedSession(s, a.token)?.lastSeenMs).toBe(loginMs);
    expect(await exportedLastSeen()).toBe(loginMs);
    s.clock.advance(1);
    await call();
    expect(storedSession(s, a.token)?.lastSeenMs).toBe(loginMs + 60_000);
    expect(await exportedLastSeen()).toBe(loginMs + 60_000);
    // The idle timeout counts from the last write, not from the last call: a call 59 s after it is not
    // written, so the session ends 8 h after the write although it was used less than 8 h ago.
    const written = s.clock.now();
    s.clock.advance(59_000);
    await call();
    expect(storedSession(s, a.token)?.lastSeenMs).toBe(written);
    s.clock.set(written + 8 * HOUR);
    await expectCode(call(), status.UNAUTHENTICATED);
  });

  it('writes last-seen every idle/10 when that is shorter than 60 s', async () => {
    const short = await startAccountsServer({ 'session-idle-ms': '300000' });
    try {
      const a = await short.signUp('short-idle@example.org');
      const loginMs = short.clock.now();
      const call = () => unary(a.c.accounts.getProfile.bind(a.c.accounts), {});
      short.clock.advance(29_999);
      await call();
      expect(storedSession(short, a.token)?.lastSeenMs).toBe(loginMs);
      short.clock.advance(1);
      await call();
      expect(storedSession(short, a.token)?.lastSeenMs).toBe(loginMs + 30_000);
      // So a session used every 29 s is never written more often, and never idles out while in use.
      for (let i = 0; i < 20; i++) {
        short.clock.advance(29_000);
        await call();
      }
      expect(storedSession(short, a.token)?.lastSeenMs).toBeGreaterThan(short.clock.now() - 30_000);
      short.clock.advance(300_000);
      await expectCode(call(), status.UNAUTHENTICATED);
      expect(storedSession(short, a.token)).toBeUndefined();
    } finally {
      await short.stop();
    }
  });
});

describe('the scheduled retention sweeper', () => {
  let s: AccountsServer;
  let captured: CapturedLog;
  beforeAll(async () => {
    captured = captureLog('info');
    // Real timers drive the schedule (every 50 ms); the manual clock decides what has expired.
    s = await startAccountsServer({ 'retention-interval-ms': '50' }, { log: captured.log });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('removes expired sessions every --retention-interval-ms, without RunRetention', async () => {
    const old = await s.signUp('sweeper-old@example.org');
    s.clock.advance(8 * HOUR - 60_000);
    const fresh = await s.signUp('sweeper-fresh@example.org');
    expect(storedSession(s, old.token)).toBeDefined();
    expect(storedSession(s, fresh.token)).toBeDefined();
    s.clock.advance(60_000);
    // Neither session is used again and nobody calls RunRetention: only the timer can remove the old one.
    const swept = await captured.next((e) => e.msg === 'retention sweep' && Number(e.sessionsDeleted) >= 1);
    expect(swept.sessionsDeleted).toBe(1);
    expect(storedSession(s, old.token)).toBeUndefined();
    const index = s.server.app.store.db('accountUserSessions');
    expect([...index.getKeys({ start: [old.user.tenantId], end: [old.user.tenantId, '\uffff'] })]).toEqual([]);
    expect(storedSession(s, fresh.token)).toBeDefined();
    await unary(fresh.c.accounts.getProfile.bind(fresh.c.accounts), {});
  });
});

describe('restriction of processing (Art. 18)', () => {
  let s: AccountsServer;
  beforeAll(async () => {
    s = await startAccountsServer();
  });
  afterAll(async () => {
    await s.stop();
  });

  it('restriction blocks new uploads and IMAP imports with FAILED_PRECONDITION until it is lifted', async () => {
    const a = await s.signUp('restricted-upload@example.org');
    const client = new ArchivarClient(a.c);
    await unary(a.c.accounts.setImapSettings.bind(a.c.accounts), {
      settings: {
        host: '127.0.0.1',
        port: 9,
        tls: ImapTlsMode.IMAP_TLS_MODE_NONE,
        user: 'restricted',
        caPem: '',
        folders: ['INBOX'],
        autoImport: false,
        intervalMinutes: 0,
        filterFrom: '',
        filterSubjectContains: '',
        filterHasAttachment: false,
      },
      password: 'imap password',
    });
    await unary(a.c.accounts.setProcessingRestriction.bind(a.c.accounts), { restricted: true });
    await expectCode(
      unary(a.c.accounts.triggerImapImport.bind(a.c.accounts), {}),
      status.FAILED_PRECONDITION,
      /^processing is restricted for your account; lift the restriction first$/,
    );
    const err = await expectCode(
      client.upload(Buffer.from('Rechnung 4711\n'), { fileName: 'restricted.txt' }),
      status.FAILED_PRECONDITION,
    );
    expect(err.details).toBe('processing is restricted for this account (Art. 18 GDPR); lift the restriction to upload');
    expect([...s.server.documents.deps.documents.ids(a.user.tenantId)]).toEqual([]);
    const blobs = s.server.app.store.db('blobs');
    expect([...blobs.getKeys({ start: [a.user.tenantId], end: [a.user.tenantId, '\uffff'] })]).toEqual([]);
    // Another user of the same tenant is not restricted.
    await unary(a.c.accounts.addMember.bind(a.c.accounts), {
      email: 'restricted-colleague@example.org',
      password: PASSWORD,
      firstName: 'K',
      lastName: 'K',
      role: Role.ROLE_MEMBER,
    });
    const colleague = await s.login('restricted-colleague@example.org');
    await new ArchivarClient(colleague.c).upload(Buffer.from('Rechnung 4712\n'), { fileName: 'colleague.txt' });

    await unary(a.c.accounts.setProcessingRestriction.bind(a.c.accounts), { restricted: false });
    const up = await client.upload(Buffer.from('Rechnung 4711\n'), { fileName: 'restricted.txt' });
    expect(up.documentId).not.toBe('');
    expect((await unary(a.c.accounts.triggerImapImport.bind(a.c.accounts), {})).runId).not.toBe('');
    await s.server.runner.whenIdle();
  });
});
