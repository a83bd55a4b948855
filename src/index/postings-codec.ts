/**
 * Postings of one term in one segment, as one binary value:
 *
 *   varint df, varint blockCount
 *   per block (the skip table, read without touching the blocks):
 *     varint lastDoc − previous block's lastDoc (first: lastDoc + 1), varint blockBytes, varint positionBytes,
 *     u8 fieldMask, varint groups, per group: u8 groupMask, then per field in the group's mask:
 *       varint k, k × (varint tf, u8 norm)                                         (the block's impacts)
 *   blocks: u8 docBits, 128 (last block: fewer) bit-packed doc deltas − 1,
 *           per field in the mask: u8 tfBits, bit-packed term frequencies
 *
 * A block's impacts: its docs grouped by the set of fields holding the term (at most MAX_GROUPS groups,
 * else one), and per group and field the (tf, norm) pairs no other doc of the group beats on both (more
 * occurrences in a field no longer), norm and tf ascending, at most MAX_IMPACTS (neighbours merged into
 * one pair that dominates both, so the bound stays an upper bound). BM25F is monotone in each, so a
 * group's bound is the sum of its fields' best pairs, and the block's the best group's. Both steps matter
 * for a frequent term, whose top scores sit within 2 % of BM25's saturation: one (max tf, min norm) pair
 * per field paired a long document's tf with a short one's length, and summing fields over the whole
 * block added a title match of one document to the body of another — either way most blocks stayed
 * above the top 10 and were scored.
 *
 * Positions live apart (read only for phrases): per block, per doc, per field in field order, the field's
 * tf positions as deltas within the field (the first from 0). The doc's frequencies say which field each
 * belongs to, so the field costs no bytes (spelled into the value, field × 2^24 + position made the first
 * title or sender position of every doc a 4-byte varint: 27 MB of 187 at 1M documents). A block's deltas
 * are packed in runs of POSITION_RUN (u8 bits, then the bit-packed run), the last shorter run as varints
 * (as varints alone they took 167 MB at 1M documents, packed 144). Readers get field-based positions
 * (field × 2^24 + position), so a phrase never spans two fields.
 */
import { grow } from './slice-table.js';

export const BLOCK_SIZE = 128;
/** Field order: body first so that its positions, the bulk, start at 0 and delta-code small. */
export const FIELDS = ['body', 'title', 'subject', 'fileName', 'sender'] as const;
export type FieldName = (typeof FIELDS)[number];
export const NUM_FIELDS = FIELDS.length;
export const FIELD_POSITION_SHIFT = 1 << 24;
export const MAX_FIELD_POSITION = FIELD_POSITION_SHIFT - 1;

