/**
 * The one analysis path for documents, queries and snippets: NFKC, case folding, German transliteration
 * (ä→ae ö→oe ü→ue ß→ss) before accent stripping, tokenisation, codes and numbers kept whole, IBANs also
 * joined, Snowball stemming (German "german2" / English Porter2), German decompounding, positions.
 *
 * Stemming, decompounding and folding can be switched off (`setAnalyserOptions`) so that native-bench can
 * measure what each buys; the server never does.
 *
 * Tokenisation: Intl.Segmenter measured ~0.1 M chars/s on this machine (Node 20, ICU), a hundred times
 * below the index-build bar, so space-delimited scripts are cut by one Unicode regex and Intl.Segmenter
 * runs only on tokens holding a script written without spaces (Han, Kana, Thai, Lao, Khmer, Myanmar).
 */
import { compoundSubwords, partTerm, splitCompound } from './decompound.js';
import { FNV_BASIS, FNV_PRIME, grow, hashRange, ownSubstring, SliceTable } from './slice-table.js';
import { type AnalyserLanguage, stemEnglish, stemGerman } from './stemmers.js';

export type { AnalyserLanguage } from './stemmers.js';

/** 'index' emits every findable form (both stems, compound parts, code parts); 'query' only the alternatives a user means. */
export type AnalyseMode = 'index' | 'query';

/** Receives one term at a position; start/end are UTF-16 offsets of the source word in the text. */
export type TokenSink = (term: string, position: number, start: number, end: number) => void;

/**
 * Receives one term of a cached word by its thread-wide id (`indexTermNames()[id]`), for the segment
 * builder (`analyseForIndex`): the id maps to the builder's own by two typed-array loads, not a Map lookup.
 */
export type TermIdSink = (termId: number, position: number, start: number, end: number) => void;

/**
 * Every character other than ASCII whose NFKC form is a joiner (- / . , : _ '): full-width and small forms,
 * the one-dot leader, vertical forms. They join as their ASCII forms do, so `ＲＥ－２０２４－０７７７` is one code
 * (NFKC per word then makes it `re-2024-0777`); split first, it was three words no query for the code found.
 */
export const WIDE_JOINERS =
  '\u2024\ufe10\ufe13\ufe33\ufe34\ufe4d\ufe4e\ufe4f\ufe50\ufe52\ufe55\ufe63\uff07\uff0c\uff0d\uff0e\uff0f\uff1a\uff3f';
/**
 * Invisible characters inside a word: soft hyphen, zero-width space, word joiner, BOM. Text from PDFs and
 * mails carries them mid-word ("Kaffee\u00ADmaschine"); they join the word and are dropped from its term, so
 * the word is found as typed.
 */
const IGNORABLES = '\u00ad\u200b\u2060\ufeff';
const IGNORABLE_RE = new RegExp(`[${IGNORABLES}]`, 'g');
/** The apostrophe, full-width too, joins a word ("don't") but does not split it as - / . , : _ do. */
const WIDE_SEPARATORS = WIDE_JOINERS.replace('\uff07', '');
/** What a token is (the scanner in `analyse` implements exactly this). */
export const TOKEN_RE = new RegExp(`[\\p{L}\\p{M}\\p{N}]+(?:[-/.,:_'’${WIDE_JOINERS}${IGNORABLES}][\\p{L}\\p{M}\\p{N}]+)*`, 'gu');
const WORD_CHAR_RE = /^[\p{L}\p{M}\p{N}]/u;
/**
 * Word-character test for the BMP, memoised in a bitmap (0 unknown, 1 no, 2 yes); ASCII filled in at once.
 * One table load per character: the scanner's range compares for ASCII cost more (it runs per character of
 * every text analysed: index builds and snippets).
 */
const WORD_CHAR_MEMO = new Uint8Array(65536);
for (let c = 0; c < 128; c++) WORD_CHAR_MEMO[c] = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ? 2 : 1;

