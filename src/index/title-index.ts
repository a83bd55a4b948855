/**
 * Title completions for Suggest: the folded words of each document title (by per-process ordinal, see
 * doc-values.ts) → the ordinals whose title holds them, ascending, plus the words sorted so that a typed
 * prefix is a range. "vertrag ste" asks for titles holding the word "vertrag" and a word starting with
 * "ste".
 *
 * It replaced a FlexSearch forward index, measured on the benchmark's titles: FlexSearch took 21 s to
 * index 200k titles (every prefix of every word is an entry; ~100 s at 1M, paid by the first Suggest after
 * a start, on the event loop) and intersected a frequent word with a frequent prefix in 2 ms at 200k and
 * 10 ms at 1M. Here a multi-word query walks the shorter side (the rarest whole word's ordinals, or the
 * prefix's when they are fewer) and checks the rest per candidate, stopping once it has enough: a frequent
 * pair is answered after a few candidates, a rare one has a short list to walk.
 */
import { normaliseWord } from './analyser.js';
import { NONE, OrdinalSlices } from './ordinal-slices.js';
import { allSteps, sortInSteps } from './warm-up.js';

interface Word {
  readonly word: string;
  /** Index in TitleIndex's word table (what a title's word list holds). */
  readonly id: number;
  /** Ordinals of the titles holding the word, ascending. */
  readonly ords: SortedOrds;
}

/**
 * Ordinals ascending, in a typed array: as JS arrays, a million titles' words were ~7M slots (57 MB) that
 * every full garbage collection scanned.
 */
class SortedOrds {
  items = new Int32Array(2);
  length = 0;

  insert(v: number): void {
    const n = this.length;
    // Titles mostly arrive in ordinal order: appending is the common case.
    const i = n === 0 || this.items[n - 1]! < v ? n : lowerBoundIn(this.items, n, v);
    if (i < n && this.items[i] === v) return;
    if (n === this.items.length) {
      const next = new Int32Array(n * 2);
      next.set(this.items);
      this.items = next;
    }
    if (i < n) this.items.copyWithin(i + 1, i, n);
    this.items[i] = v;
    this.length = n + 1;
  }

  remove(v: number): void {
    const i = lowerBoundIn(this.items, this.length, v);
    if (i >= this.length || this.items[i] !== v) return;
    this.items.copyWithin(i, i + 1, this.length);
    this.length--;
  }
}

/** Titles holding all typed words are collected up to this many before ranking (then cut to the limit). */
const GATHER = 32;
/** Candidates stepped over per query at most: a bound on the work when few of them match. */
const MAX_CHECKS = 50_000;
/** Words of a prefix range looked at per query at most. */
const MAX_PREFIX_WORDS = 2_000;
/** New words wait in a second sorted list until it holds this many (or an eighth of the first), then merge. */
const PENDING_LIMIT = 1_024;

const WORD_RE = /[\p{L}\p{N}]+/gu;

/** The distinct folded words of a title, in order of first appearance. */
function titleWords(title: string): string[] {
  const raw: string[] = [];
  rawWords(title, raw);
  const out: string[] = [];
  for (const r of raw) {
    const w = normaliseWord(r);
    if (w.length > 0 && !out.includes(w)) out.push(w);
  }
  return out;
}

const NON_ASCII = /[^\p{ASCII}]/u;

/**
 * The words of a title as written (WORD_RE's matches) into `out`. An ASCII title is split by a scan of its
 * char codes, without a match object per word.
 */
function rawWords(title: string, out: string[]): void {
  out.length = 0;
  if (NON_ASCII.test(title)) {
    for (const m of title.matchAll(WORD_RE)) out.push(m[0]);
    return;
  }
  let start = -1;
  for (let i = 0; i <= title.length; i++) {
    const c = i < title.length ? title.charCodeAt(i) : 0;
    // [A-Za-z0-9]: what \p{L} and \p{N} match among ASCII characters.
    const word = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (word && start < 0) start = i;
    else if (!word && start >= 0) {
      out.push(title.slice(start, i));
      start = -1;
    }
  }
}

export class TitleIndex {
  readonly #byWord = new Map<string, Word>();
  /** Words by id; a word no title holds any more is dropped at the next merge (its id is not reused). */
  readonly #words: (Word | undefined)[] = [];
  /**
   * Per ordinal its title's word ids (title order), for removal and for checking a candidate's prefix. One
   * typed arena rather than an array per title: a million small arrays were a third of this index's heap.
   */
  readonly #titleWords = new OrdinalSlices((n) => new Int32Array(n), 4096);
  #sorted: Word[] = [];
  #pending: Word[] = [];
  /** A bulk load is under way (`bulk`): its new words join the sorted list only when it ends. */
  #bulk = false;

