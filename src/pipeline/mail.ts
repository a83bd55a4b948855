import { Splitter } from '@zone-eu/mailsplit';
import { type AddressObject, type ParsedMail, simpleParser } from 'mailparser';
import { PipelineError, raceSignal, throwIfAborted } from './errors.js';
import { htmlToText } from './html.js';
import { decodeText } from './text.js';

/**
 * RFC 5322 message → body text, header metadata, and attachments as child documents. The body is
 * the text part, or the HTML part converted with our own HTML stage when there is no text part.
 *
 * Nested `message/rfc822` parts are not parsed here: they come back as children (`isMessage`) and
 * the caller runs this stage on them again with `depth + 1`, so one mail's work stays bounded.
 * Real-world charset damage (8-bit headers, bodies whose declared charset is wrong) is repaired;
 * broken MIME boundaries get a best-effort reading instead of an empty document.
 */
export interface MailLimits {
  /** Attachments (inline images and nested mails included) one mail may carry; more is a `limit` error. */
  maxAttachments: number;
  /** Decoded bytes of one attachment; larger ones are skipped and listed in `skipped`. */
  maxAttachmentBytes: number;
  /** Bytes of one MIME header block (the top-level one or a part's); more is a `limit` error. */
  maxHeaderBytes: number;
  /** Nesting depth of mails in mails; a mail at this depth returns its nested mails as `skipped`. */
  maxDepth: number;
}

export const DEFAULT_MAIL_LIMITS: Readonly<MailLimits> = Object.freeze({
  maxAttachments: 1_000,
  maxAttachmentBytes: 100 * 1024 * 1024,
  maxHeaderBytes: 256 * 1024,
  maxDepth: 8,
});

export interface ParseEmailOptions extends Partial<MailLimits> {
  /** Nesting depth of this mail: 0 for a top-level mail, parent's depth + 1 for a nested one. */
  depth?: number;
  signal?: AbortSignal;
}

export interface EmailAttachment {
  fileName: string;
  bytes: Buffer;
  /** Media type as declared by the mail (a hint: the pipeline sniffs the bytes). */
  contentType: string;
  disposition: 'attachment' | 'inline';
  /** Content-ID without angle brackets (inline images referenced from the HTML body). */
  contentId?: string;
  /** A nested mail (`message/rfc822`): parse it with `depth + 1`. */
  isMessage: boolean;
}

export interface ParsedEmail {
  text: string;
  /** Where the body text came from. */
  bodyFormat: 'text' | 'html' | 'none';
  subject?: string;
  from?: string;
  to: string[];
  cc: string[];
  date?: Date;
  messageId?: string;
  inReplyTo?: string;
  references: string[];
  attachments: EmailAttachment[];
  /** Parts that were not returned, and why (size limit, nesting limit, empty). */
  skipped: { name: string; reason: string }[];
  /** Repairs applied to a damaged message, for logs and tests. */
  repairs: ('header-charset' | 'body-charset' | 'boundary' | 'raw-body')[];
}

type Parsed = ParsedMail;

