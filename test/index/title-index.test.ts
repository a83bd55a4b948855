import { describe, expect, it } from 'vitest';
import { normaliseWord } from '../../src/index/analyser.js';
import { TitleIndex } from '../../src/index/title-index.js';
import { rng } from '../helpers/rng.js';

const VOCAB = [
  'Rechnung',
  'Vertrag',
  'Steuer',
  'Stempel',
  'Müller',
  'Mueller',
  'März',
  'stadt',
  'Straße',
  'Kauf',
  'kaufen',
  'x1',
  '2024',
  'RE-2024-0042',
  'Nr.5',
  'Café',
  'ÉCLAIR',
  'naïve',
  'A_b',
  '1999',
  'Zoll',
];
/** Between words: load() splits ASCII titles by its own scan and the others by WORD_RE. */
const SEPARATORS = [' ', ' ', ', ', ' - ', '_', '/', ' (', ') '];

/**
 * A title's distinct folded words, straight from the definition (letters and digits, folded as the analyser
 * folds words): the index splits ASCII titles by its own scan, which this checks.
 */
function wordsOf(title: string): string[] {
  const out: string[] = [];
  for (const [raw] of title.matchAll(/[\p{L}\p{N}]+/gu)) {
    const w = normaliseWord(raw);
    if (w.length > 0 && !out.includes(w)) out.push(w);
  }
  return out;
}

/** What the index must answer, by brute force: titles holding the whole words and a word with the prefix. */
function expected(titles: Map<number, string>, typed: string): number[] {
  const words = wordsOf(typed);
  const prefix = words.pop()!;
  const out: { ord: number; at: number; words: number }[] = [];
  for (const [ord, title] of titles) {
    const own = wordsOf(title);
    if (!words.every((w) => own.includes(w))) continue;
    const at = own.findIndex((w) => w.startsWith(prefix));
    if (at >= 0) out.push({ ord, at, words: own.length });
  }
  return out.sort((a, b) => a.at - b.at || a.words - b.words || a.ord - b.ord).map((f) => f.ord);
}

/** Random titles over VOCAB, kept in the index and in a map, and queries checked against brute force. */
function randomTitles(seed: number) {
  const next = rng(seed);
  const pick = () => VOCAB[Math.floor(next() * VOCAB.length)]!;
  const titles = new Map<number, string>();
  const ix = new TitleIndex();
  const title = (maxWords: number) =>
    Array.from({ length: 1 + Math.floor(next() * maxWords) }, pick).reduce(
      (t, w) => t + SEPARATORS[Math.floor(next() * SEPARATORS.length)]! + w,
    );
  return {
    next,
    titles,
    ix,
    title,
    /** Removes ord's title with chance `removal`, else gives it a new one. */
    change(ord: number, removal: number, maxWords: number) {
      const t = next() < removal ? undefined : title(maxWords);
      if (t === undefined) titles.delete(ord);
      else titles.set(ord, t);
      ix.set(ord, t);
    },
    check(queries: number) {
      for (let q = 0; q < queries; q++) {
        const whole = Array.from({ length: Math.floor(next() * 3) }, pick);
        const last = pick();
        const typed = [...whole, last.slice(0, 1 + Math.floor(next() * last.length))].join(' ');
        // Limit above the gather size would truncate differently; 10 is what Suggest asks.
        expect(ix.search(typed, 10), typed).toEqual(expected(titles, typed).slice(0, 10));
      }
    },
  };
}

describe('title index', () => {
  it('folds case and umlauts like the analyser, so "mül" and "mue" complete "Müller"', () => {
    const ix = new TitleIndex();
    ix.set(0, 'Herr Müller, Rechnung März');
    ix.set(1, 'Mietvertrag Berlin');
    expect(ix.search('mül', 5)).toEqual([0]);
    expect(ix.search('MUE', 5)).toEqual([0]);
    expect(ix.search('rechnung mär', 5)).toEqual([0]);
    expect(ix.search('Mietv', 5)).toEqual([1]);
    expect(ix.search('berlin miet', 5)).toEqual([1]);
    expect(ix.search('vertrag ber', 5)).toEqual([]); // "vertrag" is not a word of the title, only part of one
    expect(ix.search('', 5)).toEqual([]);
  });

  it('equals brute force over random titles, through adds, replacements and removals', () => {
    const w = randomTitles(42);
    for (let ord = 0; ord < 40; ord++) w.titles.set(ord, w.title(5));
    w.ix.load(w.titles);
    w.check(200);
    for (let i = 0; i < 30; i++) w.change(Math.floor(w.next() * 50), 0.3, 5);
    w.check(200);
  });

  it('answers the same after a bulk load ended in steps as after one set per title', () => {
    for (const seed of [4_000, 1_500]) {
      const w = randomTitles(seed);
      for (let ord = 0; ord < 3_000; ord++) w.titles.set(ord, w.title(6));
      const bulk = w.ix.bulk();
      for (const [ord, title] of w.titles) bulk.add(ord, title);
      // Titles that change while the load ends (the warm-up's hooks): one between each pair of its steps.
      let step = 0;
      for (const _ of bulk.ending()) w.change(step++ * 7, 0.3, 6);
      expect(step, 'the end takes steps').toBeGreaterThan(1);
      const plain = new TitleIndex();
      for (const [ord, title] of w.titles) plain.set(ord, title);
      for (let q = 0; q < 300; q++) {
        const word = VOCAB[Math.floor(w.next() * VOCAB.length)]!;
        const typed = `${VOCAB[Math.floor(w.next() * VOCAB.length)]!} ${word.slice(0, 1 + Math.floor(w.next() * word.length))}`;
        expect(w.ix.search(typed, 10), typed).toEqual(plain.search(typed, 10));
        expect(w.ix.search(word.slice(0, 2), 10), word).toEqual(plain.search(word.slice(0, 2), 10));
      }
    }
  });

  it('stays equal to brute force through thousands of rewrites (its word lists are compacted on the way)', () => {
    const w = randomTitles(7);
    // Forty ordinals (spread beyond the first table size), rewritten and removed many times over: few
    // enough titles that every query's matches are all gathered before ranking, as brute force ranks them.
    const ords = Array.from({ length: 40 }, () => Math.floor(w.next() * 3_000));
    for (let i = 0; i < 6_000; i++) {
      w.change(ords[Math.floor(w.next() * ords.length)]!, 0.25, 6);
      if (i % 20 === 19) w.check(25);
    }
  });

  it('finds a title through its rarest word however frequent the others are', () => {
    const ix = new TitleIndex();
    const titles: [number, string][] = [];
    for (let ord = 0; ord < 200_000; ord++) titles.push([ord, ord % 2 === 0 ? `Vertrag ${ord}` : `Rechnung Vertrag ${ord}`]);
    ix.load(titles);
    ix.set(200_000, 'Vertrag Rechnung Steuerbescheid');
    expect(ix.search('steuerbescheid rechnung vert', 5)).toEqual([200_000]);
    expect(ix.search('vertrag rechnung steuer', 5)).toEqual([200_000]);
    expect(ix.search('vertrag rechnung q', 5)).toEqual([]);
  });
});
