import { describe, expect, it } from 'vitest';
import { hashRange, UnitSet } from '../../src/index/slice-table.js';

describe('UnitSet', () => {
  it('finds exactly the ranges added, through growth, by their code units', () => {
    const set = new UnitSet(4);
    const added: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const w = `wört${i.toString(36)}`;
      set.add(w, 0, w.length, hashRange(w, 0, w.length));
      added.push(w);
    }
    expect(set.size).toBe(5000);
    const text = `xx ${added.join(' ')} yy`;
    let at = 3;
    for (const w of added) {
      expect(set.has(text, at, at + w.length, hashRange(text, at, at + w.length))).toBe(true);
      at += w.length + 1;
    }
    for (const w of ['wört', 'wörtzzzz', 'wort1', 'xx', ''])
      expect(set.has(w, 0, w.length, hashRange(w, 0, w.length))).toBe(false);
  });

  it('tells apart strings of one hash: equal length, a prefix, a longer one', () => {
    const set = new UnitSet(2);
    // Every string under the same hash: each lookup walks the whole probe run and compares units.
    for (const w of ['müller', 'muller', 'mül']) set.add(w, 0, w.length, 7);
    for (const w of ['müller', 'muller', 'mül']) expect(set.has(w, 0, w.length, 7)).toBe(true);
    for (const w of ['müllers', 'mü', 'mueller', 'mülle']) expect(set.has(w, 0, w.length, 7)).toBe(false);
    expect(set.has('müller', 0, 6, 8)).toBe(false);
  });
});
