import { describe, expect, it } from 'vitest';
import { fuzzySearch } from '../../src/index/fuzzy.js';
import { snippetBoxes } from '../../src/index/hit-boxes.js';
import { parseQuery, QuerySyntaxError } from '../../src/index/query-parser.js';
import { prefixDistance } from '../../src/index/suggest.js';
import { rng } from '../helpers/rng.js';

describe('the full grammar', () => {
  it('parses NOT, AND, fuzzy words, fields, phrases with proximity', () => {
    expect(parseQuery('a AND NOT b')).toMatchObject({
      kind: 'and',
      children: [{ kind: 'term' }, { kind: 'not', child: { kind: 'term', text: 'b' } }],
    });
    expect(parseQuery('rechnung~')).toEqual({ kind: 'fuzzy', text: 'rechnung', maxEdits: 1, position: 0 });
    expect(parseQuery('rechnung~2')).toMatchObject({ kind: 'fuzzy', maxEdits: 2 });
    expect(parseQuery('"a b"~3')).toEqual({ kind: 'phrase', text: 'a b', slop: 3, position: 0 });
    expect(parseQuery('title:"annual report"')).toMatchObject({
      kind: 'field',
      field: 'title',
      child: { kind: 'phrase', text: 'annual report' },
    });
    expect(parseQuery('from:müll*')).toMatchObject({ kind: 'field', field: 'sender', child: { kind: 'prefix', text: 'müll' } });
    expect(parseQuery('date:2024-01..2024-06')).toEqual({
      kind: 'field',
      field: 'date',
      value: '2024-01..2024-06',
      valuePosition: 5,
      position: 0,
    });
    expect(parseQuery('12:30')).toEqual({ kind: 'term', text: '12:30', position: 0 });
    expect(parseQuery('(a OR b) NOT (c OR d)')).toMatchObject({
      kind: 'and',
      children: [{ kind: 'or' }, { kind: 'not', child: { kind: 'or' } }],
    });
  });

  it('fuzzed with the new syntax: no crash but QuerySyntaxError, positions inside the input, no hang', () => {
    const alphabet = [
      'a',
      'b',
      ' ',
      '(',
      ')',
      '"',
      '-',
      '*',
      '~',
      '2',
      ':',
      'OR',
      'AND',
      'NOT',
      'title:',
      'date:',
      'tag:',
      '..',
      '>',
      'ü',
    ];
    const next = rng(42);
    const rnd = (n: number) => Math.floor(next() * n);
    const t0 = Date.now();
    for (let i = 0; i < 20_000; i++) {
      const q = Array.from({ length: 1 + rnd(16) }, () => alphabet[rnd(alphabet.length)]).join('');
      try {
        parseQuery(q);
      } catch (e) {
        expect(e).toBeInstanceOf(QuerySyntaxError);
        const p = (e as QuerySyntaxError).position;
        expect(p >= 0 && p <= q.length).toBe(true);
      }
    }
    expect(Date.now() - t0).toBeLessThan(10_000);
    // Pathological sizes stay bounded.
    expect(() => parseQuery(`${'('.repeat(1000)}a${')'.repeat(1000)}`)).toThrow(QuerySyntaxError);
    expect(() => parseQuery('a~ '.repeat(500))).toThrow(/too many clauses/);
  });
});

