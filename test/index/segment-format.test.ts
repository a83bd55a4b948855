/**
 * The dictionary's layout on LMDB: every term's postings and positions read back byte for byte (positions
 * from a stream cut into chunks, so a term's may span several), and values sized to LMDB's overflow pages:
 * positions chunks fill theirs exactly, dictionary blocks stay within eight.
 */
import { randomBytes } from 'node:crypto';
import { open, type RootDatabase } from 'lmdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IndexStore, type Key } from '../../src/index/index-store.js';
import { compareTerms } from '../../src/index/postings-codec.js';
import {
  DictionaryWriter,
  LARGE_BYTES,
  lookupTerm,
  POSITIONS_CHUNK,
  SegmentTermCursor,
  segmentTerms,
} from '../../src/index/segment-format.js';
import { SegmentBuilder } from '../../src/index/segment-writer.js';
import { testCipher } from '../helpers/index-cipher.js';
import { tempDir } from '../helpers/temp-dir.js';

const TENANT = 'tenant-a';
const PAGE = 4096;

interface Term {
  term: string;
  postings: Uint8Array;
  positions: Uint8Array;
}

/** Terms in byte order with sizes around every threshold: tiny, just below/above LARGE_BYTES, multi-chunk positions. */
function makeTerms(): Term[] {
  const out: Term[] = [];
  const sizes = [0, 1, 7, 300, 2000, 5000, LARGE_BYTES, LARGE_BYTES + 1, 20_000];
  for (let i = 0; i < 3000; i++) {
    const postings = randomBytes(i % 97 === 0 ? sizes[i % sizes.length]! || 3 : 3 + (i % 40));
    const positions = randomBytes(i === 1500 ? POSITIONS_CHUNK * 3 + 17 : i % 89 === 0 ? 9000 : i % 5);
    out.push({ term: `t${String(i).padStart(5, '0')}${'x'.repeat(i % 13)}`, postings, positions });
  }
  return out;
}

describe('segment format', () => {
  const dir = tempDir();
  let root: RootDatabase;
  let store: IndexStore;
  const terms = makeTerms();

  beforeAll(async () => {
    root = open({ path: dir.path });
    store = new IndexStore(root, testCipher);
    await testCipher.ready(TENANT);
    const writes: [db: 'dirs' | 'terms' | 'positions' | 'large', key: Key, value: Uint8Array][] = [];
    const w = new DictionaryWriter(TENANT, 1, (db, key, value) => writes.push([db, key, value.slice()]));
    for (const t of terms) w.add(t.term, t.postings, t.positions);
    w.finish();
    await root.transaction(() => {
      for (const [db, key, value] of writes) store.putSealed(db, key, value);
    });
  });

  afterAll(async () => {
    await root.close();
    dir.cleanup();
  });

  it('reads every term back in order, postings and positions byte for byte', () => {
    expect([...segmentTerms(store, TENANT, 1)]).toEqual(terms.map((t) => t.term));
    // As a merge reads them.
    const c = new SegmentTermCursor(store, TENANT, 1);
    for (const t of terms) {
      expect(c.next()).toBe(true);
      expect(c.term()).toBe(t.term);
      const postings = c.postings.subarray(c.postingsFrom, c.postingsTo);
      expect(Buffer.from(postings).equals(Buffer.from(t.postings)), t.term).toBe(true);
      const positions = c.positions.subarray(c.positionsFrom, c.positionsTo);
      expect(Buffer.from(positions).equals(Buffer.from(t.positions)), t.term).toBe(true);
    }
    expect(c.next()).toBe(false);
  });

  it('finds single terms, including one whose positions span four chunks', () => {
    for (const i of [0, 1, 97, 1500, 1501, 2999]) {
      const e = lookupTerm(store, TENANT, 1, terms[i]!.term);
      expect(e?.term).toBe(terms[i]!.term);
      expect(Buffer.from(e!.postings).equals(Buffer.from(terms[i]!.postings))).toBe(true);
      expect(Buffer.from(e!.positions() ?? []).equals(Buffer.from(terms[i]!.positions))).toBe(true);
    }
    expect(terms[1500]!.positions.length).toBeGreaterThan(3 * POSITIONS_CHUNK);
    expect(lookupTerm(store, TENANT, 1, 't01500')).toBeUndefined();
    expect(lookupTerm(store, TENANT, 1, 'zzz')).toBeUndefined();
  });

  it('fills the overflow pages of positions chunks exactly and keeps blocks within eight pages', () => {
    const total = terms.reduce((a, t) => a + t.positions.length, 0);
    const chunks = [...store.positions.getRange({ start: [TENANT, 1], end: [TENANT, 2] })];
    expect(chunks.length).toBe(Math.ceil(total / POSITIONS_CHUNK));
    // A full chunk once sealed is 4 pages less LMDB's overflow header (24 bytes), to the byte.
    for (const { value } of chunks.slice(0, -1)) expect(value.length).toBe(4 * PAGE - 24);
    const stats = store.positions.getStats() as { overflowPages: number };
    const last = chunks.at(-1)!.value.length;
    // The last chunk is shorter (in a leaf page if small enough).
    expect(stats.overflowPages - 4 * (chunks.length - 1)).toBeLessThanOrEqual(Math.ceil((last + 24) / PAGE));
    expect(stats.overflowPages).toBeGreaterThanOrEqual(4 * (chunks.length - 1));
    let blocks = 0;
    for (const { value } of store.terms.getRange({ start: [TENANT, 1], end: [TENANT, 2] })) {
      expect(value.length + 24).toBeLessThanOrEqual(8 * PAGE);
      blocks++;
    }
    // Cut by the page budget or at 128 terms, not one block per few terms.
    expect(blocks).toBeLessThan(terms.length / 20);
    const large = [...store.large.getKeys({ start: [TENANT, 1], end: [TENANT, 2] })];
    expect(large.length).toBe(terms.filter((t) => t.postings.length > LARGE_BYTES).length);
  });
});

describe('segment builder term order', () => {
  it('hands terms over in dictionary order: prefixes first, long runs sharing their first code units, other scripts', () => {
    // ASCII words with a digit are their own terms (no stemming): many share a bucket (first two code units)
    // and each other's prefixes, more than the sort's insertion-sort cut-off.
    const words: string[] = [];
    for (let i = 0; i < 300; i++) words.push(`ab${(i * 7919) % 1000}`, `ab${i}x${i % 3}`, `a${i % 10}`);
    words.push('b1', 'ab', 'Ωmega1', 'Привет1', 'zz9', 'ab0', 'ab00', 'ab000');
    const builder = new SegmentBuilder();
    builder.addDocument({ docId: 'd1', language: 'eng', fields: { body: [words.join(' ')] } }, 'eng');
    builder.addDocument({ docId: 'd2', language: 'eng', fields: { title: [...words].reverse().join(' ') } }, 'eng');
    const terms = [...builder.sortedTerms()].map(([t]) => t);
    expect(terms).toEqual([...new Set(terms)].sort(compareTerms));
    for (const w of ['ab', 'ab0', 'ab00', 'ab000', 'ab1x1', 'a9', 'b1', 'zz9', 'ωmega1', 'привет1']) expect(terms).toContain(w);
    expect(terms.indexOf('ab0')).toBe(terms.indexOf('ab') + 1);
  });
});
