/**
 * Where the bytes of a kept index's postings go (issue 6: postings with positions ≤ 0.35 × raw text),
 * for an index written by `search-1m.ts build`:
 *   nice -n 19 npx tsx native-bench/probes/postings-breakdown.ts DIR [alternatives]
 * Opens every dictionary block, large postings value and positions chunk (index format 6), and tallies:
 * term headers, skip tables (block bounds and impacts), doc-id deltas, term frequencies, positions, and
 * the sealing overhead; and terms by document frequency. `alternatives` prices other encodings of the same
 * numbers (what a format change could still take): patched frame of reference for doc-id deltas (the
 * cheapest width per block, larger values as exceptions of 1 index byte + a varint of the high bits) and
 * tf − 1 where every document of a block holds the field. (At a878659 it also priced format 5's varint
 * positions as runs of 128 bit-packed values, which format 6 adopted.)
 */
import path from 'node:path';
import { open } from 'lmdb';
import { recordCipherFromSecret } from '../../src/crypto/index.js';
import { IndexStore, type Key } from '../../src/index/index-store.js';
import { BLOCK_SIZE, bitsFor, decodeSkipTable, NUM_FIELDS, readVarint, unpack } from '../../src/index/postings-codec.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: postings-breakdown.ts DIR [alternatives]');
const alternatives = process.argv[3] === 'alternatives';
const root = open({ path: path.join(dir, 'archivar.mdb'), readOnly: true, noSubdir: true });
const cipher = recordCipherFromSecret(new Uint8Array(32).fill(7));
await cipher.ready('bench');
const store = new IndexStore(root, cipher);
const t = {
  headers: 0,
  skip: 0,
  skipBounds: 0,
  skipImpacts: 0,
  docBits: 0,
  tfBits: 0,
  positions: 0,
  sealed: 0,
  plain: 0,
  terms: 0,
  blocks: 0,
};
const alt = { docPatched: 0, tfMinusOne: 0 };
const varintBytes = (v: number) => (v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : 4);

/** Bytes of n values packed at the cheapest width b, values ≥ 2^b as exceptions; 2 bytes of header. */
function patchedBytes(values: ArrayLike<number>, n: number): number {
  let max = 0;
  for (let i = 0; i < n; i++) if (values[i]! > max) max = values[i]!;
  const top = bitsFor(max);
  let best = Number.POSITIVE_INFINITY;
  for (let b = Math.max(0, top - 8); b <= top; b++) {
    let exceptions = 0;
    for (let i = 0; i < n; i++) {
      const high = Math.floor(values[i]! / 2 ** b);
      if (high > 0) exceptions += 1 + varintBytes(high);
    }
    best = Math.min(best, 2 + ((n * b + 7) >>> 3) + exceptions);
  }
  return best;
}

const byDf = new Map<string, { terms: number; bytes: number; posBytes: number }>();
const dfBucket = (df: number) =>
  df === 1 ? '1' : df <= 3 ? '2-3' : df <= 10 ? '4-10' : df <= 128 ? '11-128' : df <= 10000 ? '129-10k' : '>10k';

function postings(p: Uint8Array, posBytes: number): void {
  const s = decodeSkipTable(p);
  const headEnd = s.blockCount > 0 ? s.blockOffset[0]! : p.length;
  t.skip += headEnd;
  // Impact pairs: varint tf + norm byte each; the rest of the skip table is block bounds, masks and counts.
  const pairs = s.impactStart[s.groupStart[s.blockCount]! * NUM_FIELDS]!;
  let impactBytes = 0;
  for (let i = 0; i < pairs; i++) impactBytes += s.impactTf[i]! < 128 ? 2 : 3;
  t.skipImpacts += impactBytes;
  t.skipBounds += headEnd - impactBytes;
  for (let b = 0; b < s.blockCount; b++) {
    const off = s.blockOffset[b]!;
    const end = b + 1 < s.blockCount ? s.blockOffset[b + 1]! : p.length;
    const n = b + 1 < s.blockCount ? 128 : s.df - 128 * (s.blockCount - 1);
    const bits = p[off]!;
    const docBytes = 1 + ((n * bits + 7) >>> 3);
    t.docBits += docBytes;
    t.tfBits += end - off - docBytes;
    if (alternatives) blockAlternatives(p, s.fieldMask[b]!, off, n, bits);
    t.blocks++;
  }
  t.terms++;
  const k = dfBucket(s.df);
  const e = byDf.get(k) ?? { terms: 0, bytes: 0, posBytes: 0 };
  e.terms++;
  e.bytes += p.length;
  e.posBytes += posBytes;
  byDf.set(k, e);
}