  /** Index a title: `set(ord, title)` replaces what `ord` had; an empty title removes it. */
  set(ord: number, title: string | undefined): void {
    this.remove(ord);
    if (!title) return;
    this.#add(ord, title, (e) => this.#pending.splice(lowerBoundWord(this.#pending, e.word), 0, e));
    // Not during a bulk load: a merge would drop a word the load holds but has not entered yet.
    if (!this.#bulk && this.#pending.length >= Math.max(PENDING_LIMIT, this.#sorted.length / 8)) this.#mergePending();
  }

  /** Enter a title's words for `ord` (which holds none); `fresh` gets each word new to the index. */
  #add(ord: number, title: string, fresh: (e: Word) => void): void {
    const words = titleWords(title);
    const entries: Word[] = [];
    for (let k = 0; k < words.length; k++) entries.push(this.#entry(words[k]!, fresh));
    this.#enter(ord, entries);
  }

  /** The entry of folded word `w`, made (and handed to `fresh`) if new. */
  #entry(w: string, fresh: (e: Word) => void): Word {
    let e = this.#byWord.get(w);
    if (e === undefined) {
      e = { word: w, id: this.#words.length, ords: new SortedOrds() };
      this.#words.push(e);
      this.#byWord.set(w, e);
      fresh(e);
    }
    return e;
  }

  /** Enter `ord` (which holds none) under its title's distinct words. */
  #enter(ord: number, entries: readonly Word[]): void {
    if (entries.length === 0) return;
    const at = this.#titleWords.reserve(ord, entries.length);
    const ids = this.#titleWords.arena;
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k]!;
      e.ords.insert(ord);
      ids[at + k] = e.id;
    }
    this.#titleWords.commit(ord, at, entries.length);
  }

  /**
   * Load titles in bulk (a tenant's first Suggest, 1M titles at 1M documents): one sort instead of a sorted
   * insert per new word, and each distinct word as written folded and looked up once, not once per title
   * (folding was a quarter of the load).
   */
  load(titles: Iterable<[number, string]>): void {
    const b = this.bulk();
    for (const [ord, title] of titles) b.add(ord, title);
    allSteps(b.ending());
  }

  /**
   * `load` in pieces (the warm-up's slices): add titles, then run `ending()`'s steps. `set` may be called in
   * between (for ordinals already added: a title that changed meanwhile).
   */
  bulk(): { add(ord: number, title: string): void; ending(): Generator<void> } {
    this.#bulk = true;
    const fresh: Word[] = [];
    const add = (e: Word) => fresh.push(e);
    /** Word as written → its entry (null: it folds to nothing). */
    const byRaw = new Map<string, Word | null>();
    const raw: string[] = [];
    const entries: Word[] = [];
    return {
      add: (ord, title) => {
        this.remove(ord);
        rawWords(title, raw);
        entries.length = 0;
        for (let k = 0; k < raw.length; k++) {
          let e = byRaw.get(raw[k]!);
          if (e === undefined) {
            const w = normaliseWord(raw[k]!);
            e = w.length > 0 ? this.#entry(w, add) : null;
            byRaw.set(raw[k]!, e);
          }
          if (e !== null && !entries.includes(e)) entries.push(e);
        }
        this.#enter(ord, entries);
      },
      ending: () => this.#endBulk(fresh),
    };
  }

  /** A bulk load's end in steps: one sort of its new words (100k+ at 1M titles) held the loop for tens of ms. */
  *#endBulk(fresh: readonly Word[]): Generator<void> {
    const sorted = yield* sortInSteps(fresh, (a, b) => compare(a.word, b.word));
    this.#titleWords.trim();
    yield;
    // No merge ran meanwhile (`set` merges only when no bulk load is under way): the words go in at once.
    this.#bulk = false;
    this.#mergePending();
    this.#pending = sorted;
    this.#mergePending();
  }

  remove(ord: number): void {
    const at = this.#titleWords.start(ord);
    if (at === NONE) return;
    const ids = this.#titleWords.arena;
    for (let k = at, end = at + this.#titleWords.length(ord); k < end; k++) {
      this.#words[ids[k]!]!.ords.remove(ord);
    }
    this.#titleWords.clear(ord);
  }

  /** Whether ord's title holds word `id`. */
  #holds(ord: number, id: number): boolean {
    const at = this.#titleWords.start(ord);
    if (at === NONE) return false;
    const ids = this.#titleWords.arena;
    for (let k = at, end = at + this.#titleWords.length(ord); k < end; k++) if (ids[k] === id) return true;
    return false;
  }

  /**
   * Ordinals of titles holding every typed word, the last one as a prefix: the titles whose matching word
   * comes earliest first, then shorter titles.
   */
  search(typed: string, limit: number): number[] {
    const words = titleWords(typed);
    const prefix = words.pop();
    if (prefix === undefined || limit <= 0) return [];
    const must: Word[] = [];
    for (const w of words) {
      const e = this.#byWord.get(w);
      if (e === undefined || e.ords.length === 0) return [];
      must.push(e);
    }
    must.sort((a, b) => a.ords.length - b.ords.length);
    const range = this.#prefixRange(prefix);
    const found: { ord: number; at: number; words: number }[] = [];
    // Only the prefix walk meets a title twice (once per matching word); one sorted list never does.
    let seen: Set<number> | undefined;
    let checks = 0;
    // A candidate is checked against its own few title words.
    const consider = (ord: number): boolean => {
      const start = this.#titleWords.start(ord);
      if (start === NONE || seen?.has(ord)) return true;
      seen?.add(ord);
      const n = this.#titleWords.length(ord);
      const ids = this.#titleWords.arena;
      for (let at = 0; at < n; at++)
        if (this.#words[ids[start + at]!]!.word.startsWith(prefix)) {
          found.push({ ord, at, words: n });
          break;
        }
      return found.length < GATHER;
    };
    const shortest = must[0]?.ords;
    let prefixCount = 0;
    for (const e of range) {
      prefixCount += e.ords.length;
      if (shortest !== undefined && prefixCount >= shortest.length) break;
    }
    if (shortest !== undefined && prefixCount >= shortest.length) {
      // The whole words' lists intersected front to back (sorted, so each cursor only moves forward).
      const cursors = new Int32Array(must.length);
      outer: for (let i = 0; i < shortest.length; i++) {
        const ord = shortest.items[i]!;
        if (++checks > MAX_CHECKS) break;
        for (let m = 1; m < must.length; m++) {
          const list = must[m]!.ords;
          const c = gallop(list.items, list.length, ord, cursors[m]!);
          cursors[m] = c;
          if (c >= list.length) break outer;
          if (list.items[c] !== ord) continue outer;
        }
        if (!consider(ord)) break;
      }
    } else {
      // Walk the prefix's words, shortest (closest to what was typed) first; check the whole words per title.
      const byLength = [...range].sort((a, b) => a.word.length - b.word.length);
      if (byLength.length > 1) seen = new Set();
      // Indexed loops: a closure or iterator per candidate was most of what a Suggest allocated.
      outer: for (let k = 0; k < byLength.length; k++) {
        const ords = byLength[k]!.ords;
        candidates: for (let i = 0; i < ords.length; i++) {
          if (++checks > MAX_CHECKS) break outer;
          const ord = ords.items[i]!;
          for (let m = 0; m < must.length; m++) if (!this.#holds(ord, must[m]!.id)) continue candidates;
          if (!consider(ord)) break outer;
        }
      }
    }
    found.sort((a, b) => a.at - b.at || a.words - b.words || a.ord - b.ord);
    return found.slice(0, limit).map((f) => f.ord);
  }

  /** Words starting with `prefix` (at most MAX_PREFIX_WORDS), still holding a title. */
  #prefixRange(prefix: string): Word[] {
    const out: Word[] = [];
    for (const sorted of [this.#sorted, this.#pending])
      for (let i = lowerBoundWord(sorted, prefix); i < sorted.length && out.length < MAX_PREFIX_WORDS; i++) {
        const e = sorted[i]!;
        if (!e.word.startsWith(prefix)) break;
        if (e.ords.length > 0) out.push(e);
      }
    return out;
  }

  /** Sort the new words into the sorted list, dropping words no title holds any more. */
  #mergePending(): void {
    const add = this.#pending;
    const old = this.#sorted;
    const merged: Word[] = [];
    let i = 0;
    let j = 0;
    while (i < old.length || j < add.length) {
      const e = j >= add.length || (i < old.length && compare(old[i]!.word, add[j]!.word) < 0) ? old[i++]! : add[j++]!;
      if (e.ords.length > 0) merged.push(e);
      else {
        this.#byWord.delete(e.word);
        this.#words[e.id] = undefined;
      }
    }
    this.#sorted = merged;
    this.#pending = [];
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function lowerBoundWord(sorted: readonly Word[], word: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.word < word) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index ≥ from, below n, with list[i] ≥ v (exponential then binary search: cheap for short hops). */
function gallop(list: Int32Array, n: number, v: number, from: number): number {
  let step = 1;
  let lo = from;
  let hi = from;
  while (hi < n && list[hi]! < v) {
    lo = hi + 1;
    hi += step;
    step *= 2;
  }
  hi = Math.min(hi, n);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index below n with list[i] ≥ v. */
function lowerBoundIn(list: Int32Array, n: number, v: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
