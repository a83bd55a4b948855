/** The document commands (ingest, get, ls, download, rm) as a user runs them, against a real server. */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocumentStatus } from '../../src/gen/archivar/v1/common.js';
import { SearchRequest } from '../../src/gen/archivar/v1/search.js';
import { unary } from '../../src/sdk/index.js';
import { renderTextPng } from '../fixtures/text-image.js';
import { makeZip } from '../fixtures/zip-writer.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli, startTestServer, TEST_PRINCIPAL, TEST_TOKEN, type TestServer } from '../helpers/test-server.js';

interface IngestLine {
  file: string;
  id?: string;
  contentId?: string;
  duplicate?: boolean;
  status?: string;
  error?: string;
}

const jsonLines = <T>(stdout: string): T[] =>
  stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);

describe('archivar document commands', () => {
  let t: TestServer;
  let dir: ReturnType<typeof tempDir>;
  let cli: (args: string[]) => ReturnType<typeof runCli>;
  let folder: string;
  const files: Record<string, Buffer> = {};

  beforeAll(async () => {
    t = await startTestServer();
    dir = tempDir('archivar-cli-docs-');
    cli = (args) => runCli(['--server', t.address, ...args], { ARCHIVAR_TOKEN: TEST_TOKEN });
    folder = path.join(dir.path, 'inbox');
    fs.mkdirSync(path.join(folder, 'sub', 'deeper'), { recursive: true });
    const add = (rel: string, content: Buffer) => {
      fs.writeFileSync(path.join(folder, rel), content);
      files[rel] = content;
    };
    add('rechnung.txt', Buffer.from('Rechnung 2024-0815\nBetrag: 1.234,56 EUR\n'));
    add('sub/scan.bin', randomBytes(300_000));
    add('sub/deeper/notes.md', Buffer.from('# Notizen\n'.repeat(1000)));
    add('sub/copy-of-rechnung.txt', files['rechnung.txt'] as Buffer);
    // Hidden entries of a folder are the system's or a tool's, not documents: ingest skips them.
    fs.mkdirSync(path.join(folder, '.git'));
    fs.writeFileSync(path.join(folder, '.git', 'config'), '[core]\n');
    fs.writeFileSync(path.join(folder, 'sub', '.DS_Store'), randomBytes(64));
  });

  afterAll(async () => {
    await t.stop();
    dir.cleanup();
  });

  let ingested: IngestLine[] = [];

  it('ingest --json --wait uploads a folder recursively and prints one object per file', async () => {
    const r = await cli(['--json', 'ingest', '--wait', '--tag', 'inbox', '-c', '2', folder]);
    expect(r.stderr).toMatch(/3 stored, 1 duplicate, 0 failed/);
    expect(r.code).toBe(0);
    ingested = jsonLines<IngestLine>(r.stdout);
    expect(ingested.map((l) => path.relative(folder, l.file)).sort()).toEqual(Object.keys(files).sort());
    for (const line of ingested) {
      expect(line.id).toMatch(/\S/);
      expect(line.contentId).toMatch(/^[0-9a-f]{64}$/);
      expect(['stored', 'indexed', 'unsupported']).toContain(line.status);
    }
    const copies = ingested.filter((l) => l.file.endsWith('rechnung.txt'));
    expect(copies).toHaveLength(2);
    expect(copies[0]?.id).toBe(copies[1]?.id);
    expect(copies.filter((l) => l.duplicate)).toHaveLength(1);
  });

  it('get prints a summary, or the document as JSON', async () => {
    const scan = ingested.find((l) => l.file.endsWith('scan.bin')) as IngestLine;
    const [human, json] = await Promise.all([cli(['get', scan.id as string]), cli(['--json', 'get', scan.id as string])]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/file:\s+scan\.bin/);
    expect(human.stdout).toMatch(/tags:\s+inbox/);
    expect(human.stdout).toMatch(/^downloads:\s+original\b/m);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as { id: string; size: number; contentId: string; tags: string[]; status: string };
    expect(doc).toMatchObject({ id: scan.id, size: 300_000, contentId: scan.contentId, tags: ['inbox'] });
  });

  it('get shows a mail’s sender, recipients, copies and sent date', async () => {
    const file = path.join(dir.path, 'termin.eml');
    fs.writeFileSync(
      file,
      [
        'From: Jörg Äßler <joerg@example.org>',
        'To: Frau Müller <mueller@example.org>',
        'Cc: buero@example.org',
        'Subject: Termin',
        'Date: Tue, 05 Mar 2024 09:30:00 +0100',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Der Termin ist am Freitag.',
        '',
      ].join('\r\n'),
    );
    const ingest = await cli(['--json', 'ingest', '--wait', file]);
    expect(ingest.code, ingest.stderr).toBe(0);
    const id = jsonLines<IngestLine>(ingest.stdout)[0]?.id as string;
    const got = await cli(['get', id]);
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(/^from:\s+Jörg Äßler <joerg@example\.org>$/m);
    expect(got.stdout).toMatch(/^to:\s+Frau Müller <mueller@example\.org>$/m);
    expect(got.stdout).toMatch(/^cc:\s+buero@example\.org$/m);
    expect(got.stdout).toMatch(/^sent:\s+2024-03-05T08:30:00\.000Z$/m);
    expect((await cli(['rm', id])).code).toBe(0);
  });

  it('get shows a PDF’s subject, keywords and own date, and the values found in its text with their pages', async () => {
    const pdf = await PDFDocument.create();
    const font = await pdf.embedFont(StandardFonts.Helvetica);
    pdf.addPage([595, 842]).drawText('Rechnung Nr. RE-2024-0042 vom 15.03.2024', { x: 72, y: 770, size: 12, font });
    pdf.addPage([595, 842]).drawText('Gesamtbetrag: 1.234,56 EUR', { x: 72, y: 770, size: 12, font });
    pdf.setTitle('Rechnung März');
    pdf.setSubject('Büromaterial');
    pdf.setKeywords(['Steuer', 'Büro']);
    pdf.setCreationDate(new Date('2024-03-15T10:00:00Z'));
    const file = path.join(dir.path, 'rechnung-maerz.pdf');
    fs.writeFileSync(file, await pdf.save());
    const ingest = await cli(['--json', 'ingest', '--wait', file]);
    expect(ingest.code, ingest.stderr).toBe(0);
    const id = jsonLines<IngestLine>(ingest.stdout)[0]?.id as string;
    const got = await cli(['get', id]);
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(/^subject:\s+Büromaterial$/m);
    expect(got.stdout).toMatch(/^keywords:\s+Steuer Büro$/m);
    expect(got.stdout).toMatch(/^file date:\s+2024-03-15T10:00:00\.000Z$/m);
    expect(got.stdout.split('\n').filter((l) => l.startsWith('found:'))).toEqual([
      expect.stringMatching(/^found:\s+invoice number RE-2024-0042 \(p\. 1\)$/),
      expect.stringMatching(/^found:\s+date 2024-03-15 \("15\.03\.2024", p\. 1\)$/),
      expect.stringMatching(/^found:\s+amount 1234\.56 EUR \("1\.234,56 EUR", p\. 2\)$/),
    ]);
    expect((await cli(['rm', id])).code).toBe(0);
  });

  it('ingest --wait waits for a mail’s attachments too: found by search when it returns', async () => {
    // A scan as the attachment: its OCR runs after the mail is done.
    const scan = renderTextPng(['Zaunpfosten Lieferschein', 'Menge 12 Stück'], { fontSize: 40 }).toString('base64');
    const file = path.join(dir.path, 'lieferschein.eml');
    fs.writeFileSync(
      file,
      [
        'From: lager@example.org',
        'Subject: Lieferschein',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="B"',
        '',
        '--B',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Anbei der Scan.',
        '--B',
        'Content-Type: image/png',
        'Content-Disposition: attachment; filename="scan.png"',
        'Content-Transfer-Encoding: base64',
        '',
        scan,
        '--B--',
        '',
      ].join('\r\n'),
    );
    const ingest = await cli(['--json', 'ingest', '--wait', '--tag', 'Lager 2024', file]);
    expect(ingest.code, ingest.stderr).toBe(0);
    const id = jsonLines<IngestLine>(ingest.stdout)[0]?.id as string;
    // Read in this process at once (another CLI process would take long enough to start for the OCR to end).
    const mail = await unary(t.client.documents.get.bind(t.client.documents), { documentId: id });
    expect(mail.document?.children.map((c) => c.status)).toEqual([DocumentStatus.DOCUMENT_STATUS_INDEXED]);
    const found = await unary(t.client.search.search.bind(t.client.search), SearchRequest.fromPartial({ query: 'Zaunpfosten' }));
    expect(found.hits.map((h) => h.documentId)).toEqual([mail.document?.children[0]?.id]);
    // The attachment carries the tags the mail was uploaded with: found under them, as the mail is.
    const tagged = await unary(
      t.client.search.search.bind(t.client.search),
      SearchRequest.fromPartial({ query: 'tag:"Lager 2024" Zaunpfosten' }),
    );
    expect(tagged.hits.map((h) => h.documentId)).toEqual([mail.document?.children[0]?.id]);
    expect((await cli(['rm', id])).code).toBe(0);
  });

  it('ls lists newest first with --limit, --tag and --status', async () => {
    // Independent runs in parallel: each CLI start costs a second or two.
    const [all, limited, queued, table, bad, none, shortType] = await Promise.all([
      cli(['--json', 'ls', '--tag', 'inbox']),
      cli(['--json', 'ls', '--limit', '2']),
      cli(['--json', 'ls', '--status', 'queued,processing']),
      cli(['ls']),
      cli(['ls', '--status', 'sideways']),
      cli(['ls', '--tag', 'no-such-tag']),
      cli(['ls', '--type', 'pdf']),
    ]);
    // Search's type:pdf is no media type: said at once, not answered with an empty list.
    expect(shortType.code).toBe(2);
    expect(shortType.stderr).toMatch(/--type takes a media type such as application\/pdf or image\/png, got "pdf"/);
    // Nothing to list: said on stderr, no table on stdout.
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    expect(none.stderr).toBe('no documents\n');
    expect(all.code).toBe(0);
    const docs = jsonLines<{ id: string; createdMs: number }>(all.stdout);
    expect(docs).toHaveLength(3);
    expect(docs.map((d) => d.createdMs)).toEqual([...docs.map((d) => d.createdMs)].sort((a, b) => b - a));
    expect(jsonLines(limited.stdout)).toHaveLength(2);
    expect(jsonLines(queued.stdout)).toHaveLength(0);
    expect(table.stdout).toMatch(/^ID\s+STATUS\s+SIZE/);
    expect(table.stdout).toMatch(/notes\.md/);
    expect(bad.code).toBe(2);
  });

  it('download -o writes the original byte-identical (sealed and --plaintext), -o - to stdout', async () => {
    const scan = ingested.find((l) => l.file.endsWith('scan.bin')) as IngestLine;
    const out = path.join(dir.path, 'scan-copy.bin');
    const r = await cli(['download', scan.id as string, '-o', out]);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(out).equals(files['sub/scan.bin'] as Buffer)).toBe(true);
    const plainOut = path.join(dir.path, 'scan-plain.bin');
    const p = await cli(['--json', 'download', scan.id as string, '--plaintext', '-o', plainOut]);
    expect(p.code).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({ bytes: 300_000, contentId: scan.contentId });
    expect(fs.readFileSync(plainOut).equals(files['sub/scan.bin'] as Buffer)).toBe(true);

    const notes = ingested.find((l) => l.file.endsWith('notes.md')) as IngestLine;
    const s = await cli(['download', notes.id as string, '-o', '-']);
    expect(s.code).toBe(0);
    expect(s.stdout).toBe((files['sub/deeper/notes.md'] as Buffer).toString());
    const missingOutput = await cli(['download', notes.id as string]);
    expect(missingOutput.code).toBe(2);
    // A folder, or a file in a folder that does not exist: said plainly, before anything is fetched.
    const toFolder = await cli(['download', notes.id as string, '-o', dir.path]);
    expect(toFolder.code).toBe(2);
    expect(toFolder.stderr).toMatch(/is a folder; give a file name/);
    const nowhere = await cli(['download', notes.id as string, '-o', path.join(dir.path, 'no', 'such', 'x.md')]);
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toMatch(/there is no folder/);
    expect(nowhere.stderr).not.toMatch(/\.part/);
  });

  it('download --kind thumbnail, page --page N and pdf write the previews of a PDF', async () => {
    const pdf = await PDFDocument.create();
    for (const text of ['Seite eins', 'Seite zwei']) pdf.addPage([595, 842]).drawText(text, { x: 60, y: 700, size: 30 });
    const original = Buffer.from(await pdf.save());
    const file = path.join(dir.path, 'zwei-seiten.pdf');
    fs.writeFileSync(file, original);
    const ingest = await cli(['--json', 'ingest', '--wait', file]);
    expect(ingest.code, ingest.stderr).toBe(0);
    const id = jsonLines<IngestLine>(ingest.stdout)[0]?.id as string;
    // --json gives numbers, the PDF's own dates in its metadata too (proto JSON would give int64 as strings).
    const got = JSON.parse((await cli(['--json', 'get', id])).stdout) as { metadata: Record<string, unknown> };
    expect(got.metadata.pageCount).toBe(2);
    expect(typeof got.metadata.createdMs).toBe('number');
    expect(got.metadata.createdMs).toBeGreaterThan(Date.UTC(2020, 0, 1));

    const thumb = path.join(dir.path, 'thumb.webp');
    expect((await cli(['download', id, '--kind', 'thumbnail', '-o', thumb])).code).toBe(0);
    expect(await sharp(thumb).metadata()).toMatchObject({ format: 'webp', width: 256 });
    const page2 = path.join(dir.path, 'page-2.png');
    expect((await cli(['download', id, '--kind', 'page', '--page', '2', '-o', page2])).code).toBe(0);
    expect(await sharp(page2).metadata()).toMatchObject({ format: 'png', width: 1024 });
    const asPdf = path.join(dir.path, 'preview.pdf');
    expect((await cli(['download', id, '--kind', 'pdf', '-o', asPdf])).code).toBe(0);
    expect(fs.readFileSync(asPdf).equals(original)).toBe(true);

    const noPage = await cli(['download', id, '--kind', 'page', '-o', page2]);
    expect([noPage.code, noPage.stderr]).toEqual([2, expect.stringContaining('--kind page needs --page N')]);
    const pastEnd = await cli(['download', id, '--kind', 'page', '--page', '3', '-o', page2]);
    expect([pastEnd.code, pastEnd.stderr]).toEqual([1, expect.stringContaining('page must be between 1 and 2')]);
  }, 180_000); // seven CLI processes and a processed PDF: about a minute on 2 loaded cores

  it('rm deletes; get and download then fail with NOT_FOUND and exit 1', async () => {
    const notes = ingested.find((l) => l.file.endsWith('notes.md')) as IngestLine;
    const r = await cli(['rm', notes.id as string]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(notes.id);
    const get = await cli(['get', notes.id as string]);
    expect(get.code).toBe(1);
    expect(get.stderr).toMatch(/NOT_FOUND/);
    const out = path.join(dir.path, 'notes-after-rm.md');
    const dl = await cli(['download', notes.id as string, '-o', out]);
    expect(dl.code).toBe(1);
    expect(fs.existsSync(out)).toBe(false);
    expect((await cli(['rm', notes.id as string])).code).toBe(1);
  });

  it('get prints a document’s own text (an e-mail subject) without its control characters or line breaks', async () => {
    const subject = Buffer.from('Mahnung \x1b]0;pwned\x07\x1b[2J\x1b[31mROT\r\nZeile').toString('base64');
    const eml = path.join(dir.path, 'escape.eml');
    fs.writeFileSync(
      eml,
      ['From: a@example.org', 'To: b@example.org', `Subject: =?utf-8?b?${subject}?=`, '', 'Text der Mahnung.', ''].join('\r\n'),
    );
    const ingested = await cli(['--json', 'ingest', '--wait', eml]);
    expect(ingested.code).toBe(0);
    const id = (JSON.parse(ingested.stdout) as IngestLine).id as string;
    const human = await cli(['get', id]);
    expect(human.code).toBe(0);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what must not be there
    expect(human.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(human.stdout).toMatch(/^title:\s+Mahnung .*ROT Zeile$/m);
  });

  it('ls and get print file names without control characters (a member name stored before they were all cleaned)', async () => {
    const zip = path.join(dir.path, 'namen.zip');
    fs.writeFileSync(zip, makeZip([{ name: 'mitglied.txt', data: Buffer.from('Mitglied im Archiv') }]));
    const ingested = await cli(['--json', 'ingest', '--wait', zip]);
    expect(ingested.code).toBe(0);
    const parentId = (JSON.parse(ingested.stdout) as IngestLine).id as string;
    await t.server.runner.whenIdle();
    // What cleanFileName let through before it stripped C1 characters: U+009B is a terminal's CSI.
    const { store, documents } = t.server.documents.deps;
    const parent = documents.get(TEST_PRINCIPAL.tenantId, parentId);
    const child = documents.get(TEST_PRINCIPAL.tenantId, parent?.children[0] as string);
    if (!child) throw new Error('the archive has no member');
    await store.atomic(() => documents.updateSync({ ...child, fileName: 'mit\u009b2Jglied\u001b[31m.txt' }));
    const listed = await cli(['ls', '--limit', '0']);
    const got = await cli(['get', parentId]);
    expect(listed.code).toBe(0);
    expect(got.code).toBe(0);
    for (const out of [listed.stdout, got.stdout]) {
      expect(out).toContain('mit2Jglied[31m.txt');
      expect(out).not.toMatch(/[^\P{Cc}\n]/u);
    }
  });

  it('get and ls: PDF metadata of megabytes (title, keywords) cut at 1 000 characters and 100 keywords (three such made ls exceed the message limit)', async () => {
    const ids: string[] = [];
    // Three: one such document fits a page under the limits, three do not (3.6 MB title, 1 MB of keywords each).
    for (let n = 0; n < 3; n++) {
      const pdf = await PDFDocument.create();
      pdf.addPage([200, 200]);
      pdf.setTitle(`Riesig ${n} ${'Sehr langer Titel '.repeat(200_000)}`);
      pdf.setKeywords([`Schlagwort ${'sehr lang '.repeat(100_000)},`, ...Array.from({ length: 500 }, (_, i) => `wort${i},`)]);
      const file = path.join(dir.path, `riesig-${n}.pdf`);
      fs.writeFileSync(file, await pdf.save());
      const ingested = await cli(['--json', 'ingest', '--wait', file]);
      expect(ingested.code).toBe(0);
      ids.push((JSON.parse(ingested.stdout) as IngestLine).id as string);
    }
    const doc = JSON.parse((await cli(['--json', 'get', ids[0] as string])).stdout) as {
      metadata: { title: string; keywords: string[] };
    };
    expect(doc.metadata.title).toHaveLength(1000);
    expect(doc.metadata.title).toMatch(/^Riesig 0 Sehr langer Titel .*…$/);
    expect(doc.metadata.keywords).toHaveLength(100);
    expect(doc.metadata.keywords[0]).toHaveLength(1000);
    expect(doc.metadata.keywords[0]).toMatch(/^Schlagwort sehr lang .*…$/);
    expect(doc.metadata.keywords[99]).toBe('wort98');
    const listed = await cli(['ls', '--limit', '5']);
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    for (const id of ids) expect(listed.stdout).toContain(id);
  }, 120_000);

  it('get and ls cut the metadata of records stored before the worker cut it (three of megabytes exceeded the message limit)', async () => {
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) {
      const file = path.join(dir.path, `alt-${n}.txt`);
      fs.writeFileSync(file, `Alter Datensatz ${n} ${randomBytes(8).toString('hex')}`);
      const ingested = await cli(['--json', 'ingest', '--wait', file]);
      expect(ingested.code).toBe(0);
      ids.push((JSON.parse(ingested.stdout) as IngestLine).id as string);
    }
    // What a record processed before the cut holds: megabytes of title, sender and keywords, 5 000 recipients.
    const { store, documents } = t.server.documents.deps;
    for (const id of ids) {
      const doc = documents.get(TEST_PRINCIPAL.tenantId, id);
      if (!doc) throw new Error(`no record ${id}`);
      const metadata = {
        ...doc.metadata,
        title: `Alt ${'Sehr langer Titel '.repeat(200_000)}`,
        from: `${'a'.repeat(1_000_000)}@example.org`,
        keywords: [`Schlagwort ${'sehr lang '.repeat(100_000)}`, 'zwei'],
        to: Array.from({ length: 5000 }, (_, i) => `empfaenger${i}@example.org`),
      };
      await store.atomic(() => documents.updateSync({ ...doc, metadata }));
    }
    const listed = await cli(['ls', '--limit', '5']);
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    for (const id of ids) expect(listed.stdout).toContain(id);
    const doc = JSON.parse((await cli(['--json', 'get', ids[0] as string])).stdout) as {
      metadata: { title: string; from: string; keywords: string[]; to: string[] };
    };
    expect(doc.metadata.title).toHaveLength(1000);
    expect(doc.metadata.from).toHaveLength(1000);
    expect(doc.metadata.keywords.map((k) => k.length)).toEqual([1000, 4]);
    expect(doc.metadata.to).toHaveLength(100);
  });

  it('ingest reports missing paths as failed and exits 1; without a token it fails cleanly', async () => {
    const extra = path.join(dir.path, 'extra.txt');
    fs.writeFileSync(extra, `extra ${randomBytes(8).toString('hex')}`);
    const r = await cli(['ingest', extra, path.join(dir.path, 'does-not-exist')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^stored\s+\S+\s+queued\s+.*extra\.txt$/m);
    expect(r.stdout).toMatch(/failed .*does-not-exist: no such file or folder/);
    expect(r.stdout).toMatch(/1 stored, 0 duplicate, 1 failed/);
    // Under --json a failed file's line has the same keys as a stored one's.
    const json = jsonLines<Record<string, unknown>>((await cli(['--json', 'ingest', extra, path.join(dir.path, 'gone')])).stdout);
    expect(json).toHaveLength(2);
    expect(Object.keys(json[0]!).sort()).toEqual(Object.keys(json[1]!).sort());
    expect(json.find((l) => l.error !== null)).toMatchObject({
      id: null,
      status: null,
      error: expect.stringMatching(/no such file/),
    });

    const anonymous = await runCli(['--server', t.address, 'ingest', extra]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/UNAUTHENTICATED: not logged in; run archivar account login/);
    // A tag command with nothing to do is a usage error.
    const ids = await cli(['--json', 'ls', '--limit', '1']);
    const [first] = ids.stdout.trim().split('\n');
    const noop = await cli(['tag', JSON.parse(first as string).id]);
    expect(noop.code).toBe(2);
    expect(noop.stderr).toMatch(/nothing to do/);
  });
});