export async function parseEmail(bytes: Uint8Array, opts: ParseEmailOptions = {}): Promise<ParsedEmail> {
  const limits = mailLimits(opts);
  const depth = opts.depth ?? 0;
  if (depth > limits.maxDepth) {
    throw new PipelineError('limit', `e-mail is nested more than ${limits.maxDepth} levels deep`);
  }
  throwIfAborted(opts.signal);
  const repairs: ParsedEmail['repairs'] = [];
  let input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  const head = headerBlock(input, limits.maxHeaderBytes);
  // Headers must be ASCII or UTF-8 (RFC 6532); raw 8-bit headers in anything else are Windows-1252 in practice.
  const headText = decodeText(input.subarray(0, head.end));
  if (headText.encoding !== 'utf-8' && /[^ -~\t\r\n]/.test(headText.text)) {
    input = Buffer.concat([Buffer.from(headText.text.replace(/\n/g, '\r\n'), 'utf8'), input.subarray(head.end)]);
    repairs.push('header-charset');
  }

  let mail = await runParser(input, limits, opts.signal);
  if (isEmptyMultipart(mail)) {
    // A multipart whose declared boundary never occurs: find the one the parts really use.
    const repaired = repairBoundary(input);
    if (repaired) {
      const again = await runParser(repaired, limits, opts.signal);
      if (!isEmptyMultipart(again)) {
        mail = again;
        input = repaired;
        repairs.push('boundary');
      }
    }
  }

  let text = '';
  let bodyFormat: ParsedEmail['bodyFormat'] = 'none';
  if (mail.text?.trim()) {
    text = mail.text;
    bodyFormat = 'text';
  } else if (typeof mail.html === 'string' && mail.html.trim()) {
    text = htmlToText(mail.html).text;
    bodyFormat = 'html';
  }
  if (looksMisdecoded(text)) {
    const redone = await redecodeBody(input, limits, opts.signal);
    if (redone && damage(redone.text) < damage(text)) {
      text = redone.text;
      bodyFormat = redone.format;
      repairs.push('body-charset');
    }
  }
  if (bodyFormat === 'none' && isEmptyMultipart(mail)) {
    // Still nothing readable: keep the body as plain text rather than lose it.
    const body = decodeText(input.subarray(head.end)).text.trim();
    if (body) {
      text = body;
      bodyFormat = 'text';
      repairs.push('raw-body');
    }
  }
  throwIfAborted(opts.signal);

  const attachments: EmailAttachment[] = [];
  const skipped: ParsedEmail['skipped'] = [];
  for (const [i, a] of mail.attachments.entries()) {
    const isMessage = /^message\/(rfc822|global)$/i.test(a.contentType);
    const fileName = safeFileName(a.filename, isMessage ? `message-${i + 1}.eml` : `attachment-${i + 1}`);
    if (a.content.length === 0) {
      skipped.push({ name: fileName, reason: 'empty attachment' });
    } else if (a.content.length > limits.maxAttachmentBytes) {
      skipped.push({ name: fileName, reason: `attachment exceeds ${limits.maxAttachmentBytes} bytes` });
    } else if (isMessage && depth >= limits.maxDepth) {
      skipped.push({ name: fileName, reason: `nested mail deeper than ${limits.maxDepth} levels` });
    } else {
      attachments.push({
        fileName,
        bytes: a.content,
        contentType: a.contentType || 'application/octet-stream',
        disposition: a.contentDisposition === 'inline' ? 'inline' : 'attachment',
        isMessage,
        ...(a.cid ? { contentId: a.cid } : {}),
      });
    }
  }

  const out: ParsedEmail = {
    text: text.replace(/\r\n?/g, '\n').trim(),
    bodyFormat,
    to: addresses(mail.to),
    cc: addresses(mail.cc),
    references: typeof mail.references === 'string' ? [mail.references] : (mail.references ?? []),
    attachments,
    skipped,
    repairs,
  };
  if (mail.subject?.trim()) out.subject = mail.subject.trim();
  const from = addresses(mail.from)[0];
  if (from) out.from = from;
  if (mail.date && !Number.isNaN(mail.date.getTime())) out.date = mail.date;
  if (mail.messageId) out.messageId = mail.messageId;
  if (mail.inReplyTo) out.inReplyTo = mail.inReplyTo;
  return out;
}

function mailLimits(opts: Partial<MailLimits>): MailLimits {
  const out: MailLimits = { ...DEFAULT_MAIL_LIMITS };
  for (const key of Object.keys(DEFAULT_MAIL_LIMITS) as (keyof MailLimits)[]) {
    const v = opts[key];
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) out[key] = v;
  }
  return out;
}

// Multipart containers count as MIME nodes too: every attachment may sit in its own alternative/related.
function maxNodes(limits: MailLimits): number {
  return 2 * limits.maxAttachments + 64;
}

async function runParser(input: Buffer, limits: MailLimits, signal: AbortSignal | undefined): Promise<Parsed> {
  let mail: Parsed;
  try {
    const parsing = simpleParser(input, {
      skipTextToHtml: true,
      skipImageLinks: true,
      skipTextLinks: true,
      skipHtmlToText: true,
      ignoreEmbedded: true,
      maxHeadSize: limits.maxHeaderBytes,
      maxChildNodes: maxNodes(limits),
      checksumAlgo: false,
    });
    // The parser cannot be interrupted; its work is bounded by the input size, so we stop waiting.
    mail = await raceSignal(parsing, signal);
  } catch (err) {
    throw mailError(err, limits);
  }
  if (mail.attachments.length > limits.maxAttachments) {
    throw new PipelineError(
      'limit',
      `e-mail has ${mail.attachments.length} attachments, more than the limit of ${limits.maxAttachments}`,
    );
  }
  return mail;
}

function mailError(err: unknown, limits: MailLimits): PipelineError {
  if (err instanceof PipelineError) return err;
  const e = err as { code?: unknown; message?: unknown } | null;
  if (e?.code === 'EMAXLEN') {
    const msg = String(e.message);
    if (/header/i.test(msg)) {
      return new PipelineError('limit', `e-mail header block exceeds ${limits.maxHeaderBytes} bytes`, { cause: err });
    }
    return new PipelineError('limit', `e-mail has more than ${maxNodes(limits)} MIME parts`, { cause: err });
  }
  return new PipelineError('corrupt', 'e-mail message could not be parsed', { cause: err });
}

