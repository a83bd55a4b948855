/**
 * Which of a hit's term occurrences to highlight when the query has phrases: an occurrence of a term the
 * query holds only inside phrases stays only where a phrase matches there. Pure: positions in, a keep-mask
 * out, so it is tested without an index.
 */
import type { PhraseWords } from './query-plan.js';

/**
 * `pos[k]` is where term `terms[termOf[k]]` occurs in the hit (field-based positions, one field). Returns for
 * each k whether to highlight it: always for a `loose` term (one the query also asks for on its own), else
 * when the occurrence is one word of a match of some phrase: the words at consecutive positions, or, with
 * slop, all of them within `words − 1 + slop` positions of each other.
 */
export function phraseOccurrences(
  pos: readonly number[],
  termOf: readonly number[],
  terms: readonly string[],
  phrases: readonly PhraseWords[],
  loose: ReadonlySet<string>,
): boolean[] {
  const keep = termOf.map((t) => loose.has(terms[t]!));
  if (phrases.length === 0 || keep.every(Boolean)) return keep;
  // Occurrences by position: the k's at each position.
  const at = new Map<number, number[]>();
  for (const [k, p] of pos.entries()) {
    const list = at.get(p);
    if (list === undefined) at.set(p, [k]);
    else list.push(k);
  }
  const index = new Map(terms.map((t, i) => [t, i]));
  for (const phrase of phrases) {
    // Each word's alternatives as term numbers (a word none of whose terms occurs here cannot match).
    const words = phrase.words.map((alts) => new Set(alts.map((t) => index.get(t)).filter((i) => i !== undefined)));
    if (words.some((w) => w.size === 0)) continue;
    const wordAt = (j: number, p: number): number[] => (at.get(p) ?? []).filter((k) => words[j]!.has(termOf[k]!));
    if (phrase.slop === 0) {
      for (const [k, q] of pos.entries()) {
        if (!words[0]!.has(termOf[k]!)) continue;
        const found = words.map((_, j) => wordAt(j, q + j));
        if (found.every((f) => f.length > 0)) for (const f of found) for (const m of f) keep[m] = true;
      }
      continue;
    }
    // Within a window from each occurrence of any of the words: every word somewhere in it.
    const span = words.length - 1 + phrase.slop;
    for (const q of new Set(pos)) {
      const found = words.map((_, j) => {
        const ks: number[] = [];
        for (let p = q; p <= q + span; p++) ks.push(...wordAt(j, p));
        return ks;
      });
      if (found.every((f) => f.length > 0)) for (const f of found) for (const m of f) keep[m] = true;
    }
  }
  return keep;
}
