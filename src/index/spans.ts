/**
 * Word spans: where each body position of a document lies in its page text, recorded while the document is
 * analysed for the index and stored (sealed) beside its segment. A hit's highlights are then its query
 * terms' positions from the postings mapped to characters, as Lucene's postings-offsets highlighter does,
 * instead of re-analysing every page of every hit for every search (~26 ms per million characters on the
 * thread that serves every RPC; docs/performance.md, "Search over gRPC with snippets").
 *
 * Layout of one document: varint pages, then per page: varint positions, varint bytes, varint length and
 * 4 bytes fingerprint (pageFingerprint) of the page text the spans were taken from (a hit's text is opened after the
 * index snapshot, and may have been replaced since: its spans are then not used), and one entry per
 * position of the page in order, in 4-bit units (low half of a byte first). An entry is the gap from the
 * previous span's end (0 at the page start) and the span's length. The common word, one character after the
 * last (84 % of words in the benchmark corpus), is one unit: its length, 1..15. Any other is a 0 unit and a
 * byte of two units, (gap << 4 | length) for gap ≤ 14 and length ≤ 15, or 0xF0 and then the zig-zagged gap
 * and the length as varints of two units a byte (an IBAN's span covers the words after its first, so a gap
 * can be negative). A position without a term (a word that yields none) is the byte 0: an empty span.
 * About 0.66 byte per word here (the entropy of (gap, length) is 0.51); a page's entries are skipped whole
 * when none of its positions is asked for.
 */
import { ByteWriter, MAX_FIELD_POSITION, readVarint } from './postings-codec.js';
import { FNV_BASIS, FNV_PRIME } from './slice-table.js';

/**
 * A page text's fingerprint: FNV-1a of every 8th code unit and the last. A full hash cost ~4 ns per
 * character, a sixth of the analysis it rode on; with the length, this tells a replaced page from the one
 * the spans were taken from (a change of a few characters in place leaves the words where they were).
 */
export function pageFingerprint(text: string): number {
  let h = FNV_BASIS;
  const n = text.length;
  for (let i = 0; i < n; i += 8) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  if (n > 0) h = Math.imul(h ^ text.charCodeAt(n - 1), FNV_PRIME);
  return h | 0;
}

const ESCAPE = 0xf0;

/** Sets 4-bit unit u of `buf` (bytes hold two, the low half first; a byte's high half is 0 until set). */
function putUnit(buf: Uint8Array, u: number, v: number): number {
  if (u & 1) buf[u >>> 1]! |= v << 4;
  else buf[u >>> 1] = v;
  return u + 1;
}

/** A 0 unit, then byte `b` as two units. */
function putEscaped(buf: Uint8Array, u: number, b: number): number {
  return putUnit(buf, putUnit(buf, putUnit(buf, u, 0), b & 15), b >>> 4);
}

/** A varint, each byte as two units. */
function putVarint(buf: Uint8Array, u: number, v: number): number {
  while (v >= 0x80) {
    const b = (v & 0x7f) | 0x80;
    u = putUnit(buf, putUnit(buf, u, b & 15), b >>> 4);
    v = Math.floor(v / 128);
  }
  return putUnit(buf, putUnit(buf, u, v & 15), v >>> 4);
}

/** Records a document's body spans as the analyser reports its tokens (SegmentBuilder, analyseDocument). */
export class SpanWriter {
  readonly #doc = new ByteWriter(1024);
  /** The page's entries so far: #units 4-bit units. */
  #page = new Uint8Array(1024);
  #units = 0;
  #pages = 0;
  /** The page's first position; the next position without an entry yet; the previous span's end. */
  #pageFrom = 0;
  #next = 0;
  #prevEnd = 0;
  /** The page text's length and hash. */
  #length = 0;
  #hash = 0;
  /** The unit the last entry starts at, the span it holds, and the previous span's end before it. */
  #lastAt = 0;
  #lastStart = 0;
  #lastEnd = 0;
  #lastPrevEnd = 0;

  /** Starts a document. */
  begin(): void {
    this.#doc.len = 0;
    this.#pages = 0;
    this.#next = 0;
  }

