/**
 * Builds one segment in memory from analysed documents and writes it in the caller's write transaction.
 * Segments are immutable once written; only their tombstone bitset changes until a merge replaces them.
 */

import { pack } from 'msgpackr';
import { RECORD_OVERHEAD, RecordSealer } from '../crypto/record-cipher.js';
import { type AnalysedDoc, analyseFields, fieldPosition, type IndexDoc, MAX_WORD_CHARS } from './analyse-document.js';
import type { AnalyserLanguage } from './analyser.js';
import { analyserOptions, indexTermEpoch, indexTermHash, indexTermNames, normaliseWord, TRANSLIT } from './analyser.js';
import type { DocRecord, IndexStore, Key } from './index-store.js';
import { sealedAad, toBuffer } from './index-store.js';
import {
  ByteWriter,
  compareTerms,
  encodeNorm,
  encodePostingsTo,
  FIELD_POSITION_SHIFT,
  NUM_FIELDS,
  type PostingsInput,
} from './postings-codec.js';
import { DictionaryWriter, type PutFn } from './segment-format.js';
import { FNV_BASIS, FNV_PRIME, grow, hashRange, ownSubstring, SliceTable } from './slice-table.js';
import { SpanWriter } from './spans.js';
import { addWords } from './word-list.js';

export type { IndexDoc };

/** Term postings ready for encoding: tfs field-major (tfs[f * df + i]). */
export interface TermPostingsInput {
  docs: ArrayLike<number>;
  tfs: ArrayLike<number>;
  positions: ArrayLike<number>;
}

/** Words worth completing: letters (and inner hyphens), no digits or codes. */
const WORD_RE = /^\p{L}+(?:-\p{L}+)*$/u;

/**
 * Whether w is a word worth completing (WORD_RE, with a loop for plain ASCII, most words, instead of the
 * Unicode regex), and if so how normaliseWord folds it: NOT_A_WORD, ASCII_LOWER (w itself), ASCII_UPPER
 * (w.toLowerCase()), UMLAUT (ASCII letters and ä ö ü ß, either case: lower case and transliteration,
 * UMLAUT_FOLD) or OTHER (normaliseWord). Spares the two regex tests normaliseWord makes on ASCII, and
 * German words the cache lookup of foldedWord.
 */
function completionWordKind(w: string, umlauts: boolean): number {
  let hyphen = true; // at the start, as after a hyphen: a letter must follow
  let upper = false;
  let umlaut = false;
  for (let i = 0; i < w.length; i++) {
    const c = w.charCodeAt(i);
    if (c >= 97 && c <= 122) hyphen = false;
    else if (c >= 65 && c <= 90) {
      hyphen = false;
      upper = true;
    } else if (c === 45 && !hyphen) hyphen = true;
    else if (umlauts && c < 256 && UMLAUT_FOLD[c]! > 0) {
      hyphen = false;
      umlaut = true;
    } else if (c >= 128) return WORD_RE.test(w) ? OTHER : NOT_A_WORD;
    else return NOT_A_WORD;
  }
  if (hyphen) return NOT_A_WORD;
  return umlaut ? UMLAUT : upper ? ASCII_UPPER : ASCII_LOWER;
}
const NOT_A_WORD = 0;
const ASCII_LOWER = 1;
const ASCII_UPPER = 2;
const OTHER = 3;
const UMLAUT = 4;

/**
 * normaliseWord of ä ö ü ß and Ä Ö Ü (NFKC leaves them be, lower case, then German transliteration,
 * analyser.ts TRANSLIT): two code units, as first × 256 + second (0: not one of them); every other character
 * outside ASCII goes through normaliseWord.
 */
const UMLAUT_FOLD = new Uint16Array(256);
for (const [c, folded] of Object.entries(TRANSLIT))
  if (folded.length === 2)
    for (const form of [c, c.toUpperCase()]) {
      // ẞ is outside Latin-1, and ß's upper case is "SS": both stay with normaliseWord.
      if (form.length === 1 && form.charCodeAt(0) < 256)
        UMLAUT_FOLD[form.charCodeAt(0)] = folded.charCodeAt(0) * 256 + folded.charCodeAt(1);
    }

/**
 * Tokens are appended to flat typed arrays (term id, field-based position; a document is a range of them)
 * rather than per-term arrays: no per-posting objects and little garbage at build rates. Finishing sorts
 * them by term with a stable counting sort, which keeps docs and positions in order. Documents come analysed
 * (analyse-document.ts): here their local term ids are mapped to the segment's.
 */