/** End offset of the top-level header block (including the blank line), checked against the limit. */
function headerBlock(b: Buffer, maxHeaderBytes: number): { end: number } {
  const window = b.subarray(0, Math.min(b.length, maxHeaderBytes + 4));
  let end = -1;
  for (let i = 0; i < window.length - 1; i++) {
    if (window[i] !== 0x0a) continue;
    if (window[i + 1] === 0x0a) {
      end = i + 2;
      break;
    }
    if (window[i + 1] === 0x0d && window[i + 2] === 0x0a) {
      end = i + 3;
      break;
    }
  }
  if (end === -1) {
    // No blank line: either all header (a header-only mail) or a header that never ends.
    if (b.length > maxHeaderBytes) {
      throw new PipelineError('limit', `e-mail header block exceeds ${maxHeaderBytes} bytes`);
    }
    end = b.length;
  }
  return { end };
}

function isEmptyMultipart(mail: Parsed): boolean {
  const ct = mail.headers.get('content-type') as { value?: string } | undefined;
  const multipart = typeof ct?.value === 'string' && /^multipart\//i.test(ct.value);
  return multipart && !mail.text?.trim() && !(typeof mail.html === 'string' && mail.html.trim()) && mail.attachments.length === 0;
}

/**
 * Rewrites the top-level Content-Type to the boundary the body actually uses: the first `--token`
 * line that occurs at least twice. Returns undefined when no such token exists.
 */
