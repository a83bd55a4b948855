import { Splitter } from '@zone-eu/mailsplit';
import { type AddressObject, type ParsedMail, simpleParser } from 'mailparser';
import { PipelineError, raceSignal, throwIfAborted } from './errors.js';
import { htmlToText } from './html.js';
import { decodeText, decodeWith } from './text.js';

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
  if (!hasBody(mail) && isMultipart(mail)) {
    // A multipart (the top level or a nested one) whose declared boundary never occurs: find the one
    // its parts really use. Only mails without any body text pay for the scan.
    const repaired = repairBoundary(input, topBoundary(mail), maxNodes(limits));
    if (repaired) {
      const again = await runParser(repaired, limits, opts.signal);
      const better = hasBody(again) || (isEmptyMultipart(mail) && !isEmptyMultipart(again));
      if (better && again.attachments.length >= mail.attachments.length) {
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

  // Encoded words whose declared charset is wrong (UTF-8 bytes in `=?ISO-8859-1?Q?…?=`) decode to mojibake.
  let headerRepaired = false;
  const header = (s: string): string => {
    const fixed = repairMojibake(s);
    if (fixed !== s) headerRepaired = true;
    return fixed;
  };

  const attachments: EmailAttachment[] = [];
  const skipped: ParsedEmail['skipped'] = [];
  for (const [i, a] of mail.attachments.entries()) {
    const isMessage = /^message\/(rfc822|global)$/i.test(a.contentType);
    const fileName = safeFileName(a.filename && header(a.filename), isMessage ? `message-${i + 1}.eml` : `attachment-${i + 1}`);
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
    to: addresses(mail.to, header),
    cc: addresses(mail.cc, header),
    references: typeof mail.references === 'string' ? [mail.references] : (mail.references ?? []),
    attachments,
    skipped,
    repairs,
  };
  if (mail.subject?.trim()) out.subject = header(mail.subject.trim());
  const from = addresses(mail.from, header)[0];
  if (from) out.from = from;
  if (headerRepaired && !repairs.includes('header-charset')) repairs.push('header-charset');
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

function isMultipart(mail: Parsed): boolean {
  const ct = mail.headers.get('content-type') as { value?: string } | undefined;
  return typeof ct?.value === 'string' && /^multipart\//i.test(ct.value);
}

function topBoundary(mail: Parsed): string | undefined {
  const ct = mail.headers.get('content-type') as { params?: { boundary?: unknown } } | undefined;
  return typeof ct?.params?.boundary === 'string' ? ct.params.boundary : undefined;
}

function hasBody(mail: Parsed): boolean {
  return Boolean(mail.text?.trim() || (typeof mail.html === 'string' && mail.html.trim()));
}

function isEmptyMultipart(mail: Parsed): boolean {
  return isMultipart(mail) && !hasBody(mail) && mail.attachments.length === 0;
}

const DELIMITER_LINE = /^--([0-9A-Za-z'()+_,./:=?-]{1,70}?)(?:--)?[ \t]*\r?$/;
const MULTIPART_HEADER = /^content-type:[ \t]*multipart\//i;
const BOUNDARY_PARAM = /\bboundary\s*=\s*(?:"([^"\r\n]*)"|([^\s;"]+))/i;

interface DelimiterLine {
  token: string;
  at: number;
}

/**
 * Points multipart headers whose boundary never occurs at the boundary their parts really use. The top
 * level (declared boundary missing or unused) gets the first `--token` line if it occurs at least twice;
 * a nested multipart gets the first `--token` after its header that occurs at least twice and that no
 * other header uses. Returns undefined when there is nothing to repair. Works on the bytes (native
 * searches, short lines decoded): a mail of large attachments is never turned into one big string.
 */
function repairBoundary(input: Buffer, topBoundary: string | undefined, maxParts: number): Buffer | undefined {
  const { end } = headerBlock(input, input.length);
  const body = input.subarray(end);
  const lines = delimiterLines(body);
  const counts = new Map<string, number>();
  for (const l of lines) counts.set(l.token, (counts.get(l.token) ?? 0) + 1);
  const repeated = (token: string) => (counts.get(token) ?? 0) >= 2;
  const parts = multipartHeaders(body, maxParts);
  const taken = new Set(parts.flatMap((p) => (counts.has(p.boundary) ? [p.boundary] : [])));

  let top: string | undefined;
  if (topBoundary === undefined || !counts.has(topBoundary)) {
    const first = lines[0]?.token;
    if (first !== undefined && repeated(first)) top = first;
  }
  if (top !== undefined) taken.add(top);
  const edits: { at: number; length: number; boundary: string }[] = [];
  for (const p of parts) {
    if (counts.has(p.boundary)) continue;
    // The parts' delimiter follows the header after at most a short preamble: look at the next few lines only,
    // so hostile input (many headers, many delimiter-like lines) stays linear.
    const next = firstAfter(lines, p.at);
    const real = lines.slice(next, next + 16).find((l) => repeated(l.token) && !taken.has(l.token))?.token;
    if (real === undefined) continue;
    taken.add(real);
    edits.push({ at: p.at, length: p.length, boundary: real });
  }
  if (top === undefined && edits.length === 0) return undefined;

  let header = input.subarray(0, end).toString('latin1');
  if (top !== undefined) {
    // Drop the old Content-Type with its folded continuation lines.
    header = header.replace(/^content-type:[^\n]*\n(?:[ \t][^\n]*\n)*/gim, '');
    const eol = header.includes('\r\n') ? '\r\n' : '\n';
    header = `Content-Type: multipart/mixed; boundary="${top}"${eol}${header}`;
  }
  const pieces: Buffer[] = [Buffer.from(header, 'latin1')];
  let from = 0;
  for (const e of edits) {
    pieces.push(body.subarray(from, e.at), Buffer.from(`boundary="${e.boundary}"`, 'latin1'));
    from = e.at + e.length;
  }
  pieces.push(body.subarray(from));
  return Buffer.concat(pieces);
}

/** `--token` lines (with or without the closing `--`), in order. */
function delimiterLines(body: Buffer): DelimiterLine[] {
  const out: DelimiterLine[] = [];
  let p = body[0] === 0x2d && body[1] === 0x2d ? 0 : body.indexOf('\n--');
  while (p !== -1) {
    const start = body[p] === 0x0a ? p + 1 : p;
    const eol = body.indexOf(0x0a, start);
    // A delimiter line is short (70-character token); longer lines are cut and then fail the pattern.
    const line = body.subarray(start, Math.min(eol === -1 ? body.length : eol, start + 128)).toString('latin1');
    const m = DELIMITER_LINE.exec(line);
    if (m) out.push({ token: m[1] as string, at: start });
    p = body.indexOf('\n--', start);
  }
  return out;
}

/** `Content-Type: multipart/…` headers inside the body that carry a boundary parameter (offset and length of it). */
function multipartHeaders(body: Buffer, max: number): { at: number; length: number; boundary: string }[] {
  const out: { at: number; length: number; boundary: string }[] = [];
  const seen = new Set<number>();
  for (const needle of ['oundary', 'OUNDARY']) {
    for (let q = body.indexOf(needle); q !== -1 && out.length < max; q = body.indexOf(needle, q + needle.length)) {
      // Back to the start of the header: the line of the hit, and the lines it is folded from.
      let start = body.lastIndexOf(0x0a, q) + 1;
      // (start ≥ 2: a negative offset would make lastIndexOf search from the end.)
      for (let n = 0; n < 32 && start >= 2 && (body[start] === 0x20 || body[start] === 0x09); n++) {
        start = body.lastIndexOf(0x0a, start - 2) + 1;
      }
      if (seen.has(start)) continue;
      seen.add(start);
      const eol = body.indexOf(0x0a, q);
      const text = body.subarray(start, eol === -1 ? body.length : eol).toString('latin1');
      const param = MULTIPART_HEADER.test(text) ? BOUNDARY_PARAM.exec(text) : null;
      if (param) out.push({ at: start + param.index, length: param[0].length, boundary: (param[1] ?? param[2]) as string });
    }
  }
  return out.sort((a, b) => a.at - b.at);
}

/** Index of the first line at or after `at` (lines are in order). */
function firstAfter(lines: readonly { at: number }[], at: number): number {
  let lo = 0;
  let hi = lines.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((lines[mid] as { at: number }).at < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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

function addresses(v: AddressObject | AddressObject[] | undefined, name: (s: string) => string): string[] {
  if (!v) return [];
  const list = Array.isArray(v) ? v : [v];
  const out: string[] = [];
  for (const obj of list) {
    for (const a of obj.value) {
      if (a.address) out.push(a.name ? `${name(a.name)} <${a.address}>` : a.address);
      for (const g of a.group ?? []) if (g.address) out.push(g.name ? `${name(g.name)} <${g.address}>` : g.address);
    }
  }
  return out;
}

// Windows-1252 bytes 0x80–0x9F by the character they stand for (Latin-1 decoders give U+0080–U+009F,
// which map back directly). From our own table: Node 20's TextDecoder('windows-1252') is Latin-1 there.
const CP1252_HIGH = new Map<number, number>(
  Array.from({ length: 32 }, (_, i) => [decodeWith(Uint8Array.of(0x80 + i), 'windows-1252').charCodeAt(0), 0x80 + i]),
);
CP1252_HIGH.delete(0xfffd);

/**
 * UTF-8 that was decoded as Latin-1/Windows-1252 ("GrÃ¼ÃŸe") turned back into what was written, when
 * every character maps back to one byte and those bytes are valid UTF-8; anything else is returned as is.
 */
function repairMojibake(s: string): string {
  if (!looksMisdecoded(s)) return s;
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const b = c <= 0xff ? c : CP1252_HIGH.get(c);
    if (b === undefined) return s;
    bytes[i] = b;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return s;
  }
}