export class SegmentBuilder {
  /** The segment's terms (id = index), found by hash: docs' terms are looked up in place in their joined terms. */
  private readonly terms = new SliceTable();
  private readonly termNames = this.terms.keys;
  /**
   * The terms' code units end to end (term id's in [termAt[id], termAt[id + 1])), copied as each is added,
   * while its string is in cache: sorting and encoding then read this compact array (a few hundred KB a
   * segment) instead of ~30 000 strings spread over the heap, a cache miss each.
   */
  private termUnits = new Uint16Array(1 << 16);
  private termAt = new Int32Array(1025);
  private tokTerm = new Int32Array(1 << 16);
  private tokPos = new Int32Array(1 << 16);
  private numTokens = 0;
  /** docStart[d]: index of document d's first token (docStart[numDocs] = numTokens). */
  private docStart = new Int32Array(1025);
  /** Some term holds a UTF-16 surrogate, where code-unit order and compareTerms differ. */
  private astral = false;
  private map = new Int32Array(1024);
  readonly records: DocRecord[] = [];
  /** The documents' spans (spans.ts) end to end; spanEnd[d]: where document d's end. */
  private readonly spans = new ByteWriter(1 << 16);
  private spanEnd = new Int32Array(1024);
  private readonly spanWriter = new SpanWriter();
  private norms = new Uint8Array(64 * NUM_FIELDS);
  /** The word that first produced each term of this segment (by term id). */
  private readonly firstWords: string[] = [];
  /** Characters of analysed text taken so far (for throughput figures). */
  textChars = 0;
  /** Per term: the document (local + 1) and position it last had a token at (addDocument). */
  private lastDoc = new Int32Array(1024);
  private lastPos = new Int32Array(1024);
  /** This builder's stamp in BY_TERM_ID (fresh when the analyser's term ids start over) and their epoch. */
  private stamp = 0;
  private epoch = 0;

  get numDocs(): number {
    return this.records.length;
  }

  add(doc: AnalysedDoc): void {
    const nLocal = doc.termCount;
    if (this.map.length < nLocal) this.map = new Int32Array(nLocal * 2);
    const map = this.map;
    const text = doc.terms;
    const table = this.terms;
    const words = doc.words;
    let wordAt = 0; // start of word `wordIdx` in `words`
    let wordIdx = 0;
    let from = 0;
    let h = FNV_BASIS;
    for (let k = 0, i = 0; k < nLocal; i++) {
      const c = i < text.length ? text.charCodeAt(i) : 10;
      if (c !== 10) {
        h = Math.imul(h ^ c, FNV_PRIME);
        continue;
      }
      let id = table.find(text, from, i, h);
      if (id < 0) {
        id = this.addTerm(text.slice(from, i), h);
        while (wordIdx < k) {
          const nl = words.indexOf('\n', wordAt);
          wordAt = nl < 0 ? words.length : nl + 1;
          wordIdx++;
        }
        const end = words.indexOf('\n', wordAt);
        this.firstWords.push(words.slice(wordAt, end < 0 ? words.length : end));
      }
      map[k++] = id;
      from = i + 1;
      h = FNV_BASIS;
    }
    const t = doc.tokens;
    let n = this.numTokens;
    const need = n + (t.length >>> 1);
    if (need > this.tokTerm.length) {
      let size = this.tokTerm.length * 2;
      while (size < need) size *= 2;
      this.tokTerm = grow(this.tokTerm, size);
      this.tokPos = grow(this.tokPos, size);
    }
    const tokTerm = this.tokTerm;
    const tokPos = this.tokPos;
    for (let k = 0; k < t.length; k += 2) {
      tokTerm[n] = map[t[k]!]!;
      tokPos[n] = t[k + 1]!;
      n++;
    }
    this.numTokens = n;
    this.endDocument(doc.docId, doc.createdMs, doc.mediaType, doc.language, doc.lengths, doc.textChars, doc.spans);
  }

  /**
   * Analyses a document straight into this builder: the same tokens, term ids and first words as
   * add(analyseDocument(doc)), without the document's own term table and strings in between.
   */
  addDocument(doc: IndexDoc, defaultLanguage: AnalyserLanguage): void {
    const language = doc.language ?? defaultLanguage;
    const stamp = this.records.length + 1;
    const table = this.terms;
    let field = 0;
    let text = '';
    let n = this.numTokens;
    let tokTerm = this.tokTerm;
    let tokPos = this.tokPos;
    let lastDoc = this.lastDoc;
    let lastPos = this.lastPos;
    const epoch = indexTermEpoch();
    if (epoch !== this.epoch) {
      // New builder, or the analyser's ids started over: none of BY_TERM_ID's entries is this builder's.
      this.epoch = epoch;
      this.stamp = ++lastStamp;
    }
    const builderStamp = this.stamp;
    const names = indexTermNames();
    const spans = this.spanWriter;
    spans.begin();
    /** The segment's id of a term met the first time in this document (hash lookup, adding it if new). */
    const idOf = (term: string, h: number, start: number, end: number): number => {
      let id = table.find(term, 0, term.length, h);
      if (id < 0) {
        id = this.addTerm(term, h);
        this.firstWords.push(end - start <= MAX_WORD_CHARS ? text.slice(start, end) : '');
      }
      if (id >= lastDoc.length) {
        lastDoc = this.lastDoc = grow(lastDoc, Math.max(id + 1, lastDoc.length * 2));
        lastPos = this.lastPos = grow(lastPos, lastDoc.length);
      }
      return id;
    };
    const push = (id: number, position: number): void => {
      const pos = fieldPosition(field, position);
      // The same term twice at one position (e.g. a code piece equal to a stem) counts once.
      if (lastDoc[id] === stamp && lastPos[id] === pos) return;
      lastDoc[id] = stamp;
      lastPos[id] = pos;
      if (n === tokTerm.length) {
        tokTerm = this.tokTerm = grow(tokTerm, n * 2);
        tokPos = this.tokPos = grow(tokPos, n * 2);
      }
      tokTerm[n] = id;
      tokPos[n++] = pos;
    };
    // Words' terms by the analyser's thread-wide id: two typed-array loads find the segment's id.
    const idSink = (termId: number, position: number, start: number, end: number): void => {
      if (field === 0) spans.token(position, start, end);
      let id: number;
      const k = 2 * termId;
      if (k < byTerm.length && byTerm[k] === builderStamp) id = byTerm[k + 1]!;
      else {
        id = idOf(names[termId]!, indexTermHash(termId), start, end);
        if (k >= byTerm.length) byTerm = grow(byTerm, Math.max(k + 2, byTerm.length * 2));
        byTerm[k] = builderStamp;
        byTerm[k + 1] = id;
      }
      push(id, position);
    };
    // Numbers, codes and IBANs as strings, fresh ones: found by their hash in the table, as a Map would,
    // without its copy of every term.
    const sink = (term: string, position: number, start: number, end: number): void => {
      if (field === 0) spans.token(position, start, end);
      push(idOf(term, hashRange(term, 0, term.length), start, end), position);
    };
    const { lengths, textChars } = analyseFields(
      doc,
      language,
      sink,
      (f, t, position) => {
        field = f;
        text = t;
        if (f === 0) spans.page(position, t);
      },
      idSink,
    );
    this.numTokens = n;
    this.endDocument(doc.docId, doc.createdMs ?? 0, doc.mediaType ?? '', language, lengths, textChars, spans.finish(lengths[0]!));
  }

