import { randomFillSync } from 'node:crypto';

/**
 * The benchmarks' own input data, generated deterministically (no user documents): text-like bytes
 * (words, numbers, punctuation, line breaks — compresses about like prose) and incompressible bytes.
 */

const WORDS = (
  'der die das und ist nicht mit von für auf dem den ein eine Rechnung Vertrag Kunde Betrag Datum Seite ' +
  'Zahlung Versicherung Mietvertrag Steuer Bescheid Konto Überweisung Straße Müller Schäfer Größe Prüfung ' +
  'the of and to in is that for it as with was on be by this which invoice contract customer amount date ' +
  'page payment insurance agreement tax notice account transfer street report quarterly archive document ' +
  'search engine processing storage durable verified sealed chunk compression encryption authentication ' +
  'Januar Februar März April Mai Juni Juli August September Oktober November Dezember Berlin Köln München'
).split(' ');
const WORD_BYTES = WORDS.map((w) => Buffer.from(w, 'utf8'));
const PUNCT = [Buffer.from(', '), Buffer.from('. '), Buffer.from('.\n'), Buffer.from(': '), Buffer.from(' ')];

/** xorshift32: fast, seedable, good enough to pick words. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return this.next() % n;
  }
}

/** `size` bytes of text-like data, different for every seed. */
export function textLike(size: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(size);
  const rng = new Rng(seed);
  let pos = 0;
  while (pos < size) {
    const r = rng.next();
    let piece: Buffer;
    if (r % 11 === 0) piece = Buffer.from(String(rng.below(100_000)));
    else piece = WORD_BYTES[r % WORD_BYTES.length] as Buffer;
    pos += piece.copy(out, pos);
    if (pos >= size) break;
    const p = (rng.next() & 7) < 6 ? (PUNCT[4] as Buffer) : (PUNCT[rng.below(4)] as Buffer);
    pos += p.copy(out, pos);
  }
  return out;
}

/** `size` random bytes (zstd stores them raw). */
export function incompressible(size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  // randomFillSync caps one call at 2^31-1 bytes.
  for (let off = 0; off < size; off += 1 << 30) randomFillSync(out, off, Math.min(1 << 30, size - off));
  return out;
}

export type DataKind = 'text' | 'random';

export function generate(kind: DataKind, size: number, seed = 1): Buffer {
  return kind === 'text' ? textLike(size, seed) : incompressible(size);
}

export function sizeLabel(bytes: number): string {
  if (bytes >= 2 ** 30) return `${bytes / 2 ** 30}GiB`;
  if (bytes >= 2 ** 20) return `${bytes / 2 ** 20}MiB`;
  return `${bytes / 2 ** 10}KiB`;
}

/**
 * A deterministic document corpus for the index benchmark: German/English-like documents (title + body)
 * whose words follow a Zipf distribution over a fixed vocabulary — the real words above at the head
 * (so "der", "Rechnung", "invoice" are frequent) and syllable-built words behind them (rare) — so that
 * queries can pick terms of known, very different document frequencies. Document i is the same for a
 * seed whatever order documents are generated in.
 */
export interface CorpusDoc {
  readonly id: string;
  readonly language: 'deu' | 'eng';
  readonly title: string;
  readonly body: string;
}

const ONSETS = 'b br d f fl g gr h k kl kr l m n p pf pr r s sch sp st t tr v w z'.split(' ');
const NUCLEI = 'a e i o u ä ö ü ei au ie ea ou a e i o'.split(' ');
const CODAS = ' n r s t l m ng ch nd st ck rt  n r'.split(' ');

/** Phrases put into a fixed share of documents (word-order facts a phrase query can rely on). */
export const CORPUS_PHRASES: readonly { readonly text: string; readonly share: number }[] = [
  { text: 'Müller GmbH', share: 0.02 },
  { text: 'annual report', share: 0.1 },
];

/** Seeds of neighbouring documents must not give correlated xorshift streams: mix them first. */
function mix32(a: number, b: number): number {
  let h = (Math.imul(a ^ 0x85ebca6b, 0xcc9e2d51) + Math.imul(b + 0x9e3779b9, 0x1b873593)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return h >>> 0 || 1;
}

export class Corpus {
  /** Words by frequency rank (0 = most frequent). */
  readonly vocabulary: readonly string[];
  readonly #cumulative: Float64Array;

  constructor(
    readonly seed = 1,
    vocabularySize = 50_000,
    zipfExponent = 1.0,
  ) {
    const words = [...new Set(WORDS)];
    const seen = new Set(words.map((w) => w.toLowerCase()));
    const rng = new Rng(mix32(seed, 0x5eed));
    while (words.length < vocabularySize) {
      let w = '';
      const syllables = 1 + rng.below(3);
      for (let s = 0; s < syllables; s++) {
        w += (ONSETS[rng.below(ONSETS.length)] as string) + (NUCLEI[rng.below(NUCLEI.length)] as string);
        w += CODAS[rng.below(CODAS.length)] as string;
      }
      if (!seen.has(w)) {
        seen.add(w);
        words.push(w);
      }
    }
    this.vocabulary = words;
    this.#cumulative = new Float64Array(words.length);
    let sum = 0;
    for (let r = 0; r < words.length; r++) {
      sum += 1 / (r + 1) ** zipfExponent;
      this.#cumulative[r] = sum;
    }
  }

  /** Share of word draws that are the word of rank `rank` (its expected frequency per word). */
  probability(rank: number): number {
    const c = this.#cumulative;
    return ((c[rank] as number) - (rank > 0 ? (c[rank - 1] as number) : 0)) / (c[c.length - 1] as number);
  }

  #draw(rng: Rng): string {
    const c = this.#cumulative;
    const u = (rng.next() / 2 ** 32) * (c[c.length - 1] as number);
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((c[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    return this.vocabulary[lo] as string;
  }

  /** Document `i`: a title of 3–8 words and a body of 30–229 words in sentences, some numbers and dates. */
  doc(i: number): CorpusDoc {
    const rng = new Rng(mix32(this.seed, i));
    const language = rng.below(2) === 0 ? 'deu' : 'eng';
    const title: string[] = [];
    for (let n = 3 + rng.below(6); n > 0; n--) title.push(this.#draw(rng));
    const words: string[] = [];
    for (let n = 30 + rng.below(200); n > 0; n--) {
      const r = rng.below(40);
      if (r === 0) words.push(String(rng.below(100_000)));
      else if (r === 1) words.push(`${1 + rng.below(28)}.${1 + rng.below(12)}.${2000 + rng.below(26)}`);
      else words.push(this.#draw(rng));
    }
    for (const p of CORPUS_PHRASES) {
      if (rng.next() / 2 ** 32 < p.share) words.splice(rng.below(words.length + 1), 0, p.text);
    }
    let body = '';
    let sentence = 0;
    for (const w of words) {
      body += sentence === 0 ? w.charAt(0).toUpperCase() + w.slice(1) : w;
      sentence++;
      if (sentence >= 6 && rng.below(8) === 0) {
        body += rng.below(3) === 0 ? '.\n' : '. ';
        sentence = 0;
      } else body += rng.below(12) === 0 ? ', ' : ' ';
    }
    return { id: `d${i}`, language, title: title.join(' '), body: body.trimEnd() };
  }
}
