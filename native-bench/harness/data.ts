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
