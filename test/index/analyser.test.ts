import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  analyseQueryText,
  analyserOptions,
  analyseToTokens,
  DEFAULT_ANALYSER_OPTIONS,
  normaliseWord,
  setAnalyserOptions,
  WIDE_JOINERS,
} from '../../src/index/analyser.js';
import { partTerm } from '../../src/index/decompound.js';
import { snowballGerman, stemEnglish, stemGerman } from '../../src/index/stemmers.js';

const terms = (text: string, lang: 'deu' | 'eng' | 'deu+eng' = 'deu+eng') => analyseToTokens(text, lang).map((t) => t.term);

describe('analyser', () => {
  it('matches Snowball on a sample of its published vocabulary', () => {
    const file = path.join(import.meta.dirname, 'snowball-vocabulary.txt');
    const lines = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(lines.length).toBeGreaterThan(150);
    for (const line of lines) {
      const [lang, word, stem] = line.split(' ') as [string, string, string];
      expect([lang, word, lang === 'eng' ? stemEnglish(word) : snowballGerman(word)]).toEqual([lang, word, stem]);
    }
  });

  it('folds umlauts before stripping accents, the same for all spellings', () => {
    expect(normaliseWord('Müller')).toBe('mueller');
    expect(normaliseWord('MÜLLER')).toBe('mueller');
    expect(normaliseWord('Mueller')).toBe('mueller');
    expect(normaliseWord('Straße')).toBe('strasse');
    expect(normaliseWord('Café')).toBe('cafe');
    expect(normaliseWord('ﬁle')).toBe('file');
    expect(normaliseWord('Mu\u0308ller')).toBe('mueller'); // decomposed ü
    expect(terms('Müller', 'deu')).toEqual(terms('MUELLER', 'deu'));
    expect(stemGerman('haeuser')).toBe(stemGerman('haus'));
  });

  it('stems German and English', () => {
    expect(terms('Rechnungen', 'deu')).toEqual(terms('Rechnung', 'deu'));
    expect(terms('running', 'eng')).toEqual(['run']);
    expect(terms('running', 'deu+eng')).toContain('run');
  });

  it('keeps codes and numbers whole and also indexes their pieces', () => {
    // A code with letters also as typed without its joiners ("w2", "RE20240042"); numbers and dates not.
    expect(terms('RE-2024-0042')).toEqual(['re-2024-0042', 're', '2024', '0042', 're20240042']);
    expect(terms('W-2')).toEqual(['w-2', 'w', '2', 'w2']);
    expect(terms('3,14')).toEqual(['3,14', '3', '14']);
    expect(terms('15.03.2024')).toEqual(['15.03.2024', '15', '03', '2024']);
    expect(analyseQueryText('w2', 'deu+eng')).toEqual([['w2']]);
    expect(analyseQueryText('RE-2024-0042', 'deu+eng')).toEqual([['re-2024-0042']]);
  });

  it('joins words at the full-width and small forms of the joiners, as NFKC would before splitting', () => {
    expect(terms('ＲＥ－２０２４－０７７７')).toEqual(terms('RE-2024-0777'));
    expect(terms('３，１４')).toEqual(terms('3,14'));
    expect(terms('Ｗ／２ a﹒b')).toEqual(terms('W/2 a.b'));
    expect(analyseQueryText('ＲＥ－２０２４－０７７７', 'deu+eng')).toEqual([['re-2024-0777']]);
    // Offsets stay those of the text as written.
    expect(analyseToTokens('Nr. ＲＥ－２０２４', 'deu').find((t) => t.term === 're-2024')).toMatchObject({ start: 4, end: 11 });
    // WIDE_JOINERS is every character beyond ASCII whose NFKC form is a joiner.
    const wide: string[] = [];
    for (let c = 128; c < 0x10000; c++) {
      if (c >= 0xd800 && c < 0xe000) continue;
      if ("-/.,:_'".includes(String.fromCharCode(c).normalize('NFKC')) && String.fromCharCode(c).normalize('NFKC').length === 1)
        wide.push(String.fromCharCode(c));
    }
    expect(wide.join('')).toBe(WIDE_JOINERS);
  });

  it('reads a word through the invisible characters inside it (soft hyphen, zero-width space, word joiner)', () => {
    for (const mark of ['\u00ad', '\u200b', '\u2060', '\ufeff']) {
      expect(terms(`Kaffee${mark}maschinen${mark}reinigung`), JSON.stringify(mark)).toEqual(terms('Kaffeemaschinenreinigung'));
      expect(analyseQueryText(`Rabatt${mark}code`, 'deu')).toEqual(analyseQueryText('Rabattcode', 'deu'));
    }
    // The span is the word as written, and a mark at its end is not part of it.
    expect(analyseToTokens('Ein Kaffee\u00admaschine\u00ad ist da', 'deu')[1]).toMatchObject({ start: 4, end: 19 });
  });

  it('joins IBANs (checksum-valid only)', () => {
    const t = analyseToTokens('IBAN DE89 3704 0044 0532 0130 00 bitte', 'deu');
    expect(t.find((x) => x.term === 'de89370400440532013000')).toMatchObject({ position: 1, start: 5, end: 32 });
    expect(analyseQueryText('DE89 3704 0044 0532 0130 00', 'deu')).toEqual([['de89370400440532013000']]);
    expect(terms('DE89 3704 0044 0532 0130 01')).not.toContain('de89370400440532013001');
  });

  it('splits German compounds into findable sub-words at the same position, as part terms', () => {
    const t = analyseToTokens('Die Datenschutzerklärung gilt', 'deu');
    const at1 = t.filter((x) => x.position === 1).map((x) => x.term);
    expect(at1[0]).toBe(stemGerman('datenschutzerklaerung'));
    // Each part marked as one (a query reads a word's part terms beside its own, ranked below them).
    for (const q of ['Erklärung', 'Datenschutz', 'Daten', 'Schutz']) {
      const term = analyseQueryText(q, 'deu')[0]![0]!;
      expect(at1).toContain(partTerm(term));
      expect(at1).not.toContain(term);
    }
    expect(t.filter((x) => x.position === 2).map((x) => x.term)).toEqual([stemGerman('gilt')]);
  });

  it('indexes a German word written with a possessive ’s also without it, at the same position', () => {
    // "Müller's Backstube", "Johnson’s Konto": the English stemmer drops the 's, the German one kept it whole.
    expect(analyseToTokens('Johnson’s Konto', 'deu').map((t) => [t.term, t.position, t.start, t.end])).toEqual([
      ["johnson's", 0, 0, 9],
      ['johnson', 0, 0, 9],
      ['konto', 1, 10, 15],
    ]);
    expect(terms("Müller's Backstube", 'deu')).toContain('mull');
    // Only 's, and only when indexing: a query keeps what was typed.
    expect(terms("O'Brien", 'deu')).toEqual(["o'bri"]);
    expect(analyseQueryText('Johnson’s', 'deu')).toEqual([["johnson's"]]);
  });

  it('gives positions and UTF-16 offsets; splits hyphenated words; segments CJK', () => {
    const t = analyseToTokens('e-mail 東京都', 'eng');
    expect(t.map((x) => [x.term, x.position, x.start, x.end])).toEqual([
      ['e', 0, 0, 1],
      ['mail', 1, 2, 6],
      ['東京', 2, 7, 9],
      ['都', 3, 9, 10],
    ]);
  });
});

