/**
 * Word spans: where each body position of a document lies in its page text, recorded while the document is
 * analysed for the index and stored (sealed) beside its segment. A hit's highlights are then its query
 * terms' positions from the postings mapped to characters, as Lucene's postings-offsets highlighter does,
 * instead of re-analysing every page of every hit for every search (~26 ms per million characters on the
 * thread that serves every RPC; docs/performance.md, "Search over gRPC with snippets").
 *
 * Layout of one document: varint pages, then per page: varint positions, varint bytes, and one entry per
 * position of the page in order. An entry is the gap from the previous span's end (0 at the page start) and
 * the span's length: one byte (gap << 4 | length) when gap ≤ 14 and length ≤ 15, else 0xF0 followed by the
 * zig-zagged gap and the length as varints (an IBAN's span covers the words after its first, so a gap can
 * be negative). A position without a term (a word that yields none) is the entry 0: an empty span.
 * About one byte per word; a page's entries are skipped whole when none of its positions is asked for.
 */
import { ByteWriter, readVarint } from './postings-codec.js';

const ESCAPE = 0xf0;

/** Records a document's body spans as the analyser reports its tokens (SegmentBuilder, analyseDocument). */
export class SpanWriter {
  readonly #doc = new ByteWriter(1024);
  readonly #page = new ByteWriter(1024);
  #pages = 0;
  /** The page's first position; the next position without an entry yet; the previous span's end. */
  #pageFrom = 0;
  #next = 0;
  #prevEnd = 0;

  /** Starts a document. */
  begin(): void {
    this.#doc.len = 0;
    this.#pages = 0;
    this.#next = 0;
  }

  /** Starts a page whose first position is `position` (the previous page ends there). */
  page(position: number): void {
    if (this.#pages > 0) this.#endPage(position);
    this.#pages++;
    this.#pageFrom = position;
    this.#next = position;
    this.#prevEnd = 0;
    this.#page.len = 0;
  }

  /** A term at `position` from text[start, end) of the current page; later terms at the same position add nothing. */
  token(position: number, start: number, end: number): void {
    if (position < this.#next) return;
    const w = this.#page;
    w.ensure(position - this.#next + 11);
    while (this.#next < position) {
      w.buf[w.len++] = 0;
      this.#next++;
    }
    const gap = start - this.#prevEnd;
    const len = end - start;
    if (gap >= 0 && gap <= 14 && len <= 15) w.buf[w.len++] = (gap << 4) | len;
    else {
      w.buf[w.len++] = ESCAPE;
      w.varint(gap >= 0 ? gap * 2 : -gap * 2 - 1);
      w.varint(len);
    }
    this.#prevEnd = end;
    this.#next = position + 1;
  }

  /** Ends the document at `endPosition` (its body length); returns its spans (a copy), empty without pages. */
  finish(endPosition: number): Uint8Array {
    if (this.#pages === 0) return new Uint8Array(0);
    this.#endPage(endPosition);
    const head = new ByteWriter(8);
    head.varint(this.#pages);
    const out = new Uint8Array(head.len + this.#doc.len);
    out.set(head.buf.subarray(0, head.len));
    out.set(this.#doc.buf.subarray(0, this.#doc.len), head.len);
    return out;
  }

  #endPage(endPosition: number): void {
    const w = this.#page;
    if (endPosition > this.#next) {
      w.ensure(endPosition - this.#next);
      w.buf.fill(0, w.len, w.len + endPosition - this.#next);
      w.len += endPosition - this.#next;
      this.#next = endPosition;
    }
    this.#doc.varint(this.#next - this.#pageFrom);
    this.#doc.varint(w.len);
    this.#doc.bytesFrom(w.buf, 0, w.len);
  }
}

/** A highlighted word: text[start, end) of its page, and which of the query's terms it matched. */
export interface SpanHit {
  start: number;
  end: number;
  term: number;
}

/**
 * The spans of `positions` (ascending body positions; `terms[i]` is the term found at `positions[i]`), by
 * page index (0-based), each page's in order. A position beyond the recorded pages, or at an empty span,
 * gives nothing.
 */
export function spansAt(spans: Uint8Array, positions: ArrayLike<number>, terms: ArrayLike<number>): Map<number, SpanHit[]> {
  const out = new Map<number, SpanHit[]>();
  const n = positions.length;
  if (n === 0 || spans.length === 0) return out;
  const st = { off: 0 };
  const pages = readVarint(spans, st);
  let k = 0;
  let from = 0;
  for (let p = 0; p < pages && k < n; p++) {
    const count = readVarint(spans, st);
    const bytes = readVarint(spans, st);
    const to = from + count;
    const pageEnd = st.off + bytes;
    if (positions[k]! < to) {
      let hits: SpanHit[] | undefined;
      let pos = from;
      let prevEnd = 0;
      while (k < n && positions[k]! < to) {
        const want = positions[k]!;
        let start = prevEnd;
        let end = prevEnd;
        // Entries up to and including the wanted position; a repeated position (two terms at one word) reuses it.
        while (pos <= want) {
          const b = spans[st.off++]!;
          if (b !== ESCAPE) {
            start = prevEnd + (b >>> 4);
            end = start + (b & 15);
          } else {
            const z = readVarint(spans, st);
            start = prevEnd + (z & 1 ? -(z + 1) / 2 : z / 2);
            end = start + readVarint(spans, st);
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
      if (hits !== undefined) out.set(p, hits);
    }
    st.off = pageEnd;
    from = to;
  }
  return out;
}