  /** Adds a term new to this segment (hash h) to its table and termUnits; returns its id. */
  private addTerm(term: string, h: number): number {
    const id = this.terms.add(term, h);
    if (!this.astral && SURROGATE_RE.test(term)) this.astral = true;
    if (id + 2 > this.termAt.length) this.termAt = grow(this.termAt, this.termAt.length * 2);
    const from = this.termAt[id]!;
    const end = from + term.length;
    if (end > this.termUnits.length) {
      const next = new Uint16Array(Math.max(end, this.termUnits.length * 2));
      next.set(this.termUnits.subarray(0, from));
      this.termUnits = next;
    }
    const units = this.termUnits;
    for (let i = 0; i < term.length; i++) units[from + i] = term.charCodeAt(i);
    this.termAt[id + 1] = end;
    return id;
  }

  private endDocument(
    id: string,
    createdMs: number,
    mediaType: string,
    language: AnalyserLanguage,
    lengths: number[],
    textChars: number,
    spans: Uint8Array,
  ): void {
    const local = this.records.length;
    if (local + 2 > this.docStart.length) this.docStart = grow(this.docStart, this.docStart.length * 2);
    if (local + 1 > this.spanEnd.length) this.spanEnd = grow(this.spanEnd, this.spanEnd.length * 2);
    this.spans.bytes(spans);
    this.spanEnd[local] = this.spans.len;
    this.docStart[local + 1] = this.numTokens;
    this.textChars += textChars;
    if (this.norms.length < (local + 1) * NUM_FIELDS) {
      const next = new Uint8Array(this.norms.length * 2);
      next.set(this.norms);
      this.norms = next;
    }
    for (let f = 0; f < NUM_FIELDS; f++) this.norms[local * NUM_FIELDS + f] = encodeNorm(lengths[f]!);
    this.records.push({ id, createdMs, mediaType, language, lengths });
  }

  /**
   * The words behind this segment's terms, keyed by their folded form (what a typed prefix is compared
   * with): one per term, the first that produced it. Words with letters only, 2 to 40 characters.
   */
  words(): Map<string, string> {
    // Read from wordPairs, the one place that picks and folds them (the writer keeps each first spelling too).
    const out = new Map<string, string>();
    const parts = this.wordPairs().words.split('\n');
    for (let i = 0; i + 1 < parts.length; i += 2) if (!out.has(parts[i]!)) out.set(parts[i]!, parts[i + 1]!);
    return out;
  }