function repairBoundary(input: Buffer): Buffer | undefined {
  const { end } = headerBlock(input, input.length);
  const body = input.subarray(end).toString('latin1');
  const counts = new Map<string, number>();
  let first: string | undefined;
  for (const m of body.matchAll(/^--([0-9A-Za-z'()+_,./:=?-]{1,70}?)(?:--)?[ \t]*\r?$/gm)) {
    const token = m[1] as string;
    first ??= token;
    counts.set(token, (counts.get(token) ?? 0) + 1);
  }
  if (!first || (counts.get(first) ?? 0) < 2) return undefined;
  const header = input
    .subarray(0, end)
    .toString('latin1')
    // Drop the old Content-Type with its folded continuation lines.
    .replace(/^content-type:[^\n]*\n(?:[ \t][^\n]*\n)*/gim, '');
  const eol = header.includes('\r\n') ? '\r\n' : '\n';
  const fixed = `Content-Type: multipart/mixed; boundary="${first}"${eol}${header}`;
  return Buffer.concat([Buffer.from(fixed, 'latin1'), input.subarray(end)]);
}

// U+FFFD from invalid UTF-8, or UTF-8 read as Latin-1/Windows-1252 ("MÃ¼ller", "â€ž").
const MISDECODED =
  /\uFFFD|[ÃÂ][\u0080-\u00BF\u0152\u0153\u0160\u0161\u0178\u017D\u017E\u0192\u02C6\u02DC\u2013-\u203A\u20AC\u2122]|â€/g;

function damage(s: string): number {
  return s.match(MISDECODED)?.length ?? 0;
}

function looksMisdecoded(s: string): boolean {
  MISDECODED.lastIndex = 0;
  return MISDECODED.test(s);
}

interface RawPart {
  type: 'text/plain' | 'text/html';
  encoding: string;
  charset: string;
  chunks: Buffer[];
}

/**
 * Second reading of the body with our own charset detection: the text parts' bytes (transfer
 * decoding undone) are decoded as UTF-8 when they are valid UTF-8, whatever the header says,
 * else as the declared charset when it is a specific one, else as Windows-1252.
 */
async function redecodeBody(
  input: Buffer,
  limits: MailLimits,
  signal: AbortSignal | undefined,
): Promise<{ text: string; format: 'text' | 'html' } | undefined> {
  const parts = await raceSignal(splitTextParts(input, limits), signal).catch((err: unknown) => {
    if (err instanceof PipelineError && (err.kind === 'aborted' || err.kind === 'timeout')) throw err;
    return [] as RawPart[];
  });
  const decode = (p: RawPart) => decodePart(undoTransferEncoding(Buffer.concat(p.chunks), p.encoding), p.charset);
  const plain = parts.filter((p) => p.type === 'text/plain').map(decode);
  if (plain.some((t) => t.trim())) return { text: plain.join('\n'), format: 'text' };
  const html = parts.filter((p) => p.type === 'text/html').map(decode);
  if (html.some((t) => t.trim())) return { text: htmlToText(html.join('\n')).text, format: 'html' };
  return undefined;
}

function splitTextParts(input: Buffer, limits: MailLimits): Promise<RawPart[]> {
  return new Promise<RawPart[]>((resolve, reject) => {
    const splitter = new Splitter({
      ignoreEmbedded: true,
      maxHeadSize: limits.maxHeaderBytes,
      maxChildNodes: maxNodes(limits),
    });
    const parts: RawPart[] = [];
    let current: RawPart | undefined;
    splitter.on('data', (chunk: unknown) => {
      const c = chunk as {
        type: string;
        value?: Buffer;
        contentType?: string | false;
        disposition?: string | false;
        encoding?: string | false;
        charset?: string | false;
        multipart?: string | false;
      };
      if (c.type === 'node') {
        current = undefined;
        const type = (c.contentType || 'text/plain').toLowerCase();
        if (!c.multipart && c.disposition !== 'attachment' && (type === 'text/plain' || type === 'text/html')) {
          current = { type, encoding: (c.encoding || '').toLowerCase(), charset: (c.charset || '').toLowerCase(), chunks: [] };
          parts.push(current);
        }
      } else if (c.type === 'body' && current && c.value) {
        current.chunks.push(c.value);
      }
    });
    // mailsplit types declare only 'data'; it is a Transform and emits 'error' and 'end' like any other.
    const stream = splitter as unknown as NodeJS.EventEmitter;
    stream.once('error', reject);
    stream.once('end', () => resolve(parts));
    splitter.end(input);
  });
}

function undoTransferEncoding(b: Buffer, encoding: string): Buffer {
  if (encoding === 'base64') return Buffer.from(b.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(b);
  return b;
}

export function decodeQuotedPrintable(b: Buffer): Buffer {
  const out = Buffer.alloc(b.length);
  let n = 0;
  const hex = (c: number | undefined) => {
    if (c === undefined) return -1;
    if (c >= 0x30 && c <= 0x39) return c - 0x30;
    if (c >= 0x41 && c <= 0x46) return c - 0x37;
    if (c >= 0x61 && c <= 0x66) return c - 0x57;
    return -1;
  };
  for (let i = 0; i < b.length; i++) {
    const c = b[i] as number;
    if (c !== 0x3d) {
      out[n++] = c;
      continue;
    }
    // Soft line break "=\r\n" or "=\n" (trailing whitespace before the break is allowed).
    let j = i + 1;
    while (b[j] === 0x20 || b[j] === 0x09) j++;
    if (b[j] === 0x0d && b[j + 1] === 0x0a) {
      i = j + 1;
      continue;
    }
    if (b[j] === 0x0a) {
      i = j;
      continue;
    }
    const hi = hex(b[i + 1]);
    const lo = hex(b[i + 2]);
    if (hi >= 0 && lo >= 0) {
      out[n++] = hi * 16 + lo;
      i += 2;
    } else {
      out[n++] = c; // a stray "=" is kept as written
    }
  }
  return out.subarray(0, n);
}

const LATIN1_FAMILY = new Set(['', 'us-ascii', 'ascii', 'utf-8', 'utf8', 'iso-8859-1', 'latin1', 'windows-1252', 'cp1252']);

function decodePart(bytes: Buffer, declared: string): string {
  const detected = decodeText(bytes);
  if (detected.encoding === 'utf-8' || detected.bom || LATIN1_FAMILY.has(declared)) return detected.text;
  try {
    // A specific other charset (ISO-8859-2, KOI8-R, …) is believed when the bytes are not UTF-8.
    return new TextDecoder(declared).decode(bytes).replace(/\r\n?/g, '\n');
  } catch {
    return detected.text;
  }
}

function safeFileName(name: string | undefined, fallback: string): string {
  // Only a base name: no directories, no control characters.
  const base = (name ?? '')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
    .replace(/[\x00-\x1f\x7f]/g, '')
    .split(/[\\/]/)
    .pop()
    ?.trim();
  return base && base !== '.' && base !== '..' ? base.slice(0, 255) : fallback;
}

function addresses(v: AddressObject | AddressObject[] | undefined): string[] {
  if (!v) return [];
  const list = Array.isArray(v) ? v : [v];
  const out: string[] = [];
  for (const obj of list) {
    for (const a of obj.value) {
      if (a.address) out.push(a.name ? `${a.name} <${a.address}>` : a.address);
      for (const g of a.group ?? []) if (g.address) out.push(g.name ? `${g.name} <${g.address}>` : g.address);
    }
  }
  return out;
}