/** Growable byte buffer with varint and bit-packing writers. */
export class ByteWriter {
  buf: Uint8Array;
  len = 0;
  constructor(initial = 1024) {
    this.buf = new Uint8Array(initial);
  }
  ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }
  varint(v: number): void {
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.len++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.len++] = v;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  /** Appends src[from, to): short runs (most terms' values) by a loop, sparing a view and a call. */
  bytesFrom(src: Uint8Array, from: number, to: number): void {
    const n = to - from;
    this.ensure(n);
    if (n > 32) this.buf.set(src.subarray(from, to), this.len);
    else for (let i = 0, out = this.len; i < n; i++) this.buf[out + i] = src[from + i]!;
    this.len += n;
  }
  /** Bit-pack n values of `bits` bits each (LSB first). */
  packed(values: ArrayLike<number>, from: number, n: number, bits: number): void {
    if (bits === 0) return;
    const bytes = (n * bits + 7) >>> 3;
    this.ensure(bytes);
    const buf = this.buf;
    let out = this.len;
    if (bits <= 24) {
      // Integer fast path: at most 7 + 24 bits pending, fits an int32.
      let acc = 0;
      let accBits = 0;
      for (let i = 0; i < n; i++) {
        acc |= values[from + i]! << accBits;
        accBits += bits;
        while (accBits >= 8) {
          buf[out++] = acc & 0xff;
          acc >>>= 8;
          accBits -= 8;
        }
      }
      if (accBits > 0) buf[out++] = acc & 0xff;
      this.len = out;
      return;
    }
    let acc = 0;
    let accBits = 0;
    for (let i = 0; i < n; i++) {
      const v = values[from + i]!;
      acc += v * 2 ** accBits; // values up to 32 bits: keep the accumulator in float-safe range
      accBits += bits;
      while (accBits >= 8) {
        buf[out++] = acc & 0xff;
        acc = Math.floor(acc / 256);
        accBits -= 8;
      }
    }
    if (accBits > 0) buf[out++] = acc & 0xff;
    this.len = out;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export function bitsFor(max: number): number {
  return max === 0 ? 0 : 32 - Math.clz32(max);
}

/** Unpack n values of `bits` bits from src at byte offset `off` into out[at..at + n); returns the new offset. */
export function unpack(src: Uint8Array, off: number, n: number, bits: number, out: Int32Array, at = 0): number {
  if (bits === 0) {
    out.fill(0, at, at + n);
    return off;
  }
  if (bits <= 24) return UNPACKERS[bits]!(src, off, n, out, at);
  // Wide values (huge doc gaps): bit by bit in floating point, rare.
  let bitPos = off * 8;
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let b = 0; b < bits; b++, bitPos++) if ((src[bitPos >>> 3]! >>> (bitPos & 7)) & 1) v += 2 ** b;
    out[at + i] = v;
  }
  return off + ((n * bits + 7) >>> 3);
}

type Unpacker = (src: Uint8Array, off: number, n: number, out: Int32Array, at: number) => number;

/**
 * Unpacker source for one width (1..24): whole groups of 8 values (`bits` bytes each) with every byte index,
 * shift and mask a constant, then the tail (< 8 values) through a bit accumulator. Lucene generates its
 * ForUtil the same way: one loop over a variable width keeps a refill branch and variable shifts per value,
 * and measured 4-7x slower here than these straight-line groups (128 values, widths 1-24, Node 20).
 */
export function unpackerSource(bits: number): string {
  const mask = (1 << bits) - 1;
  const group: string[] = [];
  for (let j = 0; j < 8; j++) {
    const first = j * bits;
    const shift = first & 7;
    let byte = first >>> 3;
    const parts = [shift > 0 ? `(src[p + ${byte}] >>> ${shift})` : `src[p + ${byte}]`];
    for (let got = 8 - shift; got < bits; got += 8) parts.push(`(src[p + ${++byte}] << ${got})`);
    group.push(`out[q + ${j}] = (${parts.join(' | ')}) & ${mask};`);
  }
  return `let p = off;
let i = 0;
for (let q = at; i + 8 <= n; i += 8, p += ${bits}, q += 8) {
  ${group.join('\n  ')}
}
let acc = 0;
let accBits = 0;
for (; i < n; i++) {
  while (accBits < ${bits}) {
    acc |= src[p++] << accBits;
    accBits += 8;
  }
  out[at + i] = acc & ${mask};
  acc >>>= ${bits};
  accBits -= ${bits};
}
return off + ((n * ${bits} + 7) >>> 3);`;
}

// Built from the constants above only (no input reaches this code).
const UNPACKERS: Unpacker[] = [];
for (let bits = 1; bits <= 24; bits++)
  UNPACKERS[bits] = new Function('src', 'off', 'n', 'out', 'at', unpackerSource(bits)) as Unpacker;

/** Position deltas per packed run. */
export const POSITION_RUN = 128;
const RUN = new Int32Array(POSITION_RUN);

/** One block's position deltas in encoding (grown as needed). */
let positionDeltas: Int32Array = new Int32Array(1024);

