import { describe, expect, it } from 'vitest';
import { isPipelineError, type ParsedEmail, parseEmail } from '../../src/pipeline/index.js';
import { b64, CRLF, mail, nestedMail, qp } from '../fixtures/mails.js';
import { germanPdf } from '../fixtures/pdfs.js';
import { renderTextPng } from '../fixtures/text-image.js';

const GERMAN_BODY = 'Sehr geehrte Frau Müller,\nanbei die Rechnung über 1.234,56 €.\nMit freundlichen Grüßen\nJörg Äßler';

async function germanMail(): Promise<{ bytes: Buffer; pdf: Buffer; png: Buffer }> {
  const pdf = await germanPdf();
  const png = renderTextPng(['Logo'], { fontSize: 20 });
  const bytes = mail([
    'From: =?ISO-8859-1?Q?J=F6rg_=C4=DFler?= <joerg@example.de>',
    'To: =?ISO-8859-1?Q?M=FCller=2C_Anna?= <anna@example.de>, bob@example.com',
    'Cc: =?UTF-8?B?w5ZmZmVudGxpY2hl?= <amt@example.de>',
    'Subject: =?ISO-8859-1?Q?Rechnung_f=FCr_M=E4rz?=',
    'Date: Sun, 03 Mar 2024 10:15:00 +0100',
    'Message-ID: <abc123@example.de>',
    'In-Reply-To: <prev@example.de>',
    'References: <root@example.de> <prev@example.de>',
    'Content-Length: 1073741824', // a size claim, never trusted
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="==outer=="',
    '',
    'This is a multi-part message in MIME format.',
    '--==outer==',
    'Content-Type: multipart/related; boundary="==rel=="',
    '',
    '--==rel==',
    'Content-Type: text/plain; charset=ISO-8859-1',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    qp(Buffer.from(GERMAN_BODY.replace('€', 'EUR'), 'latin1')),
    '--==rel==',
    'Content-Type: image/png; name="logo.png"',
    'Content-Disposition: inline; filename="logo.png"',
    'Content-ID: <logo@example.de>',
    'Content-Transfer-Encoding: base64',
    '',
    b64(png),
    '--==rel==--',
    '--==outer==',
    'Content-Type: application/pdf; name="=?UTF-8?Q?Rechnung_M=C3=A4rz.pdf?="',
    "Content-Disposition: attachment; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf",
    'Content-Transfer-Encoding: base64',
    '',
    b64(pdf),
    '--==outer==--',
    '',
  ]);
  return { bytes, pdf, png };
}

async function expectLimit(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isPipelineError(err), String(err)).toBe(true);
  expect((err as { kind: string }).kind).toBe('limit');
  expect((err as Error).message).toMatch(pattern);
}