  /**
   * Every term's first word that Suggest may complete (`completionWordKind`) and its folded form, as
   * BuiltSegment.words: the pairs in term order, not deduplicated by folded form here (the writer keeps the
   * first of each, word-list.ts addWords): the pool is the busier side of a build. With each folded form's
   * hashRange (BuiltSegment.wordHashes), computed here while its units are at hand.
   */
  wordPairs(): Pick<BuiltSegment, 'words' | 'wordHashes'> {
    // Code units into one scratch buffer, one string at the end: pushing ~60k strings and joining them
    // cost more than the rest of this (~10 ms a segment of 1000 documents).
    let out = pairUnits;
    let hashes = pairHashes;
    let count = 0;
    let len = 0;
    let lastFrom = 0;
    let lastLen = -1;
    const words = this.firstWords;
    // Without folding, normaliseWord keeps umlauts: every non-ASCII word through it then.
    const umlauts = analyserOptions().fold;
    // An index loop: this runs a few times per pool task, too rarely to be optimised before it ends, and
    // unoptimised for…of allocated an iterator result per word.
    for (let k = 0; k < words.length; k++) {
      const w = words[k]!;
      if (w.length < 2) continue;
      const kind = completionWordKind(w, umlauts);
      if (kind === NOT_A_WORD) continue;
      const folded = kind === OTHER ? foldedWord(w) : w;
      // An umlaut or ß folds to two code units.
      const need = len + 2 * folded.length + w.length + 2;
      if (need > out.length) {
        const next = new Uint16Array(Math.max(need, out.length * 2));
        next.set(out.subarray(0, len));
        out = pairUnits = next;
      }
      const from = len;
      if (kind === ASCII_UPPER || kind === UMLAUT)
        for (let i = 0; i < folded.length; i++) {
          const c = folded.charCodeAt(i);
          if (c < 128) out[len++] = c >= 65 && c <= 90 ? c + 32 : c;
          else {
            const two = UMLAUT_FOLD[c]!;
            out[len++] = two >>> 8;
            out[len++] = two & 255;
          }
        }
      else for (let i = 0; i < folded.length; i++) out[len++] = folded.charCodeAt(i);
      const n = len - from;
      // The terms of one word (both stems, compound parts) come in a row with the same word.
      if (n === lastLen) {
        let i = 0;
        while (i < n && out[from + i] === out[lastFrom + i]) i++;
        if (i === n) {
          len = from;
          continue;
        }
      }
      lastFrom = from;
      lastLen = n;
      let h = FNV_BASIS;
      for (let i = from; i < len; i++) h = Math.imul(h ^ out[i]!, FNV_PRIME);
      if (count === hashes.length) hashes = pairHashes = grow(hashes, 2 * count);
      hashes[count++] = h;
      out[len++] = 10;
      for (let i = 0; i < w.length; i++) out[len++] = w.charCodeAt(i);
      out[len++] = 10;
    }
    const pairs = len === 0 ? '' : Buffer.from(out.buffer, out.byteOffset, 2 * (len - 1)).toString('utf16le');
    return { words: pairs, wordHashes: hashes.slice(0, count) };
  }

  normsBytes(): Uint8Array {
    return this.norms.slice(0, this.numDocs * NUM_FIELDS);
  }

  /** The documents' spans end to end and where each document's end (empty for a document without pages). */
  spansBytes(): { spans: Uint8Array; spanEnd: Int32Array } {
    return { spans: this.spans.buf.slice(0, this.spans.len), spanEnd: this.spanEnd.slice(0, this.numDocs) };
  }

  /** Term ids in dictionary order (compareTerms). */
  private termOrder(): Int32Array {
    const names = this.termNames;
    const ids = new Int32Array(names.length);
    if (this.astral) {
      const order = Array.from({ length: names.length }, (_, i) => i).sort((a, b) => compareTerms(names[a]!, names[b]!));
      ids.set(order);
      return ids;
    }
    // Without surrogates compareTerms is code-unit order. Terms are first put in buckets by their first two
    // code units (a counting sort, in order), then each bucket's ids are sorted in place by their terms'
    // code units (sortIds): the built-in sort needed the terms copied out and each id found again by hash.
    const n = names.length;
    const units = this.termUnits;
    const at = this.termAt;
    const keys = new Int32Array(n);
    const count = new Int32Array(BUCKETS + 1);
    for (let i = 0; i < n; i++) {
      const k = bucketOf(units, at[i]!, at[i + 1]!);
      keys[i] = k;
      count[k + 1]!++;
    }
    for (let b = 0; b < BUCKETS; b++) count[b + 1]! += count[b]!;
    const fill = count.slice(0, BUCKETS);
    for (let i = 0; i < n; i++) ids[fill[keys[i]!]!++] = i;
    for (let b = 0; b < BUCKETS; b++) {
      const from = count[b]!;
      const to = count[b + 1]!;
      if (to - from >= 2) sortIds(ids, units, at, from, to, 0);
    }
    return ids;
  }

  /**
   * Terms in dictionary order (compareTerms) with field-major frequencies, each term's arrays its own copy:
   * for tests and inspection (finishSegment uses eachSortedTerm).
   */
  *sortedTerms(): Generator<[string, TermPostingsInput]> {
    const all: [string, TermPostingsInput][] = [];
    this.eachSortedTerm((term, docs, df, tfs, positions, from, to) => {
      all.push([term, { docs: docs.slice(0, df), tfs: tfs.slice(0, df * NUM_FIELDS), positions: positions.slice(from, to) }]);
    });
    yield* all;
  }