/** Writes m position deltas: full runs bit-packed behind their width, the rest as varints. */
function writePositionRuns(w: ByteWriter, deltas: Int32Array, m: number): void {
  let k = 0;
  for (; k + POSITION_RUN <= m; k += POSITION_RUN) {
    let max = 0;
    for (let i = k; i < k + POSITION_RUN; i++) if (deltas[i]! > max) max = deltas[i]!;
    const bits = bitsFor(max);
    w.u8(bits);
    w.packed(deltas, k, POSITION_RUN, bits);
  }
  for (; k < m; k++) w.varint(deltas[k]!);
}

/**
 * Reads a block's position deltas (`count` in all) from `src` into `out`, continuing at state.k (deltas read)
 * and state.off (its byte offset), until at least `upTo` are read: a phrase decodes only as far as the doc
 * it checks. Deltas before `from` are not needed (the caller goes forward): runs of them are skipped, left unset.
 */
export function readPositionDeltas(
  src: Uint8Array,
  state: { off: number; k: number },
  count: number,
  from: number,
  upTo: number,
  out: Int32Array,
): void {
  let k = state.k;
  for (; k < upTo && k + POSITION_RUN <= count; k += POSITION_RUN) {
    const bits = src[state.off++]!;
    // A run wholly before the deltas asked for is stepped over, not unpacked (a hit late in a block).
    if (k + POSITION_RUN <= from) {
      state.off += (POSITION_RUN * bits + 7) >>> 3;
      continue;
    }
    state.off = unpack(src, state.off, POSITION_RUN, bits, RUN);
    out.set(RUN, k);
  }
  if (k < upTo) for (; k < count; k++) out[k] = readVarint(src, state);
  state.k = k;
}

/**
 * The field-based positions, ascending, of doc i of a block (frequencies tfs[f * BLOCK_SIZE + i]) from its
 * deltas, which start at deltas[k], into out[at..at + Σtf); returns where the next doc's deltas start.
 */
export function docPositions(deltas: Int32Array, k: number, tfs: Int32Array, i: number, out: Int32Array, at = 0): number {
  let o = at;
  for (let f = 0; f < NUM_FIELDS; f++) {
    let p = f * FIELD_POSITION_SHIFT;
    for (let c = tfs[f * BLOCK_SIZE + i]!; c > 0; c--) {
      p += deltas[k++]!;
      out[o++] = p;
    }
  }
  return k;
}

/** Read a varint at `state.off`. */
export function readVarint(src: Uint8Array, state: { off: number }): number {
  let p = state.off;
  let b = src[p++]!;
  let v = b & 0x7f;
  let shift = 7;
  while (b & 0x80) {
    b = src[p++]!;
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
  }
  state.off = p;
  return v;
}

/** Everything known about one term's postings in a segment before encoding. */
export interface PostingsInput {
  /** Ascending doc ids. */
  docs: ArrayLike<number>;
  /** tfs[f * df + i]: frequency of the term in field f of docs[i]. */
  tfs: ArrayLike<number>;
  /** Per doc: its positions (already field-based), sorted; flattened in doc order. */
  positions: ArrayLike<number>;
  /** Norm byte of (doc, field): norms[doc * NUM_FIELDS + f]. */
  norms: Uint8Array;
  /** The term's docs are docs[0, count) (default: all of docs), so a builder can pass a reused buffer whole. */
  count?: number;
  /** Its positions start at positions[positionsFrom] (default 0). */
  positionsFrom?: number;
}

/** Encode postings and positions of one term. */
export function encodePostings(input: PostingsInput): { postings: Uint8Array; positions: Uint8Array } {
  const w = { head: new ByteWriter(64), body: new ByteWriter(64), pos: new ByteWriter(64) };
  encodePostingsTo(input, w);
  const postings = new Uint8Array(w.head.len + w.body.len);
  postings.set(w.head.buf.subarray(0, w.head.len));
  postings.set(w.body.buf.subarray(0, w.body.len), w.head.len);
  return { postings, positions: w.pos.finish() };
}

