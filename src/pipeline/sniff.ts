import { decodeWith, detectEncoding, looksLikeText } from './text.js';

/**
 * File type from the bytes. The declared type (from the client or an e-mail part) is only a hint used
 * between text-like types (plain text vs HTML vs e-mail); binary types come from magic bytes alone.
 */
export type ImageFormat = 'png' | 'jpeg' | 'tiff' | 'webp' | 'gif' | 'bmp';

export type SniffedKind =
  | { type: 'empty' }
  | { type: 'pdf' }
  | { type: 'image'; format: ImageFormat }
  | { type: 'zip' }
  | { type: 'email' }
  | { type: 'html' }
  | { type: 'text' }
  | { type: 'unknown' };

export interface SniffResult {
  mediaType: string;
  kind: SniffedKind;
}

const IMAGE_MEDIA: Record<ImageFormat, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  tiff: 'image/tiff',
  webp: 'image/webp',
  gif: 'image/gif',
  bmp: 'image/bmp',
};

export function sniff(bytes: Uint8Array, declaredType?: string): SniffResult {
  if (bytes.length === 0) return { mediaType: 'application/x-empty', kind: { type: 'empty' } };

  if (isPdf(bytes)) return { mediaType: 'application/pdf', kind: { type: 'pdf' } };
  const image = imageFormat(bytes);
  if (image) return { mediaType: IMAGE_MEDIA[image], kind: { type: 'image', format: image } };
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06])) {
    return { mediaType: zipMediaType(bytes), kind: { type: 'zip' } };
  }

  if (!looksLikeText(bytes)) return { mediaType: 'application/octet-stream', kind: { type: 'unknown' } };

  const head = textHead(bytes);
  const hint = (declaredType ?? '').toLowerCase().split(';')[0]?.trim() ?? '';
  if (looksLikeEmail(head, hint === 'message/rfc822')) return { mediaType: 'message/rfc822', kind: { type: 'email' } };
  if (looksLikeHtml(head, hint === 'text/html' || hint === 'application/xhtml+xml')) {
    return { mediaType: 'text/html', kind: { type: 'html' } };
  }
  return { mediaType: 'text/plain', kind: { type: 'text' } };
}

function startsWith(b: Uint8Array, sig: number[], offset = 0): boolean {
  if (b.length < offset + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (b[offset + i] !== sig[i]) return false;
  return true;
}

function ascii(b: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...b.subarray(start, Math.min(end, b.length)));
}

// The PDF header may follow up to 1 KiB of junk (readers accept that, so must we).
function isPdf(b: Uint8Array): boolean {
  const head = ascii(b, 0, 1024);
  return head.includes('%PDF-');
}

function imageFormat(b: Uint8Array): ImageFormat | undefined {
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(b, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (startsWith(b, [0x49, 0x49, 0x2b, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2b])) return 'tiff'; // BigTIFF
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  if (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a') return 'gif';
  // "BM" alone is common in text; require a known DIB header size too.
  if (ascii(b, 0, 2) === 'BM' && b.length >= 18) {
    const dib = (b[14] ?? 0) | ((b[15] ?? 0) << 8) | ((b[16] ?? 0) << 16) | ((b[17] ?? 0) << 24);
    if ([12, 40, 52, 56, 64, 108, 124].includes(dib)) return 'bmp';
  }
  return undefined;
}

/** Office and e-book containers are ZIPs whose first member names them. */
function zipMediaType(b: Uint8Array): string {
  if (!startsWith(b, [0x50, 0x4b, 0x03, 0x04]) || b.length < 30) return 'application/zip';
  const nameLen = (b[26] ?? 0) | ((b[27] ?? 0) << 8);
  const extraLen = (b[28] ?? 0) | ((b[29] ?? 0) << 8);
  const name = ascii(b, 30, 30 + nameLen);
  if (name === 'mimetype') {
    const method = (b[8] ?? 0) | ((b[9] ?? 0) << 8);
    const size = (b[18] ?? 0) | ((b[19] ?? 0) << 8);
    const start = 30 + nameLen + extraLen;
    if (method === 0 && size > 0 && size < 100) {
      const mt = ascii(b, start, start + size).trim();
      if (/^application\/[\w.+-]+$/.test(mt)) return mt;
    }
  }
  return 'application/zip';
}

function textHead(bytes: Uint8Array): string {
  const sample = bytes.subarray(0, 16 * 1024);
  let text = decodeWith(sample, detectEncoding(sample));
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text;
}

const MAIL_HEADERS = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'subject',
  'date',
  'received',
  'return-path',
  'message-id',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'reply-to',
  'sender',
  'delivered-to',
  'x-mailer',
  'user-agent',
  'references',
  'in-reply-to',
  'dkim-signature',
  'authentication-results',
  'x-original-to',
  'thread-topic',
]);
const STRONG_MAIL_HEADERS = new Set(['from', 'received', 'mime-version', 'message-id', 'return-path', 'delivered-to']);

/**
 * RFC 5322 message: a header block of `Name: value` lines (with folded continuations) before the
 * first blank line, containing at least one header that only mail carries.
 */
export function looksLikeEmail(text: string, hinted: boolean): boolean {
  const lines = text.split(/\r?\n/);
  let i = 0;
  if (lines[0]?.startsWith('From ')) i = 1; // mbox "From " separator line
  let known = 0;
  let strong = 0;
  let headerLines = 0;
  for (; i < lines.length && i < 200; i++) {
    const line = lines[i] ?? '';
    if (line === '') break;
    if (/^[ \t]/.test(line) && headerLines > 0) continue; // folded header
    const m = /^([!-9;-~]+):/.exec(line);
    if (!m) return false; // a non-header line before the blank line: not a message
    headerLines++;
    const name = (m[1] ?? '').toLowerCase();
    if (MAIL_HEADERS.has(name)) known++;
    if (STRONG_MAIL_HEADERS.has(name)) strong++;
  }
  if (headerLines === 0) return false;
  return hinted ? known >= 1 : known >= 2 && strong >= 1;
}

export function looksLikeHtml(text: string, hinted: boolean): boolean {
  const head = text.slice(0, 4096).trimStart();
  if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<(!doctype\s+html|html[\s>]|head[\s>]|body[\s>])/i.test(head)) return true;
  if (hinted) return /<[a-z][a-z0-9]*[\s>/]/i.test(head);
  // Fragments without <html>: several common block tags early on.
  const tags = head.match(/<(p|div|table|br|span|a|h[1-6]|ul|li|meta|title)[\s>/]/gi);
  return (tags?.length ?? 0) >= 3 && head.startsWith('<');
}