  /**
   * Calls f for every term in dictionary order (compareTerms): its docs are docs[0, df), its field-major
   * frequencies tfs[0, df × NUM_FIELDS) (tfs[f × df + i]), its positions positions[from, to), its code
   * units units[unitsFrom, unitsTo). The buffers are reused for the next term; passed whole with bounds,
   * not as views: ~30k terms per segment.
   */
  eachSortedTerm(
    f: (
      term: string,
      docs: Int32Array,
      df: number,
      tfs: Uint32Array,
      positions: Int32Array,
      from: number,
      to: number,
      units: Uint16Array,
      unitsFrom: number,
      unitsTo: number,
    ) => void,
  ): void {
    const nTerms = this.termNames.length;
    const nTok = this.numTokens;
    const nDocs = this.numDocs;
    const tokTerm = this.tokTerm;
    const tokPos = this.tokPos;
    const docStart = this.docStart;
    const start = new Int32Array(nTerms + 1);
    for (let i = 0; i < nTok; i++) start[tokTerm[i]! + 1]!++;
    let maxTok = 0;
    for (let t = 0; t < nTerms; t++) {
      const c = start[t + 1]!;
      if (c > maxTok) maxTok = c;
      start[t + 1] = start[t]! + c;
    }
    // Stable scatter by term: each term's docs and positions end up contiguous and in order.
    const fill = start.slice(0, nTerms);
    const sDoc = new Int32Array(nTok);
    const sPos = new Int32Array(nTok);
    for (let d = 0; d < nDocs; d++) {
      const to = docStart[d + 1]!;
      for (let i = docStart[d]!; i < to; i++) {
        const j = fill[tokTerm[i]!]!++;
        sDoc[j] = d;
        sPos[j] = tokPos[i]!;
      }
    }
    const names = this.termNames;
    const units = this.termUnits;
    const at = this.termAt;
    const ids = this.termOrder();
    const docsBuf = new Int32Array(maxTok);
    const tfsBuf = new Uint32Array(maxTok * NUM_FIELDS);
    for (let x = 0; x < nTerms; x++) {
      const id = ids[x]!;
      const from = start[id]!;
      const to = start[id + 1]!;
      let df = 0;
      let prev = -1;
      for (let k = from; k < to; k++) {
        const d = sDoc[k]!;
        if (d !== prev) {
          docsBuf[df++] = d;
          prev = d;
        }
      }
      for (let k = df * NUM_FIELDS - 1; k >= 0; k--) tfsBuf[k] = 0;
      let i = -1;
      prev = -1;
      for (let k = from; k < to; k++) {
        const d = sDoc[k]!;
        if (d !== prev) {
          i++;
          prev = d;
        }
        tfsBuf[(sPos[k]! >>> FIELD_SHIFT_BITS) * df + i]!++;
      }
      f(names[id]!, docsBuf, df, tfsBuf, sPos, from, to, units, at[id]!, at[id + 1]!);
    }
  }
}

const SURROGATE_RE = /[\uD800-\uDFFF]/;

/** log2(FIELD_POSITION_SHIFT): a field-based position's field is position >>> FIELD_SHIFT_BITS. */
const FIELD_SHIFT_BITS = Math.log2(FIELD_POSITION_SHIFT);

/**
 * normaliseWord of Suggest's non-ASCII words, remembered (thread-wide; three Unicode normalisations a word,
 * and a segment has the same words as the last): dropped when the analyser's options may have changed (its
 * term id epoch moved) and when large.
 */
let folded = new SliceTable(1 << 12);
let foldedValues: string[] = [];
let foldedEpoch = 0;

/**
 * normaliseWord(w), remembered (above), found by the word's code units: as a Map key each word, a fresh
 * substring of a document, was hashed anew (~0.5 µs a word, ~5 % of a pool thread's segment build).
 */
function foldedWord(w: string): string {
  const epoch = indexTermEpoch();
  if (epoch !== foldedEpoch || folded.size >= 100_000) {
    folded = new SliceTable(1 << 12);
    foldedValues = [];
    foldedEpoch = epoch;
  }
  const h = hashRange(w, 0, w.length);
  const e = folded.find(w, 0, w.length, h);
  if (e >= 0) return foldedValues[e]!;
  const f = normaliseWord(w);
  // A copy as the key: a long word is a slice that would keep its whole document alive in the cache.
  folded.add(ownSubstring(w, 0, w.length), h);
  foldedValues.push(f);
  return f;
}

/** wordPairs' scratch buffers (thread-wide, grown as needed). */
let pairUnits = new Uint16Array(1 << 16);
let pairHashes = new Int32Array(1 << 12);

/**
 * By the analyser's term id (analyseForIndex), thread-wide, side by side: the stamp of the builder that last
 * met the term and the term's id in that builder's segment. A builder's first sighting of a term (a stamp
 * not its own) finds it by hash; every later one is one load of this pair.
 */
let byTerm = new Int32Array(1 << 17);
let lastStamp = 0;

/** Ranges up to this size are insertion-sorted (sortIds). */
const SMALL_SORT = 16;

/** Code unit d of term id (units[at[id], at[id + 1])), -1 past its end (a shorter term sorts first). */
function unitAt(units: Uint16Array, at: Int32Array, id: number, d: number): number {
  const p = at[id]! + d;
  return p < at[id + 1]! ? units[p]! : -1;
}

/** Whether term a sorts after term b in code-unit order, both known equal in their first d code units. */
function after(units: Uint16Array, at: Int32Array, a: number, b: number, d: number): boolean {
  const aFrom = at[a]!;
  const aLen = at[a + 1]! - aFrom;
  const bFrom = at[b]!;
  const bLen = at[b + 1]! - bFrom;
  const n = aLen < bLen ? aLen : bLen;
  for (let i = d; i < n; i++) {
    const x = units[aFrom + i]!;
    const y = units[bFrom + i]!;
    if (x !== y) return x > y;
  }
  return aLen > bLen;
}

