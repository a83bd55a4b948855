import { createHash } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import sharp from 'sharp';
import { DEFAULT_MAIL_LIMITS, parseEmail } from '../../src/pipeline/index.js';
import { b64, CRLF, qp } from '../../test/fixtures/mails.js';
import { Rng } from '../harness/data.js';
import { pageLines } from '../harness/pages.js';
import { alternate, seconds } from '../harness/stats.js';
import type { BenchContext, Benchmark } from '../harness/types.js';

/**
 * E-mail parsing: mails per second through the pipeline's mail stage (`parseEmail`) against mailparser's
 * `simpleParser` alone, with the options the stage passes it, on the same generated corpus. The ratio
 * is the stage's own cost on top of the parser: the header-block scan, the charset and boundary checks,
 * our HTML-to-text for HTML-only mails, and mapping attachments.
 */

/** The options `runParser` in src/pipeline/mail.ts gives simpleParser (default limits). */
const PARSER_OPTIONS = {
  skipTextToHtml: true,
  skipImageLinks: true,
  skipTextLinks: true,
  skipHtmlToText: true,
  ignoreEmbedded: true,
  maxHeadSize: DEFAULT_MAIL_LIMITS.maxHeaderBytes,
  maxChildNodes: 2 * DEFAULT_MAIL_LIMITS.maxAttachments + 64,
  checksumAlgo: false,
} as const;

type Kind = 'plain' | 'html' | 'qp-latin1' | 'pdf-attachment' | 'png-inline';
const KINDS: readonly Kind[] = ['plain', 'html', 'qp-latin1', 'pdf-attachment', 'png-inline'];

interface BenchMail {
  bytes: Buffer;
  /** The body text the stage must return (checked once before timing). */
  text: string;
  attachments: number;
}

function headers(i: number, kind: Kind, contentType: string, extra: string[] = []): string[] {
  return [
    `From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg${i}@example.org>`,
    `To: Anna Beispiel <anna@example.org>, buchhaltung${i % 7}@example.com`,
    `Subject: =?UTF-8?Q?Rechnung_f=C3=BCr_M=C3=A4rz_${i}?= (${kind})`,
    `Date: Tue, 05 Mar 2024 ${String(8 + (i % 10)).padStart(2, '0')}:30:00 +0100`,
    `Message-ID: <bench-${kind}-${i}@example.org>`,
    'MIME-Version: 1.0',
    `Content-Type: ${contentType}`,
    ...extra,
    '',
  ];
}

/** A one-page text PDF, byte for byte the same every run (no creation or modification date). */
async function smallPdf(lines: readonly string[]): Promise<Buffer> {
  const doc = await PDFDocument.create({ updateMetadata: false });
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const page = doc.addPage([595, 842]);
  for (const [i, line] of lines.entries()) page.drawText(line, { x: 56, y: 790 - i * 15, size: 10, font });
  return Buffer.from(await doc.save());
}

