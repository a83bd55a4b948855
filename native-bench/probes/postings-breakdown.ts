/**
 * Where the bytes of a kept index's postings go (issue 6: postings with positions ≤ 0.35 × raw text),
 * for an index written by `search-1m.ts build`:
 *   nice -n 19 npx tsx native-bench/probes/postings-breakdown.ts DIR
 * Opens every dictionary block, large postings value and positions chunk (index format 5), and tallies:
 * term headers, skip tables (block bounds and impacts), doc-id deltas, term frequencies, positions, and
 * the sealing overhead; and terms by document frequency.
 */
import path from 'node:path';
import { open } from 'lmdb';
import { recordCipherFromSecret } from '../../src/crypto/index.js';
import { IndexStore, type Key } from '../../src/index/index-store.js';
import { decodeSkipTable, NUM_FIELDS, readVarint } from '../../src/index/postings-codec.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: postings-breakdown.ts DIR');
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
    byDf: Object.fromEntries(
      [...byDf].map(([k, e]) => [k, { terms: e.terms, postingsMB: MB(e.bytes), positionsMB: MB(e.posBytes) }]),
    ),
  }),
);
