/**
 * The hand-written Snowball stemmers (src/index/stemmers.ts) against the snowball-stemmers package they
 * replaced: identical stems on the benchmark corpus's whole vocabulary, folded as the analyser folds it, with
 * and without the umlauts the German stemmer sees, and with every common German and English ending added.
 */
import { newStemmer } from 'snowball-stemmers';
import { describe, expect, it } from 'vitest';
import { Corpus } from '../../native-bench/harness/data.js';
import { normaliseWord } from '../../src/index/analyser.js';
import { snowballGerman, stemEnglish, stemGerman } from '../../src/index/stemmers.js';

const german = newStemmer('german');
const UMLAUT: Record<string, string> = { a: 'ä', o: 'ö', u: 'ü' };
const english = newStemmer('english');

const ENDINGS = [
  ...['', 'e', 'em', 'en', 'ern', 'er', 'es', 's', 'est', 'st', 'end', 'ung', 'ungen', 'ig', 'ige', 'igkeit', 'lich'],
  ...['isch', 'ik', 'heit', 'keit', 'nis', 'nisse', 'lichkeit', 'erin', 'innen', 'chen', 'tum', 'sam', 'bar'],
  ...['ed', 'ing', 'ly', 'edly', 'ingly', 'eed', 'ies', 'ied', 'y', 'sses', 'ss', 'us', "'s", "'", 'ational'],
  ...['tional', 'enci', 'anci', 'izer', 'bli', 'alli', 'entli', 'eli', 'ousli', 'ization', 'ation', 'ator'],
  ...['alism', 'aliti', 'iviti', 'biliti', 'logi', 'fulli', 'lessli', 'icate', 'ative', 'alize', 'iciti', 'ical'],
  ...['ful', 'ness', 'ance', 'ence', 'able', 'ible', 'ant', 'ement', 'ment', 'ent', 'ism', 'ate', 'iti', 'ous'],
  ...['ive', 'ize', 'ion', 'sion', 'tion', 'al', 'ic', 'le', 'll', 'at', 'bl', 'iz', 'bb', 'dd', 'tt', 'ying'],
];

/** Folded corpus words, each also with every ending and with u/y/umlaut variants the stemmers treat apart. */
function vocabulary(): string[] {
  const words = new Set<string>();
  const extra = [
    ...['consign', 'knack', 'kneel', 'generous', 'communication', 'arsenal', 'skis', 'skies', 'dying', 'lying'],
    ...['tying', 'idly', 'gently', 'ugly', 'early', 'only', 'singly', 'sky', 'news', 'howe', 'atlas', 'cosmos'],
    ...['bias', 'andes', 'inning', 'outing', 'canning', 'herring', 'earring', 'proceed', 'exceed', 'succeed'],
    ...["'tis", 'yes', 'yellow', 'say', 'sayying', 'bauen', 'bayern', 'abenddämmerung', 'häuser', 'straße'],
    ...['y', 'ya', 'a', 'ab', 'abc', 'by', 'cry', 'cries', 'ties', 'ied', 'ies', 'us', 'sss', 'niss', 'kenntnisse'],
  ];
  // Each corpus word with five endings (rotating, so every ending meets every kind of stem), the hand-picked
  // words with all of them.
  const corpus = new Corpus(1).vocabulary;
  corpus.forEach((w, i) => {
    const folded = normaliseWord(w);
    words.add(folded);
    for (let j = 0; j < 5; j++) words.add(folded + ENDINGS[(i * 7 + j * 23) % ENDINGS.length]);
  });
  for (const w of extra) for (const e of ENDINGS) words.add(normaliseWord(w) + e);
  return [...words];
}

describe('Snowball stemmers', () => {
  const words = vocabulary();

  it('stem English like snowball-stemmers on the corpus vocabulary with every ending', () => {
    expect(words.length).toBeGreaterThan(250_000);
    const diff: string[] = [];
    for (const w of words) {
      const want = english.stem(w);
      if (stemEnglish(w) !== want) diff.push(`${w}: ${stemEnglish(w)} ≠ ${want}`);
    }
    expect(diff.slice(0, 20)).toEqual([]);
  }, 120_000);

  it('stem German like snowball-stemmers, with and without umlauts restored', () => {
    const diff: string[] = [];
    const compare = (w: string) => {
      const want = german.stem(w);
      if (snowballGerman(w) !== want) diff.push(`${w}: ${snowballGerman(w)} ≠ ${want}`);
    };
    for (const w of words) {
      compare(w);
      // What stemGerman hands the stemmer: ae/oe/ue as umlauts again.
      const umlauts = w.replace(/(q?)([aou])e/g, (m, q: string, v: string) => (q && v === 'u' ? m : q + UMLAUT[v]));
      if (umlauts !== w) compare(umlauts);
    }
    expect(diff.slice(0, 20)).toEqual([]);
    expect(stemGerman('haeuser')).toBe(stemGerman('haus'));
  }, 120_000);
});
