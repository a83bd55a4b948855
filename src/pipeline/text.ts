/**
 * Plain-text decoding with charset detection: BOMs, UTF-16 without BOM, strict UTF-8, and the
 * single-byte Western charsets (Windows-1252, ISO-8859-1, ISO-8859-15).
 *
 * Single-byte decoding is done with our own tables: Node's TextDecoder('windows-1252') decodes
 * 0x80–0x9F as C1 controls (ISO-8859-1) instead of €, „, “ and friends.
 */
export type TextEncodingName = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252' | 'iso-8859-1' | 'iso-8859-15';

export interface DecodedText {
  text: string;
  encoding: TextEncodingName;
  /** True when a byte-order mark told us the encoding. */
  bom: boolean;
}

// Windows-1252 0x80–0x9F; 0 marks the five undefined positions.
const CP1252_HIGH = [
  0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0, 0, 0x2018,
  0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
];

// ISO-8859-15 differs from ISO-8859-1 in exactly these eight positions.
const LATIN9_DIFF: Record<number, number> = {
  164: 0x20ac,
  166: 0x0160,
  168: 0x0161,
  180: 0x017d,
  184: 0x017e,
  188: 0x0152,
  189: 0x0153,
  190: 0x0178,
};

const SAMPLE = 64 * 1024;

export function decodeText(bytes: Uint8Array): DecodedText {
  const bom = detectBom(bytes);
  if (bom) {
    return { text: normaliseNewlines(decodeWith(bytes.subarray(bom.length), bom.encoding)), encoding: bom.encoding, bom: true };
  }
  const encoding = detectEncoding(bytes);
  return { text: normaliseNewlines(decodeWith(bytes, encoding)), encoding, bom: false };
}

function detectBom(b: Uint8Array): { encoding: TextEncodingName; length: number } | undefined {
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return { encoding: 'utf-8', length: 3 };
  if (b[0] === 0xff && b[1] === 0xfe) return { encoding: 'utf-16le', length: 2 };
  if (b[0] === 0xfe && b[1] === 0xff) return { encoding: 'utf-16be', length: 2 };
  return undefined;
}

/** Picks the encoding of BOM-less bytes. */
export function detectEncoding(bytes: Uint8Array): TextEncodingName {
  const bom = detectBom(bytes);
  if (bom) return bom.encoding;
  const utf16 = detectUtf16(bytes);
  if (utf16) return utf16;
  if (isValidUtf8(bytes)) return 'utf-8';
  return detectSingleByte(bytes);
}

/** UTF-16 text in Latin script has a zero in every other byte; NUL-heavy binaries do not follow that pattern. */
function detectUtf16(bytes: Uint8Array): TextEncodingName | undefined {
  const n = Math.min(bytes.length, SAMPLE) & ~1;
  if (n < 4) return undefined;
  let evenZero = 0;
  let oddZero = 0;
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) evenZero++;
    if (bytes[i + 1] === 0) oddZero++;
  }
  const pairs = n / 2;
  if (oddZero / pairs > 0.3 && evenZero / pairs < 0.05) return 'utf-16le';
  if (evenZero / pairs > 0.3 && oddZero / pairs < 0.05) return 'utf-16be';
  return undefined;
}

function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    // A multi-byte sequence cut at the end of a truncated sample is still UTF-8.
    if (bytes.length > 3) {
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(trimPartialUtf8(bytes));
        return true;
      } catch {
        return false;
      }
    }
    return false;
  }
}

function trimPartialUtf8(bytes: Uint8Array): Uint8Array {
  const end = bytes.length;
  for (let k = 1; k <= 3 && end - k >= 0; k++) {
    const b = bytes[end - k] ?? 0;
    if ((b & 0xc0) === 0xc0) return bytes.subarray(0, end - k); // lead byte of a cut sequence
    if ((b & 0xc0) !== 0x80) break;
  }
  return bytes;
}

function detectSingleByte(bytes: Uint8Array): TextEncodingName {
  let c1 = 0;
  let euroLike = 0;
  let latin9Only = 0;
  const n = Math.min(bytes.length, SAMPLE * 4);
  for (let i = 0; i < n; i++) {
    const b = bytes[i] ?? 0;
    if (b >= 0x80 && b <= 0x9f) {
      // Printable in Windows-1252 (quotes, dashes, €), control characters in ISO-8859-x.
      if (CP1252_HIGH[b - 0x80] !== 0) c1++;
    } else if (b === 0xa4) {
      // ¤ is almost never written; € is, next to amounts.
      const prev = bytes[i - 1] ?? 0;
      const next = bytes[i + 1] ?? 0;
      if (isDigitOrSpace(prev) || isDigitOrSpace(next)) euroLike++;
    } else if (b === 0xa6 || b === 0xa8 || b === 0xb4 || b === 0xb8 || b === 0xbc || b === 0xbd || b === 0xbe) {
      // Between letters these are Š š Ž ž Œ œ Ÿ rather than ¦ ¨ ´ ¸ ¼ ½ ¾.
      if (isAsciiLetter(bytes[i - 1] ?? 0) && isAsciiLetter(bytes[i + 1] ?? 0)) latin9Only++;
    }
  }
  if (c1 > 0) return 'windows-1252';
  if (euroLike > 0 || latin9Only > 0) return 'iso-8859-15';
  return 'iso-8859-1';
}

function isDigitOrSpace(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || b === 0x20 || b === 0xa0;
}

function isAsciiLetter(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

export function decodeWith(bytes: Uint8Array, encoding: TextEncodingName): string {
  switch (encoding) {
    case 'utf-8':
    case 'utf-16le':
    case 'utf-16be':
      return new TextDecoder(encoding).decode(bytes);
    case 'windows-1252':
      return decodeSingleByte(bytes, (b) => (b >= 0x80 && b <= 0x9f ? CP1252_HIGH[b - 0x80] || 0xfffd : b));
    case 'iso-8859-15':
      return decodeSingleByte(bytes, (b) => LATIN9_DIFF[b] ?? b);
    case 'iso-8859-1':
      return decodeSingleByte(bytes, (b) => b);
  }
}

function decodeSingleByte(bytes: Uint8Array, map: (b: number) => number): string {
  const parts: string[] = [];
  const CHUNK = 8192;
  const codes = new Uint16Array(Math.min(CHUNK, bytes.length));
  for (let off = 0; off < bytes.length; off += CHUNK) {
    const end = Math.min(off + CHUNK, bytes.length);
    for (let i = off; i < end; i++) codes[i - off] = map(bytes[i] ?? 0);
    parts.push(String.fromCharCode(...codes.subarray(0, end - off)));
  }
  return parts.join('');
}

function normaliseNewlines(s: string): string {
  return s.replace(/\r\n?/g, '\n');
}

/**
 * True when the bytes look like text in one of the supported encodings: few control characters
 * other than whitespace. Used by the sniffer to tell text from unknown binaries.
 */
export function looksLikeText(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return false;
  const sample = bytes.subarray(0, Math.min(bytes.length, 8192));
  const enc = detectEncoding(sample);
  const text = decodeWith(detectBom(sample) ? sample.subarray(detectBom(sample)?.length ?? 0) : sample, enc);
  let bad = 0;
  let total = 0;
  for (const ch of text) {
    total++;
    const c = ch.codePointAt(0) ?? 0;
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) || c === 0x7f || c === 0xfffd) bad++;
    else if (c >= 0x80 && c <= 0x9f) bad++;
  }
  return total > 0 && bad / total < 0.02;
}
