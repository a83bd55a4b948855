/**
 * Bounded edit-distance search over a sorted term dictionary: a depth-first walk of the implicit trie of the
 * sorted array (a node is a range of terms sharing a prefix, children are found by binary search), carrying
 * one row of the Damerau (optimal string alignment) distance matrix per depth and pruning a subtree as soon
 * as its row minimum exceeds the bound; below a node with no edit left, only the children that match a
 * typed char are looked up. That is what a Levenshtein automaton does over a trie, without building either;
 * it visits a few thousand nodes for a word, not the whole dictionary.
 */

export interface FuzzyMatch {
  term: string;
  distance: number;
}

export interface FuzzyOptions {
  /** Match terms that *start* with something within the bound (as-you-type). */
  prefix?: boolean;
  /** Matches returned at most (closest first). */
  limit?: number;
  /** Trie nodes visited at most: bounds the work for any input. */
  maxVisits?: number;
  /** A swap of two adjacent letters is one edit (the default), else two (plain Levenshtein). */
  transpositions?: boolean;
  /** Walk only dict[from, to) (default: all of it). */
  from?: number;
  to?: number;
}

/** Terms of `dict` (sorted by UTF-16 code units, unique) within `maxEdits` of `word`, closest first. */
export function fuzzySearch(dict: readonly string[], word: string, maxEdits: number, opts: FuzzyOptions = {}): FuzzyMatch[] {
  const limit = opts.limit ?? 32;
  let visits = opts.maxVisits ?? 50_000;
  const swaps = opts.transpositions ?? true;
  const n = word.length;
  const best = new Map<string, number>();
  // One row per depth, reused: the walk is depth first, so a row is rewritten only after its subtree is done.
  const rows: Int32Array[] = [Int32Array.from({ length: n + 1 }, (_, j) => j)];
  const chars: number[] = [];

  const report = (term: string, d: number) => {
    const old = best.get(term);
    if (old === undefined || d < old) best.set(term, d);
  };

  /** The child dict[i, a) of a node at `depth` (its terms' char there is c): its row, walked if within the bound. */
  const child = (i: number, a: number, depth: number, c: number): void => {
    const row = rows[depth]!;
    const next = (rows[depth + 1] ??= new Int32Array(n + 1));
    next[0] = depth + 1;
    let min = next[0]!;
    const prevRow = swaps && depth > 0 ? rows[depth - 1] : undefined;
    const prevChar = depth > 0 ? chars[depth - 1]! : -1;
    for (let j = 1; j <= n; j++) {
      const wc = word.charCodeAt(j - 1);
      let v = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (wc === c ? 0 : 1));
      if (prevRow !== undefined && j > 1 && wc === prevChar && word.charCodeAt(j - 2) === c) v = Math.min(v, prevRow[j - 2]! + 1);
      next[j] = v;
      if (v < min) min = v;
    }
    if (min <= maxEdits) {
      chars[depth] = c;
      walk(i, a, depth + 1, min);
    }
  };

  /**
   * With its row at `min` = maxEdits, a node's child can stay within the bound only by matching the typed
   * char after a cell at the bound: the smallest such char above `after`, or -1. (A swap ending there adds
   * none: it costs at least the cell of this row that a match of the same char starts from.)
   */
  const nextViable = (depth: number, after: number): number => {
    const row = rows[depth]!;
    let c = -1;
    for (let j = 0; j < n; j++) {
      const v = word.charCodeAt(j);
      if (row[j]! <= maxEdits && v > after && (c < 0 || v < c)) c = v;
    }
    return c;
  };

  /** The terms of dict[lo, hi) share their first `depth` chars; `min` is the least of their row. */
  const walk = (lo: number, hi: number, depth: number, min: number): void => {
    if (--visits < 0) return;
    const row = rows[depth]!;
    let i = lo;
    if (dict[i]!.length === depth) {
      // The range's first term is the prefix itself.
      if (row[n]! <= maxEdits) report(dict[i]!, row[n]!);
      i++;
    }
    if (opts.prefix && row[n]! <= maxEdits) {
      // Everything below completes a match: take the range (bounded) instead of walking it.
      for (let k = i; k < hi && best.size < limit * 4; k++) report(dict[k]!, row[n]!);
      return;
    }
    if (min < maxEdits) {
      // An edit is left: any char may follow.
      while (i < hi) {
        const c = dict[i]!.charCodeAt(depth);
        const a = charEnd(dict, i + 1, hi, depth, c);
        child(i, a, depth, c);
        i = a;
      }
      return;
    }
    // No edit left: most children would fail the bound; look up only those that may not (in char order,
    // as above). Trying each child was most of a typo'd Suggest's work.
    for (let c = nextViable(depth, -1); c >= 0 && i < hi; c = nextViable(depth, c)) {
      i = charEnd(dict, i, hi, depth, c - 1);
      if (i < hi && dict[i]!.charCodeAt(depth) === c) {
        const a = charEnd(dict, i + 1, hi, depth, c);
        child(i, a, depth, c);
        i = a;
      }
    }
  };

  const from = opts.from ?? 0;
  const to = opts.to ?? dict.length;
  if (from < to) walk(from, to, 0, 0);
  return [...best]
    .map(([term, distance]) => ({ term, distance }))
    .sort(
      (x, y) =>
        x.distance - y.distance || Math.abs(x.term.length - n) - Math.abs(y.term.length - n) || (x.term < y.term ? -1 : 1),
    )
    .slice(0, limit);
}

/** First index in [a, b) whose term's char at `depth` is above c (the terms there are longer than depth). */
function charEnd(dict: readonly string[], a: number, b: number, depth: number, c: number): number {
  while (a < b) {
    const m = (a + b) >>> 1;
    if (dict[m]!.charCodeAt(depth) <= c) a = m + 1;
    else b = m;
  }
  return a;
}

/** Index of the first element of the sorted list (terms, or numbers) that is not below `term` (binary search). */
export function lowerBound<T extends string | number>(dict: readonly T[], term: T): number {
  let lo = 0;
  let hi = dict.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (dict[m]! < term) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/** Whether the sorted dictionary holds `term`. */
export function containsTerm(dict: readonly string[], term: string): boolean {
  return dict[lowerBound(dict, term)] === term;
}

/** Terms starting with `prefix` (binary search on the sorted dictionary), shortest first. */
export function prefixRange(dict: readonly string[], prefix: string, limit: number, scan = 2000): string[] {
  const [lo, hi] = prefixBounds(dict, prefix, scan);
  return dict
    .slice(lo, hi)
    .sort((a, b) => a.length - b.length || (a < b ? -1 : 1))
    .slice(0, limit);
}

/** [lo, hi): where the first `scan` (at most) of the sorted list's terms starting with `prefix` lie. */
export function prefixBounds(dict: readonly string[], prefix: string, scan: number): [number, number] {
  const lo = lowerBound(dict, prefix);
  let a = lo;
  let b = Math.min(dict.length, lo + scan);
  // Those starting with the prefix come first in [lo, …): the first that does not, by binary search.
  while (a < b) {
    const m = (a + b) >>> 1;
    if (dict[m]!.startsWith(prefix)) a = m + 1;
    else b = m;
  }
  return [lo, a];
}

/** Sorted union of two sorted unique arrays. */
export function mergeSorted(a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out.push(x);
      i++;
      j++;
    } else if (x < y) {
      out.push(x);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}