describe('parseEmail: real mail', () => {
  it('German mail: ISO-8859-1 QP body exact, RFC 2047 headers, PDF attachment and inline image as children', async () => {
    const { bytes, pdf, png } = await germanMail();
    const m = await parseEmail(bytes);
    expect(m.text).toBe(GERMAN_BODY.replace('€', 'EUR'));
    expect(m.bodyFormat).toBe('text');
    expect(m.subject).toBe('Rechnung für März');
    expect(m.from).toBe('Jörg Äßler <joerg@example.de>');
    expect(m.to).toEqual(['Müller, Anna <anna@example.de>', 'bob@example.com']);
    expect(m.cc).toEqual(['Öffentliche <amt@example.de>']);
    expect(m.date?.toISOString()).toBe('2024-03-03T09:15:00.000Z');
    expect(m.messageId).toBe('<abc123@example.de>');
    expect(m.inReplyTo).toBe('<prev@example.de>');
    expect(m.references).toEqual(['<root@example.de>', '<prev@example.de>']);
    expect(m.repairs).toEqual([]);
    expect(m.attachments).toHaveLength(2);
    const [logo, invoice] = m.attachments;
    expect(logo).toMatchObject({
      fileName: 'logo.png',
      contentType: 'image/png',
      disposition: 'inline',
      contentId: 'logo@example.de',
      isMessage: false,
    });
    expect(logo?.bytes.equals(png)).toBe(true);
    expect(invoice).toMatchObject({
      fileName: 'Rechnung März.pdf',
      contentType: 'application/pdf',
      disposition: 'attachment',
      isMessage: false,
    });
    expect(invoice?.bytes.equals(pdf)).toBe(true);
  });

  it('HTML-only mail (base64 UTF-8): body text from the HTML', async () => {
    const html =
      '<html><head><style>p{color:red}</style></head><body><p>Guten Tag,</p><p>Ihre Bestellung &amp; Lieferung: <b>Größe L</b></p></body></html>';
    const m = await parseEmail(
      mail([
        'From: shop@example.com',
        'To: kunde@example.de',
        'Subject: Bestellung',
        'Content-Type: text/html; charset=utf-8',
        'Content-Transfer-Encoding: base64',
        '',
        b64(Buffer.from(html, 'utf8')),
        '',
      ]),
    );
    expect(m.bodyFormat).toBe('html');
    expect(m.text).toContain('Guten Tag,');
    expect(m.text).toContain('Ihre Bestellung & Lieferung: Größe L');
    expect(m.text).not.toContain('color');
  });

  it('Windows-1252 body with €, „quotes“ and – dashes', async () => {
    const body = 'Preis: 12,50 € – „Sonderangebot“';
    const m = await parseEmail(
      mail([
        'From: a@example.de',
        'Subject: Angebot',
        'Content-Type: text/plain; charset=windows-1252',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        qp(
          Buffer.from([
            0x50,
            0x72,
            0x65,
            0x69,
            0x73,
            0x3a,
            0x20,
            ...Buffer.from('12,50 '),
            0x80,
            0x20,
            0x96,
            0x20,
            0x84,
            ...Buffer.from('Sonderangebot'),
            0x93,
          ]),
        ),
        '',
      ]),
    );
    expect(m.text).toBe(body);
  });

  it('a mail inside a mail: the nested one is a child that parses at depth 1', async () => {
    const inner = [
      'From: inner@example.com',
      'Subject: Weitergeleitet',
      'Date: Mon, 04 Mar 2024 08:00:00 +0000',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Innerer Text mit Umlauten: äöü',
      '',
    ].join(CRLF);
    const outer = Buffer.concat([
      mail([
        'From: outer@example.com',
        'Subject: Fwd: Weitergeleitet',
        'Content-Type: multipart/mixed; boundary=B1',
        '',
        '--B1',
        'Content-Type: text/plain',
        '',
        'Siehe unten.',
        '--B1',
        'Content-Type: message/rfc822',
        '',
        '',
      ]),
      Buffer.from(inner, 'utf8'),
      Buffer.from(`${CRLF}--B1--${CRLF}`),
    ]);
    const m = await parseEmail(outer);
    expect(m.text).toBe('Siehe unten.');
    expect(m.attachments).toHaveLength(1);
    const child = m.attachments[0];
    expect(child).toMatchObject({ fileName: 'message-1.eml', contentType: 'message/rfc822', isMessage: true });
    const nested = await parseEmail(child?.bytes ?? Buffer.alloc(0), { depth: 1 });
    expect(nested.subject).toBe('Weitergeleitet');
    expect(nested.text).toBe('Innerer Text mit Umlauten: äöü');
    expect(nested.from).toBe('inner@example.com');
  });
});