describe('fuzzy dictionary walk', () => {
  const dict = ['invoice', 'invoices', 'rechnung', 'rechnungen', 'rechts', 'the', 'then', 'toe'].sort();
  it('finds terms within the bound, transpositions count as one edit, closest first', () => {
    expect(fuzzySearch(dict, 'rechnnug', 1)).toEqual([{ term: 'rechnung', distance: 1 }]);
    expect(fuzzySearch(dict, 'invoise', 1).map((m) => m.term)).toEqual(['invoice']);
    expect(fuzzySearch(dict, 'invoise', 2).map((m) => m.term)).toEqual(['invoice', 'invoices']);
    expect(fuzzySearch(dict, 'teh', 1).map((m) => m.term)).toEqual(['the']);
    expect(fuzzySearch(dict, 'rechnu', 1, { prefix: true }).map((m) => m.term)).toEqual(['rechnung', 'rechnungen']);
  });
  it('agrees with a brute-force distance on random words', () => {
    const osa = (a: string, b: string) => {
      const d = Array.from({ length: a.length + 1 }, (_, i) =>
        Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
      );
      for (let i = 1; i <= a.length; i++)
        for (let j = 1; j <= b.length; j++) {
          const row = d[i]!;
          row[j] = Math.min(
            (d[i - 1]?.[j] ?? Number.POSITIVE_INFINITY) + 1,
            row[j - 1]! + 1,
            (d[i - 1]?.[j - 1] ?? Number.POSITIVE_INFINITY) + (a[i - 1] === b[j - 1] ? 0 : 1),
          );
          if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
            row[j] = Math.min(row[j]!, (d[i - 2]?.[j - 2] ?? Number.POSITIVE_INFINITY) + 1);
        }
      return d[a.length]?.[b.length] ?? Number.POSITIVE_INFINITY;
    };
    const next = rng(3);
    const rnd = (n: number) => Math.floor(next() * n);
    const word = () => Array.from({ length: 2 + rnd(6) }, () => 'abcd'[rnd(4)]).join('');
    const words = [...new Set(Array.from({ length: 300 }, word))].sort();
    for (let i = 0; i < 50; i++) {
      const q = word();
      const got = new Map(fuzzySearch(words, q, 2, { limit: 1000 }).map((m) => [m.term, m.distance]));
      const want = new Map(words.map((w) => [w, osa(q, w)] as const).filter(([, d]) => d <= 2));
      expect(got).toEqual(want);
    }
  });
  it("Suggest's prefix distance (one scratch buffer for every word) equals the closest prefix by brute force", () => {
    const lev = (a: string, b: string) => {
      let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
      for (let i = 1; i <= a.length; i++) {
        const cur = [i];
        for (let j = 1; j <= b.length; j++)
          cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
        prev = cur;
      }
      return prev[b.length]!;
    };
    const next = rng(11);
    const rnd = (n: number) => Math.floor(next() * n);
    const word = () => Array.from({ length: 1 + rnd(7) }, () => 'abcü'[rnd(4)]).join('');
    for (const max of [1, 2]) {
      const scratch = new Int32Array(64);
      for (let i = 0; i < 400; i++) {
        const typed = word();
        const w = word();
        let best = Number.POSITIVE_INFINITY;
        for (let k = 0; k <= w.length; k++) best = Math.min(best, lev(typed, w.slice(0, k)));
        expect(prefixDistance(typed, w, max, scratch), `${typed} ${w}`).toBe(Math.min(best, max + 1));
      }
    }
  });
});

describe('hit boxes', () => {
  it('maps highlighted words of a snippet to their OCR boxes as page fractions', () => {
    const page = 'Rechnung Nr 42\nMüller GmbH Berlin';
    const words: [string, number, number, number, number, number][] = [
      ['Rechnung', 100, 50, 200, 40, 95],
      ['Nr', 320, 50, 40, 40, 95],
      ['42', 370, 50, 40, 40, 95],
      ['Müller', 100, 120, 150, 40, 90],
      ['GmbH', 260, 120, 100, 40, 90],
      ['Berlin', 370, 120, 120, 40, 90],
    ];
    const snippet = { text: 'Nr 42\nMüller GmbH', highlights: [{ start: 6, end: 12 }] };
    expect(snippetBoxes(page, snippet, { width: 1000, height: 2000, words })).toEqual([
      { x: 0.1, y: 0.06, width: 0.15, height: 0.02 },
    ]);
    // Words that do not line up with tokens fall back to the nearest box containing the hit.
    const shifted = words.slice(1);
    expect(snippetBoxes(page, snippet, { width: 1000, height: 2000, words: shifted })).toEqual([
      { x: 0.1, y: 0.06, width: 0.15, height: 0.02 },
    ]);
    expect(snippetBoxes(page, snippet, { width: 1000, height: 2000, words: [] })).toEqual([]);
    // A highlight over several words (a value as written) gets each word's box.
    expect(
      snippetBoxes(
        page,
        { text: 'Nr 42\nMüller GmbH', highlights: [{ start: 3, end: 17 }] },
        { width: 1000, height: 2000, words },
      ),
    ).toEqual([
      { x: 0.37, y: 0.025, width: 0.04, height: 0.02 },
      { x: 0.1, y: 0.06, width: 0.15, height: 0.02 },
      { x: 0.26, y: 0.06, width: 0.1, height: 0.02 },
    ]);
  });
});