/** Per-block impact scratch, reused: encoding runs once per term, mostly for tiny lists. */
const MAX_TF = new Int32Array(NUM_FIELDS);
const PAIRS = new Int32Array(BLOCK_SIZE);
const DOC_MASKS = new Uint8Array(BLOCK_SIZE);
const GROUP_MASKS = new Uint8Array(BLOCK_SIZE);
/** Impact pairs kept per block, group and field. */
export const MAX_IMPACTS = 8;
/** Field-set groups kept per block (more: one group of the block's fields). */
export const MAX_GROUPS = 4;

/**
 * The Pareto frontier of the (tf, norm) pairs packed in pairs[0..n) as norm × 2^23 + tf, in place: sorted
 * by norm, then only pairs with a tf above every shorter one's; merged down to MAX_IMPACTS. Returns k.
 */
function impactFrontier(pairs: Int32Array, n: number): number {
  let k = 0;
  if (n > SMALL_IMPACT_SORT) {
    // Each norm's highest tf, then the norms in order (norms are bytes): the same frontier as sorting the
    // pairs, without the built-in sort (two thirds of this function in a merge, whose blocks are full).
    const best = BEST_TF;
    for (let i = 0; i < n; i++) {
      const v = pairs[i]!;
      const norm = v >>> 23;
      if ((v & TF_MASK) > best[norm]!) best[norm] = v & TF_MASK;
    }
    let above = 0;
    for (let norm = 0; norm < 256; norm++) {
      const tf = best[norm]!;
      if (tf === 0) continue;
      best[norm] = 0;
      if (tf <= above) continue;
      pairs[k++] = norm * TF_LIMIT + tf;
      above = tf;
    }
  } else {
    // Most terms are in a doc or two of a block: sorted in place.
    for (let i = 1; i < n; i++) {
      const v = pairs[i]!;
      let j = i;
      while (j > 0 && pairs[j - 1]! > v) {
        pairs[j] = pairs[j - 1]!;
        j--;
      }
      pairs[j] = v;
    }
    let best = 0;
    for (let i = 0; i < n; i++) {
      const tf = pairs[i]! & TF_MASK;
      if (tf <= best) continue;
      // Same norm as the kept pair before: the higher tf replaces it.
      if (k > 0 && pairs[k - 1]! >>> 23 === pairs[i]! >>> 23) k--;
      pairs[k++] = pairs[i]!;
      best = tf;
    }
  }
  while (k > MAX_IMPACTS) {
    // Merge the neighbours closest in tf into (the higher tf, the lower norm), which dominates both.
    let at = 0;
    let gap = Number.POSITIVE_INFINITY;
    for (let i = 0; i + 1 < k; i++) {
      const g = (pairs[i + 1]! & TF_MASK) - (pairs[i]! & TF_MASK);
      if (g < gap) {
        gap = g;
        at = i;
      }
    }
    pairs[at] = (pairs[at]! >>> 23) * TF_LIMIT + (pairs[at + 1]! & TF_MASK);
    pairs.copyWithin(at + 1, at + 2, k);
    k--;
  }
  return k;
}
const SMALL_IMPACT_SORT = 16;
/** impactFrontier's highest tf per norm byte, all 0 between calls. */
const BEST_TF = new Int32Array(256);
const TF_LIMIT = 1 << 23;
const TF_MASK = TF_LIMIT - 1;
const DELTAS = new Uint32Array(BLOCK_SIZE);

/**
 * Encode one term into reusable writers (reset here): the postings value is head ++ body, positions go to
 * pos. Callers copy the bytes where they need them, so no per-term allocation happens on this path.
 */
