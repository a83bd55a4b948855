import { open, type RootDatabase } from 'lmdb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SearchEngine } from '../../src/index/engine.js';
import { IndexStore, type Key, RANGE_END } from '../../src/index/index-store.js';
import { hashRange } from '../../src/index/slice-table.js';
import { addWords } from '../../src/index/word-list.js';
import { testCipher } from '../helpers/index-cipher.js';
import { tempDir } from '../helpers/temp-dir.js';

let dir: ReturnType<typeof tempDir>;
let root: RootDatabase;

beforeEach(() => {
  dir = tempDir('archivar-words-');
  root = open({ path: dir.path });
});
afterEach(async () => {
  await root.close();
  dir.cleanup();
});

const doc = (id: string, body: string) => ({ docId: id, language: 'deu' as const, fields: { body: [body] } });
/** addWords' pairs and their hashes, as a built segment brings them. */
const words = (...w: string[]) =>
  [
    w.map((x) => `${x.toLowerCase()}\n${x}`).join('\n'),
    Int32Array.from(w, (x) => hashRange(x.toLowerCase(), 0, x.length)),
  ] as const;

describe('the stored-word cache of the segment writer', () => {
  it('stores a tenant’s words again after a drop, and a fresh engine offers them', async () => {
    const e = new SearchEngine(root, { cipher: testCipher, autoMerge: false });
    await e.index.addDocuments('t1', [doc('a', 'Der Mietvertrag endet im Mai.')]);
    await e.index.addDocuments('t1', [doc('b', 'Kündigung zum Mietvertrag.')]); // 'mietvertrag' comes from the cache now
    expect((await e.suggest('t1', 'Mietv')).suggestions.map((s) => s.text)).toContain('Mietvertrag');

    await e.index.dropTenant('t1');
    await e.index.addDocuments('t1', [doc('c', 'Ein neuer Mietvertrag.')]);
    expect((await e.suggest('t1', 'Mietv')).suggestions.map((s) => s.text)).toContain('Mietvertrag');
    // A second engine loads the word list from LMDB only (its own caches are empty).
    const fresh = new SearchEngine(root, { cipher: testCipher, autoMerge: false });
    expect((await fresh.suggest('t1', 'Mietv')).suggestions.map((s) => s.text)).toContain('Mietvertrag');
  });

  it('does not take words of a rolled-back write for stored', async () => {
    await testCipher.ready('t1');
    await testCipher.ready('t2');
    const store = new IndexStore(root, testCipher);
    expect(await root.transaction(() => addWords(store, 't1', ...words('Vertrag')))).toEqual([['vertrag', 'Vertrag']]);
    await expect(
      root.childTransaction(() => {
        expect(addWords(store, 't1', ...words('Vertrag', 'Urlaub'))).toEqual([['urlaub', 'Urlaub']]);
        throw new Error('the write fails after the words');
      }),
    ).rejects.toThrow('the write fails');
    // 'urlaub' was never committed: it is written again; 'vertrag' is known.
    expect(await root.transaction(() => addWords(store, 't1', ...words('Vertrag', 'Urlaub')))).toEqual([['urlaub', 'Urlaub']]);
    expect(await root.transaction(() => addWords(store, 't1', ...words('Vertrag', 'Urlaub')))).toEqual([]);
    // Another tenant has its own words.
    expect(await root.transaction(() => addWords(store, 't2', ...words('Vertrag')))).toEqual([['vertrag', 'Vertrag']]);
  });

  it('seals the words new to a write as one value under a number, and catches up with blocks another store wrote', async () => {
    await testCipher.ready('t1');
    const a = new IndexStore(root, testCipher);
    const b = new IndexStore(root, testCipher);
    expect(await root.transaction(() => addWords(a, 't1', ...words('Vertrag', 'Miete')))).toEqual([
      ['vertrag', 'Vertrag'],
      ['miete', 'Miete'],
    ]);
    expect(await root.transaction(() => addWords(b, 't1', ...words('Vertrag', 'Urlaub')))).toEqual([['urlaub', 'Urlaub']]);
    expect(await root.transaction(() => addWords(a, 't1', ...words('Urlaub', 'Kündigung')))).toEqual([
      ['kündigung', 'Kündigung'],
    ]);
    const keys = [...a.words.getKeys({ start: ['t1'], end: ['t1', RANGE_END] })];
    expect(keys).toEqual([
      ['t1', 0],
      ['t1', 1],
      ['t1', 2],
      ['t1', '~epoch'],
    ]);
    for (const k of keys.slice(0, 3)) expect(a.words.get(k as Key)!.toString('latin1')).not.toMatch(/vertrag|urlaub|miete/i);
  });
});