describe('parseEmail: damaged charsets', () => {
  it('declared UTF-8 but the bytes are ISO-8859-1: re-decoded', async () => {
    const m = await parseEmail(
      mail([
        'From: a@example.de',
        'Subject: x',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        'Köln, Straße, Grüße',
        '',
      ]),
    );
    expect(m.text).toBe('Köln, Straße, Grüße');
    expect(m.repairs).toContain('body-charset');
  });

  it('declared ISO-8859-1 but the bytes are UTF-8: no mojibake', async () => {
    const m = await parseEmail(
      Buffer.concat([
        mail([
          'From: a@example.de',
          'Subject: x',
          'Content-Type: text/plain; charset=iso-8859-1',
          'Content-Transfer-Encoding: quoted-printable',
          '',
          '',
        ]),
        Buffer.from(qp(Buffer.from('Müller zahlt 5 € für Äpfel', 'utf8'))),
      ]),
    );
    expect(m.text).toBe('Müller zahlt 5 € für Äpfel');
  });

  it('raw 8-bit Latin-1 headers (no encoded words) are read as Windows-1252', async () => {
    const m = await parseEmail(
      mail(['From: Jörg <j@example.de>', 'Subject: Grüße aus Köln', 'Content-Type: text/plain; charset=utf-8', '', 'ok', '']),
    );
    expect(m.subject).toBe('Grüße aus Köln');
    expect(m.from).toBe('Jörg <j@example.de>');
    expect(m.repairs).toContain('header-charset');
  });

  it('a charset nobody knows falls back to detection instead of failing', async () => {
    const m = await parseEmail(
      mail(['From: a@example.de', 'Content-Type: text/plain; charset=x-no-such-charset', '', 'Grüße', '']),
    );
    expect(m.text).toBe('Grüße');
  });
});

