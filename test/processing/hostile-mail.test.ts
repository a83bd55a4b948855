import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocumentSource, DocumentStatus } from '../../src/gen/archivar/v1/common.js';
import { b64, CRLF, mail, nestedMail, qp } from '../fixtures/mails.js';
import { makeZip } from '../fixtures/zip-writer.js';
import { search } from '../helpers/search-fixture.js';
import { startTestServer, TEST_PRINCIPAL, type TestServer } from '../helpers/test-server.js';
import { downloadKind, getDoc, statusOf, TEXT, uploader, watchAll } from './helpers.js';

/**
 * Issue 7 through the real server (gRPC on 127.0.0.1:0, LMDB in a temp dir, the worker pool): hostile
 * mail ends with a clear status and the server keeps serving. The stage itself is tested in
 * test/pipeline/mail.test.ts; the 10 000-attachment mail through the server is in stages.test.ts.
 */

/** An RFC 2047 word labelled ISO-8859-1 that carries the UTF-8 bytes of `s` (a common mislabelling). */
const mislabelled = (s: string) => `=?ISO-8859-1?Q?${qp(Buffer.from(s, 'utf8')).replace(/ /g, '_')}?=`;

const INDEXED = DocumentStatus.DOCUMENT_STATUS_INDEXED;
const FAILED = DocumentStatus.DOCUMENT_STATUS_FAILED;
const NESTING_DEPTH = 3;
const HEADER_LIMIT = 'e-mail header block exceeds 262144 bytes';

