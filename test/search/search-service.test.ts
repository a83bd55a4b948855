import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchIndexer } from '../../src/documents/search-adapters.js';
import { ArchivarClient, type Connection, unary } from '../../src/sdk/index.js';
import { JobRunner } from '../../src/workers/job-runner.js';
import { renderTextPng } from '../fixtures/text-image.js';
import { uploadPlaintext } from '../helpers/raw-upload.js';
import { type SearchFixture, search, startSearchFixture } from '../helpers/search-fixture.js';
import { runCli, spawnCli, TEST_PRINCIPAL, TEST_TOKEN, type TestServer } from '../helpers/test-server.js';

const CORPUS: Record<string, string> = {
  'rechnung.txt': 'Rechnung RE-2024-0042 der Müller GmbH.\nBitte überweisen Sie den Betrag bis zum 3. März 2024.',
  'datenschutz.txt': 'Die Datenschutzerklärung erklärt, wie wir Ihre Daten verarbeiten.',
  'running.txt': 'The runners were running through the park while it was raining.',
  'invoice.txt': 'Invoice for consulting services: the invoice total is due in March.',
};

describe('SearchService over gRPC', () => {
  let fx: SearchFixture;
  let t: TestServer;
  let other: Connection;
  let ids: Record<string, string>;

  beforeAll(async () => {
    fx = await startSearchFixture(CORPUS);
    ({ t, other, ids } = fx);
  });
  afterAll(async () => {
    await fx.stop();
  });

  it('finds documents by stemmed words, umlaut variants and compound parts, with highlighted snippets', async () => {
    const umlaut = await search(t.client, 'mueller');
    expect(umlaut.hits.map((h) => h.documentId)).toEqual([ids['rechnung.txt']]);
    const snippet = umlaut.hits[0]?.snippets[0];
    expect(snippet?.page).toBe(1);
    const marked = snippet?.highlights.map((h) => snippet.text.slice(h.start, h.end));
    expect(marked).toEqual(['Müller']);

    expect((await search(t.client, 'Erklärung')).hits.map((h) => h.documentId)).toEqual([ids['datenschutz.txt']]);
    expect((await search(t.client, 'run')).hits.map((h) => h.documentId)).toEqual([ids['running.txt']]);
    expect((await search(t.client, 'RE-2024-0042')).hits.map((h) => h.documentId)).toEqual([ids['rechnung.txt']]);
  });

  it('gives as many snippets per hit as asked (one per page with hits, at most 5), or none', async () => {
    const pdf = await PDFDocument.create();
    const font = await pdf.embedFont(StandardFonts.Helvetica);
    for (let p = 1; p <= 6; p++)
      pdf.addPage([595, 842]).drawText(`Seite ${p}: der Quartalsbericht, Abschnitt ${p}.`, { x: 72, y: 770, size: 12, font });
    const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    const { documentId } = await uploadPlaintext(t.client, key, Buffer.from(await pdf.save()), {
      fileName: 'bericht.pdf',
      mediaType: 'application/pdf',
    });
    await t.server.runner.whenIdle();
    const pages = async (more: { snippets?: number; noSnippets?: boolean }) => {
      const res = await search(t.client, 'Quartalsbericht', more);
      expect(res.hits.map((h) => h.documentId)).toEqual([documentId]);
      return res.hits[0]?.snippets.map((s) => s.page);
    };
    expect(await pages({})).toEqual([1, 2]);
    expect(await pages({ snippets: 5 })).toEqual([1, 2, 3, 4, 5]);
    expect(await pages({ snippets: 1 })).toEqual([1]);
    expect(await pages({ snippets: 5, noSnippets: true })).toEqual([]);
    // The SDK's spelling of both.
    const sdk = new ArchivarClient(t.client);
    expect((await sdk.search('Quartalsbericht', { snippets: 5 })).hits[0]?.snippets.map((s) => s.page)).toEqual([1, 2, 3, 4, 5]);
    expect((await sdk.search('Quartalsbericht', { snippets: false })).hits[0]?.snippets).toEqual([]);
    await expect(search(t.client, 'Quartalsbericht', { snippets: 6 })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    // Out-of-range options are the caller's mistake, said as such (not a serialization failure).
    for (const bad of [{ limit: -1 }, { limit: 1.5 }, { limit: 101 }, { snippets: 6 }, { snippets: -1 }])
      await expect(sdk.search('Quartalsbericht', bad), JSON.stringify(bad)).rejects.toThrow(RangeError);
  });

  it('says where a snippet starts or ends mid-text, and archivar search shows it with …', async () => {
    const words = (from: number, n: number) => Array.from({ length: n }, (_, i) => `Absatz${from + i}`).join(' ');
    const text = `${words(0, 60)} Zahlungserinnerung ${words(60, 60)}`;
    const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    const { documentId } = await uploadPlaintext(t.client, key, Buffer.from(text), {
      fileName: 'lang.txt',
      mediaType: 'text/plain',
    });
    await t.server.runner.whenIdle();
    const res = await search(t.client, 'Zahlungserinnerung');
    expect(res.hits.map((h) => h.documentId)).toEqual([documentId]);
    const snippet = res.hits[0]!.snippets[0]!;
    expect([snippet.cutBefore, snippet.cutAfter]).toEqual([true, true]);
    expect(text.includes(snippet.text)).toBe(true);
    // The whole of a short page: no cut.
    const short = (await search(t.client, 'mueller')).hits[0]!.snippets[0]!;
    expect([short.cutBefore, short.cutAfter]).toEqual([false, false]);
    const env = { ARCHIVAR_SERVER: t.address, ARCHIVAR_TOKEN: TEST_TOKEN, ARCHIVAR_INSECURE: '1' };
    const cli = await runCli(['search', 'Zahlungserinnerung'], env);
    expect(cli.stdout).toMatch(/p\.1: …Absatz\d+ .*»Zahlungserinnerung«.* Absatz\d+…\n/);
  });

  it('gives an OCR’d page’s highlighted words their boxes on the page, as fractions of it', async () => {
    const png = renderTextPng(['Quittung Nummer 4711 vom Juli', 'Bitte zahlen Sie den Betrag'], { fontSize: 40 });
    const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    const { documentId } = await uploadPlaintext(t.client, key, png, { fileName: 'quittung.png', mediaType: 'image/png' });
    await t.server.runner.whenIdle();
    const res = await search(t.client, 'Juli');
    expect(res.hits.map((h) => h.documentId)).toEqual([documentId]);
    const snippet = res.hits[0]!.snippets[0]!;
    expect(snippet.highlights.map((h) => snippet.text.slice(h.start, h.end))).toEqual(['Juli']);
    // One box: the last word of the first of two lines, right of the page's middle, in its upper half.
    expect(snippet.boxes).toHaveLength(1);
    const box = snippet.boxes[0]!;
    expect(box.x).toBeGreaterThan(0.5);
    expect(box.x + box.width).toBeLessThanOrEqual(1);
    expect(box.y + box.height).toBeLessThan(0.5);
    expect(box.width).toBeGreaterThan(0.05);
  });

  it('archivar search prints a document’s control characters neither raw nor on lines of their own', async () => {
    // An e-mail whose subject (the title) and body carry terminal escape sequences and line breaks.
    // And a right-to-left override, with which "\u202Efdp.exe" would show as "exe.pdf".
    const subject = Buffer.from('Mahnung \x1b]0;pwned\x07\x1b[2J\x1b[31mROT\r\nZeile \u202efdp.exe').toString('base64');
    const body = Buffer.from('Hallo \x1b[31mWelt\x1b[0m,\r\ndie Kormorankolonie ist offen.\r\n').toString('base64');
    const eml = [
      'From: a@example.org',
      'To: b@example.org',
      `Subject: =?utf-8?b?${subject}?=`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      body,
      '',
    ].join('\r\n');
    const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    await uploadPlaintext(t.client, key, eml, { fileName: 'mahnung.eml', mediaType: 'message/rfc822' });
    await t.server.runner.whenIdle();
    const human = await runCli(['search', 'Kormorankolonie'], { ARCHIVAR_TOKEN: TEST_TOKEN, ARCHIVAR_SERVER: t.address });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('1 hit');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what must not be there
    expect(human.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(human.stdout).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
    expect(human.stdout).toMatch(/^1\. Mahnung .*ROT Zeile fdp\.exe {2}doc_/m);
    expect(human.stdout).toMatch(/p\.1: Hallo \[31mWelt\[0m, die »Kormorankolonie« ist offen\./);
  });

  it('cuts a huge document title in hits and suggestions (whole, a few of them outgrew the message limit)', async () => {
    const pdf = await PDFDocument.create();
    const font = await pdf.embedFont(StandardFonts.Helvetica);
    pdf.addPage([595, 842]).drawText('Der Riesentitelbericht.', { x: 72, y: 770, size: 12, font });
    const title = `Langtitel ${'Sehr langer Titel '.repeat(5000)}`;
    pdf.setTitle(title);
    const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    const { documentId } = await uploadPlaintext(t.client, key, Buffer.from(await pdf.save()), {
      fileName: 'lang.pdf',
      mediaType: 'application/pdf',
    });
    await t.server.runner.whenIdle();
    const MAX_TITLE_CHARS = 1000;
    const hit = (await search(t.client, 'Riesentitelbericht')).hits[0];
    expect(hit?.documentId).toBe(documentId);
    expect(hit?.title).toHaveLength(MAX_TITLE_CHARS);
    expect(hit?.title).toBe(`${title.slice(0, MAX_TITLE_CHARS - 1)}…`);
    const suggested = await unary(t.client.search.suggest.bind(t.client.search), { prefix: 'Langtitel', limit: 8 });
    const titles = suggested.suggestions.filter((s) => s.kind === 'title');
    expect(titles.map((s) => s.documentId)).toEqual([documentId]);
    expect(titles[0]?.text).toHaveLength(MAX_TITLE_CHARS);
  });

  it('names the document an attachment came out of, and dates the attachment as its mail, in the hit, the CLI and its --json', async () => {
    const mail = [
      'From: Jörg <joerg@example.org>',
      'To: mueller@example.org',
      'Subject: Anhang zum Angebot',
      'Date: Tue, 05 Mar 2024 09:30:00 +0100',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="XYZ"',
      '',
      '--XYZ',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Guten Tag, das Angebot liegt bei.',
      '--XYZ',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Disposition: attachment; filename="angebot.txt"',
      '',
      'Angebot über Zaunlatten aus Lärchenholz.',
      '--XYZ--',
      '',
    ].join('\r\n');
    const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    const { documentId: mailId } = await uploadPlaintext(t.client, key, Buffer.from(mail), {
      fileName: 'angebot.eml',
      mediaType: 'message/rfc822',
    });
    await t.server.runner.whenIdle();
    const attachment = await search(t.client, 'Zaunlatten');
    expect(attachment.hits).toHaveLength(1);
    expect(attachment.hits[0]?.documentId).not.toBe(mailId);
    expect(attachment.hits[0]?.parentId).toBe(mailId);
    const own = await search(t.client, '"das Angebot liegt bei"');
    expect(own.hits.map((h) => [h.documentId, h.parentId])).toEqual([[mailId, '']]);
    const env = { ARCHIVAR_TOKEN: TEST_TOKEN, ARCHIVAR_SERVER: t.address };
    expect((await runCli(['search', 'Zaunlatten'], env)).stdout).toContain(`part of ${mailId}`);
    const json = JSON.parse((await runCli(['search', 'Zaunlatten OR Angebot', '--json'], env)).stdout) as {
      hits: { id: string; parentId: string; documentDateMs: number; createdMs: number }[];
    };
    const [fromMail, fromAttachment] = [mailId, attachment.hits[0]?.documentId].map((id) => json.hits.find((h) => h.id === id));
    expect(fromMail).toMatchObject({ parentId: '', documentDateMs: Date.parse('2024-03-05T08:30:00Z') });
    // Without a date of its own the attachment is dated as its mail: in the hit, and for date: and the date sort.
    expect(fromAttachment).toMatchObject({ parentId: mailId, documentDateMs: Date.parse('2024-03-05T08:30:00Z') });
    expect(fromAttachment?.createdMs).toBeGreaterThan(0);
    expect((await search(t.client, 'Zaunlatten date:2024-03')).hits.map((h) => h.documentId)).toEqual([
      attachment.hits[0]?.documentId,
    ]);
    expect((await search(t.client, 'Zaunlatten created:2024-03')).hits).toEqual([]);
  });

  it('archivar search shows what each hit is: media type, pages, its own date and the upload time', async () => {
    const pdf = await PDFDocument.create();
    const font = await pdf.embedFont(StandardFonts.Helvetica);
    for (let p = 1; p <= 3; p++) pdf.addPage([595, 842]).drawText(`Zollbescheid Seite ${p}`, { x: 72, y: 770, size: 12, font });
    pdf.setCreationDate(new Date('2022-05-01T10:00:00Z'));
    const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    const { documentId } = await uploadPlaintext(t.client, key, Buffer.from(await pdf.save()), {
      fileName: 'zoll.pdf',
      mediaType: 'application/pdf',
    });
    await t.server.runner.whenIdle();
    const env = { ARCHIVAR_TOKEN: TEST_TOKEN, ARCHIVAR_SERVER: t.address };
    const pdfOut = (await runCli(['search', 'Zollbescheid'], env)).stdout;
    expect(pdfOut).toContain(`${documentId}  score`);
    expect(pdfOut).toMatch(/\n {3}application\/pdf · 3 pages · dated 2022-05-01 · uploaded \d{4}-\d\d-\d\d \d\d:\d\d UTC\n/);
    // The date order does not score its hits: no "score 0.000" on each of them.
    const byDate = (await runCli(['search', 'Zollbescheid', '--sort', 'date'], env)).stdout;
    expect(byDate).toContain(`1. zoll.pdf  ${documentId}\n`);
    // A document without a date of its own shows only its upload.
    const txtOut = (await runCli(['search', 'Datenschutzerklärung'], env)).stdout;
    expect(txtOut).toMatch(/\n {3}text\/plain · 1 page · uploaded \d{4}-\d\d-\d\d \d\d:\d\d UTC\n/);
  });

  it('ranks the document that says it more often first, and counts the total', async () => {
    const res = await search(t.client, 'invoice OR rechnung');
    expect(res.hits.map((h) => h.documentId)).toEqual([ids['invoice.txt'], ids['rechnung.txt']]);
    expect(res.total).toBe(2n);
    expect(res.totalExact).toBe(true);
  });

  it('never shows one tenant’s documents to another', async () => {
    expect((await search(other, 'mueller')).hits).toEqual([]);
    expect((await search(other, 'mueller')).total).toBe(0n);
  });

  it('answers INVALID_ARGUMENT with the position for a syntax error, and for an empty query', async () => {
    const err = (await search(t.client, 'rechnung "unclosed').catch((e) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/position 9\)$/);
    // Counted in the query as sent, leading blanks included (the server trims them before parsing).
    const led = (await search(t.client, ' \t rechnung "unclosed').catch((e) => e)) as grpc.ServiceError;
    expect(led.details).toMatch(/position 12\)$/);
    await expect(search(t.client, '   ')).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  it('forgets a deleted document at once', async () => {
    const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    const { documentId } = await uploadPlaintext(t.client, key, 'Kündigung des Vertrags zum Jahresende', {
      fileName: 'kuendigung.txt',
    });
    await t.server.runner.whenIdle();
    expect((await search(t.client, 'kündigung')).hits.map((h) => h.documentId)).toEqual([documentId]);
    // The hit's text was opened for its snippet and kept in memory for the next search...
    expect(t.server.textCache.has(TEST_PRINCIPAL.tenantId, documentId)).toBe(true);
    await unary(t.client.documents.delete.bind(t.client.documents), { documentId });
    // ...and leaves it with the document, as the delete is answered.
    expect(t.server.textCache.has(TEST_PRINCIPAL.tenantId, documentId)).toBe(false);
    expect((await search(t.client, 'kündigung')).hits).toEqual([]);
  });

  it('leaves a deleted document out of totals, facets and Suggest titles as the delete is answered, even with the index writer busy', async () => {
    const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    const upload = (n: string) =>
      uploadPlaintext(t.client, key, `Nebenkostenabrechnung ${n} für die Wohnung`, {
        fileName: `Nebenkosten Abrechnung ${n}.txt`,
        tags: ['miete'],
      });
    const gone = (await upload('eins')).documentId;
    const kept = (await upload('zwei')).documentId;
    await t.server.runner.whenIdle();
    // Both found (and the tenant's caches built, which wait for the write queue).
    expect((await search(t.client, 'nebenkostenabrechnung')).total).toBe(2n);
    await unary(t.client.search.suggest.bind(t.client.search), { prefix: 'Nebenkosten', limit: 1 });
    // Another write holds the index's write queue while the delete is answered (a large add, a reindex batch).
    let release = () => {};
    const busy = t.server.search.index.exclusive(() => new Promise<void>((r) => (release = r)));
    // Released well after the delete's answer and the search would come without waiting for it.
    setTimeout(() => release(), 1500);
    await unary(t.client.documents.delete.bind(t.client.documents), { documentId: gone });
    const res = await search(t.client, 'nebenkostenabrechnung', { facets: ['tag'] });
    const titles = await unary(t.client.search.suggest.bind(t.client.search), { prefix: 'Nebenkosten Abr', limit: 10 });
    await busy;
    expect(res.hits.map((h) => h.documentId)).toEqual([kept]);
    expect(res.total).toBe(1n);
    expect(res.facets[0]?.buckets.map((b) => [b.value, b.count])).toEqual([['miete', 1n]]);
    expect(titles.suggestions.map((s) => s.documentId).filter((id) => id !== '')).toEqual([kept]);
    await unary(t.client.documents.delete.bind(t.client.documents), { documentId: kept });
  });

  it('counts a retagged document under its new tags in the facets as the Tag call is answered, with no stale bucket', async () => {
    const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    const { documentId } = await uploadPlaintext(t.client, key, 'Hausratversicherung Police 2024', {
      fileName: 'police.txt',
      tags: ['alt'],
    });
    await t.server.runner.whenIdle();
    expect((await search(t.client, 'hausratversicherung', { facets: ['tag'] })).facets[0]?.buckets).toEqual([
      { value: 'alt', count: 1n },
    ]);
    // The index's write of the tags takes a while (its transaction queued behind others, a busy disk).
    const real = t.server.documents.onTagged;
    t.server.documents.onTagged = (doc, settle) => new Promise((r) => setTimeout(r, 300)).then(() => real?.(doc, settle));
    try {
      await unary(t.client.documents.tag.bind(t.client.documents), { documentId, add: ['neu'], remove: ['alt'] });
    } finally {
      t.server.documents.onTagged = real;
    }
    const res = await search(t.client, 'hausratversicherung', { facets: ['tag'] });
    expect(res.facets[0]?.buckets).toEqual([{ value: 'neu', count: 1n }]);
    expect((await search(t.client, 'tag:alt')).total).toBe(0n);
    await unary(t.client.documents.delete.bind(t.client.documents), { documentId });
  });

  it('never indexes a document deleted between its processing commit and the index write', async () => {
    // The race of a Delete landing while the job runner is between its commit and `indexer.add`: a
    // runner whose indexer deletes the document through the API first, then hands it to the real indexer.
    // The server's own runner stays stopped (a runner does not start again): later tests process nothing.
    await t.server.runner.stop();
    const real = searchIndexer(t.server.search.index, t.server.documents);
    const runner = new JobRunner(t.server.documents, t.server.app.pool, t.server.app.log, {
      indexer: {
        async add(tenantId, doc) {
          await unary(t.client.documents.delete.bind(t.client.documents), { documentId: doc.docId });
          await real.add(tenantId, doc);
        },
        remove: (tenantId, docId) => real.remove(tenantId, docId),
      },
    });
    try {
      const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
      const { documentId } = await uploadPlaintext(t.client, key, 'Widerruf der Vollmacht geisterhaft', {
        fileName: 'widerruf.txt',
      });
      await runner.start();
      await runner.whenIdle();
      await expect(unary(t.client.documents.get.bind(t.client.documents), { documentId })).rejects.toMatchObject({
        code: grpc.status.NOT_FOUND,
      });
      expect((await search(t.client, 'geisterhaft')).total).toBe(0n);
      expect(t.server.search.index.store.ids.get([TEST_PRINCIPAL.tenantId, documentId])).toBeUndefined();
    } finally {
      await runner.stop();
    }
  });

  it('archivar search prints ranked hits, and --json the documented shape', async () => {
    const env = { ARCHIVAR_TOKEN: TEST_TOKEN, ARCHIVAR_SERVER: t.address };
    const human = await runCli(['search', 'müller'], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('1 hit');
    expect(human.stdout).toContain('»Müller«');
    const json = await runCli(['search', 'invoice', '--json'], env);
    expect(json.code).toBe(0);
    const out = JSON.parse(json.stdout) as {
      total: number;
      hits: Array<{ id: string; score: number; title: string; snippets: unknown[] }>;
      cursor: string;
    };
    expect(out.total).toBe(1);
    expect(out.hits[0]).toMatchObject({ id: ids['invoice.txt'], title: 'invoice.txt' });
    expect(out.hits[0]?.score).toBeGreaterThan(0);
    // The page bound is checked as the help says, before anything is sent.
    const tooMany = await runCli(['search', 'invoice', '--limit', '101'], env);
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toMatch(/--limit must be at most 100/);
  });

  it('archivar search: a query syntax error, an empty query, a foreign --cursor or --facets is a usage error (exit 2)', async () => {
    const env = { ARCHIVAR_TOKEN: TEST_TOKEN, ARCHIVAR_SERVER: t.address };
    const bad = await runCli(['search', '(unbalanced'], env);
    expect(bad.stderr).toMatch(/INVALID_ARGUMENT: query syntax: .*\(at position 0\)/);
    expect(bad.code).toBe(2);
    for (const args of [[''], ['invoice', '--cursor', 'garbage'], ['invoice', '--facets', 'nope']]) {
      const r = await runCli(['search', ...args], env);
      expect(r.stderr, args.join(' ')).toMatch(/INVALID_ARGUMENT/);
      expect(r.code, args.join(' ')).toBe(2);
    }
  });

  it('archivar search ends quietly when the reader of its output is gone (| head)', async () => {
    const env = { ARCHIVAR_TOKEN: TEST_TOKEN, ARCHIVAR_SERVER: t.address };
    const child = spawnCli(['search', 'müller'], env);
    child.stdout?.destroy();
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