  /** Starts a page, `text`, whose first position is `position` (the previous page ends there). */
  page(position: number, text: string): void {
    if (this.#pages > 0) this.#endPage(Math.min(position, MAX_FIELD_POSITION));
    this.#pages++;
    this.#pageFrom = position;
    this.#next = position;
    this.#prevEnd = 0;
    this.#units = 0;
    this.#length = text.length;
    this.#hash = pageFingerprint(text);
  }

  /**
   * A term at `position` from text[start, end) of the current page. Of the terms at one position, the
   * narrowest span inside the first is kept: a word's own, not the IBAN it begins (the IBAN's term comes
   * first, spanning the groups after it, which have positions and spans of their own).
   */
  token(position: number, start: number, end: number): void {
    // Positions past the cap are never asked for (fieldPosition folds them into the cap).
    if (position >= MAX_FIELD_POSITION) return;
    if (position < this.#next) {
      if (position !== this.#next - 1 || start < this.#lastStart || end >= this.#lastEnd || start >= end) return;
      // Drop the last entry (a set high half of its first byte is cleared).
      this.#units = this.#lastAt;
      if (this.#lastAt & 1) this.#page[this.#lastAt >>> 1]! &= 15;
      this.#prevEnd = this.#lastPrevEnd;
      this.#next = position;
    }
    // Room for the empty entries before it (3 units each) and this one (at most 3 + 2 × 2 × 5 units).
    let u = this.#units;
    const need = ((u + 3 * (position - this.#next) + 24) >>> 1) + 1;
    if (need > this.#page.length) {
      const grown = new Uint8Array(Math.max(need, this.#page.length * 2));
      grown.set(this.#page.subarray(0, (u + 1) >>> 1));
      this.#page = grown;
    }
    const buf = this.#page;
    for (; this.#next < position; this.#next++) u = putEscaped(buf, u, 0);
    this.#lastAt = u;
    this.#lastStart = start;
    this.#lastEnd = end;
    this.#lastPrevEnd = this.#prevEnd;
    const gap = start - this.#prevEnd;
    const len = end - start;
    if (gap === 1 && len <= 15) u = putUnit(buf, u, len);
    else if (gap >= 0 && gap <= 14 && len <= 15) u = putEscaped(buf, u, (gap << 4) | len);
    else {
      u = putEscaped(buf, u, ESCAPE);
      u = putVarint(buf, u, gap >= 0 ? gap * 2 : -gap * 2 - 1);
      u = putVarint(buf, u, len);
    }
    this.#units = u;
    this.#prevEnd = end;
    this.#next = position + 1;
  }

  /** Ends the document at `endPosition` (its body length); returns its spans (a copy), empty without pages. */
  finish(endPosition: number): Uint8Array {
    if (this.#pages === 0) return new Uint8Array(0);
    this.#endPage(Math.min(endPosition, MAX_FIELD_POSITION));
    const head = new ByteWriter(8);
    head.varint(this.#pages);
    const out = new Uint8Array(head.len + this.#doc.len);
    out.set(head.buf.subarray(0, head.len));
    out.set(this.#doc.buf.subarray(0, this.#doc.len), head.len);
    return out;
  }

  #endPage(endPosition: number): void {
    // Positions after the page's last term: empty entries.
    if (endPosition > this.#next) {
      const need = ((this.#units + 3 * (endPosition - this.#next)) >>> 1) + 1;
      if (need > this.#page.length) {
        const grown = new Uint8Array(need);
        grown.set(this.#page.subarray(0, (this.#units + 1) >>> 1));
        this.#page = grown;
      }
      for (; this.#next < endPosition; this.#next++) this.#units = putEscaped(this.#page, this.#units, 0);
    }
    const bytes = (this.#units + 1) >>> 1;
    const d = this.#doc;
    d.varint(this.#next - this.#pageFrom);
    d.varint(bytes);
    d.varint(this.#length);
    const h = this.#hash;
    d.u8(h & 255);
    d.u8((h >>> 8) & 255);
    d.u8((h >>> 16) & 255);
    d.u8(h >>> 24);
    d.bytesFrom(this.#page, 0, bytes);
  }
}

/** A highlighted word: text[start, end) of its page, and which of the query's terms it matched. */
export interface SpanHit {
  start: number;
  end: number;
  term: number;
}

/** A page's highlighted words, and the length and fingerprint of the text they were found in. */
export interface PageHits {
  hits: SpanHit[];
  length: number;
  hash: number;
}

/** Whether `text` is the page text the hits were found in (else their offsets mean nothing in it). */
export function samePage(text: string, page: PageHits): boolean {
  return text.length === page.length && pageFingerprint(text) === page.hash;
}

/**
 * The spans of `positions` (ascending body positions; `terms[i]` is the term found at `positions[i]`), by
 * page index (0-based), each page's in order. A position beyond the recorded pages, or at an empty span,
 * gives nothing.
 */
export function spansAt(spans: Uint8Array, positions: ArrayLike<number>, terms: ArrayLike<number>): Map<number, PageHits> {
  const out = new Map<number, PageHits>();
  const n = positions.length;
  if (n === 0 || spans.length === 0) return out;
  const st = { off: 0 };
  const pages = readVarint(spans, st);
  let k = 0;
  let from = 0;
  for (let p = 0; p < pages && k < n; p++) {
    const count = readVarint(spans, st);
    const bytes = readVarint(spans, st);
    const length = readVarint(spans, st);
    const o = st.off;
    const hash = spans[o]! | (spans[o + 1]! << 8) | (spans[o + 2]! << 16) | (spans[o + 3]! << 24) | 0;
    st.off += 4;
    const to = from + count;
    const pageEnd = st.off + bytes;
    if (positions[k]! < to) {
      let hits: SpanHit[] | undefined;
      let pos = from;
      let prevEnd = 0;
      // The page's units, by index u from its first byte.
      const base = st.off;
      let u = 0;
      while (k < n && positions[k]! < to) {
        const want = positions[k]!;
        let start = prevEnd;
        let end = prevEnd;
        // Entries up to and including the wanted position; a repeated position (two terms at one word) reuses it.
        while (pos <= want) {
          const first = unitAt(spans, base, u++);
          if (first !== 0) {
            start = prevEnd + 1;
            end = start + first;
          } else {
            const b = unitAt(spans, base, u) | (unitAt(spans, base, u + 1) << 4);
            u += 2;
            if (b !== ESCAPE) {
              start = prevEnd + (b >>> 4);
              end = start + (b & 15);
            } else {
              const z = unitVarint(spans, base, u);
              u = z.u;
              start = prevEnd + (z.v & 1 ? -(z.v + 1) / 2 : z.v / 2);
              const l = unitVarint(spans, base, u);
              u = l.u;
              end = start + l.v;
            }
          }
          if (end > start) prevEnd = end;
          pos++;
        }
        if (end > start) {
          hits ??= [];
          hits.push({ start, end, term: terms[k]! });
        }
        k++;
        // The same position again (another term of the same word): same span.
        while (k < n && positions[k] === want) {
          if (end > start) hits!.push({ start, end, term: terms[k]! });
          k++;
        }
      }
      if (hits !== undefined) out.set(p, { hits, length, hash });
    }
    st.off = pageEnd;
    from = to;
  }
  return out;
}

/** The 4-bit unit u of the units starting at byte `base` (the low half of a byte first). */
function unitAt(spans: Uint8Array, base: number, u: number): number {
  const b = spans[base + (u >>> 1)]!;
  return u & 1 ? b >>> 4 : b & 15;
}

/** A varint of bytes of two units each, from unit u; `u` after it (rare: long gaps and words). */
function unitVarint(spans: Uint8Array, base: number, u: number): { v: number; u: number } {
  let v = 0;
  for (let scale = 1; ; scale *= 128) {
    const b = unitAt(spans, base, u) | (unitAt(spans, base, u + 1) << 4);
    u += 2;
    v += (b & 0x7f) * scale;
    if (b < 0x80) return { v, u };
  }
}
