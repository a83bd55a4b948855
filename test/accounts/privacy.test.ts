import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMonthsUtc, endOfFollowingYearUtc } from '../../src/accounts/index.js';
import { type ImapSettings, ImapTlsMode } from '../../src/gen/archivar/v1/accounts.js';
import { Role } from '../../src/gen/archivar/v1/common.js';
import { unary } from '../../src/sdk/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli, TERMS } from '../helpers/test-server.js';
import {
  type AccountsServer,
  captureLog,
  collect,
  DAY,
  expectCode,
  filesContaining,
  PASSWORD,
  type Session,
  startAccountsServer,
  untar,
} from './helpers.js';

const ADMIN_EMAIL = 'ops@archivar.example';
const ADMIN_PASSWORD = 'operator passphrase 42';
const SHA = createHash('sha256').update('Datenschutzerklärung v3').digest('hex');

const imapSettings = (over: Partial<ImapSettings> = {}): ImapSettings => ({
  host: 'imap.mailmarker-host.example',
  port: 993,
  tls: ImapTlsMode.IMAP_TLS_MODE_IMPLICIT,
  user: 'mailmarker-user',
  caPem: '',
  folders: ['INBOX', 'Rechnungen'],
  autoImport: true,
  intervalMinutes: 0,
  filterFrom: '',
  filterSubjectContains: 'Rechnung',
  filterHasAttachment: true,
  ...over,
});