/** Width (0, 1 or 2 code units) of the word character at i, 0 if none. */
function wordCharWidth(text: string, i: number, c: number): number {
  const m = WORD_CHAR_MEMO[c]!;
  if (m === 2) return 1;
  if (m === 1) return 0;
  return wordCharWidthSlow(text, i, c);
}

/** A high surrogate (a code point beyond the BMP, never memoised) or a BMP character not seen before. */
function wordCharWidthSlow(text: string, i: number, c: number): number {
  if (c >= 0xd800 && c <= 0xdbff) {
    const cp = text.codePointAt(i)!;
    return cp > 0xffff && WORD_CHAR_RE.test(String.fromCodePoint(cp)) ? 2 : 0;
  }
  const m = WORD_CHAR_RE.test(String.fromCharCode(c)) ? 2 : 1;
  WORD_CHAR_MEMO[c] = m;
  return m === 2 ? 1 : 0;
}

const WIDE_JOINER_CODES = new Set(Array.from(WIDE_JOINERS, (c) => c.charCodeAt(0)));

/** - / . , : _ ' ’ (and their WIDE_JOINERS forms) and the IGNORABLES join word characters into one token. */
function isJoiner(c: number): boolean {
  if (c < 128) return c === 45 || c === 47 || c === 46 || c === 44 || c === 58 || c === 95 || c === 39;
  return c === 0x2019 || c === 0xad || c === 0x200b || c === 0x2060 || c === 0xfeff || WIDE_JOINER_CODES.has(c);
}
const SEPARATOR_RE = new RegExp(`[-/.,:_${WIDE_SEPARATORS}]`);
const SPLIT_RE = new RegExp(`[-/.,:_${WIDE_SEPARATORS}]+`);
const DIGIT_RE = /\p{N}/u;
const LETTER_RE = /\p{L}/u;
const NON_ASCII_RE = /[^\p{ASCII}]/u;
const UPPER_RE = /[A-Z]/;
const NO_SPACE_SCRIPT_RE = /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Thai}\p{sc=Lao}\p{sc=Khmer}\p{sc=Myanmar}]/u;
const IBAN_HINT_RE = /[A-Z]{2}\d{2}/;
const IBAN_RE = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b/g;
const MAX_TERM_LENGTH = 64;
/** A normalised word ending in a possessive 's, and the word before it. */
const POSSESSIVE_RE = /^([^']{2,})'s$/;

const segmenter = new Intl.Segmenter('und', { granularity: 'word' });

/** The analysis steps that can be switched off (all on by default). */
export interface AnalyserOptions {
  /** Snowball stemming; off: the normalised word itself is the term. */
  readonly stem: boolean;
  /** German compound parts as extra index terms (text analysed as German); off: the whole word only. */
  readonly decompound: boolean;
  /** German transliteration (ä→ae, ß→ss) and accent stripping; off: NFKC and lower case only. */
  readonly fold: boolean;
}

export const DEFAULT_ANALYSER_OPTIONS: AnalyserOptions = Object.freeze({ stem: true, decompound: true, fold: true });

let options: AnalyserOptions = DEFAULT_ANALYSER_OPTIONS;

/**
 * Sets the analysis steps of this thread (worker threads, such as the server's analysis pool, keep their
 * own) to the defaults overridden by `next`; passing back what it returns restores the previous setting.
 * For evaluations (native-bench's ablations) and tests: an index is only searchable with the options it was
 * built with, so set them before anything is indexed.
 */
export function setAnalyserOptions(next: Partial<AnalyserOptions>): AnalyserOptions {
  const previous = options;
  options = Object.freeze({ ...DEFAULT_ANALYSER_OPTIONS, ...next });
  for (const caches of Object.values(CACHES)) {
    caches.index.clear();
    caches.query.clear();
  }
  resetIndexTermIds();
  return previous;
}

/** The analysis steps in force. */
export function analyserOptions(): AnalyserOptions {
  return options;
}

/**
 * Normalise one word: NFKC, lower case, German transliteration, then accents stripped. The order matters:
 * "Müller" → "mueller" (not "muller"), "Café" → "cafe". Without folding: NFKC and lower case ("müller").
 */
export function normaliseWord(raw: string): string {
  if (!NON_ASCII_RE.test(raw)) return UPPER_RE.test(raw) ? raw.toLowerCase() : raw;
  let w = raw.replace(IGNORABLE_RE, '').normalize('NFKC').toLowerCase();
  if (!options.fold) return w.replace(/’/g, "'");
  w = w.replace(/[äöüßẞ’]/g, (c) => TRANSLIT[c]!);
  if (NON_ASCII_RE.test(w))
    w = w
      .normalize('NFD')
      .replace(/\p{M}+/gu, '')
      .normalize('NFC');
  return w;
}

/** normaliseWord's German transliteration (after lower-casing), and the typographic apostrophe's plain form. */
export const TRANSLIT: Readonly<Record<string, string>> = { ä: 'ae', ö: 'oe', ü: 'ue', ß: 'ss', ẞ: 'ss', '’': "'" };

/**
 * Terms a single (non-code) word yields, most specific first: text[start, end) is the word as written.
 * Cached per language and mode, looked up by the characters in place, so a word seen before costs neither
 * a substring nor a Map lookup.
 */
function wordTerms(
  text: string,
  start: number,
  end: number,
  h: number,
  language: AnalyserLanguage,
  mode: AnalyseMode,
): readonly string[] {
  const cache = CACHES[language][mode];
  const hit = cache.get(text, start, end, h);
  if (hit !== undefined) return hit;
  const raw = start === 0 && end === text.length ? text : text.slice(start, end);
  const terms = computeWordTerms(normaliseWord(raw), language, mode);
  // The key a copy: a slice of a long word would keep the document it came from (snippets) in the cache.
  cache.set(raw === text ? raw : ownSubstring(text, start, end), h, terms);
  return terms;
}

/** A word cache generation: the words (keys of the table) and, by id, their terms. */
class WordTable {
  readonly table: SliceTable;
  readonly values: (readonly string[])[] = [];
  constructor(capacity: number) {
    this.table = new SliceTable(capacity);
  }
}

/**
 * Two generations: when the young table is full it becomes the old one and the previous old one is
 * dropped; a hit in the old table moves the word back to the young one. Frequent words survive a turnover,
 * where clearing one table whole made every word miss again at once.
 */
class WordCache {
  #young: WordTable;
  #old: WordTable | undefined;

  constructor(readonly limit: number) {
    this.#young = new WordTable(limit);
  }

  get(text: string, start: number, end: number, h: number): readonly string[] | undefined {
    const y = this.#young;
    const e = y.table.find(text, start, end, h);
    if (e >= 0) return y.values[e];
    const o = this.#old;
    if (o === undefined) return undefined;
    const f = o.table.find(text, start, end, h);
    if (f < 0) return undefined;
    const value = o.values[f]!;
    this.set(o.table.keys[f]!, h, value);
    return value;
  }

  /** Adds a word that `get` did not find. */
  set(key: string, h: number, value: readonly string[]): void {
    if (this.#young.table.size >= this.limit) {
      this.#old = this.#young;
      this.#young = new WordTable(this.limit);
    }
    this.#young.table.add(key, h);
    this.#young.values.push(value);
  }

  clear(): void {
    this.#young = new WordTable(this.limit);
    this.#old = undefined;
  }
}

/** Words per generation, per language and mode. */
const CACHE_LIMIT = 100_000;
const newCaches = () => ({ index: new WordCache(CACHE_LIMIT), query: new WordCache(CACHE_LIMIT) });
const CACHES: Record<AnalyserLanguage, ReturnType<typeof newCaches>> = {
  deu: newCaches(),
  eng: newCaches(),
  'deu+eng': newCaches(),
};

/**
 * Thread-wide ids of the terms that words analysed for the index yield (`analyseForIndex`): a word cached
 * once holds its terms' ids inline, and the builder maps an id to its own by a typed-array stamp. Numbers,
 * codes and IBANs are not cached (mostly distinct) and reach the builder as strings. Bounded: beyond
 * MAX_TERM_IDS the ids and the id word caches start over (between documents, see `indexTermEpoch`).
 */
let termIds = new SliceTable(1 << 16);
let termIdEpoch = 1;
const MAX_TERM_IDS = 1 << 20;

function resetIndexTermIds(): void {
  termIds = new SliceTable(1 << 16);
  termIdEpoch++;
  ID_CACHES.deu.clear();
  ID_CACHES.eng.clear();
  ID_CACHES['deu+eng'].clear();
}

/**
 * The term ids' epoch, starting them over first when there are too many: ids are stable while it is
 * unchanged. Call between documents only (a builder holds ids of the epoch it saw).
 */
export function indexTermEpoch(): number {
  if (termIds.size > MAX_TERM_IDS) resetIndexTermIds();
  return termIdEpoch;
}

/** Term by id (`TermIdSink`); the array grows in place within an epoch. */
export function indexTermNames(): readonly string[] {
  return termIds.keys;
}

/** The hash (hashRange) of the term with that id. */
export function indexTermHash(id: number): number {
  return termIds.hashOf(id);
}

function termIdOf(term: string): number {
  const h = hashRange(term, 0, term.length);
  const e = termIds.find(term, 0, term.length, h);
  return e >= 0 ? e : termIds.add(term, h);
}

/** Ints in a record of FlatWordTable: 64 bytes, room for a word of up to 22 code units with two terms. */
const RECORD = 16;

/** Whether units[c, c + len) are text's code units from `start`. */
function sameUnits(units: Uint16Array, c: number, text: string, start: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (units[c + i] !== text.charCodeAt(start + i)) return false;
  return true;
}

/**
 * One generation of an id word cache, flat: open addressing (load ≤ 3/4) over records of RECORD ints,
 * [hash, length, term count, term ids…, the word's UTF-16 code units two to an int]; a word that does not
 * fit one keeps all but the hash in `data`, its record being [hash, -1 - offset there]. A hit reads one
 * record: one cache miss for a word out of cache, as most of a Zipf tail's are. A slot pointing to an entry
 * elsewhere cost two misses in sequence, and the lookup was 13 % of a pool thread's CPU (segment-build-cpu
 * probe: analysis 12 % faster). 8 MB for 100 000 words; a load ≤ 1/2 (16 MB) measured no faster.
 */
class FlatWordTable {
  readonly records: Int32Array;
  readonly #recordUnits: Uint16Array;
  readonly #mask: number;
  size = 0;
  /** Entries of the words too long for a record: [length, term count, term ids…, code units]. */
  data = new Int32Array(1024);
  #dataUnits = new Uint16Array(this.data.buffer);
  #dataLen = 0;

  constructor(capacity: number) {
    let n = 2;
    while (3 * n < capacity * 4) n *= 2;
    this.records = new Int32Array(RECORD * n);
    this.#recordUnits = new Uint16Array(this.records.buffer);
    this.#mask = n - 1;
  }

  /** Record (its offset in `records`) of text[start, end) (hash h), or -1. */
  find(text: string, start: number, end: number, h: number): number {
    const len = end - start;
    const records = this.records;
    const mask = this.#mask;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const r = s * RECORD;
      const l = records[r + 1]!;
      // Length 0: an empty record (a word has at least one code unit).
      if (l === 0) return -1;
      if (records[r] !== h) continue;
      if (l > 0) {
        if (l === len && sameUnits(this.#recordUnits, 2 * (r + 3 + records[r + 2]!), text, start, len)) return r;
      } else {
        const data = this.data;
        const o = -1 - l;
        if (data[o] === len && sameUnits(this.#dataUnits, 2 * (o + 2 + data[o + 1]!), text, start, len)) return r;
      }
    }
  }

  /** Adds text[start, end) (absent; hash h) with ids[from, from + count); returns its record. */
  add(text: string, start: number, end: number, h: number, ids: ArrayLike<number>, from: number, count: number): number {
    const len = end - start;
    const r = this.#place(h);
    const size = 2 + count + ((len + 1) >>> 1);
    const inline = 1 + size <= RECORD;
    const at = inline ? r + 1 : this.#reserve(size);
    if (!inline) this.records[r + 1] = -1 - at;
    const d = inline ? this.records : this.data;
    const units = inline ? this.#recordUnits : this.#dataUnits;
    d[at] = len;
    d[at + 1] = count;
    for (let k = 0; k < count; k++) d[at + 2 + k] = ids[from + k]!;
    const c = 2 * (at + 2 + count);
    for (let i = 0; i < len; i++) units[c + i] = text.charCodeAt(start + i);
    return r;
  }

  /** Adds record f of another table (hash h), absent here; returns its record here. */
  addFrom(other: FlatWordTable, f: number, h: number): number {
    const r = this.#place(h);
    const l = other.records[f + 1]!;
    if (l > 0) {
      this.records.set(other.records.subarray(f + 1, f + RECORD), r + 1);
      return r;
    }
    const od = other.data;
    const from = -1 - l;
    const size = 2 + od[from + 1]! + ((od[from]! + 1) >>> 1);
    const o = this.#reserve(size);
    this.data.set(od.subarray(from, from + size), o);
    this.records[r + 1] = -1 - o;
    return r;
  }

  /** Takes the empty record for hash h (setting its hash); returns its offset. */
  #place(h: number): number {
    const records = this.records;
    const mask = this.#mask;
    let s = h & mask;
    while (records[s * RECORD + 1] !== 0) s = (s + 1) & mask;
    const r = s * RECORD;
    records[r] = h;
    this.size++;
    return r;
  }

  /** Reserves `size` ints of `data`; returns their offset. */
  #reserve(size: number): number {
    const o = this.#dataLen;
    if (o + size > this.data.length) {
      this.data = grow(this.data, Math.max(this.data.length * 2, o + size));
      this.#dataUnits = new Uint16Array(this.data.buffer);
    }
    this.#dataLen = o + size;
    return o;
  }
}

/** WordCache's two generations for the index mode's term ids. */
class IdWordCache {
  young: FlatWordTable | undefined;
  #old: FlatWordTable | undefined;
  readonly #scratch: number[] = [];

  constructor(
    readonly language: AnalyserLanguage,
    readonly limit: number,
  ) {}

  /** Record of text[start, end) (hash h) in `young`, after adding it there if it was not. */
  entry(text: string, start: number, end: number, h: number): number {
    let y = this.young;
    if (y === undefined) y = this.young = new FlatWordTable(this.limit);
    const e = y.find(text, start, end, h);
    if (e >= 0) return e;
    const o = this.#old;
    const f = o === undefined ? -1 : o.find(text, start, end, h);
    if (y.size >= this.limit) {
      this.#old = y;
      y = this.young = new FlatWordTable(this.limit);
    }
    if (f >= 0) return y.addFrom(o!, f, h);
    const raw = start === 0 && end === text.length ? text : text.slice(start, end);
    const terms = computeWordTerms(normaliseWord(raw), this.language, 'index');
    const ids = this.#scratch;
    ids.length = 0;
    for (const t of terms) ids.push(termIdOf(t));
    return y.add(text, start, end, h, ids, 0, ids.length);
  }

  clear(): void {
    this.young = undefined;
    this.#old = undefined;
  }
}

const ID_CACHES: Record<AnalyserLanguage, IdWordCache> = {
  deu: new IdWordCache('deu', CACHE_LIMIT),
  eng: new IdWordCache('eng', CACHE_LIMIT),
  'deu+eng': new IdWordCache('deu+eng', CACHE_LIMIT),
};

/**
 * Calls `sink` with the term ids of the word text[start, end) (hashRange `h`; index mode), reporting
 * [from, to) as its span.
 */
function wordTermIds(
  text: string,
  start: number,
  end: number,
  h: number,
  cache: IdWordCache,
  sink: TermIdSink,
  pos: number,
  from: number,
  to: number,
): void {
  const r = cache.entry(text, start, end, h);
  const y = cache.young!;
  // The term count, then the ids: in the record, or in `data` for a long word (FlatWordTable).
  let d = y.records;
  let at = r + 2;
  const l = d[r + 1]!;
  if (l < 0) {
    d = y.data;
    at = -l;
  }
  const n = d[at]!;
  for (let k = 1; k <= n; k++) sink(d[at + k]!, pos, from, to);
}

/**
 * The terms of the word text[start, end) (hashRange `h`) at `pos`, reported as [from, to): by id to `idSink`
 * from `idCache` (ID_CACHES[language]) when there is one (`analyseForIndex`), else as strings to `sink`.
 */
function wordTermsTo(
  text: string,
  start: number,
  end: number,
  h: number,
  language: AnalyserLanguage,
  mode: AnalyseMode,
  sink: TokenSink,
  idSink: TermIdSink | undefined,
  idCache: IdWordCache | undefined,
  pos: number,
  from: number,
  to: number,
): void {
  if (idSink !== undefined) wordTermIds(text, start, end, h, idCache!, idSink, pos, from, to);
  else for (const t of wordTerms(text, start, end, h, language, mode)) sink(t, pos, from, to);
}

function computeWordTerms(word: string, language: AnalyserLanguage, mode: AnalyseMode): readonly string[] {
  if (word.length === 0) return [];
  if (word.length > MAX_TERM_LENGTH) return [word.slice(0, MAX_TERM_LENGTH)];
  if (DIGIT_RE.test(word)) return [word];
  const out: string[] = [];
  const add = (t: string) => {
    if (t.length > 0 && !out.includes(t)) out.push(t);
  };
  const german = language !== 'eng';
  const { stem, decompound } = options;
  if (german) add(stem ? stemGerman(word) : word);
  if (language !== 'deu') add(stem ? stemEnglish(word.replace(/'/g, "'")) : word);
  if (german && mode === 'index') {
    // A possessive 's written with an apostrophe ("Müller's Backstube", "Johnson’s Konto"): the English
    // stemmer drops it, the German one keeps the word whole, so also the word without it.
    const bare = POSSESSIVE_RE.exec(word)?.[1];
    if (bare !== undefined) add(stem ? stemGerman(bare) : bare);
  }
  if (german && mode === 'index' && decompound) {
    const parts = splitCompound(word);
    // Marked as parts (decompound.ts partTerm): a query ranks the word itself above compounds holding it.
    if (parts) for (const sub of compoundSubwords(word, parts)) add(partTerm(stem ? stemGerman(sub) : sub));
  }
  return out;
}

/**
 * The terms of a code ("re-2024-0042", "3,14", "w-2"): the whole code, plus, when indexing, its pieces and —
 * for a code with letters — its pieces joined, as users type it ("w2", "re20240042"; not numbers or dates).
 */
function codeTerms(raw: string, mode: AnalyseMode): string[] {
  const whole = normaliseWord(raw).slice(0, MAX_TERM_LENGTH);
  const out = [whole];
  if (mode === 'index') {
    const pieces = whole.split(SPLIT_RE);
    for (const piece of pieces) if (piece.length > 0 && !out.includes(piece)) out.push(piece);
    const joined = pieces.join('');
    if (pieces.length > 1 && LETTER_RE.test(joined) && !out.includes(joined)) out.push(joined);
  }
  return out;
}

interface IbanSpan {
  start: number;
  end: number;
  joined: string;
}

function findIbans(text: string): IbanSpan[] | undefined {
  if (!IBAN_HINT_RE.test(text)) return undefined;
  let spans: IbanSpan[] | undefined;
  IBAN_RE.lastIndex = 0;
  for (let m = IBAN_RE.exec(text); m !== null; m = IBAN_RE.exec(text)) {
    const joined = m[0].replace(/ /g, '');
    if (joined.length < 15 || joined.length > 34 || !ibanChecksumOk(joined)) continue;
    spans ??= [];
    spans.push({ start: m.index, end: m.index + m[0].length, joined: joined.toLowerCase() });
  }
  return spans;
}

/** ISO 13616 mod-97 check, so that ordinary text shaped like an IBAN is not taken for one. */
export function ibanChecksumOk(iban: string): boolean {
  const s = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c <= 57 ? c - 48 : c - 55;
    rem = v >= 10 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97;
  }
  return rem === 1;
}

/**
 * Analyse `text`, calling `sink` for every term. Positions start at `firstPosition`; returns the next free
 * position. Extra forms of a word (second stem, compound parts, code pieces) share the word's position.
 */
export function analyse(
  text: string,
  language: AnalyserLanguage,
  sink: TokenSink,
  mode: AnalyseMode = 'index',
  firstPosition = 0,
): number {
  return scan(text, language, sink, undefined, mode, firstPosition);
}

/**
 * `analyse` in index mode for the segment builder: the terms of words (cached) go to `idSink` by thread-wide
 * id, those of numbers, codes and IBANs to `sink` as strings; the same terms at the same positions in the
 * same order as `analyse`. Ids hold while `indexTermEpoch()` is unchanged.
 */
export function analyseForIndex(
  text: string,
  language: AnalyserLanguage,
  sink: TokenSink,
  idSink: TermIdSink,
  firstPosition: number,
): number {
  return scan(text, language, sink, idSink, 'index', firstPosition);
}

function scan(
  text: string,
  language: AnalyserLanguage,
  sink: TokenSink,
  idSink: TermIdSink | undefined,
  mode: AnalyseMode,
  firstPosition: number,
): number {
  let pos = firstPosition;
  // Looked up once: a keyed load by a language that varies is megamorphic, ~1 % of an index build per word.
  const idCache = idSink === undefined ? undefined : ID_CACHES[language];
  const ibans = findIbans(text);
  let ibanIdx = 0;
  let skipUntil = -1;
  const n = text.length;
  let i = 0;
  while (i < n) {
    // Hand-written scanner with the semantics of TOKEN_RE: the regex engine's match objects cost more than
    // the analysis itself at index-build rates.
    let c = text.charCodeAt(i);
    let w = wordCharWidth(text, i, c);
    if (w === 0) {
      i++;
      continue;
    }
    const start = i;
    let plain = c < 128;
    let digit = c < 58;
    // Whether the word may need the checks below (a joiner; a script written without spaces, all at
    // U+0E00 and above): most words with umlauts need neither, nor their substring and two regex tests.
    let special = c >= 0x0e00;
    // hashRange(text, start, end) as the token is scanned (the word caches' key), not in a second pass.
    let h = Math.imul(FNV_BASIS ^ c, FNV_PRIME);
    if (w === 2) h = Math.imul(h ^ text.charCodeAt(i + 1), FNV_PRIME);
    i += w;
    for (;;) {
      if (i >= n) break;
      c = text.charCodeAt(i);
      w = wordCharWidth(text, i, c);
      if (w > 0) {
        if (c >= 128) {
          plain = false;
          if (c >= 0x0e00) special = true;
        } else if (c < 58) digit = true;
        h = Math.imul(h ^ c, FNV_PRIME);
        if (w === 2) h = Math.imul(h ^ text.charCodeAt(i + 1), FNV_PRIME);
        i += w;
        continue;
      }
      if (isJoiner(c) && i + 1 < n && wordCharWidth(text, i + 1, text.charCodeAt(i + 1)) > 0) {
        plain = false;
        special = true;
        h = Math.imul(h ^ c, FNV_PRIME);
        i++;
        continue;
      }
      break;
    }
    const end = i;
    if (start < skipUntil) continue;
    if (ibans !== undefined) {
      while (ibanIdx < ibans.length && (ibans[ibanIdx]?.start ?? Number.POSITIVE_INFINITY) < start) ibanIdx++;
      const iban = ibans[ibanIdx];
      if (iban !== undefined && iban.start === start) {
        sink(iban.joined, pos, iban.start, iban.end);
        if (mode === 'query') {
          pos++;
          skipUntil = iban.end;
          continue;
        }
      }
    }
    if (plain && digit) {
      // An ASCII word with a digit is its own (lower-case) term: no stems to cache, and caching the mostly
      // distinct numbers of a text would only push words out.
      const raw = text.slice(start, end < start + MAX_TERM_LENGTH ? end : start + MAX_TERM_LENGTH);
      sink(UPPER_RE.test(raw) ? raw.toLowerCase() : raw, pos, start, end);
      pos++;
      continue;
    }
    if (plain || !special) {
      // ASCII letters and digits only, the common case; or a word of one piece in a spaced script.
      wordTermsTo(text, start, end, h, language, mode, sink, idSink, idCache, pos, start, end);
      pos++;
      continue;
    }
    const raw = text.slice(start, end);
    if (NO_SPACE_SCRIPT_RE.test(raw)) {
      for (const s of segmenter.segment(raw)) {
        if (!s.isWordLike) continue;
        const from = start + s.index;
        const to = from + s.segment.length;
        const seg = s.segment;
        wordTermsTo(seg, 0, seg.length, hashRange(seg, 0, seg.length), language, mode, sink, idSink, idCache, pos, from, to);
        pos++;
      }
      continue;
    }
    if (SEPARATOR_RE.test(raw)) {
      if (DIGIT_RE.test(raw)) {
        for (const t of codeTerms(raw, mode)) sink(t, pos, start, end);
        pos++;
        continue;
      }
      // Hyphenated or dotted words without digits: each piece is a word of its own.
      let off = 0;
      for (const piece of raw.split(SPLIT_RE)) {
        const at = raw.indexOf(piece, off);
        off = at + piece.length;
        if (piece.length === 0) continue;
        const ph = hashRange(piece, 0, piece.length);
        wordTermsTo(piece, 0, piece.length, ph, language, mode, sink, idSink, idCache, pos, start + at, start + off);
        pos++;
      }
      continue;
    }
    wordTermsTo(text, start, end, h, language, mode, sink, idSink, idCache, pos, start, end);
    pos++;
  }
  return pos;
}

/** One analysed term with its position and source offsets. */
export interface AnalysedToken {
  term: string;
  position: number;
  start: number;
  end: number;
}

/** Convenience form of `analyse` that collects tokens (queries, snippets, tests; not the indexing hot path). */
export function analyseToTokens(text: string, language: AnalyserLanguage, mode: AnalyseMode = 'index'): AnalysedToken[] {
  const out: AnalysedToken[] = [];
  analyse(text, language, (term, position, start, end) => out.push({ term, position, start, end }), mode);
  return out;
}

/**
 * A query word's alternatives grouped by position: each inner array is one word (any of its terms may
 * match). Used by the query compiler for terms and phrases.
 */
export function analyseQueryText(text: string, language: AnalyserLanguage): string[][] {
  const groups: string[][] = [];
  let first = -1;
  analyse(
    text,
    language,
    (term, position) => {
      if (first < 0) first = position;
      const idx = position - first;
      groups[idx] ??= [];
      const g = groups[idx];
      if (!g.includes(term)) g.push(term);
    },
    'query',
  );
  return groups.filter((g) => g.length > 0);
}
