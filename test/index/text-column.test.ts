import { describe, expect, it } from 'vitest';
import { TextColumn, TextIds } from '../../src/index/text-column.js';
import { rng } from '../helpers/rng.js';

const PIECES = ['Rechnung', ' ', 'Müller', 'ß', '€', '😀', 'GmbH', '-', '2024', 'Straße', 'a', '', 'Ünterlagen'];

function randomText(next: () => number): string {
  let s = '';
  for (let n = Math.floor(next() * 6); n > 0; n--) s += PIECES[Math.floor(next() * PIECES.length)];
  return s;
}

describe('TextColumn', () => {
  it('gives back what was set by ordinal through rewrites, clears and compactions', () => {
    const next = rng(5);
    const col = new TextColumn();
    const model = new Map<number, string>();
    // Enough rewrites of 300 ordinals that garbage passes the compaction threshold several times.
    for (let step = 0; step < 30_000; step++) {
      const o = Math.floor(next() * 300);
      if (next() < 0.2) {
        col.set(o, undefined);
        model.delete(o);
      } else {
        const s = randomText(next);
        col.set(o, s);
        model.set(o, s);
      }
      if (step % 500 === 0) for (let k = 0; k < 310; k++) expect(col.get(k), `ordinal ${k} at step ${step}`).toBe(model.get(k));
    }
    expect([...col.entries()]).toEqual([...model].sort((a, b) => a[0] - b[0]));
  });
});

describe('TextIds', () => {
  it('hands out one ordinal per id, finds every id again and no other', () => {
    const ids = new TextIds();
    const model = new Map<string, number>();
    const next = rng(9);
    for (let i = 0; i < 20_000; i++) {
      // Ids that share prefixes and hash into the same slots, non-ASCII ones among them.
      const id = next() < 0.1 ? `dök-${i}` : `d${i}`;
      expect(ids.find(id)).toBe(-1);
      model.set(id, ids.add(id));
    }
    expect(ids.size).toBe(20_000);
    for (const [id, o] of model) {
      expect(ids.find(id)).toBe(o);
      expect(ids.ids.get(o)).toBe(id);
    }
    for (const absent of ['d20000', 'dök-', 'd', '', 'd1 ', 'D1']) expect(ids.find(absent)).toBe(-1);
    // Two ids of one 32-bit hash (FNV-1a): found by comparing the ids themselves, not the hash alone.
    const a = ids.add('c693596');
    expect(ids.find('c1170850')).toBe(-1);
    const b = ids.add('c1170850');
    expect([ids.find('c693596'), ids.find('c1170850')]).toEqual([a, b]);
  });
});
