import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compress } from 'zstd-napi';
import type { DocumentIndexer, IndexedDocument } from '../../src/documents/processing.js';
import { DocumentSource, DocumentStatus } from '../../src/gen/archivar/v1/common.js';
import { ListRequest } from '../../src/gen/archivar/v1/documents.js';
import { ArchivarClient, type Connection, connect, unary } from '../../src/sdk/index.js';
import { loadConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/logger.js';
import { startServer } from '../../src/server/server.js';
import { cer } from '../fixtures/cer.js';
import { multiPageTiff, pngHeaderOnly } from '../fixtures/images.js';
import { GERMAN_PAGES, germanPdf, javascriptPdf, scannedPdf } from '../fixtures/pdfs.js';
import { renderTextPng } from '../fixtures/text-image.js';
import { makeZip } from '../fixtures/zip-writer.js';
import { uploadPlaintext } from '../helpers/raw-upload.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli, TEST_PRINCIPAL, TEST_TOKEN, type TestServer, testVerifier } from '../helpers/test-server.js';
import { downloadKind, getDoc, statusOf, TEXT, uploader, WORDS, type WordsJson, walk, watchAll } from './helpers.js';

const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
const OCR_LINES = ['Rechnung Nummer 4711 vom Juli', 'Bitte zahlen Sie den Betrag', 'innerhalb von vierzehn Tagen.'];
const SCAN_PAGES = [
  ['Erste Seite des Scans', 'Kontoauszug Sparkasse Köln'],
  ['Zweite Seite des Scans', 'Vertrag über die Wohnung'],
];

/** Records what the job runner hands the search index. */
class RecordingIndexer implements DocumentIndexer {
  added: { tenantId: string; doc: IndexedDocument }[] = [];
  removed: string[] = [];
  add(tenantId: string, doc: IndexedDocument) {
    this.added.push({ tenantId, doc });
  }
  remove(_tenantId: string, docId: string) {
    this.removed.push(docId);
  }
}

describe('processing through the real server and worker pool', () => {
  let t: TestServer;
  let upload: Awaited<ReturnType<typeof uploader>>;
  let admin: Connection;
  const indexer = new RecordingIndexer();
  // Every temp file of this process (and its worker threads, which copy the env at start) lands here.
  const tmp = tempDir('archivar-processing-tmp-');
  const previousTmp = process.env.TMPDIR;

  beforeAll(async () => {
    process.env.TMPDIR = tmp.path;
    const dir = fs.mkdtempSync(path.join(tmp.path, 'data-'));
    const config = loadConfig(
      {
        listen: '127.0.0.1:0',
        data: dir,
        'pool-threads': '1',
        'shutdown-grace-ms': '2000',
        'scrypt-log-n': '10',
        'retention-interval-ms': '0',
        'job-backoff-ms': '10',
      },
      {},
    );
    const server = await startServer(config, {
      log: createLogger('silent'),
      indexer,
      verifier: testVerifier({
        [TEST_TOKEN]: TEST_PRINCIPAL,
        [ADMIN_TOKEN]: { userId: 'op', tenantId: 'ops', role: 'admin', sessionId: 's-op' },
      }),
    });
    const address = `127.0.0.1:${server.port}`;
    const client = connect({ server: address, insecure: true, token: TEST_TOKEN });
    admin = connect({ server: address, insecure: true, token: ADMIN_TOKEN });
    t = {
      server,
      address,
      dataDir: dir,
      client,
      async stop() {
        client.close();
        admin.close();
        await server.shutdown();
      },
    };
    upload = await uploader(t);
  });

  afterAll(async () => {
    await t.stop();
    if (previousTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previousTmp;
    tmp.cleanup();
  });

  it('a born-digital PDF is INDEXED with its exact text per page, metadata, and an index entry', async () => {
    const id = await upload(await germanPdf(), 'pruefbericht.pdf', 'application/pdf');
    await t.server.runner.whenIdle();
    const doc = await getDoc(t.client, id);
    expect(statusOf(doc)).toEqual([DocumentStatus.DOCUMENT_STATUS_INDEXED, '']);
    expect(doc.mediaType).toBe('application/pdf');
    expect(doc.metadata).toMatchObject({
      title: 'Prüfbericht Müller',
      author: 'Jörg Äßler',
      subject: 'Prüfung',
      // pdf-lib writes the keywords space-separated; only commas and semicolons split them.
      keywords: ['Prüfung Rechnung'],
      pageCount: 2,
      language: 'deu',
      createdMs: BigInt(Date.parse('2024-03-01T10:00:00Z')),
    });
    const text = await downloadKind(t.client, id, TEXT);
    expect(text.mediaType).toBe('text/plain; charset=utf-8');
    expect(text.bytes.toString('utf8')).toBe(GERMAN_PAGES.map((lines) => lines.join('\n')).join('\f'));
    // Born-digital pages have no OCR word boxes.
    await expect(downloadKind(t.client, id, WORDS)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    const entry = indexer.added.find((a) => a.doc.docId === id);
    expect(entry?.tenantId).toBe('t1');
    expect(entry?.doc).toMatchObject({
      language: 'deu',
      mediaType: 'application/pdf',
      fields: { title: 'Prüfbericht Müller', fileName: 'pruefbericht.pdf', subject: 'Prüfung' },
    });
    expect(entry?.doc.fields.body).toHaveLength(2);

    // The CLI writes the same text to a file.
    const out = path.join(tmp.path, 'cli-text.txt');
    const cli = await runCli(['download', id, '--kind', 'text', '-o', out, '--server', t.address], {
      ARCHIVAR_TOKEN: TEST_TOKEN,
    });
    expect(cli.code, cli.stderr).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toBe(text.bytes.toString('utf8'));
    fs.rmSync(out);
  });

  it('an image is OCR’d (CER ≤ 5 %) with word boxes, and a scanned PDF streams OCR page progress', async () => {
    const png = renderTextPng(OCR_LINES, { fontSize: 40 });
    const imageId = await upload(png, 'rechnung.png');
    const scanId = await upload(
      await scannedPdf(SCAN_PAGES.map((lines) => renderTextPng(lines, { fontSize: 36, width: 1100 }))),
      'scan.pdf',
    );
    const events = await watchAll(t.client, scanId);
    await t.server.runner.whenIdle();

    const image = await getDoc(t.client, imageId);
    expect(statusOf(image)).toEqual([DocumentStatus.DOCUMENT_STATUS_INDEXED, '']);
    expect(image.mediaType).toBe('image/png');
    const ocr = (await downloadKind(t.client, imageId, TEXT)).bytes.toString('utf8');
    expect(cer(OCR_LINES.join('\n'), ocr)).toBeLessThanOrEqual(0.05);
    const words = JSON.parse((await downloadKind(t.client, imageId, WORDS)).bytes.toString('utf8')) as WordsJson;
    expect(words.format).toBe('archivar.words.v1');
    const page = words.pages[0];
    expect(page?.unit).toBe('px');
    expect([page?.width, page?.height]).toEqual([image.metadata?.width, image.metadata?.height]);
    const rechnung = page?.words.find((w) => w[0] === 'Rechnung');
    expect(rechnung).toBeDefined();
    const [, x, y, w, h, conf] = rechnung as [string, number, number, number, number, number];
    // First word of the first line: near the top-left padding of the rendered image.
    expect(x).toBeGreaterThanOrEqual(10);
    expect(x).toBeLessThan(80);
    expect(y).toBeLessThan(100);
    expect(w).toBeGreaterThan(100);
    expect(h).toBeGreaterThan(20);
    expect(conf).toBeGreaterThan(50);

    const scan = await getDoc(t.client, scanId);
    expect(statusOf(scan)).toEqual([DocumentStatus.DOCUMENT_STATUS_INDEXED, '']);
    const scanPages = (await downloadKind(t.client, scanId, TEXT)).bytes.toString('utf8').split('\f');
    expect(scanPages).toHaveLength(2);
    for (const [i, lines] of SCAN_PAGES.entries()) expect(cer(lines.join('\n'), scanPages[i] ?? '')).toBeLessThanOrEqual(0.05);
    const steps = events.map((e) => e.step);
    expect(steps).toContain('OPENING');
    expect(steps).toContain('EXTRACTING');
    expect(events.filter((e) => e.step === 'OCR').map((e) => e.message)).toEqual(['OCR page 1/2', 'OCR page 2/2']);
    expect(events.find((e) => e.step === 'OCR' && e.page === 2)?.pageCount).toBe(2);
    expect(events.at(-1)?.step).toBe('INDEXED');
    expect(events.at(-1)?.status).toBe(DocumentStatus.DOCUMENT_STATUS_INDEXED);
  });

  it('a ZIP becomes child documents with their own jobs, statuses and originals', async () => {
    const memberText = 'Mietvertrag für die Wohnung in der Goethestraße 12';
    const pdf = await germanPdf();
    const zip = makeZip([
      { name: 'docs/vertrag.txt', data: Buffer.from(memberText) },
      { name: 'docs/bericht.pdf', data: pdf },
      { name: 'blob.bin', data: Buffer.from([0, 1, 2, 3, 255, 254, 0, 0, 7, 9, 0, 1]) },
    ]);
    const id = await upload(zip, 'bundle.zip');
    await t.server.runner.whenIdle();
    const parent = await getDoc(t.client, id);
    expect(parent.status).toBe(DocumentStatus.DOCUMENT_STATUS_STORED);
    expect(parent.statusReason).toMatch(/3 contained documents/);
    expect(parent.mediaType).toBe('application/zip');
    const byName = new Map(parent.children.map((c) => [c.fileName, c]));
    expect([...byName.keys()].sort()).toEqual(['bericht.pdf', 'blob.bin', 'vertrag.txt']);
    expect(byName.get('vertrag.txt')?.status).toBe(DocumentStatus.DOCUMENT_STATUS_INDEXED);
    expect(byName.get('bericht.pdf')?.status).toBe(DocumentStatus.DOCUMENT_STATUS_INDEXED);
    expect(byName.get('blob.bin')?.status).toBe(DocumentStatus.DOCUMENT_STATUS_UNSUPPORTED);

    const txtId = byName.get('vertrag.txt')?.id as string;
    const child = await getDoc(t.client, txtId);
    expect(child).toMatchObject({
      parentId: id,
      source: DocumentSource.DOCUMENT_SOURCE_ARCHIVE_MEMBER,
      size: BigInt(Buffer.byteLength(memberText)),
    });
    expect((await downloadKind(t.client, txtId, TEXT)).bytes.toString('utf8')).toBe(memberText);
    // The child's original opens both ways: plaintext from the server, and sealed end to end (SDK default).
    const pdfId = byName.get('bericht.pdf')?.id as string;
    const plainOut = path.join(tmp.path, 'member-plain.pdf');
    const sealedOut = path.join(tmp.path, 'member-sealed.pdf');
    const sdk = new ArchivarClient(t.client);
    await sdk.download(pdfId, { to: plainOut, plaintext: true });
    await sdk.download(pdfId, { to: sealedOut });
    expect(fs.readFileSync(plainOut).equals(pdf)).toBe(true);
    expect(fs.readFileSync(sealedOut).equals(pdf)).toBe(true);
    fs.rmSync(plainOut);
    fs.rmSync(sealedOut);

    const listed = await unary(
      t.client.documents.list.bind(t.client.documents),
      ListRequest.fromPartial({ parentId: id, pageSize: 10 }),
    );
    expect(listed.documents).toHaveLength(3);
    const deleted = await unary(t.client.documents.delete.bind(t.client.documents), { documentId: id });
    expect(deleted.deletedIds).toHaveLength(4);
    expect(indexer.removed).toEqual(expect.arrayContaining([txtId, pdfId]));
  });

  it('an e-mail is INDEXED with sender metadata; its attachment becomes a child document', async () => {
    const mail = [
      'From: Jörg Äßler <joerg@example.org>',
      'To: Frau Müller <mueller@example.org>',
      'Subject: Ihre Rechnung',
      'Date: Tue, 05 Mar 2024 09:30:00 +0100',
      'Message-ID: <abc123@example.org>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="XYZ"',
      '',
      '--XYZ',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Guten Tag, anbei die Rechnung für den März.',
      '--XYZ',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Disposition: attachment; filename="rechnung.txt"',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('Rechnung Nummer 2024-03 über 99,00 Euro').toString('base64'),
      '--XYZ--',
      '',
    ].join('\r\n');
    const id = await upload(mail, 'rechnung.eml', 'message/rfc822');
    await t.server.runner.whenIdle();
    const doc = await getDoc(t.client, id);
    expect(statusOf(doc)).toEqual([DocumentStatus.DOCUMENT_STATUS_INDEXED, '']);
    expect(doc.mediaType).toBe('message/rfc822');
    expect(doc.metadata).toMatchObject({ title: 'Ihre Rechnung', messageId: '<abc123@example.org>' });
    expect(doc.metadata?.from).toContain('joerg@example.org');
    expect(doc.metadata?.sentMs).toBe(BigInt(Date.parse('2024-03-05T08:30:00Z')));
    expect((await downloadKind(t.client, id, TEXT)).bytes.toString('utf8')).toContain('anbei die Rechnung');
    expect(doc.children).toHaveLength(1);
    const child = await getDoc(t.client, doc.children[0]?.id as string);
    expect(child).toMatchObject({ fileName: 'rechnung.txt', parentId: id, source: DocumentSource.DOCUMENT_SOURCE_ATTACHMENT });
    expect(child.status).toBe(DocumentStatus.DOCUMENT_STATUS_INDEXED);
    expect((await downloadKind(t.client, child.id, TEXT)).bytes.toString('utf8')).toBe('Rechnung Nummer 2024-03 über 99,00 Euro');
  });

  it('hostile inputs end with a clear status, and the server keeps serving', async () => {
    const bomb = makeZip([{ name: 'zeros', data: Buffer.alloc(20 * 1024 * 1024) }]);
    const ids = {
      bomb: await upload(bomb, 'bomb.zip'),
      pixels: await upload(pngHeaderOnly(100_000, 100_000), 'huge.png'),
      js: await upload(await javascriptPdf(), 'script.pdf'),
    };
    await t.server.runner.whenIdle();
    const bombDoc = await getDoc(t.client, ids.bomb);
    expect(bombDoc.status).toBe(DocumentStatus.DOCUMENT_STATUS_FAILED);
    expect(bombDoc.statusReason).toMatch(/zip bomb|ratio|exceeds/i);
    const pixels = await getDoc(t.client, ids.pixels);
    expect(pixels.status).toBe(DocumentStatus.DOCUMENT_STATUS_FAILED);
    expect(pixels.statusReason).toMatch(/pixel/i);
    // An empty file is refused at the upload already (nothing stored).
    await expect(upload(Buffer.alloc(0), 'empty.txt')).rejects.toMatchObject({ details: 'the file is empty (0 bytes)' });
    const js = await getDoc(t.client, ids.js);
    expect([DocumentStatus.DOCUMENT_STATUS_INDEXED, DocumentStatus.DOCUMENT_STATUS_STORED]).toContain(js.status);
    expect((globalThis as Record<string, unknown>).__archivarPdfJsRan).toBeUndefined();

    const after = await upload(`still serving ${Date.now()}`, 'after.txt');
    await t.server.runner.whenIdle();
    expect((await getDoc(t.client, after)).status).toBe(DocumentStatus.DOCUMENT_STATUS_INDEXED);
  });

  it('deleting a document aborts its running job', async () => {
    const png = renderTextPng(['Langsames Dokument', 'zum Abbrechen'], { fontSize: 40 });
    const tiff = await multiPageTiff([png, png, png, png, png, png]);
    const id = await upload(tiff, 'slow.tiff');
    const sawOcr = new Promise<void>((resolve, reject) => {
      const call = t.client.documents.watchProcessing({ documentId: id });
      call.on('data', (e: { step: string }) => {
        if (e.step === 'OCR') {
          call.cancel();
          resolve();
        }
      });
      call.on('error', (err: grpc.ServiceError) => (err.code === grpc.status.CANCELLED ? undefined : reject(err)));
    });
    await sawOcr;
    const started = Date.now();
    await unary(t.client.documents.delete.bind(t.client.documents), { documentId: id });
    await t.server.runner.whenIdle();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(t.server.documents.deps.jobs.countByState()).toEqual({ queued: 0, running: 0 });
    const after = await upload(`after abort ${Date.now()}`, 'after-abort.txt');
    await t.server.runner.whenIdle();
    expect((await getDoc(t.client, after)).status).toBe(DocumentStatus.DOCUMENT_STATUS_INDEXED);
  });

  it('Admin.Reprocess enqueues existing documents again (operators only)', async () => {
    const id = await upload(`Reprocess me ${Date.now()}`, 'again.txt');
    await t.server.runner.whenIdle();
    const before = indexer.added.filter((a) => a.doc.docId === id).length;
    await expect(
      unary(t.client.admin.reprocess.bind(t.client.admin), { scope: { $case: 'all', value: true } }),
    ).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    const one = await unary(admin.admin.reprocess.bind(admin.admin), {
      scope: { $case: 'document', value: { tenantId: 't1', documentId: id } },
    });
    expect(one.jobsEnqueued).toBe(1n);
    await t.server.runner.whenIdle();
    expect(indexer.added.filter((a) => a.doc.docId === id)).toHaveLength(before + 1);
    expect((await getDoc(t.client, id)).status).toBe(DocumentStatus.DOCUMENT_STATUS_INDEXED);
    const tenant = await unary(admin.admin.reprocess.bind(admin.admin), { scope: { $case: 'tenantId', value: 't1' } });
    expect(Number(tenant.jobsEnqueued)).toBeGreaterThan(1);
    await t.server.runner.whenIdle();
    await expect(
      unary(admin.admin.reprocess.bind(admin.admin), {
        scope: { $case: 'document', value: { tenantId: 't1', documentId: 'doc_nope' } },
      }),
    ).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('Admin.Reprocess of an archive keeps out a member the user deleted', async () => {
    const zip = makeZip([
      { name: 'behalten.txt', data: Buffer.from(`Behalten ${Date.now()}`) },
      { name: 'entfernt.txt', data: Buffer.from(`Entfernt ${Date.now()}`) },
    ]);
    const id = await upload(zip, 'mitglieder.zip');
    await t.server.runner.whenIdle();
    const gone = (await getDoc(t.client, id)).children.find((c) => c.fileName === 'entfernt.txt');
    if (!gone) throw new Error('no member entfernt.txt');
    await unary(t.client.documents.delete.bind(t.client.documents), { documentId: gone.id });
    await unary(admin.admin.reprocess.bind(admin.admin), {
      scope: { $case: 'document', value: { tenantId: 't1', documentId: id } },
    });
    await t.server.runner.whenIdle();
    // Before, processing again unpacked it as a new document: deleted by the user, back after an operator's run.
    const after = await getDoc(t.client, id);
    expect(after.children.map((c) => c.fileName)).toEqual(['behalten.txt']);
    expect(after.status).toBe(DocumentStatus.DOCUMENT_STATUS_STORED);
  });

  it('keeps no plaintext of text, word boxes, file name, tags or metadata at rest, and no temp files', async () => {
    const marker = `MARKER-${Math.random().toString(36).slice(2)}-Geheim`;
    const text = `${marker}\n`.repeat(500);
    // The marker also sits in the file name and a tag (the document record), and the text carries recognised
    // values (an IBAN and an e-mail address end up in the record's metadata).
    const serverKey = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    const valued = `${text}IBAN DE02 1203 0000 0000 2020 51\nKontakt: ${marker.toLowerCase()}@example.test\n`;
    const { documentId: id } = await uploadPlaintext(t.client, serverKey, valued, {
      fileName: `${marker}-Datei.txt`,
      tags: [`${marker}-Tag`],
    });
    await t.server.runner.whenIdle();
    const doc = await getDoc(t.client, id);
    expect([doc.status, doc.fileName, doc.tags]).toEqual([
      DocumentStatus.DOCUMENT_STATUS_INDEXED,
      `${marker}-Datei.txt`,
      [`${marker}-Tag`],
    ]);
    expect((await downloadKind(t.client, id, TEXT)).bytes.toString('utf8')).toBe(valued.trim());
    const metadata = JSON.stringify(t.server.documents.deps.documents.get(TEST_PRINCIPAL.tenantId, id)?.metadata);
    expect(metadata).toContain('DE02120300000000202051');
    expect(metadata).toContain(`${marker.toLowerCase()}@example.test`);
    const needles = [
      Buffer.from(marker),
      Buffer.from(marker.toLowerCase()),
      Buffer.from('DE02120300000000202051'),
      Buffer.from('DE02 1203 0000 0000 2020 51'),
      compress(Buffer.from(text.trim())).subarray(4, 40),
      Buffer.from('archivar.words.v1'),
    ];
    for (const file of walk(t.dataDir)) {
      const bytes = fs.readFileSync(file);
      for (const n of needles) expect(bytes.includes(n), `${file} holds plaintext`).toBe(false);
    }
    // Only the server's data dir is in our private temp dir: OCR, PDF and image stages left nothing.
    // (tsx, the test-time TypeScript loader, keeps its compile cache there too.)
    const leftovers = fs
      .readdirSync(tmp.path)
      .filter((name) => path.join(tmp.path, name) !== t.dataDir && !name.startsWith('tsx-'));
    expect(leftovers).toEqual([]);
    expect(os.tmpdir()).toBe(tmp.path);
  });
});
