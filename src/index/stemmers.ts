import { newStemmer } from 'snowball-stemmers';

/** Languages the analyser knows. 'deu+eng' indexes both stems of a word when they differ. */
export type AnalyserLanguage = 'deu' | 'eng' | 'deu+eng';

const german = newStemmer('german');
const english = newStemmer('english');

/**
 * Snowball German with the "german2" prelude: the analyser has already folded ä→ae ö→oe ü→ue ß→ss, so we
 * turn ae/oe/ue back into umlauts (not "ue" after "q", as Snowball's german2 does) and let the stemmer
 * remove them at its end. "Häuser" and "Haeuser" both stem to "haus".
 */
export function stemGerman(folded: string): string {
  let w = folded;
  if (w.includes('e')) w = w.replace(/(q?)([aou])e/g, (m, q: string, v: string) => (q && v === 'u' ? m : q + UMLAUT[v]!));
  return german.stem(w);
}

const UMLAUT: Record<string, string> = { a: 'ä', o: 'ö', u: 'ü' };

/** Snowball English (Porter2). */
export function stemEnglish(folded: string): string {
  return english.stem(folded);
}

/** The raw Snowball German stemmer, for tests against Snowball's published vocabulary. */
export function snowballGerman(word: string): string {
  return german.stem(word);
}