const DELTAS = new Int32Array(BLOCK_SIZE);
const TFS = new Int32Array(BLOCK_SIZE);
function blockAlternatives(p: Uint8Array, mask: number, off: number, n: number, bits: number): void {
  let o = unpack(p, off + 1, n, bits, DELTAS);
  alt.docPatched += patchedBytes(DELTAS, n);
  for (let f = 0; f < NUM_FIELDS; f++) {
    if (!(mask & (1 << f))) continue;
    const tbits = p[o++]!;
    o = unpack(p, o, n, tbits, TFS);
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    for (let i = 0; i < n; i++) {
      min = Math.min(min, TFS[i]!);
      max = Math.max(max, TFS[i]!);
    }
    alt.tfMinusOne += 1 + ((n * bitsFor(min >= 1 ? max - 1 : max) + 7) >>> 3);
  }
}

const termsDb = store.terms as unknown as { getRange(o: object): Iterable<{ key: Key; value: Uint8Array }> };
for (const { key, value } of termsDb.getRange({})) {
  t.sealed += value.length;
  const v = store.open('terms', key, value);
  t.plain += v.length;
  const st = { off: 0 };
  const n = readVarint(v, st);
  readVarint(v, st); // the block's start in the positions stream
  const headerBytes = readVarint(v, st);
  const hStart = st.off;
  let pOff = hStart + headerBytes;
  const lens: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    readVarint(v, st);
    const suffix = readVarint(v, st);
    st.off += suffix;
    const pb = readVarint(v, st);
    const xb = readVarint(v, st);
    lens.push([pb, xb]);
  }
  t.headers += hStart + headerBytes;
  for (const [i, [pb, xb]] of lens.entries()) {
    if (pb > 0) postings(v.subarray(pOff, pOff + pb), xb);
    else {
      const lkey = [...key, i, 0];
      const sealed = store.large.getBinary(lkey) as Uint8Array;
      t.sealed += sealed.length;
      const lv = store.open('large', lkey, sealed);
      t.plain += lv.length;
      postings(lv, xb);
    }
    pOff += pb;
  }
}
const posDb = store.positions as unknown as typeof termsDb;
for (const { key, value } of posDb.getRange({})) {
  t.sealed += value.length;
  const v = store.open('positions', key, value);
  t.plain += v.length;
  t.positions += v.length;
}
const MB = (n: number) => +(n / 1e6).toFixed(1);
console.log(
  JSON.stringify({
    terms: t.terms,
    blocks: t.blocks,
    sealedMB: MB(t.sealed),
    plainMB: MB(t.plain),
    headersMB: MB(t.headers),
    skipMB: MB(t.skip),
    skipBoundsMB: MB(t.skipBounds),
    skipImpactsMB: MB(t.skipImpacts),
    docIdsMB: MB(t.docBits),
    tfsMB: MB(t.tfBits),
    positionsMB: MB(t.positions),
    ...(alternatives
      ? {
          alternativesMB: {
            docIdsPatched: MB(alt.docPatched),
            tfsMinusOne: MB(alt.tfMinusOne),
          },
        }
      : {}),
    byDf: Object.fromEntries(
      [...byDf].map(([k, e]) => [k, { terms: e.terms, postingsMB: MB(e.bytes), positionsMB: MB(e.posBytes) }]),
    ),
  }),
);
