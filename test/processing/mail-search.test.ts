import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reindexTenant } from '../../src/documents/search-adapters.js';
import { DocumentStatus } from '../../src/gen/archivar/v1/common.js';
import { mail, qp } from '../fixtures/mails.js';
import { search } from '../helpers/search-fixture.js';
import { startTestServer, TEST_PRINCIPAL, type TestServer } from '../helpers/test-server.js';
import { getDoc, statusOf, uploader } from './helpers.js';

/**
 * E-mail as its user searches it, through the real server (gRPC on 127.0.0.1:0, LMDB in a temp dir, the
 * worker pool, the real index): a mail is found by its headers whatever its body holds.
 */
describe('e-mail search through the real server', () => {
  let t: TestServer;
  let upload: Awaited<ReturnType<typeof uploader>>;
  const hits = async (q: string) => (await search(t.client, q)).hits.map((h) => h.documentId);

  beforeAll(async () => {
    t = await startTestServer({ 'job-backoff-ms': '10' });
    upload = await uploader(t);
  });
  afterAll(async () => {
    await t.stop();
  });

  it('a mail without body text (only an attachment, or only a subject) is found by subject, sender, recipient and date', async () => {
    const attachmentOnly = await upload(
      mail([
        'From: Nora Nobody <nobody@example.org>',
        'To: archiv@example.org',
        'Subject: Nur Anhang Lemur',
        'Date: Mon, 07 Apr 2025 08:00:00 +0000',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="B"',
        '',
        '--B',
        'Content-Type: text/plain; charset=utf-8; name="katalog.txt"',
        'Content-Disposition: attachment; filename="katalog.txt"',
        '',
        'Lemurenkatalog Seite eins.',
        '--B--',
        '',
      ]),
      'lemur.eml',
      'message/rfc822',
    );
    const subjectOnly = await upload(
      mail([
        'From: Otto Anrufer <otto@example.org>',
        'To: archiv@example.org',
        'Subject: =?UTF-8?Q?R=C3=BCckruf_Kl=C3=A4ranlage?=',
        'Date: Tue, 08 Apr 2025 09:00:00 +0000',
        'Content-Type: text/plain; charset=utf-8',
        '',
        '',
      ]),
      'rueckruf.eml',
      'message/rfc822',
    );
    await t.server.runner.whenIdle();

    for (const id of [attachmentOnly, subjectOnly])
      expect(statusOf(await getDoc(t.client, id))).toEqual([DocumentStatus.DOCUMENT_STATUS_INDEXED, '']);
    const found = async () => ({
      subject: await hits('subject:lemur'),
      title: await hits('Klaranlage'),
      from: await hits('from:nobody'),
      to: await hits('to:archiv type:mail'),
      date: await hits('date:2025-04-08'),
      attachment: await hits('Lemurenkatalog'),
    });
    const katalog = (await getDoc(t.client, attachmentOnly)).children[0]?.id;
    const expected = {
      subject: [attachmentOnly],
      title: [subjectOnly],
      from: [attachmentOnly],
      to: expect.arrayContaining([attachmentOnly, subjectOnly]),
      date: [subjectOnly],
      attachment: [katalog],
    };
    expect(await found()).toEqual(expected);
    // A rebuilt index (Admin.Reindex, a new index format at start) keeps them: they have no stored text.
    await reindexTenant(t.server.documents, t.server.search.index, TEST_PRINCIPAL.tenantId, new AbortController().signal);
    expect(await found()).toEqual(expected);
    // Such a hit has no snippet to show, and that is no error.
    expect((await search(t.client, 'from:otto')).hits[0]?.snippets).toEqual([]);
  });

  it('an HTML mail’s soft hyphens and zero-width spaces do not split its words, in the index or the snippet', async () => {
    // Newsletters and Outlook hyphenate long German words with &shy;; ZWSP breaks words without a space.
    const html = '<p>Unsere Kaffee&shy;maschinen&shy;reinigung kostet 12,50 &euro;. Rabatt\u200Bcode SOMMER.</p>\n';
    const id = await upload(
      mail([
        'From: shop@example.org',
        'Subject: Angebot',
        'MIME-Version: 1.0',
        'Content-Type: text/html; charset=utf-8',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        qp(Buffer.from(html, 'utf8')),
        '',
      ]),
      'angebot.eml',
      'message/rfc822',
    );
    await t.server.runner.whenIdle();
    for (const q of ['Kaffeemaschinenreinigung', 'Rabattcode']) expect(await hits(q), q).toEqual([id]);
    const snippet = (await search(t.client, 'Kaffeemaschinenreinigung')).hits[0]?.snippets[0];
    expect(snippet?.text).toBe('Unsere Kaffeemaschinenreinigung kostet 12,50 €. Rabattcode SOMMER.');
    expect(snippet?.highlights.map((h) => snippet.text.slice(h.start, h.end))).toEqual(['Kaffeemaschinenreinigung']);
  });
});
