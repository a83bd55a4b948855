import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ImapTlsMode } from '../../src/gen/archivar/v1/accounts.js';
import { ArtifactKind, DocumentSource, DocumentStatus, Role } from '../../src/gen/archivar/v1/common.js';
import type { MessageKey } from '../../src/imap/index.js';
import { unary } from '../../src/sdk/index.js';
import {
  type AccountsServer,
  collect,
  expectCode,
  filesContaining,
  PASSWORD,
  type Session,
  startAccountsServer,
  untar,
} from '../accounts/helpers.js';
import { type Dovecot, destroyDovecot, dovecotAvailable, startDovecot } from '../helpers/dovecot.js';
import { imapStatus, importNow, mail, mailDocuments, setImap, waitFor } from './helpers.js';

const available = dovecotAvailable();
const PASS = 'imap-secret-123';
const USERS = [
  'folders',
  'manual',
  'auto',
  'german',
  'crash',
  'uidv',
  'wrongpw',
  'restart',
  'big',
  'atrest',
  'restricted',
  'tlsmode',
  'rawsubject',
  'rawsender',
  'nofolder',
  'dups',
  'removed',
].map((user) => ({
  user,
  password: PASS,
}));
const u = (name: string) => ({ user: name, password: PASS });

describe.skipIf(!available)('IMAP import against a real dovecot', () => {
  let d: Dovecot;
  let t: AccountsServer;

  beforeAll(async () => {
    d = await startDovecot(USERS);
    t = await startAccountsServer({
      'pool-threads': '2',
      'imap-rescan-ms': '0',
      'imap-timeout-ms': '5000',
      'imap-backoff-ms': '300',
      'imap-auth-backoff-ms': '1000',
      'imap-max-backoff-ms': '2000',
      // Small pages so the tests cross page boundaries (huge mailboxes are read the same way).
      'imap-page-uids': '4',
      'imap-max-message-bytes': String(256 * 1024),
    });
  });
  afterEach(() => {
    for (const k of Object.keys(t.server.imap.hooks)) delete t.server.imap.hooks[k as keyof typeof t.server.imap.hooks];
  });
  afterAll(async () => {
    await t?.stop();
    await destroyDovecot(d);
  });

  const session = (name: string): Promise<Session> => t.signUp(`${name}@example.test`);

  it('creates its folders on first connect; TestImapSettings tells dns, refused, tls and auth apart', async () => {
    const s = await session('folders');
    await setImap(s.c, d, 'folders', PASS, { tls: ImapTlsMode.IMAP_TLS_MODE_IMPLICIT, port: d.tlsPort, caPem: d.caPem });
    const test = () => unary(s.c.accounts.testImapSettings.bind(s.c.accounts), {});
    expect(await test()).toMatchObject({ ok: true, errorKind: '' });

    const status = await importNow(s.c);
    expect(status.lastError).toBe('');
    const listed = (await test()).folders;
    // dovecot's Maildir uses "." as hierarchy delimiter.
    expect(listed).toEqual(expect.arrayContaining(['Archivar.Import', 'Archivar.Imported', 'Archivar.Failed']));
    expect(fs.existsSync(path.join(d.maildir('folders'), '.Archivar.Import'))).toBe(true);

    // Deleted by the user: recreated on the next run.
    const c = await d.client(u('folders'));
    await c.mailboxDelete('Archivar.Failed');
    await c.logout();
    await importNow(s.c);
    expect((await test()).folders).toContain('Archivar.Failed');

    // STARTTLS with the trusted CA works too.
    await setImap(s.c, d, 'folders', PASS, { tls: ImapTlsMode.IMAP_TLS_MODE_STARTTLS, caPem: d.caPem });
    expect(await test()).toMatchObject({ ok: true });
    // Without the CA the self-signed certificate is refused, for implicit TLS and STARTTLS.
    await setImap(s.c, d, 'folders', PASS, { tls: ImapTlsMode.IMAP_TLS_MODE_IMPLICIT, port: d.tlsPort });
    expect(await test()).toMatchObject({ ok: false, errorKind: 'tls' });
    await setImap(s.c, d, 'folders', PASS, { tls: ImapTlsMode.IMAP_TLS_MODE_STARTTLS });
    expect(await test()).toMatchObject({ ok: false, errorKind: 'tls' });
    await setImap(s.c, d, 'folders', 'wrong-password');
    const auth = await test();
    expect(auth).toMatchObject({ ok: false, errorKind: 'auth' });
    expect(auth.errorMessage).not.toContain('wrong-password');
    await setImap(s.c, d, 'folders', PASS, { port: await closedPort() });
    expect(await test()).toMatchObject({ ok: false, errorKind: 'refused' });
    await setImap(s.c, d, 'folders', PASS, { host: 'no-such-host.invalid', tls: ImapTlsMode.IMAP_TLS_MODE_STARTTLS });
    const dns = await test();
    expect(['dns', 'timeout']).toContain(dns.errorKind);
  });

  it('TestImapSettings says which TLS mode a port wants when the mode does not fit the port', async () => {
    const s = await session('tlsmode');
    const test = () => unary(s.c.accounts.testImapSettings.bind(s.c.accounts), {});
    // Implicit TLS on the plain port: the server greets in clear text, OpenSSL calls it a "wrong version number".
    await setImap(s.c, d, 'tlsmode', PASS, { tls: ImapTlsMode.IMAP_TLS_MODE_IMPLICIT, port: d.port, caPem: d.caPem });
    const implicit = await test();
    expect(implicit).toMatchObject({ ok: false, errorKind: 'tls' });
    expect(implicit.errorMessage).toMatch(/does not speak TLS on this port.*use TLS mode starttls/);
    expect(implicit.errorMessage).not.toMatch(/SSL routines|openssl/);
    // STARTTLS on the implicit-TLS port: the server waits for a handshake, no greeting comes.
    await setImap(s.c, d, 'tlsmode', PASS, { tls: ImapTlsMode.IMAP_TLS_MODE_STARTTLS, port: d.tlsPort, caPem: d.caPem });
    const starttls = await test();
    expect(starttls).toMatchObject({ ok: false, errorKind: 'timeout' });
    expect(starttls.errorMessage).toMatch(/no IMAP greeting.*use TLS mode implicit/);
  });

  it('imports everything in the import folder once and moves it to Imported; usage is recorded', async () => {
    const s = await session('manual');
    await setImap(s.c, d, 'manual', PASS);
    for (let i = 0; i < 6; i++)
      await d.append(u('manual'), 'Archivar.Import', mail({ subject: `Beleg ${i}`, body: `Beleg Nummer ${i}` }));
    const status = await importNow(s.c);
    expect(status).toMatchObject({ imported: 6n, failed: 0n, skipped: 0n, lastError: '', running: false });
    expect(await d.uids(u('manual'), 'Archivar.Import')).toEqual([]);
    expect(await d.uids(u('manual'), 'Archivar.Imported')).toHaveLength(6);
    const docs = await mailDocuments(s.c);
    expect(docs).toHaveLength(6);
    expect(docs.every((x) => x.mediaType === 'message/rfc822' || x.fileName.endsWith('.eml'))).toBe(true);
    expect(docs.map((x) => x.fileName).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `Beleg ${i}.eml`));

    // The original is stored as received.
    const one = docs.find((x) => x.fileName === 'Beleg 3.eml');
    const original = await collect(
      (async function* () {
        for await (const m of s.c.documents.download({
          documentId: one?.id ?? '',
          kind: ArtifactKind.ARTIFACT_KIND_ORIGINAL,
          plaintext: true,
          page: 0,
          recipientPublicKey: Buffer.alloc(0),
        }) as AsyncIterable<{ part?: { $case: string; value: unknown } }>) {
          if (m.part?.$case === 'chunk') yield { chunk: m.part.value as Buffer };
        }
      })(),
    );
    expect(original.toString()).toContain('Beleg Nummer 3');

    const again = await importNow(s.c);
    expect(again.imported).toBe(6n);
    expect(await mailDocuments(s.c)).toHaveLength(6);
    const usage = await unary(s.c.accounts.listUsage.bind(s.c.accounts), { pageSize: 100, cursor: '' } as never);
    const mails = usage.records.filter((r) => r.kind === 'mails_imported').reduce((n, r) => n + Number(r.quantity), 0);
    expect(mails).toBe(6);

    // The owner's export says which mailbox, and where its import stands; never the password.
    const files = untar(await collect(s.c.accounts.exportMyData({ includeDocuments: false, archiveFormat: 'tar' })));
    const exported = files.get('export.json')?.toString('utf8') ?? '';
    const json = JSON.parse(exported);
    expect(json.imapSettings).toMatchObject({ host: '127.0.0.1', user: 'manual', passwordStored: true });
    const last = await imapStatus(s.c);
    expect(json.imapImport).toEqual({
      lastRunStartMs: Number(last.lastRunMs),
      lastRunEndMs: expect.any(Number),
      nextRunMs: Number(last.nextRunMs),
      imported: 6,
      failed: 0,
      skipped: 0,
      duplicates: 0,
      lastError: '',
    });
    expect(json.imapImport.lastRunEndMs).toBeGreaterThanOrEqual(json.imapImport.lastRunStartMs);
    expect(exported).not.toContain(PASS);
  });

  it('imports new mail of INBOX automatically (IDLE), with filters, and leaves it in INBOX flagged', async () => {
    const s = await session('auto');
    await d.append(u('auto'), 'INBOX', mail({ subject: 'Rechnung alt', body: 'before automatic import was on' }));
    await setImap(s.c, d, 'auto', PASS, { autoImport: true, filterSubjectContains: 'rechnung' });
    const first = await importNow(s.c);
    expect(first.imported).toBe(0n); // mail from before switching it on stays for manual import

    await d.append(u('auto'), 'INBOX', mail({ subject: 'Newsletter', body: 'not matching the filter' }));
    await d.append(u('auto'), 'INBOX', mail({ subject: 'Rechnung 2025-17', body: 'Betrag 12,50 EUR' }));
    // No trigger: IDLE reports the new mail and the watcher runs by itself.
    const status = await waitFor(s.c, (x) => x.imported === 1n && !x.running, 20_000);
    expect(status.lastError).toBe('');
    const docs = await mailDocuments(s.c);
    expect(docs.map((x) => x.fileName)).toEqual(['Rechnung 2025-17.eml']);
    expect(await d.uids(u('auto'), 'INBOX')).toHaveLength(3);
    const c = await d.client(u('auto'));
    const lock = await c.getMailboxLock('INBOX');
    const flagged = await c.search({ keyword: '$ArchivarImported' }, { uid: true });
    lock.release();
    await c.logout();
    expect(flagged).toHaveLength(1);

    await importNow(s.c);
    expect(await mailDocuments(s.c)).toHaveLength(1);
  });

  it('says when a folder for automatic import does not exist, and imports from the others', async () => {
    const s = await session('nofolder');
    await setImap(s.c, d, 'nofolder', PASS, { autoImport: true, folders: ['Rechnugen', 'INBOX'] });
    const first = await importNow(s.c);
    expect(first.lastError).toBe('automatic-import folder not found on the server: Rechnugen');
    await d.append(u('nofolder'), 'INBOX', mail({ subject: 'Rechnung neu', body: 'kommt trotzdem an' }));
    const st = await waitFor(s.c, (x) => x.imported === 1n && !x.running, 20_000);
    expect(st.lastError).toBe('automatic-import folder not found on the server: Rechnugen');
    // Fixed by the user: the message goes away with the next run.
    await setImap(s.c, d, 'nofolder', PASS, { autoImport: true, folders: ['INBOX'] });
    expect((await importNow(s.c)).lastError).toBe('');
  });

  it('a scheduled run imports nothing for a mailbox user whose processing is restricted (Art. 18), and says so', async () => {
    const s = await session('restricted');
    await setImap(s.c, d, 'restricted', PASS, { autoImport: true });
    await importNow(s.c);
    await unary(s.c.accounts.setProcessingRestriction.bind(s.c.accounts), { restricted: true });
    // No trigger: the new mail wakes the watcher (IDLE), which must leave it alone.
    await d.append(u('restricted'), 'INBOX', mail({ subject: 'Rechnung gesperrt', body: 'darf nicht verarbeitet werden' }));
    const st = await waitFor(s.c, (x) => x.lastError !== '' && !x.running, 20_000);
    expect(st.lastError).toBe('processing is restricted for this account: nothing is imported');
    expect(await mailDocuments(s.c)).toEqual([]);
  });

  it('a subject in raw Latin-1 bytes names the file and passes the subject filter as written, not as U+FFFD', async () => {
    const s = await session('rawsubject');
    // Not RFC 2047, but common: 8-bit Latin-1 in the header, which ENVELOPE hands over as it is.
    const raw = (subject: string) =>
      Buffer.from(mail({ subject, body: 'Koalas schlafen viel.' }).replace('charset=utf-8', 'charset=iso-8859-1'), 'latin1');
    await setImap(s.c, d, 'rawsubject', PASS, { autoImport: true, filterSubjectContains: 'fließtext' });
    await importNow(s.c);
    await d.append(u('rawsubject'), 'Archivar.Import', raw('Fließtext Koala'));
    await d.append(u('rawsubject'), 'INBOX', raw('Fließtext Känguru'));
    await d.append(u('rawsubject'), 'INBOX', raw('Anderer Betreff'));
    expect((await importNow(s.c)).imported).toBe(2n);
    expect((await mailDocuments(s.c)).map((x) => x.fileName).sort()).toEqual(['Fließtext Koala.eml', 'Fließtext Känguru.eml']);
  });

  it('a sender name in raw Latin-1 bytes passes the sender filter as written, not as U+FFFD', async () => {
    const s = await session('rawsender');
    const raw = (from: string, subject: string) =>
      Buffer.from(
        mail({ from, subject, body: 'Koalas schlafen viel.' }).replace('charset=utf-8', 'charset=iso-8859-1'),
        'latin1',
      );
    await setImap(s.c, d, 'rawsender', PASS, { autoImport: true, filterFrom: 'jürgen bäcker' });
    await importNow(s.c);
    await d.append(u('rawsender'), 'INBOX', raw('Jürgen Bäcker <jb@example.test>', 'Rechnung Mai'));
    await d.append(u('rawsender'), 'INBOX', raw('Jörg Becker <jb2@example.test>', 'Rechnung Juni'));
    expect((await importNow(s.c)).imported).toBe(1n);
    expect((await mailDocuments(s.c)).map((x) => x.fileName)).toEqual(['Rechnung Mai.eml']);
  });

  it('imports a German ISO-8859-1 quoted-printable mail with a PDF attachment as parent and child documents', async () => {
    const s = await session('german');
    await setImap(s.c, d, 'german', PASS);
    const raw = await germanMailWithPdf();
    await d.append(u('german'), 'Archivar.Import', raw);
    expect((await importNow(s.c)).imported).toBe(1n);
    const [parent] = await mailDocuments(s.c);
    expect(parent?.fileName).toBe('Kündigung Ihres Vertrags.eml');
    const doc = await finalDocument(s, parent?.id ?? '');
    expect(doc.status, doc.statusReason).not.toBe(DocumentStatus.DOCUMENT_STATUS_FAILED);
    const text = await downloadText(s, doc.id);
    expect(text).toContain('Kündigung');
    expect(doc.children.length).toBeGreaterThanOrEqual(1);
    const child = await finalDocument(s, doc.children[0]?.id ?? '');
    expect(child.parentId).toBe(doc.id);
    expect(await downloadText(s, child.id)).toContain('Zahlungserinnerung');
    // Searchable by a word only the PDF's text holds (the attachment is a document of its own).
    const until = Date.now() + 15_000;
    let ids: string[] = [];
    while (!ids.includes(child.id) && Date.now() < until) {
      const res = await unary(s.c.search.search.bind(s.c.search), {
        query: 'überweisen 4711',
        limit: 10,
        cursor: '',
        sort: 0,
        facets: [],
        snippets: 0,
      } as never);
      ids = (res as { hits: Array<{ documentId: string }> }).hits.map((h) => h.documentId);
      if (!ids.includes(child.id)) await new Promise((r) => setTimeout(r, 200));
    }
    expect(ids).toContain(child.id);
  });

  it('a crash between commit and move, or between document and ledger, never makes a second document', async () => {
    const s = await session('crash');
    await setImap(s.c, d, 'crash', PASS);
    await d.append(u('crash'), 'Archivar.Import', mail({ subject: 'Crash 1', body: 'eins' }));
    await d.append(u('crash'), 'Archivar.Import', mail({ subject: 'Crash 2', body: 'zwei' }));
    const crashes: string[] = [];
    const hooks = t.server.imap.hooks;
    hooks.beforeSettle = (k: MessageKey) => {
      if (k.tenantId === s.user.tenantId && k.uid === 1 && !crashes.includes('settle')) {
        crashes.push('settle');
        throw new Error('simulated crash after the ledger commit');
      }
    };
    hooks.afterIngest = (k: MessageKey) => {
      if (k.tenantId === s.user.tenantId && k.uid === 2 && !crashes.includes('ingest')) {
        crashes.push('ingest');
        throw new Error('simulated crash before the ledger commit');
      }
    };
    const failed = await importNow(s.c);
    expect(failed.lastError).toMatch(/simulated crash/);
    // The backoff retry (300 ms) finishes the job: one move for mail 1, the same document again for mail 2.
    await waitFor(s.c, (x) => x.imported === 2n && !x.running && x.lastError === '', 20_000);
    expect(crashes.sort()).toEqual(['ingest', 'settle']);
    expect(await d.uids(u('crash'), 'Archivar.Import')).toEqual([]);
    expect(await d.uids(u('crash'), 'Archivar.Imported')).toHaveLength(2);
    expect((await mailDocuments(s.c)).map((x) => x.fileName).sort()).toEqual(['Crash 1.eml', 'Crash 2.eml']);
  });

  it('handles a UIDVALIDITY reset: new mail is imported, a copy of imported mail is recognised by Message-ID', async () => {
    const s = await session('uidv');
    await setImap(s.c, d, 'uidv', PASS);
    const a = mail({ subject: 'Mail A', body: 'aaa', messageId: '<a-1@example.test>' });
    await d.append(u('uidv'), 'Archivar.Import', a);
    expect((await importNow(s.c)).imported).toBe(1n);

    const c = await d.client(u('uidv'));
    const before = await c.status('Archivar.Import', { uidValidity: true });
    await c.mailboxDelete('Archivar.Import');
    await c.mailboxCreate('Archivar.Import');
    const after = await c.status('Archivar.Import', { uidValidity: true });
    await c.logout();
    expect(after && before && after.uidValidity !== before.uidValidity).toBe(true);

    // UID 1 again, under the new UIDVALIDITY: a different mail, which must not be taken for mail A.
    await d.append(u('uidv'), 'Archivar.Import', mail({ subject: 'Mail B', body: 'bbb' }));
    await d.append(
      u('uidv'),
      'Archivar.Import',
      mail({ subject: 'Mail A', body: 'aaa', messageId: '<a-1@example.test>', extra: 'X-Copy: 1' }),
    );
    const status = await importNow(s.c);
    expect(status).toMatchObject({ imported: 2n, duplicates: 1n, lastRunDuplicates: 1n, lastError: '' });
    expect((await mailDocuments(s.c)).map((x) => x.fileName).sort()).toEqual(['Mail A.eml', 'Mail B.eml']);
    expect(await d.uids(u('uidv'), 'Archivar.Import')).toEqual([]);
    expect(await d.uids(u('uidv'), 'Archivar.Imported')).toHaveLength(3);
  });

  it('counts copies of imported mail, recognised by Message-ID, as duplicates: in the last run and in total', async () => {
    const s = await session('dups');
    await setImap(s.c, d, 'dups', PASS);
    await d.append(u('dups'), 'Archivar.Import', mail({ subject: 'Vertrag', body: 'v', messageId: '<vertrag@example.test>' }));
    await d.append(
      u('dups'),
      'Archivar.Import',
      mail({ subject: 'Kündigung', body: 'k', messageId: '<kuendigung@example.test>' }),
    );
    expect(await importNow(s.c)).toMatchObject({ imported: 2n, duplicates: 0n, lastRunDuplicates: 0n, lastError: '' });

    // The user copies both imported mails back into the import folder (a copy keeps its Message-ID), one of
    // them twice with a header added on the way (other bytes, the same Message-ID), beside a new mail.
    const c = await d.client(u('dups'));
    await c.mailboxOpen('Archivar.Imported');
    await c.messageCopy('1:*', 'Archivar.Import');
    await c.logout();
    await d.append(
      u('dups'),
      'Archivar.Import',
      mail({ subject: 'Vertrag', body: 'v', messageId: '<vertrag@example.test>', extra: 'X-Forwarded: 1' }),
    );
    await d.append(u('dups'), 'Archivar.Import', mail({ subject: 'Neu', body: 'n', messageId: '<neu@example.test>' }));
    const second = await importNow(s.c);
    expect(second).toMatchObject({ imported: 3n, failed: 0n, skipped: 0n, duplicates: 3n, lastRunDuplicates: 3n, lastError: '' });
    expect((await mailDocuments(s.c)).map((x) => x.fileName).sort()).toEqual(['Kündigung.eml', 'Neu.eml', 'Vertrag.eml']);
    // Nothing is deleted: the copies are moved to the imported folder too.
    expect(await d.uids(u('dups'), 'Archivar.Import')).toEqual([]);
    expect(await d.uids(u('dups'), 'Archivar.Imported')).toHaveLength(6);

    // A run with nothing to do: the last run counted none, the total stays.
    expect(await importNow(s.c)).toMatchObject({ imported: 3n, duplicates: 3n, lastRunDuplicates: 0n });
    await d.append(u('dups'), 'Archivar.Import', mail({ subject: 'Neu', body: 'n', messageId: '<neu@example.test>' }));
    expect(await importNow(s.c)).toMatchObject({ imported: 3n, duplicates: 4n, lastRunDuplicates: 1n });
    expect(await mailDocuments(s.c)).toHaveLength(3);
  });

  it('a wrong password backs off instead of retrying in a loop, and says so in the status', async () => {
    const s = await session('wrongpw');
    await setImap(s.c, d, 'wrongpw', 'not-the-password');
    let attempts = 0;
    t.server.imap.hooks.beforeConnect = (tenantId) => {
      if (tenantId === s.user.tenantId) attempts++;
    };
    const status = await importNow(s.c);
    expect(status.lastError).toMatch(/^auth: the server refused the login/);
    expect(status.imported).toBe(0n);
    // Asking again does not log in again while backing off.
    const held = await importNow(s.c);
    expect(held.lastError).toMatch(/not retried before/);
    expect(attempts).toBe(1);
    // Backoff 1 s, then 2 s (capped): over 3.5 s at most 2 more attempts, where a loop would make hundreds.
    await new Promise((r) => setTimeout(r, 3500));
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(3);
    expect(
      d.logLines(/auth failed|Authentication failed|password mismatch/i).filter((l) => l.includes('wrongpw')).length,
    ).toBeLessThanOrEqual(attempts + 1);
    // Storing the right password retries at once.
    await setImap(s.c, d, 'wrongpw', PASS);
    const fixed = await importNow(s.c);
    expect(fixed.lastError).toBe('');
  });

  it('skips a mail over the size limit with the reason and moves it to Failed', async () => {
    const s = await session('big');
    await setImap(s.c, d, 'big', PASS);
    await d.append(u('big'), 'Archivar.Import', mail({ subject: 'Riesig', body: 'x'.repeat(300 * 1024) }));
    await d.append(u('big'), 'Archivar.Import', mail({ subject: 'Klein', body: 'ok' }));
    const status = await importNow(s.c);
    expect(status).toMatchObject({ imported: 1n, skipped: 1n, failed: 0n });
    expect(await d.uids(u('big'), 'Archivar.Failed')).toHaveLength(1);
    expect(t.server.imap.ledger.status(s.user.tenantId).skipped).toBe(1);

    // The skipped mail is in the document list: FAILED with the reason, no original stored.
    const docs = await mailDocuments(s.c);
    expect(docs.map((x) => x.fileName).sort()).toEqual(['Klein.eml', 'Riesig.eml']);
    const big = docs.find((x) => x.fileName === 'Riesig.eml');
    expect(big).toMatchObject({ status: DocumentStatus.DOCUMENT_STATUS_FAILED, source: DocumentSource.DOCUMENT_SOURCE_IMAP });
    expect(big?.statusReason).toMatch(
      /^not imported from the mailbox: the message \(30\d KiB\) is larger than the limit of 256 KiB$/,
    );
    const download = s.c.documents.download({
      documentId: big?.id ?? '',
      kind: ArtifactKind.ARTIFACT_KIND_ORIGINAL,
      plaintext: true,
      page: 0,
      recipientPublicKey: Buffer.alloc(0),
    });
    await expect(collect(download as AsyncIterable<{ chunk: Buffer }>)).rejects.toMatchObject({
      code: grpcStatus.NOT_FOUND,
      details: expect.stringContaining('the original was not stored: not imported from the mailbox'),
    });
    // A second run neither imports it nor records it twice.
    await importNow(s.c);
    expect(await mailDocuments(s.c)).toHaveLength(2);

    // Erasure removes the ledger and status with the settings, at once (not at the next rescan).
    await unary(s.c.accounts.deleteAccount.bind(s.c.accounts), { password: PASSWORD, deleteTenant: true });
    for (const name of ['imapLedger', 'imapStatus'] as const) {
      const keys = [...t.server.app.store.db(name).getKeys({ start: [s.user.tenantId], end: [s.user.tenantId, '\uffff'] })];
      expect(keys, name).toEqual([]);
    }
  });

  it('keeps nothing of the mailbox or its mail in the clear: subject, sender, Message-ID, folder, last error', async () => {
    const s = await session('atrest');
    await setImap(s.c, d, 'atrest', 'not-the-password');
    expect((await importNow(s.c)).lastError).toMatch(/^auth: the server refused the login/);
    await setImap(s.c, d, 'atrest', PASS);
    const marker = `atrest${Math.random().toString(36).slice(2, 10)}`;
    const messageId = `<mid-${marker}@example.test>`;
    await d.append(
      u('atrest'),
      'Archivar.Import',
      mail({
        subject: `Zollbescheid ${marker}-subject`,
        body: 'Bescheid',
        from: `Absender <${marker}-from@example.test>`,
        messageId,
      }),
    );
    expect(await importNow(s.c)).toMatchObject({ imported: 1n, lastError: '' });
    await t.server.runner.whenIdle();
    const docs = await mailDocuments(s.c);
    expect(docs.map((x) => x.fileName)).toEqual([`Zollbescheid ${marker}-subject.eml`]);
    await t.server.app.store.flushed();
    // The ledger used to key messages and folders by plain SHA-256 (which confirms a guess): now blind keys.
    const sha = (...parts: string[]) => {
      const h = createHash('sha256');
      for (const p of parts) h.update(p).update('\0');
      return h.digest('hex').slice(0, 32);
    };
    expect(
      filesContaining(t.dataDir, [
        `${marker}-subject`,
        `${marker}-from`,
        messageId,
        sha(messageId),
        sha('Archivar.Import'),
        'refused the login',
      ]),
    ).toEqual([]);
  });

  it('DeleteImapSettings (owners) deletes the sealed password, the import ledger and status; imported mail stays', async () => {
    const s = await session('removed');
    const del = (c: Session['c']) => unary(c.accounts.deleteImapSettings.bind(c.accounts), {});
    await expectCode(del(s.c), grpcStatus.NOT_FOUND, /no IMAP settings/);
    const marker = `removed${Math.random().toString(36).slice(2, 10)}`;
    await setImap(s.c, d, 'removed', PASS, { folders: [`${marker}-folder`] });
    await d.append(u('removed'), 'Archivar.Import', mail({ subject: 'Kontoauszug', body: 'Auszug 7' }));
    expect(await importNow(s.c)).toMatchObject({ imported: 1n });
    await unary(s.c.accounts.addMember.bind(s.c.accounts), {
      email: 'removed-member@example.test',
      password: PASSWORD,
      firstName: 'M',
      lastName: 'M',
      role: Role.ROLE_MEMBER,
    });
    const member = await t.login('removed-member@example.test');
    await expectCode(del(member.c), grpcStatus.PERMISSION_DENIED);

    await del(s.c);
    const tenant = s.user.tenantId;
    await expectCode(unary(s.c.accounts.getImapSettings.bind(s.c.accounts), {}), grpcStatus.NOT_FOUND);
    await expectCode(imapStatus(s.c), grpcStatus.NOT_FOUND);
    await expectCode(unary(s.c.accounts.triggerImapImport.bind(s.c.accounts), {}), grpcStatus.NOT_FOUND);
    expect(await t.server.app.accounts.imap.credentials(tenant)).toBeUndefined();
    for (const name of ['accountImap', 'imapLedger', 'imapStatus'] as const) {
      const keys = [...t.server.app.store.db(name).getKeys({ start: [tenant], end: [tenant, '\uffff'] })];
      expect(keys, name).toEqual([]);
    }
    // The export no longer lists a mailbox; what was imported is the tenant's and stays.
    const archive = untar(await collect(s.c.accounts.exportMyData({ includeDocuments: false, archiveFormat: 'tar' })));
    const exported = JSON.parse(archive.get('export.json')?.toString('utf8') ?? 'null');
    expect(exported.imapSettings).toBeNull();
    expect((await mailDocuments(s.c)).map((x) => x.fileName)).toEqual(['Kontoauszug.eml']);
    await expectCode(del(s.c), grpcStatus.NOT_FOUND);
    await t.server.app.store.flushed();
    expect(filesContaining(t.dataDir, [marker, PASS])).toEqual([]);
  });

  it('resumes after the server stopped in the middle of a run', async () => {
    const s = await session('restart');
    await setImap(s.c, d, 'restart', PASS);
    for (let i = 0; i < 10; i++)
      await d.append(u('restart'), 'Archivar.Import', mail({ subject: `Teil ${i}`, body: `Teil ${i}` }));
    let handled = 0;
    let stopped: Promise<void> | null = null;
    t.server.imap.hooks.afterMessage = async (k) => {
      if (k.tenantId !== s.user.tenantId) return;
      handled++;
      if (handled === 3 && !stopped) {
        stopped = d.stop();
        await stopped;
      }
    };
    const broken = await importNow(s.c);
    expect(broken.lastError).toMatch(/^(refused|protocol|timeout): /);
    expect(Number(broken.imported)).toBeGreaterThanOrEqual(3);
    expect(Number(broken.imported)).toBeLessThan(10);
    await new Promise((r) => setTimeout(r, 800)); // a retry or two fail while it is down
    await d.restart();
    const done = await waitFor(s.c, (x) => x.imported === 10n && !x.running && x.lastError === '', 30_000);
    expect(done.failed).toBe(0n);
    expect(await mailDocuments(s.c)).toHaveLength(10);
    expect(await d.uids(u('restart'), 'Archivar.Import')).toEqual([]);
    expect(await d.uids(u('restart'), 'Archivar.Imported')).toHaveLength(10);
  });

  async function finalDocument(s: Session, id: string) {
    const until = Date.now() + 90_000;
    for (;;) {
      const res = await unary(s.c.documents.get.bind(s.c.documents), { documentId: id });
      const doc = res.document;
      if (!doc) throw new Error('no document');
      if (![DocumentStatus.DOCUMENT_STATUS_QUEUED, DocumentStatus.DOCUMENT_STATUS_PROCESSING].includes(doc.status)) return doc;
      if (Date.now() > until) throw new Error(`document ${id} still ${doc.status}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function downloadText(s: Session, id: string): Promise<string> {
    const parts: Buffer[] = [];
    for await (const m of s.c.documents.download({
      documentId: id,
      kind: ArtifactKind.ARTIFACT_KIND_TEXT,
      plaintext: true,
      page: 0,
      recipientPublicKey: Buffer.alloc(0),
    }) as AsyncIterable<{ part?: { $case: string; value: unknown } }>) {
      if (m.part?.$case === 'chunk') parts.push(m.part.value as Buffer);
    }
    return Buffer.concat(parts).toString('utf8');
  }
});

describe.skipIf(!available)('IMAP folder names', () => {
  it('creates configured folder names with umlauts as modified UTF-7 under the namespace', async () => {
    const d = await startDovecot([u('utf7')]);
    const t = await startAccountsServer({ 'imap-rescan-ms': '0', 'imap-import-folder': 'Archivar/Zu übernehmen' });
    try {
      const s = await t.signUp('utf7@example.test');
      await setImap(s.c, d, 'utf7', PASS);
      await d.append(u('utf7'), 'Archivar.Zu übernehmen', mail({ subject: 'Umlaut', body: 'über' }));
      expect((await importNow(s.c)).imported).toBe(1n);
      expect(fs.readdirSync(d.maildir('utf7'))).toContain('.Archivar.Zu &APw-bernehmen');
      expect((await imapStatus(s.c)).lastError).toBe('');
    } finally {
      await t.stop();
      await destroyDovecot(d);
    }
  });
});

describe.skipIf(!available)('IMAP settings found by the rescan', () => {
  it('keep their ledger, status and watcher: a copy of imported mail stays a duplicate after rescans', async () => {
    const d = await startDovecot([u('rescan')]);
    const t = await startAccountsServer({ 'imap-rescan-ms': '20' });
    try {
      const s = await t.signUp('rescan@example.test');
      await setImap(s.c, d, 'rescan', PASS);
      const original = mail({ subject: 'Mietvertrag', body: 'm', messageId: '<miete@example.test>' });
      await d.append(u('rescan'), 'Archivar.Import', original);
      const first = await importNow(s.c);
      expect(first).toMatchObject({ imported: 1n, duplicates: 0n, lastError: '' });

      // The rescan reads the settings' keys: one-part keys come back from lmdb-js as the tenant id itself, and
      // its first character was taken for the tenant, so every rescan dropped the ledger and status.
      await rescans(t, 3);
      expect(await imapStatus(s.c)).toMatchObject({ imported: 1n, lastRunId: first.lastRunId, lastRunMs: first.lastRunMs });
      await d.append(u('rescan'), 'Archivar.Import', original);
      expect(await importNow(s.c)).toMatchObject({ imported: 1n, duplicates: 1n, lastRunDuplicates: 1n });
      expect(await mailDocuments(s.c)).toHaveLength(1);
    } finally {
      await t.stop();
      await destroyDovecot(d);
    }
  });
});

/** Resolves once the IMAP watchers have looked for stored settings `n` more times (each rescan lists their keys). */
function rescans(t: AccountsServer, n: number): Promise<void> {
  const db = t.server.app.store.db('accountImap');
  const getKeys = db.getKeys;
  let seen = 0;
  return new Promise((resolve) => {
    db.getKeys = ((...args: Parameters<typeof getKeys>) => {
      if (++seen === n) {
        db.getKeys = getKeys;
        setImmediate(resolve);
      }
      return getKeys.apply(db, args);
    }) as typeof getKeys;
  });
}

async function closedPort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 1));
    });
  });
}

/** A German mail in ISO-8859-1, quoted-printable, with a PDF attachment made by pdf-lib. */
async function germanMailWithPdf(): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  const page = pdf.addPage([595, 842]);
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  page.drawText('Zahlungserinnerung zur Rechnung 4711', { x: 50, y: 780, size: 16, font });
  page.drawText('Bitte überweisen Sie den Betrag bis zum 31.03.2025.', { x: 50, y: 750, size: 12, font });
  const pdfBytes = Buffer.from(await pdf.save());
  const body =
    'Sehr geehrte Frau Müller,\nhiermit bestätigen wir die Kündigung Ihres Vertrags zum 31.03.2025.\nMit freundlichen Grüßen';
  const qp = quotedPrintable(Buffer.from(body.replaceAll('\n', '\r\n'), 'latin1'));
  const b64 = pdfBytes.toString('base64').replace(/.{76}/g, '$&\r\n');
  const head = [
    'From: =?ISO-8859-1?Q?J=FCrgen_B=E4cker?= <juergen@example.test>',
    'To: frau.mueller@example.test',
    'Subject: =?ISO-8859-1?Q?K=FCndigung_Ihres_Vertrags?=',
    'Date: Mon, 17 Mar 2025 09:30:00 +0100',
    'Message-ID: <kuendigung-4711@example.test>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="grenze"',
    '',
    '--grenze',
    'Content-Type: text/plain; charset=ISO-8859-1',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    qp,
    '--grenze',
    'Content-Type: application/pdf; name="Zahlungserinnerung.pdf"',
    'Content-Disposition: attachment; filename="Zahlungserinnerung.pdf"',
    'Content-Transfer-Encoding: base64',
    '',
    b64,
    '--grenze--',
    '',
  ];
  return Buffer.from(head.join('\r\n'), 'latin1');
}

function quotedPrintable(bytes: Buffer): string {
  let out = '';
  let line = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] ?? 0;
    if (b === 13 && bytes[i + 1] === 10) {
      out += `${line}\r\n`;
      line = '';
      i++;
      continue;
    }
    const enc =
      (b >= 33 && b <= 126 && b !== 61) || b === 32
        ? String.fromCharCode(b)
        : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
    if (line.length + enc.length > 75) {
      out += `${line}=\r\n`;
      line = '';
    }
    line += enc;
  }
  return out + line;
}
