import { describe, expect, it } from 'vitest';
import { parseQuery, QuerySyntaxError } from '../../src/index/query-parser.js';

describe('query parser', () => {
  it('parses terms, OR, exclusions, phrases, prefixes and groups', () => {
    expect(parseQuery('a b')).toEqual({
      kind: 'and',
      position: 0,
      children: [
        { kind: 'term', text: 'a', position: 0 },
        { kind: 'term', text: 'b', position: 2 },
      ],
    });
    const input = '(rechnung OR invoice) -storniert "Herr Müller" rechn* RE-2024-0042';
    const q = parseQuery(input);
    expect(q.kind).toBe('and');
    if (q.kind !== 'and') return;
    expect(q.children.map((c) => c.kind)).toEqual(['or', 'not', 'phrase', 'prefix', 'term']);
    expect(q.children[4]).toEqual({ kind: 'term', text: 'RE-2024-0042', position: input.indexOf('RE-') });
  });

  it('binds AND tighter than OR', () => {
    const q = parseQuery('a b OR c');
    expect(q.kind).toBe('or');
    if (q.kind === 'or') expect(q.children.map((c) => c.kind)).toEqual(['and', 'term']);
  });

  it.each([
    ['', 0],
    ['"open', 0],
    ['a OR', 2],
    ['OR a', 0],
    ['(a', 0],
    ['a)', 1],
    ['()', 0],
    ['-a', 0],
    ['a - b', 2],
    ['*', 0],
    ['a*b', 1],
    ['a OR -b', 5],
    ['""', 0],
    // The query-language extensions: fuzzy, fields, ranges, proximity, NOT.
    ['a~3', 2],
    ['a~b', 1],
    ['~', 0],
    ['ab*~', 2],
    ['NOT', 0],
    ['a NOT', 2],
    ['AND a', 0],
    ['a AND', 2],
    ['NOT NOT a', 4],
    ['title:', 6],
    ['date:', 5],
    ['"a b"~99', 5],
    ['"a b"~2x', 7],
    ['NOT a', 0],
  ])('rejects %j at %i', (input, position) => {
    try {
      parseQuery(input);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(QuerySyntaxError);
      expect((e as QuerySyntaxError).position).toBe(position);
      expect((e as QuerySyntaxError).message.length).toBeGreaterThan(10);
    }
  });

  it('bounds depth and size', () => {
    expect(() => parseQuery(`${'('.repeat(100)}a${')'.repeat(100)}`)).toThrow(QuerySyntaxError);
    expect(() => parseQuery('a '.repeat(2000))).toThrow(QuerySyntaxError);
  });

  it('never throws anything but QuerySyntaxError on random input, and never hangs', () => {
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const alphabet = [
      'a',
      'b',
      'ü',
      ' ',
      ' ',
      '(',
      ')',
      '"',
      '-',
      '*',
      'OR',
      ' OR ',
      'NOT',
      ':',
      '~',
      '\\',
      '\u0000',
      '😀',
      '\t',
      'RE-1',
    ];
    const t0 = Date.now();
    for (let i = 0; i < 10_000; i++) {
      let s = '';
      const n = Math.floor(rnd() * 30);
      for (let j = 0; j < n; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      try {
        parseQuery(s);
      } catch (e) {
        if (!(e instanceof QuerySyntaxError)) throw new Error(`non-syntax error for ${JSON.stringify(s)}: ${String(e)}`);
        expect(e.position).toBeGreaterThanOrEqual(0);
        expect(e.position).toBeLessThanOrEqual(s.length);
      }
    }
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});
