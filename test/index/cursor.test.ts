import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type IndexDoc, SearchIndex } from '../../src/index/index.js';
import { testCipher } from '../helpers/index-cipher.js';

let dir: string;
let root: RootDatabase;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archivar-cursor-'));
  root = open({ path: dir });
});
afterEach(async () => {
  await root.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

// Equal lengths: adding or deleting one keeps every other doc's relative order (same norms, same idf shift).
const doc = (id: string, tf: number): IndexDoc => ({
  docId: id,
  language: 'eng',
  fields: { body: [`${'alpha '.repeat(tf)}${'beta '.repeat(12 - tf)}`] },
});

describe('score-order cursor', () => {
  it('continues after the last hit although writes happened between pages', async () => {
    const idx = new SearchIndex(root, { cipher: testCipher, autoMerge: false });
    await idx.addDocuments(
      't',
      Array.from({ length: 10 }, (_, i) => doc(`d${i + 1}`, i + 1)),
    );
    const ranking = (await idx.search('t', 'alpha', { limit: 20 })).hits.map((h) => h.docId);
    expect(ranking).toEqual(['d10', 'd9', 'd8', 'd7', 'd6', 'd5', 'd4', 'd3', 'd2', 'd1']);
    const first = await idx.search('t', 'alpha', { limit: 3 });
    expect(first.hits.map((h) => h.docId)).toEqual(['d10', 'd9', 'd8']);
    // A new best hit (an offset would repeat d8) and a deleted hit of page one (an offset would skip d5).
    await idx.addDocuments('t', [doc('top', 12)]);
    await idx.deleteDocument('t', 'd9');
    const second = await idx.search('t', 'alpha', { limit: 3, cursor: first.nextCursor! });
    expect(second.hits.map((h) => h.docId)).toEqual(['d7', 'd6', 'd5']);
    // A merge renumbers documents; paging on still neither repeats nor skips.
    await idx.merge({ tenantId: 't', force: true });
    const third = await idx.search('t', 'alpha', { limit: 3, cursor: second.nextCursor! });
    expect(third.hits.map((h) => h.docId)).toEqual(['d4', 'd3', 'd2']);
    // The last page has no cursor, also when it is full: nothing follows it.
    const fourth = await idx.search('t', 'alpha', { limit: 1, cursor: third.nextCursor! });
    expect(fourth.hits.map((h) => h.docId)).toEqual(['d1']);
    expect(fourth.nextCursor).toBeUndefined();
    const exactly = await idx.search('t', 'alpha', { limit: 10 });
    expect(exactly.hits).toHaveLength(10);
    expect(exactly.nextCursor).toBeUndefined();
  });

  it('orders equal scores by document and pages through them without repeats', async () => {
    const idx = new SearchIndex(root, { cipher: testCipher, autoMerge: false });
    await idx.addDocuments(
      't',
      Array.from({ length: 7 }, (_, i) => doc(`e${i}`, 5)),
    );
    await idx.addDocuments(
      't',
      Array.from({ length: 5 }, (_, i) => doc(`f${i}`, 5)),
    );
    const all = (await idx.search('t', 'alpha', { limit: 50 })).hits.map((h) => h.docId);
    const paged: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = await idx.search('t', 'alpha', { limit: 5, ...(cursor ? { cursor } : {}) });
      paged.push(...r.hits.map((h) => h.docId));
      cursor = r.nextCursor;
      pages++;
    } while (cursor);
    expect(paged).toEqual(all);
    // 12 hits in pages of 5: three pages, none of them empty.
    expect(pages).toBe(3);
    await expect(idx.search('t', 'alpha', { cursor: 'nonsense' })).rejects.toThrow('invalid cursor');
    const forged = (st: unknown) => Buffer.from(JSON.stringify({ s: 1, g: 1, l: 0, d: 'e0', st })).toString('base64url');
    for (const st of [
      { n: -1, ls: [0, 0, 0, 0, 0], df: {} },
      { n: 1, ls: [0], df: {} },
      { n: 1, ls: [0, 0, 0, 0, 0], df: { alpha: 'x' } },
    ])
      await expect(idx.search('t', 'alpha', { cursor: forged(st) }), JSON.stringify(st)).rejects.toThrow('invalid cursor');
  });

  it('scores every page with the statistics of the first, so documents added meanwhile neither repeat nor skip hits', async () => {
    const idx = new SearchIndex(root, { cipher: testCipher, autoMerge: false });
    // Two words, documents of equal length holding one of them 1..4 times: `a` and `b` documents interleave.
    const two = (id: string, word: string, tf: number): IndexDoc => ({
      docId: id,
      language: 'eng',
      fields: { body: [`${`${word} `.repeat(tf)}${'filler '.repeat(8 - tf)}`] },
    });
    const docs = [1, 2, 3, 4].flatMap((tf) => [two(`a${tf}`, 'apple', tf), two(`b${tf}`, 'berry', tf)]);
    await idx.addDocuments('t', [...docs, two('b5', 'berry', 5)]);
    const q = 'apple OR berry';
    const all = (await idx.search('t', q, { limit: 20 })).hits.map((h) => h.docId);
    expect(all).toHaveLength(9);
    const first = await idx.search('t', q, { limit: 4 });
    // Many more documents with "apple": its idf falls, so by the tenant's new statistics every apple
    // document would rank below the berry document that ended page one.
    await idx.addDocuments(
      't',
      Array.from({ length: 40 }, (_, i) => two(`x${i}`, 'apple', 0 === i % 2 ? 1 : 2)),
    );
    const seen = first.hits.map((h) => h.docId);
    let cursor = first.nextCursor;
    while (cursor) {
      const page = await idx.search('t', q, { limit: 4, cursor });
      seen.push(...page.hits.map((h) => h.docId));
      cursor = page.nextCursor;
    }
    const old = seen.filter((id) => !id.startsWith('x'));
    expect(old).toEqual(all);
    expect(new Set(seen).size).toBe(seen.length);
    // Of the documents added meanwhile, those ranking after page one's end come on later pages (the ones
    // with "apple" once); those ranking before it (twice, as a2 on page one) are not shown, as in the date
    // and title orders.
    expect(seen.filter((id) => id.startsWith('x')).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `x${2 * i}`).sort());
  });
});