/** A deterministic PNG of `width`×`height` noise (a small logo or photo-like attachment). */
async function noisePng(width: number, height: number, seed: number): Promise<Buffer> {
  const rng = new Rng(seed);
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = rng.below(256);
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

async function buildMail(kind: Kind, i: number): Promise<BenchMail> {
  const lines = pageLines(24, 1000 + i);
  const text = lines.join('\n');
  const body = lines.join(CRLF);
  switch (kind) {
    case 'plain': {
      const bytes = Buffer.from(
        [...headers(i, kind, 'text/plain; charset=utf-8', ['Content-Transfer-Encoding: 8bit']), body, ''].join(CRLF),
      );
      return { bytes, text, attachments: 0 };
    }
    case 'html': {
      const html = `<html><head><style>p{margin:0}</style></head><body>${lines.map((l) => `<p>${l}</p>`).join('\n')}</body></html>`;
      const bytes = Buffer.from(
        [...headers(i, kind, 'text/html; charset=utf-8', ['Content-Transfer-Encoding: base64']), b64(Buffer.from(html)), ''].join(
          CRLF,
        ),
      );
      return { bytes, text, attachments: 0 };
    }
    case 'qp-latin1': {
      const bytes = Buffer.from(
        [
          ...headers(i, kind, 'text/plain; charset=iso-8859-1', ['Content-Transfer-Encoding: quoted-printable']),
          qp(Buffer.from(text, 'latin1')),
          '',
        ].join(CRLF),
      );
      return { bytes, text, attachments: 0 };
    }
    case 'pdf-attachment': {
      const pdf = await smallPdf(pageLines(48, 2000 + i));
      const bytes = Buffer.from(
        [
          ...headers(i, kind, `multipart/mixed; boundary="mix-${i}"`),
          `--mix-${i}`,
          'Content-Type: text/plain; charset=utf-8',
          'Content-Transfer-Encoding: 8bit',
          '',
          body,
          `--mix-${i}`,
          `Content-Type: application/pdf; name="Rechnung-${i}.pdf"`,
          `Content-Disposition: attachment; filename="Rechnung-${i}.pdf"`,
          'Content-Transfer-Encoding: base64',
          '',
          b64(pdf),
          `--mix-${i}--`,
          '',
        ].join(CRLF),
      );
      return { bytes, text, attachments: 1 };
    }
    case 'png-inline': {
      const png = await noisePng(160, 48, 3000 + i);
      const html = `<html><body><p><img src="cid:logo${i}@example.org"></p>${lines.map((l) => `<p>${l}</p>`).join('\n')}</body></html>`;
      const bytes = Buffer.from(
        [
          ...headers(i, kind, `multipart/related; boundary="rel-${i}"`),
          `--rel-${i}`,
          'Content-Type: text/html; charset=utf-8',
          'Content-Transfer-Encoding: base64',
          '',
          b64(Buffer.from(html)),
          `--rel-${i}`,
          'Content-Type: image/png; name="logo.png"',
          'Content-Disposition: inline; filename="logo.png"',
          `Content-ID: <logo${i}@example.org>`,
          'Content-Transfer-Encoding: base64',
          '',
          b64(png),
          `--rel-${i}--`,
          '',
        ].join(CRLF),
      );
      return { bytes, text, attachments: 1 };
    }
  }
}

/** Parses every mail once through the stage and checks body text and attachments: the timed runs parse correctly. */
async function verify(kind: Kind, mails: readonly BenchMail[]): Promise<void> {
  for (const [i, m] of mails.entries()) {
    const parsed = await parseEmail(m.bytes);
    if (parsed.text !== m.text) throw new Error(`${kind} mail ${i}: the stage returned other text than was written`);
    if (parsed.attachments.length !== m.attachments)
      throw new Error(`${kind} mail ${i}: ${parsed.attachments.length} attachments`);
    const ref = await simpleParser(m.bytes, PARSER_OPTIONS);
    const refBody = ref.text?.trim() || ref.html;
    if (!refBody || ref.attachments.length !== m.attachments) throw new Error(`${kind} mail ${i}: simpleParser found no body`);
  }
}

async function run(ctx: BenchContext, perKind: number, repetitions: number): Promise<void> {
  for (const kind of KINDS) {
    ctx.log(`${kind}: building ${perKind} mails`);
    const mails: BenchMail[] = [];
    for (let i = 0; i < perKind; i++) mails.push(await buildMail(kind, i));
    await verify(kind, mails);
    const bytes = mails.reduce((n, m) => n + m.bytes.byteLength, 0);
    const corpus = mails
      .reduce((h, m) => h.update(m.bytes), createHash('sha256'))
      .digest('hex')
      .slice(0, 12);
    const r = await alternate(
      { warmup: 1, repetitions },
      () =>
        seconds(async () => {
          for (const m of mails) await parseEmail(m.bytes);
        }),
      () =>
        seconds(async () => {
          for (const m of mails) await simpleParser(m.bytes, PARSER_OPTIONS);
        }),
    );
    ctx.record({
      name: `mail.${kind}`,
      unit: 'mails/s',
      higherIsBetter: true,
      ours: r.ours.map((s) => perKind / s),
      reference: { label: 'mailparser simpleParser alone (same options)', values: r.reference.map((s) => perKind / s) },
      note: `${perKind} generated mails (sha256 ${corpus}…), ${Math.round(bytes / perKind)} bytes each on average; one at a time, one thread`,
    });
  }
}

export const mailBenchmark: Benchmark = {
  name: 'mail',
  description: 'e-mail parsing (parseEmail, the mail stage) vs mailparser simpleParser alone',
  quick: (ctx) => run(ctx, 400, 7),
  full: (ctx) => run(ctx, 2000, 9),
};