describe('hostile e-mail through the real server', () => {
  let t: TestServer;
  let upload: Awaited<ReturnType<typeof uploader>>;
  const text = async (id: string) => (await downloadKind(t.client, id, TEXT)).bytes.toString('utf8');
  const hits = async (q: string) => (await search(t.client, q)).hits.map((h) => h.documentId);
  /** The child documents of `id` by file name (after the runner is idle). */
  const children = async (id: string) => new Map((await getDoc(t.client, id)).children.map((c) => [c.fileName, c]));

  beforeAll(async () => {
    t = await startTestServer({ 'max-nesting-depth': String(NESTING_DEPTH), 'job-backoff-ms': '10' });
    upload = await uploader(t);
  });
  afterAll(async () => {
    await t.stop();
  });

  it('50 levels of nested mails: children down to --max-nesting-depth, the next level listed as skipped', async () => {
    const top = await upload(nestedMail(50), 'verschachtelt.eml', 'message/rfc822');
    const events = await watchAll(t.client, top);
    expect(events.at(-1)?.status).toBe(INDEXED);
    await t.server.runner.whenIdle();

    // Get shows the tree: one nested mail per level, each its own INDEXED document with its own text.
    let id = top;
    for (let depth = 0; depth <= NESTING_DEPTH; depth++) {
      const doc = await getDoc(t.client, id);
      expect(statusOf(doc), `depth ${depth}`).toEqual([INDEXED, '']);
      expect(doc.mediaType).toBe('message/rfc822');
      expect(doc.metadata?.subject).toBe(`level ${depth + 1}`);
      expect(doc.metadata?.from).toBe(`level${depth + 1}@example.org`);
      expect(await text(id)).toBe(`text ${depth + 1}`);
      if (depth > 0) expect(doc).toMatchObject({ fileName: 'message-1.eml', source: DocumentSource.DOCUMENT_SOURCE_ATTACHMENT });
      if (depth === NESTING_DEPTH) {
        // The configured depth: the nested mail is named, not extracted.
        expect(doc.children).toEqual([]);
        expect(t.server.documents.deps.documents.get(TEST_PRINCIPAL.tenantId, id)?.metadata.skipped).toEqual([
          { name: 'message-1.eml', reason: 'nesting-depth' },
        ]);
        break;
      }
      expect(doc.children.map((c) => [c.fileName, c.mediaType, c.status])).toEqual([
        ['message-1.eml', 'message/rfc822', INDEXED],
      ]);
      const child = doc.children[0]?.id as string;
      expect((await getDoc(t.client, child)).parentId).toBe(id);
      id = child;
    }
    // Nothing below the configured depth became a document or entered the index.
    expect(await hits('"text 4"')).toEqual([id]);
    expect(await hits('"text 5"')).toEqual([]);
    expect(await hits('"text 50"')).toEqual([]);
  });

  it('a 1 GB Content-Length claim is ignored; oversized and endless header blocks fail with the header limit', async () => {
    const ids = {
      claim: await upload(
        mail([
          'From: anspruch@example.org',
          'Subject: Groesse behauptet',
          'Content-Length: 1000000000',
          'Content-Type: text/plain; charset=utf-8',
          '',
          'Nur ein kurzer Text trotz der Behauptung.',
          '',
        ]),
        'claim.eml',
        'message/rfc822',
      ),
      // One header folded over 400 lines: ~360 KiB in the top-level header block.
      folded: await upload(
        mail([
          'From: falte@example.org',
          'Subject: lang',
          `X-Junk: ${'y'.repeat(900)}`,
          ...Array.from({ length: 400 }, () => ` ${'z'.repeat(900)}`),
          '',
          'Text nach dem Kopf.',
          '',
        ]),
        'folded.eml',
        'message/rfc822',
      ),
      // A header that never ends: 4 MiB without a blank line.
      endless: await upload(
        Buffer.concat([Buffer.from(`From: endlos@example.org${CRLF}Subject: `), Buffer.alloc(4 * 2 ** 20, 0x61)]),
        'endless.eml',
        'message/rfc822',
      ),
      // A 512 KiB header inside one MIME part.
      part: await upload(
        mail([
          'From: teil@example.org',
          'Content-Type: multipart/mixed; boundary=B',
          '',
          '--B',
          `X-Junk: ${'q'.repeat(512 * 1024)}`,
          'Content-Type: text/plain',
          '',
          'x',
          '--B--',
          '',
        ]),
        'part-header.eml',
        'message/rfc822',
      ),
    };
    const started = Date.now();
    await t.server.runner.whenIdle();
    expect(Date.now() - started).toBeLessThan(10_000);

    const claim = await getDoc(t.client, ids.claim);
    expect(statusOf(claim)).toEqual([INDEXED, '']);
    expect(claim.metadata?.subject).toBe('Groesse behauptet');
    expect(await text(ids.claim)).toBe('Nur ein kurzer Text trotz der Behauptung.');
    for (const id of [ids.folded, ids.endless, ids.part]) {
      const doc = await getDoc(t.client, id);
      expect(statusOf(doc), doc.fileName).toEqual([FAILED, HEADER_LIMIT]);
      expect(doc.mediaType, doc.fileName).toBe('message/rfc822');
      expect(doc.children).toEqual([]);
    }
  });

  it('broken MIME boundaries: the text that is there is extracted, attachments still become children', async () => {
    const ids = {
      // Declared boundary never occurs; the parts use another one.
      wrong: await upload(
        mail([
          'From: a@example.org',
          'Subject: falsche Grenze',
          'Content-Type: multipart/mixed; boundary="NOT-USED"',
          '',
          '--REAL',
          'Content-Type: text/plain; charset=utf-8',
          '',
          'Text des Briefs mit Kündigungsfrist',
          '--REAL',
          'Content-Type: text/plain; name=notiz.txt',
          'Content-Disposition: attachment; filename=notiz.txt',
          '',
          'Anhang Notiz Mietminderung',
          '--REAL--',
          '',
        ]),
        'wrong.eml',
        'message/rfc822',
      ),
      // multipart without a boundary parameter.
      missing: await upload(
        mail([
          'From: a@example.org',
          'Subject: ohne Parameter',
          'Content-Type: multipart/mixed',
          '',
          '--zzz',
          'Content-Type: text/plain',
          '',
          'Erster Teil Hausratversicherung',
          '--zzz',
          'Content-Type: text/plain',
          '',
          'Zweiter Teil Gebäudeversicherung',
          '--zzz--',
          '',
        ]),
        'missing.eml',
        'message/rfc822',
      ),
      // multipart without any boundary at all: the body is the text.
      none: await upload(
        mail([
          'From: a@example.org',
          'Subject: gar keine',
          'Content-Type: multipart/mixed',
          '',
          'nur Text ohne Grenze Nebenkosten',
          '',
        ]),
        'none.eml',
        'message/rfc822',
      ),
      // Truncated: no closing boundary, the attachment cut off mid-line.
      unclosed: await upload(
        mail([
          'From: a@example.org',
          'Subject: abgeschnitten',
          'Content-Type: multipart/mixed; boundary=B',
          '',
          '--B',
          'Content-Type: text/plain',
          '',
          'ohne Ende Betriebskosten',
          '--B',
          'Content-Type: text/plain; name=rest.txt',
          'Content-Disposition: attachment; filename=rest.txt',
          '',
          'abgeschnittener Anh',
        ]),
        'unclosed.eml',
        'message/rfc822',
      ),
      // The inner multipart/alternative declares a boundary its parts do not use.
      nested: await upload(
        mail([
          'From: a@example.org',
          'Subject: innen falsch',
          'Content-Type: multipart/mixed; boundary=A',
          '',
          '--A',
          'Content-Type: multipart/alternative; boundary=WRONG',
          '',
          '--INNER',
          'Content-Type: text/plain; charset=utf-8',
          '',
          'innerer Text Wasserschaden',
          '--INNER--',
          '--A',
          'Content-Type: text/plain; name=n.txt',
          'Content-Disposition: attachment; filename=n.txt',
          '',
          'Anhang innen',
          '--A--',
          '',
        ]),
        'nested.eml',
        'message/rfc822',
      ),
    };
    await t.server.runner.whenIdle();

    const expected: Record<keyof typeof ids, { text: string; word: string; children: Record<string, string> }> = {
      wrong: {
        text: 'Text des Briefs mit Kündigungsfrist',
        word: 'Kündigungsfrist',
        children: { 'notiz.txt': 'Anhang Notiz Mietminderung' },
      },
      missing: {
        text: 'Erster Teil Hausratversicherung\nZweiter Teil Gebäudeversicherung',
        word: 'Gebäudeversicherung',
        children: {},
      },
      none: { text: 'nur Text ohne Grenze Nebenkosten', word: 'Nebenkosten', children: {} },
      unclosed: { text: 'ohne Ende Betriebskosten', word: 'Betriebskosten', children: { 'rest.txt': 'abgeschnittener Anh' } },
      nested: { text: 'innerer Text Wasserschaden', word: 'Wasserschaden', children: { 'n.txt': 'Anhang innen' } },
    };
    for (const [key, want] of Object.entries(expected) as [keyof typeof ids, (typeof expected)[keyof typeof ids]][]) {
      const id = ids[key];
      expect(statusOf(await getDoc(t.client, id)), key).toEqual([INDEXED, '']);
      expect(await text(id), key).toBe(want.text);
      expect(await hits(want.word), key).toEqual([id]);
      const kids = await children(id);
      expect([...kids.keys()], key).toEqual(Object.keys(want.children));
      for (const [name, body] of Object.entries(want.children)) {
        const kid = kids.get(name)?.id as string;
        expect(statusOf(await getDoc(t.client, kid)), name).toEqual([INDEXED, '']);
        expect(await text(kid), name).toBe(body);
      }
    }
  });

  it('wrong declared charsets: the German text comes out right and is searchable', async () => {
    const german = 'ä ö ü ß €';
    const ids = {
      // Declared ISO-8859-1, the bytes are UTF-8 (QP) — in the body and in the encoded words of the
      // sender, the subject and the attachment's file name.
      latin1IsUtf8: await upload(
        mail([
          `From: ${mislabelled('Jörg Müller')} <joerg@example.org>`,
          `Subject: ${mislabelled('Grüße zur Müllabfuhr')}`,
          'Content-Type: multipart/mixed; boundary=m',
          '',
          '--m',
          'Content-Type: text/plain; charset=iso-8859-1',
          'Content-Transfer-Encoding: quoted-printable',
          '',
          qp(Buffer.from(`Müllabfuhr: ${german}`, 'utf8')),
          '--m',
          `Content-Type: text/plain; charset=utf-8; name="${mislabelled('Übersicht März.txt')}"`,
          'Content-Disposition: attachment',
          '',
          'Anlage',
          '--m--',
          '',
        ]),
        'latin1-is-utf8.eml',
        'message/rfc822',
      ),
      // Declared UTF-8, the bytes are Windows-1252 (8bit, € = 0x80).
      utf8IsCp1252: await upload(
        Buffer.concat([
          mail([
            'From: b@example.org',
            'Subject: Buergschaft',
            'Content-Type: text/plain; charset=utf-8',
            'Content-Transfer-Encoding: 8bit',
            '',
            '',
          ]),
          // Latin-1 encodes the umlauts and ß as Windows-1252 does; € is 0x80 there.
          Buffer.from('Bürgschaft: ä ö ü ß \x80\r\n', 'latin1'),
        ]),
        'utf8-is-cp1252.eml',
        'message/rfc822',
      ),
      // HTML only, declared ISO-8859-1, base64 of UTF-8.
      htmlLatin1IsUtf8: await upload(
        mail([
          'From: c@example.org',
          'Subject: Groesse',
          'Content-Type: text/html; charset=iso-8859-1',
          'Content-Transfer-Encoding: base64',
          '',
          Buffer.from(`<html><body><p>Größenänderung: ${german}</p></body></html>`, 'utf8').toString('base64'),
          '',
        ]),
        'html.eml',
        'message/rfc822',
      ),
    };
    await t.server.runner.whenIdle();

    const latin1 = await getDoc(t.client, ids.latin1IsUtf8);
    expect(statusOf(latin1)).toEqual([INDEXED, '']);
    expect(await text(ids.latin1IsUtf8)).toBe(`Müllabfuhr: ${german}`);
    expect(latin1.metadata?.subject).toBe('Grüße zur Müllabfuhr');
    expect(latin1.metadata?.from).toBe('Jörg Müller <joerg@example.org>');
    expect(latin1.children.map((c) => [c.fileName, c.status])).toEqual([['Übersicht März.txt', INDEXED]]);
    expect(await hits('Müllabfuhr')).toEqual([ids.latin1IsUtf8]);

    expect(statusOf(await getDoc(t.client, ids.utf8IsCp1252))).toEqual([INDEXED, '']);
    expect(await text(ids.utf8IsCp1252)).toBe(`Bürgschaft: ${german}`);
    expect(await hits('Bürgschaft')).toEqual([ids.utf8IsCp1252]);

    expect(statusOf(await getDoc(t.client, ids.htmlLatin1IsUtf8))).toEqual([INDEXED, '']);
    expect(await text(ids.htmlLatin1IsUtf8)).toBe(`Größenänderung: ${german}`);
    expect(await hits('Größenänderung')).toEqual([ids.htmlLatin1IsUtf8]);
  });

  it('1 001 attachments fail on the attachment limit, with no children', async () => {
    const parts: string[] = [];
    for (let i = 0; i < 1001; i++) {
      parts.push(
        `--x${CRLF}Content-Type: text/plain${CRLF}Content-Disposition: attachment; filename="a${i}.txt"${CRLF}${CRLF}Teil ${i}${CRLF}`,
      );
    }
    const id = await upload(
      `From: viele@example.org${CRLF}Subject: viele${CRLF}Content-Type: multipart/mixed; boundary="x"${CRLF}${CRLF}${parts.join('')}--x--${CRLF}`,
      'viele.eml',
      'message/rfc822',
    );
    const events = await watchAll(t.client, id);
    const doc = await getDoc(t.client, id);
    expect(statusOf(doc)).toEqual([FAILED, 'e-mail has 1001 attachments, more than the limit of 1000']);
    expect(events.at(-1)?.status).toBe(FAILED);
    expect(events.some((e) => e.step === 'RETRY')).toBe(false);
    expect(doc.children).toEqual([]);
  });

  it('a mail’s sender, message id and recipients from outside are cut: 1 000 characters, 100 recipients', async () => {
    const to = Array.from({ length: 2000 }, (_, i) => `e${i}@example.org`);
    const id = await upload(
      mail([
        `From: ${'Absender '.repeat(1000)}<anna@example.org>`,
        `To: ${to.join(`,${CRLF} `)}`,
        `Cc: ${to.slice(0, 150).join(`,${CRLF} `)}`,
        `Message-ID: <${'m'.repeat(5000)}@example.org>`,
        'Subject: Viele Empfänger',
        '',
        'Rundschreiben.',
        '',
      ]),
      'rundschreiben.eml',
      'message/rfc822',
    );
    await t.server.runner.whenIdle();
    const m = t.server.documents.deps.documents.get(TEST_PRINCIPAL.tenantId, id)?.metadata ?? {};
    expect(m.from).toMatch(/^Absender Absender .*…$/);
    expect((m.from as string).length).toBe(1000);
    expect((m.messageId as string).length).toBe(1000);
    expect(m.to).toEqual(to.slice(0, 100));
    expect(m.cc).toEqual(to.slice(0, 100));
  });

  it('attachment and archive member names lose C1 control characters too (U+009B is a terminal’s CSI)', async () => {
    const csi = '\u009b';
    const zip = makeZip([{ name: `liste${csi}2J${csi}31m.txt`, data: Buffer.from('Liste im Archiv') }]);
    // RFC 2231 filename*: percent-encoded UTF-8, so the C1 character arrives as itself.
    const encoded = encodeURIComponent(`anlage${csi}2J.txt`);
    const id = await upload(
      Buffer.concat([
        mail([
          'From: Anna Beispiel <anna@example.org>',
          'Subject: Steuerzeichen',
          'Content-Type: multipart/mixed; boundary=c',
          '',
          '--c',
          'Content-Type: text/plain; charset=utf-8',
          '',
          'Zwei Anlagen.',
          '--c',
          'Content-Type: text/plain',
          `Content-Disposition: attachment; filename*=utf-8''${encoded}`,
          '',
          'Anlage mit Steuerzeichen',
          '--c',
          'Content-Type: application/zip',
          'Content-Disposition: attachment; filename=archiv.zip',
          'Content-Transfer-Encoding: base64',
          '',
          b64(zip),
          '--c--',
          '',
        ]),
      ]),
      'steuerzeichen.eml',
      'message/rfc822',
    );
    await t.server.runner.whenIdle();
    const kids = await children(id);
    expect([...kids.keys()].sort()).toEqual(['anlage2J.txt', 'archiv.zip']);
    const members = await children((kids.get('archiv.zip') as { id: string }).id);
    expect([...members.keys()]).toEqual(['liste2J31m.txt']);
  });

  it('after all of them, the server keeps serving: a normal mail with an attachment is processed', async () => {
    const id = await upload(
      mail([
        'From: Anna Beispiel <anna@example.org>',
        'Subject: Danach',
        'Content-Type: multipart/mixed; boundary=n',
        '',
        '--n',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Alles wieder normal.',
        '--n',
        'Content-Type: text/plain; name=anlage.txt',
        'Content-Disposition: attachment; filename=anlage.txt',
        '',
        'Anlage danach',
        '--n--',
        '',
      ]),
      'danach.eml',
      'message/rfc822',
    );
    await t.server.runner.whenIdle();
    expect(statusOf(await getDoc(t.client, id))).toEqual([INDEXED, '']);
    expect(await text(id)).toBe('Alles wieder normal.');
    const kid = (await children(id)).get('anlage.txt');
    expect(kid?.status).toBe(INDEXED);
    expect(t.server.documents.deps.jobs.countByState()).toEqual({ queued: 0, running: 0 });
  });
});

describe('nested mail with --max-nesting-depth above the mail stage’s own depth limit', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({ 'max-nesting-depth': '12' });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('mails stop at depth 8: the mail there names its nested mail as skipped', async () => {
    const upload = await uploader(t);
    const top = await upload(nestedMail(50), 'verschachtelt.eml', 'message/rfc822');
    await t.server.runner.whenIdle();
    let id = top;
    for (let depth = 0; depth <= 8; depth++) {
      const doc = await getDoc(t.client, id);
      expect(statusOf(doc), `depth ${depth}`).toEqual([INDEXED, '']);
      expect(doc.metadata?.subject).toBe(`level ${depth + 1}`);
      if (depth === 8) {
        expect(doc.children).toEqual([]);
        expect(t.server.documents.deps.documents.get(TEST_PRINCIPAL.tenantId, id)?.metadata.skipped).toEqual([
          { name: 'message-1.eml', reason: 'nested mail deeper than 8 levels' },
        ]);
        break;
      }
      expect(doc.children.map((c) => c.fileName)).toEqual(['message-1.eml']);
      id = doc.children[0]?.id as string;
    }
  });
});