/**
 * Sorts ids[lo, hi) by their terms (units, at: SegmentBuilder.termUnits) in code-unit order, all of whose
 * first d code units are equal: a multikey (three-way radix) quicksort, which reads each code unit about
 * once, with an insertion sort for short ranges.
 */
function sortIds(ids: Int32Array, units: Uint16Array, at: Int32Array, lo: number, hi: number, d: number): void {
  while (hi - lo > SMALL_SORT) {
    const pivot = unitAt(units, at, ids[(lo + hi) >>> 1]!, d);
    let lt = lo;
    let gt = hi - 1;
    let i = lo;
    while (i <= gt) {
      const id = ids[i]!;
      const c = unitAt(units, at, id, d);
      if (c < pivot) {
        ids[i++] = ids[lt]!;
        ids[lt++] = id;
      } else if (c > pivot) {
        ids[i] = ids[gt]!;
        ids[gt--] = id;
      } else i++;
    }
    sortIds(ids, units, at, lo, lt, d);
    sortIds(ids, units, at, gt + 1, hi, d);
    // Terms are distinct: at most one ends at d, and it is the whole middle range.
    if (pivot < 0) return;
    lo = lt;
    hi = gt + 1;
    d++;
  }
  for (let j = lo + 1; j < hi; j++) {
    const id = ids[j]!;
    let k = j;
    while (k > lo && after(units, at, ids[k - 1]!, id, d)) {
      ids[k] = ids[k - 1]!;
      k--;
    }
    ids[k] = id;
  }
}

/** termOrder's buckets: first code unit below 128 × (no second, second below 127, the rest), then the rest. */
const BUCKETS = 128 * 129 + 1;

/** The bucket of the term units[from, to), monotone in code-unit order: a term in an earlier bucket sorts before one in a later. */
function bucketOf(units: Uint16Array, from: number, to: number): number {
  if (to === from) return 0;
  const c0 = units[from]!;
  if (c0 >= 128) return BUCKETS - 1;
  if (to - from === 1) return c0 * 129;
  const c1 = units[from + 1]!;
  return c0 * 129 + (c1 < 127 ? c1 + 1 : 128);
}
/** Encodes terms (in compareTerms order) into a segment's dictionary blocks. */
export class SegmentTermEncoder {
  private readonly w = { head: new ByteWriter(4096), body: new ByteWriter(16384), pos: new ByteWriter(16384) };
  readonly dict: DictionaryWriter;
  private readonly input: PostingsInput;

  constructor(tenantId: string, segmentId: number, put: PutFn, norms: Uint8Array) {
    this.dict = new DictionaryWriter(tenantId, segmentId, put);
    // One input object for every term (no per-term spread).
    this.input = {
      docs: new Int32Array(0),
      tfs: new Uint32Array(0),
      positions: new Int32Array(0),
      norms,
      count: 0,
      positionsFrom: 0,
    };
  }

  add(term: string, input: TermPostingsInput): void {
    this.addRange(term, input.docs, input.docs.length, input.tfs, input.positions, 0);
  }

  /**
   * add() with the docs docs[0, df) and the positions from positions[positionsFrom] (SegmentBuilder.eachSortedTerm);
   * with `units`, the term's code units are read from units[unitsFrom, unitsTo) (DictionaryWriter.addParts).
   */
  addRange(
    term: string,
    docs: ArrayLike<number>,
    df: number,
    tfs: ArrayLike<number>,
    positions: ArrayLike<number>,
    positionsFrom: number,
    units?: Uint16Array,
    unitsFrom = 0,
    unitsTo = 0,
  ): void {
    const w = this.w;
    const full = this.input;
    full.docs = docs;
    full.count = df;
    full.tfs = tfs;
    full.positions = positions;
    full.positionsFrom = positionsFrom;
    encodePostingsTo(full, w);
    this.dict.addParts(term, w.head.buf, w.head.len, w.body.buf, w.body.len, w.pos.buf, w.pos.len, units, unitsFrom, unitsTo);
  }

  finish(): void {
    this.dict.finish();
  }
}

/**
 * A segment built apart from the store, in a pool worker or in this thread: every value of its dictionary
 * (segment-format.ts) laid end to end in one buffer, as plaintext (the writer's thread seals them) or, after
 * sealBuiltSegment, sealed with its doc records after them, so the writer's thread only writes them. Moves
 * between threads as a few transferred buffers and two strings.
 */
export interface BuiltSegment {
  records: DocRecord[];
  norms: Uint8Array;
  /** Per dictionary value: its sub-database (PUT_DBS index). */
  putDb: Uint8Array;
  /** Per value: its key after [tenant, segment], 3 numbers, -1 where the key is shorter. */
  putKey: Int32Array;
  /** Per value: where it ends in `bytes` (it starts where the previous one ends). */
  putEnd: Int32Array;
  bytes: Uint8Array;
  postingsBytes: number;
  positionsBytes: number;
  /**
   * Suggest's words (SegmentBuilder.wordPairs), folded form and word as written alternating, joined by '\n';
   * a folded form may repeat, its first word is the one that counts.
   */
  words: string;
  /** Per pair of `words`, the hashRange of its folded form (word-list.ts addWords looks them up by it). */
  wordHashes: Int32Array;
  /**
   * Per document its spans (spans.ts), end to end: document d's end at spanEnd[d] (none when it starts
   * there too). Sealed by sealBuiltSegment, each bound to its tenant and document id.
   */
  spans: Uint8Array;
  spanEnd: Int32Array;
  textChars: number;
  /** Set by sealBuiltSegment: `bytes` holds sealed values bound to this tenant and segment id. */
  sealedFor?: { tenantId: string; segmentId: number };
  /** With sealedFor: where each sealed doc record ends in `bytes` (they follow the dictionary's values). */
  docEnd?: Int32Array;
}