export function encodePostingsTo(input: PostingsInput, w: { head: ByteWriter; body: ByteWriter; pos: ByteWriter }): void {
  const { docs, tfs, positions, norms } = input;
  const { head, body, pos } = w;
  head.len = 0;
  body.len = 0;
  pos.len = 0;
  const df = input.count ?? docs.length;
  const blockCount = Math.ceil(df / BLOCK_SIZE);
  head.varint(df);
  head.varint(blockCount);
  const deltas = DELTAS;
  const maxTf = MAX_TF;
  let prevLast = -1;
  let posIdx = input.positionsFrom ?? 0;
  for (let b = 0; b < blockCount; b++) {
    const from = b * BLOCK_SIZE;
    const n = Math.min(BLOCK_SIZE, df - from);
    let maxDelta = 0;
    let prev = prevLast;
    for (let i = 0; i < n; i++) {
      const d = docs[from + i]!;
      const delta = d - prev - 1;
      deltas[i] = delta;
      if (delta > maxDelta) maxDelta = delta;
      prev = d;
    }
    const lastDoc = prev;
    let mask = 0;
    for (let f = 0; f < NUM_FIELDS; f++) maxTf[f] = 0;
    for (let f = 0; f < NUM_FIELDS; f++) {
      for (let i = 0; i < n; i++) {
        const tf = tfs[f * df + from + i]!;
        if (tf === 0) continue;
        mask |= 1 << f;
        if (tf > maxTf[f]!) maxTf[f] = tf;
      }
    }
    const blockStart = body.len;
    const bits = bitsFor(maxDelta);
    body.u8(bits);
    body.packed(deltas, 0, n, bits);
    for (let f = 0; f < NUM_FIELDS; f++) {
      if (!(mask & (1 << f))) continue;
      const tbits = bitsFor(maxTf[f]!);
      body.u8(tbits);
      body.packed(tfs, f * df + from, n, tbits);
    }
    // Positions of this block's docs, field by field (sorted field-based positions come in field order).
    const posStart = pos.len;
    let m = 0;
    for (let i = 0; i < n; i++) {
      for (let f = 0; f < NUM_FIELDS; f++) {
        let last = f * FIELD_POSITION_SHIFT;
        for (let c = tfs[f * df + from + i]!; c > 0; c--) {
          const p = positions[posIdx++]!;
          if (m === positionDeltas.length) positionDeltas = grow(positionDeltas, m * 2);
          positionDeltas[m++] = p - last;
          last = p;
        }
      }
    }
    writePositionRuns(pos, positionDeltas, m);
    head.varint(lastDoc - prevLast);
    head.varint(body.len - blockStart);
    head.varint(pos.len - posStart);
    head.u8(mask);
    // Group the docs by the fields holding the term.
    let groups = 0;
    for (let i = 0; i < n; i++) {
      let m = 0;
      for (let f = 0; f < NUM_FIELDS; f++) if (tfs[f * df + from + i]! > 0) m |= 1 << f;
      DOC_MASKS[i] = m;
      let g = 0;
      while (g < groups && GROUP_MASKS[g] !== m) g++;
      if (g === groups) GROUP_MASKS[groups++] = m;
    }
    const merged = groups > MAX_GROUPS;
    if (merged) {
      groups = 1;
      GROUP_MASKS[0] = mask;
    }
    head.varint(groups);
    for (let g = 0; g < groups; g++) {
      const gm = GROUP_MASKS[g]!;
      head.u8(gm);
      for (let f = 0; f < NUM_FIELDS; f++) {
        if (!(gm & (1 << f))) continue;
        let m = 0;
        for (let i = 0; i < n; i++) {
          const tf = tfs[f * df + from + i]!;
          if (tf > 0 && (merged || DOC_MASKS[i] === gm))
            PAIRS[m++] = norms[docs[from + i]! * NUM_FIELDS + f]! * TF_LIMIT + Math.min(tf, TF_MASK);
        }
        const k = impactFrontier(PAIRS, m);
        head.varint(k);
        for (let i = 0; i < k; i++) {
          head.varint(PAIRS[i]! & TF_MASK);
          head.u8(PAIRS[i]! >>> 23);
        }
      }
    }
    prevLast = lastDoc;
  }
}