describe('consent, IMAP settings, usage, billing, export, erasure and retention', () => {
  let s: AccountsServer;
  let admin: Session;
  // Operator acts are logged (ids only): the test of ExportAccount reads its line.
  const captured = captureLog('info');
  const secrets = tempDir('archivar-admin-');
  beforeAll(async () => {
    const file = path.join(secrets.path, 'admin-password');
    fs.writeFileSync(file, `${ADMIN_PASSWORD}\n`, { mode: 0o600 });
    // Long sessions: these tests jump the clock by months and years.
    s = await startAccountsServer(
      {
        'admin-email': ADMIN_EMAIL,
        'admin-password-file': file,
        'session-idle-ms': String(365 * DAY),
        'session-max-age-ms': String(365 * DAY),
      },
      { log: captured.log },
    );
    admin = await s.login(ADMIN_EMAIL, ADMIN_PASSWORD);
  });
  afterAll(async () => {
    await s.stop();
    secrets.cleanup();
  });

  const usage = (
    tenantId: string,
    userId: string,
    kind: 'bytes_stored' | 'pages_ocr' | 'searches',
    quantity: number,
    atMs: number,
  ) => s.server.app.accounts.usage.record({ tenantId, userId, kind, quantity, startMs: atMs, endMs: atMs + 1000 });
  const listUsage = (c: Session['c'], req: Partial<{ startMs: number; endMs: number; pageSize: number; cursor: string }> = {}) =>
    unary(c.accounts.listUsage.bind(c.accounts), {
      range: { startMs: BigInt(req.startMs ?? 0), endMs: BigInt(req.endMs ?? 0) },
      pageSize: req.pageSize ?? 0,
      cursor: req.cursor ?? '',
    });
  const closePeriod = (c: Session['c'], startMs: number, endMs: number, sendMs = 0) =>
    unary(c.admin.closeBillingPeriod.bind(c.admin), { startMs: BigInt(startMs), endMs: BigInt(endMs), sendMs: BigInt(sendMs) });
  // The operator logs in afresh for each call, so clock jumps never end its session.
  const asAdmin = async () => (await s.login(ADMIN_EMAIL, ADMIN_PASSWORD)).c;
  const runRetention = async () => {
    const c = await asAdmin();
    return unary(c.admin.runRetention.bind(c.admin), {});
  };
  const locked = async () => {
    const c = await asAdmin();
    return (await unary(c.admin.listLockedRecords.bind(c.admin), {})).records;
  };
  const exportTar = async (c: Session['c']) => {
    const files = untar(await collect(c.accounts.exportMyData({ includeDocuments: false, archiveFormat: 'tar' })));
    return JSON.parse(files.get('export.json')?.toString('utf8') ?? 'null');
  };

  it('keeps an append-only consent log: give, revoke (future only), list', async () => {
    const a = await s.signUp('consent@example.org');
    s.clock.advance(1000); // after the registration's grant: the log is ordered by time
    const give = (req: Partial<{ purpose: string; textVersion: string; textSha256: string; channel: string }>) =>
      unary(a.c.accounts.recordConsent.bind(a.c.accounts), {
        purpose: 'privacy',
        textVersion: '3',
        textSha256: SHA,
        channel: 'cli',
        ...req,
      });
    await expectCode(give({ textSha256: 'abc' }), status.INVALID_ARGUMENT, /text_sha256/);
    await expectCode(give({ purpose: 'Privacy Policy' }), status.INVALID_ARGUMENT, /purpose/);
    await expectCode(give({ purpose: 'x'.repeat(65) }), status.INVALID_ARGUMENT, /purpose/);
    await expectCode(give({ channel: '' }), status.INVALID_ARGUMENT, /channel/);
    const revoke = (purpose: string) => unary(a.c.accounts.revokeConsent.bind(a.c.accounts), { purpose, channel: 'web' });
    await expectCode(revoke('privacy'), status.NOT_FOUND);

    const given = await give({});
    expect(given.record).toMatchObject({ purpose: 'privacy', textVersion: '3', textSha256: SHA, granted: true, channel: 'cli' });
    expect(Number(given.record?.atMs)).toBe(s.clock.now());
    s.clock.advance(1000);
    const revoked = await revoke('privacy');
    expect(revoked.record).toMatchObject({
      purpose: 'privacy',
      textVersion: '3',
      textSha256: SHA,
      granted: false,
      channel: 'web',
    });
    await expectCode(revoke('privacy'), status.NOT_FOUND);
    s.clock.advance(1000);
    await give({ textVersion: '4' });
    const list = await unary(a.c.accounts.listConsents.bind(a.c.accounts), {});
    expect(list.records.map((r) => [r.granted, r.textVersion])).toEqual([
      [true, TERMS.textVersion], // the end-user licence agreement, agreed to at registration
      [true, '3'],
      [false, '3'],
      [true, '4'],
    ]);
    expect(list.records.every((r) => r.userId === a.user.id)).toBe(true);
    // The log belongs to its user: another user of another tenant sees only their own agreement.
    const b = await s.signUp('consent-b@example.org');
    expect((await unary(b.c.accounts.listConsents.bind(b.c.accounts), {})).records.map((r) => r.userId)).toEqual([b.user.id]);
  });

  it('stores IMAP settings with a sealed password that no RPC, export or data file shows', async () => {
    const a = await s.signUp('imap@example.org');
    const set = (settings: ImapSettings | undefined, password: string) =>
      unary(a.c.accounts.setImapSettings.bind(a.c.accounts), { settings, password });
    const get = () => unary(a.c.accounts.getImapSettings.bind(a.c.accounts), {});
    await expectCode(get(), status.NOT_FOUND);
    await expectCode(set(imapSettings(), ''), status.INVALID_ARGUMENT, /password is required/);
    await expectCode(set(undefined, 'x'), status.INVALID_ARGUMENT);
    await expectCode(set(imapSettings({ port: 0 }), 'pw'), status.INVALID_ARGUMENT, /port/);
    await expectCode(set(imapSettings({ tls: ImapTlsMode.IMAP_TLS_MODE_NONE }), 'pw'), status.INVALID_ARGUMENT, /loopback/);
    await expectCode(set(imapSettings({ tls: ImapTlsMode.IMAP_TLS_MODE_UNSPECIFIED }), 'pw'), status.INVALID_ARGUMENT, /tls/);
    await expectCode(set(imapSettings({ host: 'bad host!' }), 'pw'), status.INVALID_ARGUMENT, /host/);
    await expectCode(set(imapSettings({ folders: ['IN\u0000BOX'] }), 'pw'), status.INVALID_ARGUMENT, /folders/);
    await expectCode(set(imapSettings({ intervalMinutes: 1441 }), 'pw'), status.INVALID_ARGUMENT, /interval/);
    // Hex digits are not an IP address, and a PEM frame around something that is no certificate is no CA.
    await expectCode(set(imapSettings({ host: 'a'.repeat(300) }), 'pw'), status.INVALID_ARGUMENT, /host/);
    const notACert = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    await expectCode(set(imapSettings({ caPem: notACert }), 'pw'), status.INVALID_ARGUMENT, /ca_pem/);
    for (const host of ['127.0.0.1', '::1', '[2001:db8::1]', 'imap.example.org'])
      expect((await set(imapSettings({ host }), 'pw')).settings?.host).toBe(host);

    const saved = await set(imapSettings(), 'imap-secret-marker-4711');
    expect(saved.settings).toMatchObject({
      host: 'imap.mailmarker-host.example',
      intervalMinutes: 15,
      folders: ['INBOX', 'Rechnungen'],
    });
    const got = await get();
    expect(got).toEqual({ settings: saved.settings, passwordStored: true });
    expect(JSON.stringify(got)).not.toContain('imap-secret-marker-4711');
    // An empty password keeps the stored one.
    await set(imapSettings({ port: 1993 }), '');
    expect((await get()).settings?.port).toBe(1993);
    const creds = await s.server.app.accounts.imap.credentials(a.user.tenantId);
    expect(creds?.password).toBe('imap-secret-marker-4711');
    // Loopback servers may go without TLS (tests, local bridges).
    await set(imapSettings({ host: '127.0.0.1', tls: ImapTlsMode.IMAP_TLS_MODE_NONE, port: 1143 }), '');

    const exported = await exportTar(a.c);
    expect(exported.imapSettings).toMatchObject({ host: '127.0.0.1', passwordStored: true });
    // No import has run yet (the dovecot tests export a mailbox after imports: imap.test.ts).
    expect(exported.imapImport).toEqual({
      lastRunStartMs: 0,
      lastRunEndMs: 0,
      nextRunMs: 0,
      imported: 0,
      failed: 0,
      skipped: 0,
      duplicates: 0,
      lastError: '',
    });
    expect(JSON.stringify(exported)).not.toContain('imap-secret-marker-4711');
    await s.server.app.store.flushed();
    expect(filesContaining(s.dataDir, ['imap-secret-marker-4711', 'mailmarker-user', 'mailmarker-host'])).toEqual([]);
  });

  it('lists usage by range and page, owners for the tenant and members for themselves', async () => {
    const owner = await s.signUp('usage@example.org');
    await unary(owner.c.accounts.addMember.bind(owner.c.accounts), {
      email: 'usage-member@example.org',
      password: PASSWORD,
      firstName: 'M',
      lastName: 'M',
      role: Role.ROLE_MEMBER,
    });
    const member = await s.login('usage-member@example.org');
    const t0 = s.clock.now();
    for (let i = 0; i < 5; i++) await usage(owner.user.tenantId, owner.user.id, 'searches', i + 1, t0 + i * 1000);
    await usage(owner.user.tenantId, member.user.id, 'pages_ocr', 7, t0 + 2500);

    const all = await listUsage(owner.c);
    expect(all.records.map((r) => Number(r.quantity))).toEqual([1, 2, 3, 7, 4, 5]);
    const range = await listUsage(owner.c, { startMs: t0 + 1000, endMs: t0 + 3000 });
    expect(range.records.map((r) => Number(r.quantity))).toEqual([2, 3, 7]);
    const p1 = await listUsage(owner.c, { pageSize: 4 });
    expect(p1.records).toHaveLength(4);
    expect(p1.nextCursor).not.toBe('');
    const p2 = await listUsage(owner.c, { pageSize: 4, cursor: p1.nextCursor });
    expect(p2.records.map((r) => Number(r.quantity))).toEqual([4, 5]);
    expect(p2.nextCursor).toBe('');
    const mine = await listUsage(member.c);
    expect(mine.records.map((r) => [r.kind, Number(r.quantity), r.userId])).toEqual([['pages_ocr', 7, member.user.id]]);
    await expectCode(listUsage(owner.c, { pageSize: 1001 }), status.INVALID_ARGUMENT);
    await expectCode(listUsage(owner.c, { cursor: 'not-a-cursor' }), status.INVALID_ARGUMENT);
    await expectCode(listUsage(owner.c, { startMs: t0 + 10, endMs: t0 }), status.INVALID_ARGUMENT);
    await expect(
      s.server.app.accounts.usage.record({
        tenantId: owner.user.tenantId,
        userId: '',
        kind: 'x' as 'searches',
        quantity: 1,
        startMs: 0,
        endMs: 0,
      }),
    ).rejects.toThrow(/unknown usage kind/);
  });

  it('closes a billing period into invoices; only operators may; usage is deleted six months after sending', async () => {
    const owner = await s.signUp('billing@example.org');
    const start = s.clock.now();
    await usage(owner.user.tenantId, owner.user.id, 'bytes_stored', 1000, start + 10);
    await usage(owner.user.tenantId, owner.user.id, 'bytes_stored', 500, start + 20);
    await usage(owner.user.tenantId, owner.user.id, 'pages_ocr', 3, start + 30);
    await expectCode(closePeriod(owner.c, start, start + DAY), status.PERMISSION_DENIED);
    await expectCode(closePeriod(await asAdmin(), start, start + DAY), status.INVALID_ARGUMENT, /not ended/);
    await expectCode(closePeriod(await asAdmin(), start + DAY, start), status.INVALID_ARGUMENT);
    s.clock.advance(DAY);
    await expectCode(closePeriod(await asAdmin(), start, start + DAY, start + 1000), status.INVALID_ARGUMENT, /send_ms/);
    const closed = await closePeriod(await asAdmin(), start, start + DAY);
    const invoice = closed.invoices.find((i) => i.tenantId === owner.user.tenantId);
    expect(invoice?.totals).toEqual({ bytes_stored: 1500n, pages_ocr: 3n });
    expect(Number(invoice?.sentMs)).toBe(s.clock.now());
    const billed = await listUsage(owner.c, { startMs: start, endMs: start + DAY });
    expect(billed.records.every((r) => r.invoiceId === invoice?.id)).toBe(true);
    expect(
      (await closePeriod(await asAdmin(), start, start + DAY)).invoices.filter((i) => i.tenantId === owner.user.tenantId),
    ).toEqual([]);
    expect((await exportTar(owner.c)).invoices).toEqual([
      expect.objectContaining({ id: invoice?.id, totals: { bytes_stored: 1500, pages_ocr: 3 } }),
    ]);

    const sent = Number(invoice?.sentMs);
    s.clock.set(addMonthsUtc(sent, 6) - 1);
    await runRetention();
    expect((await listUsage(owner.c, { startMs: start, endMs: start + DAY })).records).toHaveLength(3);
    s.clock.set(addMonthsUtc(sent, 6));
    const swept = await runRetention();
    expect(swept.usageRecordsDeleted).toBeGreaterThanOrEqual(3);
    expect((await listUsage(owner.c, { startMs: start, endMs: start + DAY })).records).toEqual([]);
  });

  it('exports everything held about the caller as documented JSON, in tar or zip', async () => {
    const a = await s.signUp('export@example.org', { first: 'Ida', last: 'Export' });
    s.clock.advance(1000);
    await unary(a.c.accounts.recordConsent.bind(a.c.accounts), {
      purpose: 'terms',
      textVersion: '1',
      textSha256: SHA,
      channel: 'cli',
    });
    await usage(a.user.tenantId, a.user.id, 'searches', 2, s.clock.now());
    const json = await exportTar(a.c);
    expect(json).toMatchObject({
      schema: 'archivar.export/v1',
      exportedMs: s.clock.now(),
      account: {
        id: a.user.id,
        tenantId: a.user.tenantId,
        email: 'export@example.org',
        firstName: 'Ida',
        lastName: 'Export',
        role: 'owner',
      },
      consents: [
        { purpose: 'terms', textVersion: TERMS.textVersion, textSha256: TERMS.textSha256, granted: true, channel: 'test' },
        { purpose: 'terms', textVersion: '1', textSha256: SHA, granted: true, channel: 'cli' },
      ],
      usage: [{ kind: 'searches', quantity: 2, invoiceId: '' }],
      invoices: [],
      imapSettings: null,
      imapImport: null,
      documents: [],
    });
    expect(json.sessions).toHaveLength(1);
    expect(JSON.stringify(json)).not.toContain(a.token);
    const zip = await collect(a.c.accounts.exportMyData({ includeDocuments: true, archiveFormat: 'zip' }));
    expect(zip.subarray(0, 4)).toEqual(Buffer.from([0x50, 0x4b, 0x03, 0x04]));
    expect(zip.readUInt32LE(zip.byteLength - 22)).toBe(0x06054b50);
    expect(zip.includes(Buffer.from('"schema": "archivar.export/v1"'))).toBe(true);
    await expectCode(
      collect(a.c.accounts.exportMyData({ includeDocuments: false, archiveFormat: 'rar' })),
      status.INVALID_ARGUMENT,
    );
  });

  it('DeleteAccount: wrong password, owner with members, member alone, whole tenant', async () => {
    const owner = await s.signUp('del-owner@example.org');
    const addMember = (email: string) =>
      unary(owner.c.accounts.addMember.bind(owner.c.accounts), {
        email,
        password: PASSWORD,
        firstName: 'M',
        lastName: 'M',
        role: Role.ROLE_MEMBER,
      });
    await addMember('del-m1@example.org');
    await addMember('del-m2@example.org');
    const m1 = await s.login('del-m1@example.org');
    const m2 = await s.login('del-m2@example.org');
    const del = (c: Session['c'], password: string, deleteTenant = false) =>
      unary(c.accounts.deleteAccount.bind(c.accounts), { password, deleteTenant });
    await expectCode(del(owner.c, 'wrong password!!'), status.PERMISSION_DENIED);
    await expectCode(del(owner.c, PASSWORD), status.FAILED_PRECONDITION, /delete_tenant/);

    await usage(owner.user.tenantId, m1.user.id, 'searches', 9, s.clock.now());
    expect(await del(m1.c, PASSWORD)).toEqual({ lockedRecords: 0, lockedUntilMs: 0n });
    await expectCode(unary(m1.c.accounts.getProfile.bind(m1.c.accounts), {}), status.UNAUTHENTICATED);
    // The tenant is still billed for the member's usage, no longer under their name.
    const left = await listUsage(owner.c);
    expect(left.records.map((r) => [Number(r.quantity), r.userId])).toEqual([[9, '']]);
    expect((await unary(owner.c.accounts.listMembers.bind(owner.c.accounts), {})).members).toHaveLength(2);

    expect(await del(owner.c, PASSWORD, true)).toEqual({ lockedRecords: 0, lockedUntilMs: 0n });
    for (const c of [owner.c, m2.c]) await expectCode(unary(c.accounts.getProfile.bind(c.accounts), {}), status.UNAUTHENTICATED);
    await expectCode(s.login('del-m2@example.org'), status.UNAUTHENTICATED);
    expect(s.server.app.keyring.hasTenantKey(owner.user.tenantId)).toBe(false);
    // The address is free again.
    await s.register('del-owner@example.org');
  });

  it('erasure is verifiable; invoices and the usage behind them stay locked until their periods end', async () => {
    const markers = {
      first: 'Zebulonmarker',
      last: 'Quaxmarker',
      email: 'erasure-marker@example.org',
      imap: 'imap-erasure-pw-marker',
    };
    const a = await s.signUp(markers.email, { first: markers.first, last: markers.last });
    await unary(a.c.accounts.setImapSettings.bind(a.c.accounts), { settings: imapSettings(), password: markers.imap });
    await unary(a.c.accounts.recordConsent.bind(a.c.accounts), {
      purpose: 'erasure-purpose-marker',
      textVersion: '1',
      textSha256: SHA,
      channel: 'cli',
    });
    const start = s.clock.now();
    await usage(a.user.tenantId, a.user.id, 'pages_ocr', 12, start + 5);
    await usage(a.user.tenantId, a.user.id, 'searches', 4, start + 6);
    s.clock.advance(DAY);
    const invoice = (await closePeriod(await asAdmin(), start, start + DAY)).invoices.find((i) => i.tenantId === a.user.tenantId);
    if (!invoice) throw new Error('no invoice');
    await usage(a.user.tenantId, a.user.id, 'searches', 1, s.clock.now()); // unbilled: deleted with the tenant
    await s.server.app.store.flushed();
    // The scan works (the consent purpose is kept in the clear), and personal data never reaches the disk in the clear.
    expect(filesContaining(s.dataDir, ['erasure-purpose-marker'])).not.toEqual([]);
    expect(filesContaining(s.dataDir, Object.values(markers))).toEqual([]);

    const erasedAt = s.clock.now();
    const sent = Number(invoice.sentMs);
    const res = await unary(a.c.accounts.deleteAccount.bind(a.c.accounts), { password: PASSWORD, deleteTenant: false });
    expect(res.lockedRecords).toBe(4); // invoice, two usage records, the billing contact
    expect(Number(res.lockedUntilMs)).toBe(addMonthsUtc(sent, 120));

    // No read path returns anything of the user.
    await expectCode(unary(a.c.accounts.getProfile.bind(a.c.accounts), {}), status.UNAUTHENTICATED);
    await expectCode(s.login(markers.email), status.UNAUTHENTICATED);
    expect(await s.server.app.accounts.imap.get(a.user.tenantId)).toBeUndefined();
    expect(s.server.app.accounts.consents.list(a.user.tenantId, a.user.id)).toEqual([]);
    expect(s.server.app.keyring.hasTenantKey(a.user.tenantId)).toBe(false);
    const adminNow = await asAdmin();
    const stats = await unary(adminNow.admin.getStats.bind(adminNow.admin), {});
    await s.server.app.store.flushed();
    expect(filesContaining(s.dataDir, Object.values(markers))).toEqual([]);

    const mine = (await locked()).filter((l) => l.tenantId === a.user.tenantId);
    expect(mine.map((l) => [l.kind, Number(l.lockedUntilMs)]).sort()).toEqual(
      [
        ['account', endOfFollowingYearUtc(erasedAt)],
        ['invoice', addMonthsUtc(sent, 120)],
        ['usage', addMonthsUtc(sent, 6)],
        ['usage', addMonthsUtc(sent, 6)],
      ].sort(),
    );
    // Locked records are out of every processing: a new billing run does not see the erased tenant.
    expect((await closePeriod(await asAdmin(), 0, s.clock.now())).invoices.filter((i) => i.tenantId === a.user.tenantId)).toEqual(
      [],
    );
    // Work finishing after the erasure does not recreate usage for it: the tenant's usage keys are the two
    // locked ones, before and after the late record.
    const usageDb = s.server.app.store.db('accountUsage');
    const usageKeys = () =>
      [...usageDb.getKeys({ start: [a.user.tenantId], end: [a.user.tenantId, '\uffff'] })].map((k) => JSON.stringify(k));
    const lockedUsage = usageKeys();
    expect(lockedUsage).toHaveLength(2);
    const lateMs = s.clock.now() + 1;
    await usage(a.user.tenantId, a.user.id, 'searches', 1, lateMs);
    expect(usageKeys()).toEqual(lockedUsage);
    expect([...usageDb.getKeys({ start: [a.user.tenantId, lateMs], end: [a.user.tenantId, lateMs + 1] })]).toEqual([]);

    s.clock.set(addMonthsUtc(sent, 6));
    const r1 = await runRetention();
    expect(r1.usageRecordsDeleted).toBeGreaterThanOrEqual(2);
    expect(
      (await locked())
        .filter((l) => l.tenantId === a.user.tenantId)
        .map((l) => l.kind)
        .sort(),
    ).toEqual(['account', 'invoice']);
    s.clock.set(endOfFollowingYearUtc(erasedAt));
    const r2 = await runRetention();
    expect(r2.accountsDeleted).toBe(1);
    expect((await locked()).filter((l) => l.tenantId === a.user.tenantId).map((l) => l.kind)).toEqual(['invoice']);
    s.clock.set(addMonthsUtc(sent, 120));
    await runRetention();
    expect((await locked()).filter((l) => l.tenantId === a.user.tenantId)).toEqual([]);
    expect(stats.tenants).toBeGreaterThan(0n);
  });

  it('deletes the invoices of live tenants 10 years after sending, and their usage after 6 months, not before', async () => {
    const owner = await s.signUp('invoice-retention@example.org');
    const start = s.clock.now();
    await usage(owner.user.tenantId, owner.user.id, 'pages_ocr', 5, start + 10);
    await usage(owner.user.tenantId, owner.user.id, 'searches', 2, start + 20);
    s.clock.advance(DAY);
    const invoice = (await closePeriod(await asAdmin(), start, start + DAY)).invoices.find(
      (i) => i.tenantId === owner.user.tenantId,
    );
    if (!invoice) throw new Error('no invoice');
    const sent = Number(invoice.sentMs);
    const invoices = s.server.app.store.db('accountInvoices');
    const usageDb = s.server.app.store.db('accountUsage');
    const range = { start: [owner.user.tenantId], end: [owner.user.tenantId, '\uffff'] };
    // What the owner sees (a fresh login after each jump) and what is stored.
    const held = async () => {
      const c = (await s.login('invoice-retention@example.org')).c;
      const json = await exportTar(c);
      return {
        invoices: (json.invoices as Array<{ id: string }>).map((i) => i.id),
        usage: (json.usage as unknown[]).length,
        storedInvoices: [...invoices.getKeys(range)].length,
        storedUsage: [...usageDb.getKeys(range)].length,
      };
    };
    const at = async (ms: number) => {
      s.clock.set(ms);
      await runRetention();
      return held();
    };
    expect(await held()).toEqual({ invoices: [invoice.id], usage: 2, storedInvoices: 1, storedUsage: 2 });
    expect(await at(addMonthsUtc(sent, 6) - 1)).toEqual({ invoices: [invoice.id], usage: 2, storedInvoices: 1, storedUsage: 2 });
    expect(await at(addMonthsUtc(sent, 6))).toEqual({ invoices: [invoice.id], usage: 0, storedInvoices: 1, storedUsage: 0 });
    expect(await at(addMonthsUtc(sent, 120) - 1)).toEqual({
      invoices: [invoice.id],
      usage: 0,
      storedInvoices: 1,
      storedUsage: 0,
    });
    expect(await at(addMonthsUtc(sent, 120))).toEqual({ invoices: [], usage: 0, storedInvoices: 0, storedUsage: 0 });
    // A live tenant: nothing was locked for it, and its account goes on.
    expect((await locked()).filter((l) => l.tenantId === owner.user.tenantId)).toEqual([]);
  });

  it('deletes usage that was never billed 6 months after it ended; billed usage stays until 6 months after its invoice', async () => {
    const owner = await s.signUp('unbilled@example.org');
    const start = s.clock.now();
    await usage(owner.user.tenantId, owner.user.id, 'pages_ocr', 5, start + 10); // billed below
    await usage(owner.user.tenantId, owner.user.id, 'searches', 2, start + DAY + 10); // never billed
    const unbilledEnd = start + DAY + 10 + 1000;
    s.clock.advance(3 * DAY);
    const invoice = (await closePeriod(await asAdmin(), start, start + DAY)).invoices.find(
      (i) => i.tenantId === owner.user.tenantId,
    );
    if (!invoice) throw new Error('no invoice');
    const sent = Number(invoice.sentMs);
    const usageDb = s.server.app.store.db('accountUsage');
    const held = async (ms: number) => {
      s.clock.set(ms);
      await runRetention();
      return [...usageDb.getRange({ start: [owner.user.tenantId], end: [owner.user.tenantId, '\uffff'] })].map(
        (e) => (e.value as { kind: string }).kind,
      );
    };
    expect(await held(addMonthsUtc(unbilledEnd, 6) - 1)).toEqual(['pages_ocr', 'searches']);
    expect(await held(addMonthsUtc(unbilledEnd, 6))).toEqual(['pages_ocr']);
    expect(await held(addMonthsUtc(sent, 6) - 1)).toEqual(['pages_ocr']);
    expect(await held(addMonthsUtc(sent, 6))).toEqual([]);
  });

  it('retention removes expired sessions', async () => {
    await s.signUp('sweep@example.org');
    s.clock.advance(366 * DAY);
    const res = await runRetention();
    expect(res.sessionsDeleted).toBeGreaterThanOrEqual(1);
  });

  it('operators erase an account on a written request, without its password, also while it is restricted', async () => {
    const owner = await s.signUp('request-owner@example.org', { first: 'Olgamarker', last: 'Anfragemarker' });
    await unary(owner.c.accounts.addMember.bind(owner.c.accounts), {
      email: 'request-member@example.org',
      password: PASSWORD,
      firstName: 'Mia',
      lastName: 'Anfrage',
      role: Role.ROLE_MEMBER,
    });
    const member = await s.login('request-member@example.org');
    await unary(member.c.accounts.setProcessingRestriction.bind(member.c.accounts), { restricted: true });
    await unary(owner.c.accounts.setImapSettings.bind(owner.c.accounts), {
      settings: imapSettings(),
      password: 'imap-request-pw',
    });
    const erase = async (email: string, deleteTenant = false) => {
      const c = await asAdmin();
      return unary(c.admin.eraseAccount.bind(c.admin), { email, deleteTenant });
    };
    await expectCode(
      unary(owner.c.admin.eraseAccount.bind(owner.c.admin), { email: 'request-member@example.org', deleteTenant: false }),
      status.PERMISSION_DENIED,
    );
    await expectCode(erase('not an address'), status.INVALID_ARGUMENT, /email/);
    await expectCode(erase('nobody-here@example.org'), status.NOT_FOUND, /no account has this e-mail address/);
    await expectCode(erase(ADMIN_EMAIL), status.FAILED_PRECONDITION, /operator accounts/);
    await expectCode(erase('request-member@example.org', true), status.FAILED_PRECONDITION, /owner/);
    await expectCode(erase('request-owner@example.org'), status.FAILED_PRECONDITION, /other members/);

    // The member asked in writing: their account goes (the address in any case), the tenant stays.
    expect(await erase('Request-Member@EXAMPLE.org')).toEqual({
      tenantId: owner.user.tenantId,
      userId: member.user.id,
      tenantErased: false,
      lockedRecords: 0,
      lockedUntilMs: 0n,
    });
    await expectCode(unary(member.c.accounts.getProfile.bind(member.c.accounts), {}), status.UNAUTHENTICATED);
    await expectCode(s.login('request-member@example.org'), status.UNAUTHENTICATED);
    expect(s.server.app.accounts.consents.list(owner.user.tenantId, member.user.id)).toEqual([]);
    const members = (await unary(owner.c.accounts.listMembers.bind(owner.c.accounts), {})).members;
    expect(members.map((m) => m.id)).toEqual([owner.user.id]);

    // The owner, now the tenant's only user: the whole tenant goes, key first.
    expect(await erase('request-owner@example.org')).toMatchObject({ userId: owner.user.id, tenantErased: true });
    await expectCode(unary(owner.c.accounts.getProfile.bind(owner.c.accounts), {}), status.UNAUTHENTICATED);
    expect(s.server.app.keyring.hasTenantKey(owner.user.tenantId)).toBe(false);
    expect(await s.server.app.accounts.imap.get(owner.user.tenantId)).toBeUndefined();
    await expectCode(erase('request-owner@example.org'), status.NOT_FOUND);
    await s.server.app.store.flushed();
    expect(filesContaining(s.dataDir, ['Olgamarker', 'Anfragemarker', 'request-owner@example.org', 'imap-request-pw'])).toEqual(
      [],
    );
  });

  it('operators export an account on a written request: export.json without documents, also while restricted, audited', async () => {
    const owner = await s.signUp('access-owner@example.org', { first: 'Auskunft', last: 'Eigner' });
    await unary(owner.c.accounts.addMember.bind(owner.c.accounts), {
      email: 'access-member@example.org',
      password: PASSWORD,
      firstName: 'Mia',
      lastName: 'Auskunft',
      role: Role.ROLE_MEMBER,
    });
    const member = await s.login('access-member@example.org');
    await unary(owner.c.accounts.setImapSettings.bind(owner.c.accounts), {
      settings: imapSettings(),
      password: 'imap-access-pw',
    });
    await usage(owner.user.tenantId, member.user.id, 'searches', 3, s.clock.now());
    await unary(member.c.accounts.setProcessingRestriction.bind(member.c.accounts), { restricted: true });
    const exportOf = async (email: string, archiveFormat = 'tar') => {
      const c = await asAdmin();
      return collect(c.admin.exportAccount({ email, archiveFormat }));
    };
    const jsonOf = (tar: Buffer) => JSON.parse(untar(tar).get('export.json')?.toString('utf8') ?? 'null');
    await expectCode(
      collect(owner.c.admin.exportAccount({ email: 'access-member@example.org', archiveFormat: '' })),
      status.PERMISSION_DENIED,
    );
    await expectCode(exportOf('not an address'), status.INVALID_ARGUMENT, /email/);
    await expectCode(exportOf('nobody-here@example.org'), status.NOT_FOUND, /no account has this e-mail address/);
    await expectCode(exportOf(ADMIN_EMAIL), status.FAILED_PRECONDITION, /operator accounts/);
    await expectCode(exportOf('access-member@example.org', 'rar'), status.INVALID_ARGUMENT, /archive_format/);

    // The member's own export is refused while restricted; their written request is answered all the same.
    await expectCode(
      collect(member.c.accounts.exportMyData({ includeDocuments: false, archiveFormat: '' })),
      status.FAILED_PRECONDITION,
    );
    const tar = await exportOf('Access-Member@EXAMPLE.org');
    expect([...untar(tar).keys()]).toEqual(['export.json']);
    expect(jsonOf(tar)).toMatchObject({
      schema: 'archivar.export/v1',
      requestedBy: 'operator',
      account: { id: member.user.id, email: 'access-member@example.org', role: 'member', processingRestricted: true },
      consents: [{ purpose: 'terms', textVersion: TERMS.textVersion, granted: true }], // agreed at the first login
      usage: [{ kind: 'searches', quantity: 3 }],
      invoices: [],
      imapSettings: { host: 'imap.mailmarker-host.example', passwordStored: true },
      documents: null,
    });
    expect(tar.includes(Buffer.from('imap-access-pw'))).toBe(false);
    // For the owner: the same as their own export, but for who asked and the documents.
    const own = await exportTar(owner.c);
    expect(own.requestedBy).toBe('self');
    expect(jsonOf(await exportOf('access-owner@example.org'))).toEqual({ ...own, requestedBy: 'operator', documents: null });
    const zip = await exportOf('access-owner@example.org', 'zip');
    expect(zip.subarray(0, 4)).toEqual(Buffer.from([0x50, 0x4b, 0x03, 0x04]));
    // On record with ids only.
    const audit = await captured.next((e) => e.msg === 'account data exported by an operator' && e.userId === member.user.id);
    expect(audit).toMatchObject({ tenantId: owner.user.tenantId, userId: member.user.id });
    expect(JSON.stringify(audit)).not.toContain('access-member');
  });

  it('operators run retention, billing and stats, but cannot touch tenant data; tenant users cannot run admin RPCs', async () => {
    admin = await s.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    const me = await unary(admin.c.accounts.getProfile.bind(admin.c.accounts), {});
    expect(me.user).toMatchObject({ email: ADMIN_EMAIL, role: Role.ROLE_ADMIN });
    const stats = await unary(admin.c.admin.getStats.bind(admin.c.admin), {});
    expect(stats.users).toBeGreaterThan(0n);
    expect(stats.databaseBytes).toBeGreaterThan(0n);
    await expectCode(unary(admin.c.accounts.listMembers.bind(admin.c.accounts), {}), status.PERMISSION_DENIED);
    await expectCode(unary(admin.c.accounts.getImapSettings.bind(admin.c.accounts), {}), status.PERMISSION_DENIED);
    await expectCode(listUsage(admin.c), status.PERMISSION_DENIED);
    await expectCode(
      collect(admin.c.accounts.exportMyData({ includeDocuments: true, archiveFormat: '' })),
      status.PERMISSION_DENIED,
    );
    const owner = await s.signUp('not-an-operator@example.org');
    await expectCode(unary(owner.c.admin.getStats.bind(owner.c.admin), {}), status.PERMISSION_DENIED);
    await expectCode(unary(owner.c.admin.runRetention.bind(owner.c.admin), {}), status.PERMISSION_DENIED);
    await expectCode(unary(owner.c.admin.listLockedRecords.bind(owner.c.admin), {}), status.PERMISSION_DENIED);
  });

  it('archivar account delete says records are locked each for its own period, naming the last end', async () => {
    const a = await s.signUp('erasure-cli@example.org');
    const start = s.clock.now();
    await usage(a.user.tenantId, a.user.id, 'pages_ocr', 3, start + 5);
    s.clock.advance(DAY);
    const invoice = (await closePeriod(await asAdmin(), start, start + DAY)).invoices.find((i) => i.tenantId === a.user.tenantId);
    if (!invoice) throw new Error('no invoice');
    const home = tempDir('archivar-erasure-cli-');
    try {
      const env = { ARCHIVAR_SERVER: s.address, ARCHIVAR_TOKEN: a.token, XDG_CONFIG_HOME: home.path };
      const del = await runCli(['account', 'delete'], env, `${PASSWORD}\n`);
      expect(del.stderr).toBe('');
      // Usage is locked for 6 months after its invoice, the invoice for 10 years: not all "until" the last.
      const last = new Date(addMonthsUtc(Number(invoice.sentMs), 120)).toISOString();
      expect(del.stdout).toBe(
        'account deleted\n' +
          `3 record(s) kept under a legal obligation (invoices, the usage billed on them, the billing contact), each locked until its own period ends, the last on ${last}\n`,
      );
    } finally {
      home.cleanup();
    }
  });
});