/**
 * What a segment is sealed for where it is built: its tenant, the segment id reserved for it
 * (reserveSegmentId) and the tenant's index-block record key (RecordCipher.recordKey). The key bytes reach
 * a pool thread of this process by postMessage, as documents' plaintext already does; they are never
 * logged or stored, and whoever holds them zeroes them after the build.
 */
export interface SegmentSealing {
  tenantId: string;
  segmentId: number;
  key: Uint8Array;
}

/**
 * Builds a segment's values in memory (the work of a write that needs no store), sealed when given a
 * `sealing` (an implementation may leave them plaintext: the writer then seals them).
 */
export type SegmentBuild = (
  docs: readonly IndexDoc[],
  defaultLanguage: AnalyserLanguage,
  sealing?: SegmentSealing,
) => Promise<BuiltSegment>;

const PUT_DBS = ['dirs', 'terms', 'positions', 'large'] as const;

/** Sorts, encodes and lays out the segment of the documents added so far. */
export function finishSegment(builder: SegmentBuilder): BuiltSegment {
  const bytes = new ByteWriter(1 << 20);
  let putDb = new Uint8Array(1024);
  let putKey = new Int32Array(3 * 1024);
  let putEnd = new Int32Array(1024);
  let n = 0;
  const put: PutFn = (db, key, value) => {
    if (n === putDb.length) {
      const db2 = new Uint8Array(n * 2);
      db2.set(putDb);
      putDb = db2;
      putKey = grow(putKey, n * 6);
      putEnd = grow(putEnd, n * 2);
    }
    putDb[n] = PUT_DBS.indexOf(db);
    for (let k = 0; k < 3; k++) putKey[3 * n + k] = (key[2 + k] as number | undefined) ?? -1;
    bytes.bytes(value);
    putEnd[n++] = bytes.len;
  };
  const norms = builder.normsBytes();
  const enc = new SegmentTermEncoder('', 0, put, norms);
  builder.eachSortedTerm((term, docs, df, tfs, positions, from, _to, units, unitsFrom, unitsTo) =>
    enc.addRange(term, docs, df, tfs, positions, from, units, unitsFrom, unitsTo),
  );
  enc.finish();
  return {
    records: builder.records,
    norms,
    putDb: putDb.slice(0, n),
    putKey: putKey.slice(0, 3 * n),
    putEnd: putEnd.slice(0, n),
    bytes: bytes.buf.slice(0, bytes.len),
    postingsBytes: enc.dict.postingsBytes,
    positionsBytes: enc.dict.positionsBytes,
    ...builder.wordPairs(),
    ...builder.spansBytes(),
    textChars: builder.textChars,
  };
}

/**
 * Text (body characters) of a batch that one pool task builds into a segment (search-adapters.ts
 * poolAnalyser; beyond, its analysis is spread over the threads), and the most adds joined into one segment
 * take (SearchIndex.addDocuments, which counts every field).
 */
export const SEGMENT_TASK_CHARS = 8 << 20;

/** Analyses documents and builds their segment, all in this thread. */
export function buildSegment(docs: readonly IndexDoc[], defaultLanguage: AnalyserLanguage): BuiltSegment {
  const builder = new SegmentBuilder();
  for (const d of docs) builder.addDocument(d, defaultLanguage);
  return finishSegment(builder);
}

/** The in-thread SegmentBuild (the default; also the fallback when the pool cannot take the work). */
export const buildInThread: SegmentBuild = async (docs, defaultLanguage, sealing) =>
  sealedIf(buildSegment(docs, defaultLanguage), sealing);

/** `s` sealed when there is a `sealing`. */
export function sealedIf(s: BuiltSegment, sealing: SegmentSealing | undefined): BuiltSegment {
  return sealing === undefined ? s : sealBuiltSegment(s, sealing);
}

/**
 * Seals a built segment's dictionary values and packs and seals its doc records, each bound to its key as
 * IndexStore.seal binds it, where the segment was built: the writer's thread then only writes the bytes.
 */