describe('parseEmail: hostile mail', () => {
  it('10 000 attachments: a limit error, fast', async () => {
    const parts: string[] = [];
    for (let i = 0; i < 10_000; i++)
      parts.push('--B', `Content-Type: application/octet-stream; name=f${i}.bin`, 'Content-Disposition: attachment', '', `x${i}`);
    const bytes = mail(['From: a@b.example', 'Content-Type: multipart/mixed; boundary=B', '', ...parts, '--B--', '']);
    const t0 = performance.now();
    await expectLimit(parseEmail(bytes), /MIME parts|attachments/);
    expect(performance.now() - t0).toBeLessThan(3_000);
    // With a low attachment limit, a modest mail fails on the attachment count.
    await expectLimit(
      parseEmail(
        mail(['From: a@b.example', 'Content-Type: multipart/mixed; boundary=B', '', ...parts.slice(0, 5 * 12), '--B--', '']),
        { maxAttachments: 10 },
      ),
      /attachments|MIME parts/,
    );
  });

  it('50 levels of nested mails: the caller stops at the depth limit, each level is bounded', async () => {
    const msg = nestedMail(50, Buffer.from(`From: level50@example.com${CRLF}Subject: bottom${CRLF}${CRLF}deepest text${CRLF}`));
    const t0 = performance.now();
    let depth = 0;
    let current: ParsedEmail = await parseEmail(msg, { depth, maxDepth: 8 });
    while (current.attachments[0]?.isMessage) {
      depth++;
      current = await parseEmail(current.attachments[0].bytes, { depth, maxDepth: 8 });
    }
    expect(depth).toBe(8);
    expect(current.text).toBe('text 9');
    expect(current.skipped).toEqual([{ name: 'message-1.eml', reason: 'nested mail deeper than 8 levels' }]);
    expect(performance.now() - t0).toBeLessThan(3_000);
    // Called beyond the limit anyway: a typed error, not work.
    await expectLimit(parseEmail(msg, { depth: 9, maxDepth: 8 }), /nested/);
  });

  it('50 levels of nested multiparts inside one mail parse without trouble', async () => {
    const open: string[] = [];
    const close: string[] = [];
    for (let i = 0; i < 50; i++) {
      open.push(`--N${i}`, `Content-Type: multipart/mixed; boundary=N${i + 1}`, '');
      close.unshift(`--N${i}--`);
    }
    const bytes = mail([
      'From: a@b.example',
      'Content-Type: multipart/mixed; boundary=N0',
      '',
      ...open,
      '--N50',
      'Content-Type: text/plain',
      '',
      'deep body',
      '--N50--',
      ...close,
      '',
    ]);
    const m = await parseEmail(bytes);
    expect(m.text).toBe('deep body');
  });

  it('a header that never ends (the "1 GB header" claim) is a limit error, not a buffer', async () => {
    const huge = Buffer.alloc(4 * 1024 * 1024, 0x61);
    huge.write('Subject: ', 0);
    await expectLimit(parseEmail(huge), /header block exceeds/);
    // A huge folded header inside the top block, and a huge header in a MIME part.
    const folded = mail([
      'From: a@b.example',
      `X-Junk: ${'y'.repeat(1000)}`,
      ...Array.from({ length: 600 }, () => ` ${'z'.repeat(998)}`),
      '',
      'body',
      '',
    ]);
    await expectLimit(parseEmail(folded), /header block exceeds/);
    const partHeader = mail([
      'From: a@b.example',
      'Content-Type: multipart/mixed; boundary=B',
      '',
      '--B',
      `X-Junk: ${'q'.repeat(512 * 1024)}`,
      'Content-Type: text/plain',
      '',
      'x',
      '--B--',
      '',
    ]);
    await expectLimit(parseEmail(partHeader), /header block exceeds/);
  });

  it('an attachment over the size limit is skipped and listed, the rest of the mail survives', async () => {
    const big = Buffer.alloc(64 * 1024, 7);
    const m = await parseEmail(
      mail([
        'From: a@b.example',
        'Content-Type: multipart/mixed; boundary=B',
        '',
        '--B',
        'Content-Type: text/plain',
        '',
        'Hallo',
        '--B',
        'Content-Type: application/octet-stream; name=big.bin',
        'Content-Transfer-Encoding: base64',
        '',
        b64(big),
        '--B--',
        '',
      ]),
      { maxAttachmentBytes: 1024 },
    );
    expect(m.text).toBe('Hallo');
    expect(m.attachments).toEqual([]);
    expect(m.skipped).toEqual([{ name: 'big.bin', reason: 'attachment exceeds 1024 bytes' }]);
  });

  it('broken boundaries: a wrong declared boundary is repaired, a missing one keeps the body as text', async () => {
    const wrong = await parseEmail(
      mail([
        'From: a@b.example',
        'Content-Type: multipart/mixed; boundary="NOT-USED"',
        '',
        '--REAL',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Text des Briefs',
        '--REAL',
        'Content-Type: application/pdf; name=a.pdf',
        'Content-Transfer-Encoding: base64',
        '',
        'JVBERi0xLjQK',
        '--REAL--',
        '',
      ]),
    );
    expect(wrong.text).toBe('Text des Briefs');
    expect(wrong.attachments.map((a) => a.fileName)).toEqual(['a.pdf']);
    expect(wrong.repairs).toContain('boundary');

    const none = await parseEmail(mail(['From: a@b.example', 'Content-Type: multipart/mixed', '', 'nur Text', '']));
    expect(none.text).toBe('nur Text');
    expect(none.repairs).toContain('raw-body');

    const unclosed = await parseEmail(
      mail([
        'From: a@b.example',
        'Content-Type: multipart/mixed; boundary=B',
        '',
        '--B',
        'Content-Type: text/plain',
        '',
        'ohne Ende',
        '--B',
        'Content-Type: application/pdf; name=x.pdf',
        'Content-Transfer-Encoding: base64',
        '',
        'JVBERi0xLj',
      ]),
    );
    expect(unclosed.text).toBe('ohne Ende');
    expect(unclosed.attachments.map((a) => a.fileName)).toEqual(['x.pdf']);
  });

  it('mutated and truncated mails: a result or a typed error, never anything else', async () => {
    const { bytes } = await germanMail();
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    for (let i = 0; i < 60; i++) {
      const b = Buffer.from(bytes.subarray(0, Math.floor(rand() * bytes.length)));
      for (let k = 0; k < 20; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      try {
        const m = await parseEmail(b);
        expect(typeof m.text).toBe('string');
      } catch (err) {
        expect(isPipelineError(err), String(err)).toBe(true);
      }
    }
  });

  it('an aborted signal ends the parse with `aborted`', async () => {
    const { bytes } = await germanMail();
    const ac = new AbortController();
    ac.abort();
    await expect(parseEmail(bytes, { signal: ac.signal })).rejects.toMatchObject({ kind: 'aborted' });
  });
});