describe('analyser options (ablations)', () => {
  const sample = 'Die Datenschutzerklärung der Müller GmbH, Café running Rechnungen RE-2024-0042';
  const byPosition = (text: string, lang: 'deu' | 'eng' | 'deu+eng') => {
    const out: string[][] = [];
    for (const t of analyseToTokens(text, lang)) {
      out[t.position] ??= [];
      out[t.position]?.push(t.term);
    }
    return out;
  };
  afterEach(() => {
    setAnalyserOptions(DEFAULT_ANALYSER_OPTIONS);
  });

  it('are all on by default, and setting the defaults changes nothing', () => {
    expect(analyserOptions()).toEqual({ stem: true, decompound: true, fold: true });
    const before = analyseToTokens(sample, 'deu+eng');
    setAnalyserOptions({});
    expect(analyseToTokens(sample, 'deu+eng')).toEqual(before);
    expect(setAnalyserOptions({ stem: false })).toEqual(DEFAULT_ANALYSER_OPTIONS);
  });

  it('without stemming, the normalised word is the term (cached stems are not reused)', () => {
    expect(terms('running Rechnungen', 'deu+eng')).toEqual(['running', 'run', 'rechnung', 'rechnungen']);
    setAnalyserOptions({ stem: false });
    expect(terms('running', 'eng')).toEqual(['running']);
    expect(terms('running Rechnungen', 'deu+eng')).toEqual(['running', 'rechnungen']);
    expect(analyseQueryText('Müller', 'deu+eng')).toEqual([['mueller']]);
    // Compound parts are still indexed, unstemmed.
    const compound = byPosition('Datenschutzerklärungen', 'deu')[0];
    expect(compound?.[0]).toBe('datenschutzerklaerungen');
    expect(compound).toEqual(expect.arrayContaining(['datenschutz', 'schutzerklaerungen', 'erklaerung'].map(partTerm)));
    // Codes are not stemmed anyway.
    expect(terms('RE-2024-0042')).toEqual(['re-2024-0042', 're', '2024', '0042', 're20240042']);
  });

  it('without decompounding, a German compound is one term', () => {
    const full = byPosition(sample, 'deu');
    expect(full[1]?.length).toBeGreaterThan(1);
    setAnalyserOptions({ decompound: false });
    const off = byPosition(sample, 'deu');
    expect(off[1]).toEqual([stemGerman('datenschutzerklaerung')]);
    // Every other word analyses as before.
    expect(off.filter((_, i) => i !== 1)).toEqual(full.filter((_, i) => i !== 1));
  });

  it('without folding, words keep umlauts, ß and accents (NFKC and case folding stay)', () => {
    setAnalyserOptions({ fold: false });
    expect(normaliseWord('Müller')).toBe('müller');
    expect(normaliseWord('MÜLLER')).toBe('müller');
    expect(normaliseWord('Straße')).toBe('straße');
    expect(normaliseWord('Café')).toBe('café');
    expect(normaliseWord('ﬁle')).toBe('file');
    expect(normaliseWord('Mu\u0308ller')).toBe('müller');
    expect(normaliseWord('Mueller')).toBe('mueller');
    expect(terms('Café', 'eng')).toEqual(['café']);
    expect(terms('Müller', 'eng')).not.toEqual(terms('Mueller', 'eng'));
    // ASCII text is never folded, so it analyses exactly as with folding.
    setAnalyserOptions({});
    const ascii = analyseToTokens('the aerodynamics of a wing in a slipstream', 'eng');
    setAnalyserOptions({ fold: false });
    expect(analyseToTokens('the aerodynamics of a wing in a slipstream', 'eng')).toEqual(ascii);
  });
});