export function sealBuiltSegment(s: BuiltSegment, sealing: SegmentSealing): BuiltSegment {
  const { tenantId, segmentId } = sealing;
  const sealer = new RecordSealer(sealing.key);
  const docs = s.records.map((r) => pack(r));
  let size = s.bytes.byteLength + s.putDb.length * RECORD_OVERHEAD;
  for (const d of docs) size += d.byteLength + RECORD_OVERHEAD;
  // Its own ArrayBuffer (not the shared pool of small Buffers), to be transferred.
  const out = Buffer.allocUnsafeSlow(size);
  const putEnd = new Int32Array(s.putDb.length);
  let from = 0;
  let at = 0;
  for (let i = 0; i < s.putDb.length; i++) {
    const db = PUT_DBS[s.putDb[i]!]!;
    const end = s.putEnd[i]!;
    at = sealer.sealInto(out, at, s.bytes.subarray(from, end), sealedAad(db, valueKey(s, i, tenantId, segmentId)));
    putEnd[i] = at;
    from = end;
  }
  const docEnd = new Int32Array(docs.length);
  for (let i = 0; i < docs.length; i++) {
    at = sealer.sealInto(out, at, docs[i]!, sealedAad('docs', [tenantId, segmentId, i]));
    docEnd[i] = at;
  }
  const spans = Buffer.allocUnsafeSlow(s.spans.byteLength + s.records.length * RECORD_OVERHEAD);
  const spanEnd = new Int32Array(s.records.length);
  let spanAt = 0;
  for (const [i, plain] of docSpans(s)) {
    if (plain.length > 0) spanAt = sealer.sealInto(spans, spanAt, plain, sealedAad('spans', [tenantId, s.records[i]!.id]));
    spanEnd[i] = spanAt;
  }
  return { ...s, putEnd, bytes: out, sealedFor: { tenantId, segmentId }, docEnd, spans, spanEnd };
}

/** The store key of a built segment's `i`th dictionary value. */
function valueKey(s: BuiltSegment, i: number, tenantId: string, segmentId: number): Key {
  const key: Key = [tenantId, segmentId];
  for (let k = 0; k < 3; k++) {
    const v = s.putKey[3 * i + k]!;
    if (v < 0) break;
    key.push(v);
  }
  return key;
}

/** The buffers of a BuiltSegment, to transfer rather than copy. */
export function builtBuffers(s: BuiltSegment): ArrayBufferLike[] {
  const buffers = [
    s.norms.buffer,
    s.putDb.buffer,
    s.putKey.buffer,
    s.putEnd.buffer,
    s.bytes.buffer,
    s.spans.buffer,
    s.spanEnd.buffer,
    s.wordHashes.buffer,
  ];
  if (s.docEnd) buffers.push(s.docEnd.buffer);
  return buffers;
}

/**
 * Seals and writes a built segment's dictionary, postings, positions, norms, doc records and new words.
 * Must run inside a write transaction; the caller updates ids, stats and the segment list in the same one.
 */
export function writeBuiltSegment(
  store: IndexStore,
  tenantId: string,
  segmentId: number,
  s: BuiltSegment,
): { postingsBytes: number; positionsBytes: number; newWords: [string, string][] } {
  const newWords = addWords(store, tenantId, s.words, s.wordHashes);
  if (s.sealedFor !== undefined) writeSealed(store, tenantId, segmentId, s);
  else {
    let from = 0;
    for (let i = 0; i < s.putDb.length; i++) {
      const end = s.putEnd[i]!;
      store.putSealed(PUT_DBS[s.putDb[i]!]!, valueKey(s, i, tenantId, segmentId), s.bytes.subarray(from, end));
      from = end;
    }
    for (let i = 0; i < s.records.length; i++) store.putDoc(tenantId, segmentId, i, s.records[i]!);
    for (const [i, plain] of docSpans(s)) if (plain.length > 0) store.putSealed('spans', [tenantId, s.records[i]!.id], plain);
  }
  store.norms.put([tenantId, segmentId], toBuffer(s.norms));
  for (let i = 0; i < s.records.length; i++) store.ids.put([tenantId, s.records[i]!.id], [segmentId, i]);
  return { postingsBytes: s.postingsBytes, positionsBytes: s.positionsBytes, newWords };
}

/** Writes the values sealBuiltSegment sealed: for this tenant and segment id only (their AAD says so). */
function writeSealed(store: IndexStore, tenantId: string, segmentId: number, s: BuiltSegment): void {
  const { sealedFor, docEnd } = s;
  if (sealedFor?.tenantId !== tenantId || sealedFor.segmentId !== segmentId || docEnd?.length !== s.records.length)
    throw new Error(
      `a segment sealed for ${sealedFor?.tenantId}/${sealedFor?.segmentId} cannot be written as ${tenantId}/${segmentId}`,
    );
  const bytes = toBuffer(s.bytes);
  let from = 0;
  for (let i = 0; i < s.putDb.length; i++) {
    const end = s.putEnd[i]!;
    store[PUT_DBS[s.putDb[i]!]!].put(valueKey(s, i, tenantId, segmentId), bytes.subarray(from, end));
    from = end;
  }
  for (let i = 0; i < docEnd.length; i++) {
    const end = docEnd[i]!;
    store.docs.put([tenantId, segmentId, i], bytes.subarray(from, end));
    from = end;
  }
  for (const [i, sealed] of docSpans(s)) if (sealed.length > 0) store.spans.put([tenantId, s.records[i]!.id], toBuffer(sealed));
}

/** Each document's spans in a built segment (plain or sealed, as `s` holds them; empty when it has none). */
function* docSpans(s: BuiltSegment): Generator<[number, Uint8Array]> {
  let from = 0;
  for (let i = 0; i < s.records.length; i++) {
    const end = s.spanEnd[i]!;
    yield [i, s.spans.subarray(from, end)];
    from = end;
  }
}