/**
 * Term order of the dictionary: UTF-8 byte order, the order of LMDB keys (JS `<` compares UTF-16 code
 * units, which differs for characters above U+FFFF against U+E000–U+FFFF).
 */
export function compareTerms(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (astral, 4 UTF-8 bytes) sort after U+E000–U+FFFF.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x < 0xe000 ? x + 0x2000 : x - 0x800;
      y = y < 0xe000 ? y + 0x2000 : y - 0x800;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** The decoded skip table of one term's postings. */
export interface SkipTable {
  df: number;
  blockCount: number;
  lastDoc: Int32Array;
  /** Byte offset of each block in the postings value. */
  blockOffset: Int32Array;
  /** Byte offset of each block's positions in the term's positions. */
  positionOffset: Int32Array;
  /** Bytes of the term's positions. */
  positionBytes: number;
  fieldMask: Uint8Array;
  /** Block b's impact groups are groupStart[b] .. groupStart[b + 1]. */
  groupStart: Int32Array;
  /**
   * The impact pairs of group g and field f are impactTf/impactNorm[impactStart[i] .. impactStart[i + 1])
   * with i = g × NUM_FIELDS + f (none for a field outside the group).
   */
  impactStart: Int32Array;
  impactTf: Int32Array;
  impactNorm: Uint8Array;
}

export function readDf(postings: Uint8Array): number {
  return readVarint(postings, { off: 0 });
}

export function decodeSkipTable(postings: Uint8Array): SkipTable {
  const st = { off: 0 };
  const df = readVarint(postings, st);
  const blockCount = readVarint(postings, st);
  const lastDoc = new Int32Array(blockCount);
  const blockLen = new Int32Array(blockCount);
  const positionOffset = new Int32Array(blockCount);
  const fieldMask = new Uint8Array(blockCount);
  const groupStart = new Int32Array(blockCount + 1);
  let impactStart = new Int32Array(blockCount * NUM_FIELDS + 1);
  let impactTf = new Int32Array(blockCount * 2);
  let impactNorm = new Uint8Array(blockCount * 2);
  let groups = 0;
  let pairs = 0;
  let prevLast = -1;
  let posOff = 0;
  for (let b = 0; b < blockCount; b++) {
    prevLast += readVarint(postings, st);
    lastDoc[b] = prevLast;
    blockLen[b] = readVarint(postings, st);
    positionOffset[b] = posOff;
    posOff += readVarint(postings, st);
    const mask = postings[st.off++]!;
    fieldMask[b] = mask;
    groupStart[b] = groups;
    const g = readVarint(postings, st);
    if ((groups + g) * NUM_FIELDS + 1 > impactStart.length) {
      const next = new Int32Array(Math.max(2 * impactStart.length, (groups + g) * NUM_FIELDS + 1));
      next.set(impactStart);
      impactStart = next;
    }
    for (let gi = 0; gi < g; gi++, groups++)
      for (let f = 0, gm = postings[st.off++]!; f < NUM_FIELDS; f++) {
        impactStart[groups * NUM_FIELDS + f] = pairs;
        if (!(gm & (1 << f))) continue;
        const k = readVarint(postings, st);
        if (pairs + k > impactTf.length) {
          const size = Math.max(2 * impactTf.length, pairs + k);
          const tf = new Int32Array(size);
          tf.set(impactTf);
          impactTf = tf;
          const norm = new Uint8Array(size);
          norm.set(impactNorm);
          impactNorm = norm;
        }
        for (let i = 0; i < k; i++, pairs++) {
          impactTf[pairs] = readVarint(postings, st);
          impactNorm[pairs] = postings[st.off++]!;
        }
      }
  }
  groupStart[blockCount] = groups;
  impactStart[groups * NUM_FIELDS] = pairs;
  const blockOffset = new Int32Array(blockCount);
  let off = st.off;
  for (let b = 0; b < blockCount; b++) {
    blockOffset[b] = off;
    off += blockLen[b]!;
  }
  return {
    df,
    blockCount,
    lastDoc,
    blockOffset,
    positionOffset,
    positionBytes: posOff,
    fieldMask,
    groupStart,
    impactStart,
    impactTf,
    impactNorm,
  };
}

/**
 * A merge's read of one term's postings, block after block, into the caller's arrays; nothing is allocated
 * per term (the field masks are kept in an array grown as needed). The impacts are stepped over (the merge
 * computes them anew), and blocks lie end to end, so no offsets are kept: decodeSkipTable allocates nine
 * arrays per term for a query's random access, and a merge reads every term of every source.
 */
export class SequentialPostings {
  df = 0;
  blockCount = 0;
  private src: Uint8Array = new Uint8Array(0);
  private fieldMask = new Uint8Array(64);
  private readonly st = { off: 0 };
  private block = 0;
  private lastDoc = -1;

  /** Reads the skip table of the postings at src[from, …). */
  start(src: Uint8Array, from: number): void {
    const st = this.st;
    st.off = from;
    this.src = src;
    this.df = readVarint(src, st);
    const blockCount = readVarint(src, st);
    this.blockCount = blockCount;
    if (this.fieldMask.length < blockCount) this.fieldMask = new Uint8Array(blockCount * 2);
    const fieldMask = this.fieldMask;
    for (let b = 0; b < blockCount; b++) {
      readVarint(src, st); // last doc (the blocks' deltas say it again)
      readVarint(src, st); // block bytes
      readVarint(src, st); // position bytes (read in order)
      fieldMask[b] = src[st.off++]!;
      for (let g = readVarint(src, st); g > 0; g--)
        for (let f = 0, gm = src[st.off++]!; f < NUM_FIELDS; f++) {
          if (!(gm & (1 << f))) continue;
          for (let k = readVarint(src, st); k > 0; k--) {
            readVarint(src, st);
            st.off++;
          }
        }
    }
    this.block = 0;
    this.lastDoc = -1;
  }

  /** Decodes the next block into docs[0..n) (doc ids) and tfs[f * BLOCK_SIZE + i]; returns n. */
  nextBlock(docs: Int32Array, tfs: Int32Array): number {
    const src = this.src;
    const b = this.block++;
    const n = b === this.blockCount - 1 ? this.df - b * BLOCK_SIZE : BLOCK_SIZE;
    let off = this.st.off;
    const bits = src[off++]!;
    off = unpack(src, off, n, bits, docs);
    this.lastDoc = gapsToIds(docs, n, this.lastDoc);
    this.st.off = unpackTfs(src, off, n, this.fieldMask[b]!, tfs);
    return n;
  }
}

/**
 * Decode block b into docs[0..n) and tfs[f * BLOCK_SIZE + i]; returns n. Fields absent from the block get
 * zero frequencies.
 */
export function decodeBlock(postings: Uint8Array, skip: SkipTable, b: number, docs: Int32Array, tfs: Int32Array): number {
  const off = decodeBlockDocs(postings, skip, b, docs);
  const n = blockLength(skip, b);
  decodeBlockTfs(postings, skip, b, off, n, tfs);
  return n;
}

/** Documents in block b. */
export function blockLength(skip: SkipTable, b: number): number {
  return b === skip.blockCount - 1 ? skip.df - b * BLOCK_SIZE : BLOCK_SIZE;
}

/** Decode only the doc ids of block b into docs[0..n); returns the offset of its frequencies (decodeBlockTfs). */
export function decodeBlockDocs(postings: Uint8Array, skip: SkipTable, b: number, docs: Int32Array): number {
  const n = blockLength(skip, b);
  const off = decodeBlockGaps(postings, skip, b, docs);
  gapsToIds(docs, n, b === 0 ? -1 : skip.lastDoc[b - 1]!);
  return off;
}

/** docs[0..n) from gaps (id − previous id − 1) to ids, the first after `prev`; returns the last id. */
function gapsToIds(docs: Int32Array, n: number, prev: number): number {
  for (let i = 0; i < n; i++) {
    prev += docs[i]! + 1;
    docs[i] = prev;
  }
  return prev;
}

/**
 * Block b's doc ids as gaps (docs[i] = id − previous id − 1; the first from the previous block's last doc),
 * summed by the caller as far as it needs them; returns where the block's frequencies start.
 */
export function decodeBlockGaps(postings: Uint8Array, skip: SkipTable, b: number, docs: Int32Array): number {
  let off = skip.blockOffset[b]!;
  const bits = postings[off++]!;
  return unpack(postings, off, blockLength(skip, b), bits, docs);
}

/** Decode the frequencies of block b (n docs), which start at `off`, into tfs[f * BLOCK_SIZE + i]. */
export function decodeBlockTfs(postings: Uint8Array, skip: SkipTable, b: number, off: number, n: number, tfs: Int32Array): void {
  unpackTfs(postings, off, n, skip.fieldMask[b]!, tfs);
}

/**
 * The frequencies of a block of n docs with field `mask`, packed from `off`, into tfs[f * BLOCK_SIZE + i]
 * (0 for fields outside the mask); returns where they end.
 */
function unpackTfs(src: Uint8Array, off: number, n: number, mask: number, tfs: Int32Array): number {
  for (let f = 0; f < NUM_FIELDS; f++) {
    if (!(mask & (1 << f))) {
      tfs.fill(0, f * BLOCK_SIZE, f * BLOCK_SIZE + n);
      continue;
    }
    const tbits = src[off++]!;
    off = unpack(src, off, n, tbits, tfs, f * BLOCK_SIZE);
  }
  return off;
}

/**
 * Where each field's packed frequencies of block b (n docs, starting at `off`) lie, for reading one doc's
 * without decoding the block: fieldOff[f] and fieldBits[f] (0 bits: the field has none in this block).
 */
export function locateBlockTfs(
  postings: Uint8Array,
  skip: SkipTable,
  b: number,
  off: number,
  n: number,
  fieldOff: Int32Array,
  fieldBits: Int32Array,
): void {
  const mask = skip.fieldMask[b]!;
  for (let f = 0; f < NUM_FIELDS; f++) {
    if (!(mask & (1 << f))) {
      fieldBits[f] = 0;
      continue;
    }
    const bits = postings[off++]!;
    fieldOff[f] = off;
    fieldBits[f] = bits;
    off += (n * bits + 7) >>> 3;
  }
}

/** Value i of a run packed by `pack` with `bits` ≤ 24 bits each (LSB first), starting at byte `off`. */
export function packedAt(src: Uint8Array, off: number, bits: number, i: number): number {
  const bitPos = i * bits;
  const p = off + (bitPos >>> 3);
  const shift = bitPos & 7;
  const need = shift + bits;
  let acc = src[p]!;
  if (need > 8) acc |= src[p + 1]! << 8;
  if (need > 16) acc |= src[p + 2]! << 16;
  if (need > 24) acc |= src[p + 3]! << 24;
  return (acc >>> shift) & ((1 << bits) - 1);
}

/** Field-length norms: one byte per (doc, field); exact below 64, then a 3-bit-mantissa float. Monotone. */
export function encodeNorm(length: number): number {
  if (length < 64) return length;
  const e = Math.min(31 - Math.clz32(length), 29);
  if (31 - Math.clz32(length) > 29) return 255;
  const m = (length >>> (e - 3)) & 7;
  return 64 + (e - 6) * 8 + m;
}

export function decodeNorm(norm: number): number {
  if (norm < 64) return norm;
  const e = ((norm - 64) >>> 3) + 6;
  const m = (norm - 64) & 7;
  return (8 + m) * 2 ** (e - 3);
}
