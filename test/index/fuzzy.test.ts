import { describe, expect, it } from 'vitest';
import { type FuzzyMatch, type FuzzyOptions, fuzzySearch } from '../../src/index/fuzzy.js';
import { prefixDistance } from '../../src/index/suggest.js';

/**
 * The walk as it was before it looked up only the children that can stay within the bound (it tried every
 * child): the new one must give the same matches, also where the visit cap or the limit cuts the walk.
 */
function triedEveryChild(dict: readonly string[], word: string, maxEdits: number, opts: FuzzyOptions = {}): FuzzyMatch[] {
  const limit = opts.limit ?? 32;
  let visits = opts.maxVisits ?? 50_000;
  const n = word.length;
  const best = new Map<string, number>();
  const rows: Int32Array[] = [Int32Array.from({ length: n + 1 }, (_, j) => j)];
  const chars: number[] = [];
  const report = (term: string, d: number) => {
    const old = best.get(term);
    if (old === undefined || d < old) best.set(term, d);
  };
  const walk = (lo: number, hi: number, depth: number): void => {
    if (--visits < 0) return;
    const row = rows[depth]!;
    let i = lo;
    if (dict[i]!.length === depth) {
      if (row[n]! <= maxEdits) report(dict[i]!, row[n]!);
      i++;
    }
    if (opts.prefix && row[n]! <= maxEdits) {
      for (let k = i; k < hi && best.size < limit * 4; k++) report(dict[k]!, row[n]!);
      return;
    }
    while (i < hi) {
      const c = dict[i]!.charCodeAt(depth);
      let a = i + 1;
      let b = hi;
      while (a < b) {
        const m = (a + b) >>> 1;
        if (dict[m]!.charCodeAt(depth) <= c) a = m + 1;
        else b = m;
      }
      const next = (rows[depth + 1] ??= new Int32Array(n + 1));
      next[0] = depth + 1;
      let min = next[0]!;
      const prevRow = depth > 0 ? rows[depth - 1] : undefined;
      const prevChar = depth > 0 ? chars[depth - 1]! : -1;
      for (let j = 1; j <= n; j++) {
        const wc = word.charCodeAt(j - 1);
        let v = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (wc === c ? 0 : 1));
        if (prevRow !== undefined && j > 1 && wc === prevChar && word.charCodeAt(j - 2) === c)
          v = Math.min(v, prevRow[j - 2]! + 1);
        next[j] = v;
        if (v < min) min = v;
      }
      if (min <= maxEdits) {
        chars[depth] = c;
        walk(i, a, depth + 1);
      }
      i = a;
    }
  };
  if (dict.length > 0) walk(0, dict.length, 0);
  return [...best]
    .map(([term, distance]) => ({ term, distance }))
    .sort(
      (x, y) =>
        x.distance - y.distance || Math.abs(x.term.length - n) - Math.abs(y.term.length - n) || (x.term < y.term ? -1 : 1),
    )
    .slice(0, limit);
}

/** A seeded LCG, its high bits (Math.imul: a float product loses low bits; an LCG's low bits repeat soon). */
function random(seed: number) {
  return (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return (seed >>> 16) % n;
  };
}

describe('fuzzy dictionary walk', () => {
  it('gives what trying every child gave, with and without prefixes, limits and visit caps', () => {
    const rnd = random(5);
    const word = (alphabet: string) => Array.from({ length: 1 + rnd(8) }, () => alphabet[rnd(alphabet.length)]).join('');
    let compared = 0;
    for (const alphabet of ['abcd', 'abcdefghü']) {
      const dict = [...new Set(Array.from({ length: 2000 }, () => word(alphabet)))].sort();
      for (let i = 0; i < 150; i++) {
        const q = word(alphabet);
        for (const maxEdits of [0, 1, 2])
          for (const prefix of [false, true])
            for (const maxVisits of [7, 60, 50_000]) {
              const opts = { prefix, maxVisits, limit: 1 + rnd(12) };
              expect(fuzzySearch(dict, q, maxEdits, opts), `${q} ${maxEdits} ${JSON.stringify(opts)}`).toEqual(
                triedEveryChild(dict, q, maxEdits, opts),
              );
              compared++;
            }
      }
    }
    expect(compared).toBe(2 * 150 * 18);
  });

  it("without transpositions, over a window: the words some prefix of which is within the bound (Suggest's typo words)", () => {
    const rnd = random(9);
    const word = () => Array.from({ length: 1 + rnd(7) }, () => 'abcü'[rnd(4)]).join('');
    const dict = [...new Set(Array.from({ length: 600 }, word))].sort();
    for (let i = 0; i < 200; i++) {
      const q = word();
      const from = rnd(dict.length);
      const to = from + rnd(dict.length - from + 1);
      for (const max of [1, 2]) {
        const got = fuzzySearch(dict, q, max, {
          prefix: true,
          transpositions: false,
          from,
          to,
          limit: Number.POSITIVE_INFINITY,
          maxVisits: Number.POSITIVE_INFINITY,
        }).map((m) => m.term);
        const want = dict.slice(from, to).filter((w) => prefixDistance(q, w, max) <= max);
        expect(got.sort(), `${q} ${max} [${from}, ${to})`).toEqual(want);
      }
    }
  });
});
