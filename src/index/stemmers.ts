/**
 * Snowball German (the classic algorithm) and English (Porter2), written out by hand from the Snowball
 * programs as the snowball-stemmers package (0.6, JSweet-translated Java) implements them: that package
 * spent most of its time in property getters and argument dispatch, a third of a cold index build. Same
 * stems by construction and by test (test/index/stemmers.test.ts compares both on the benchmark corpus's
 * vocabulary with every common ending, and on Snowball's published sample).
 *
 * Both work on UTF-16 code units of an already lower-cased word, in a scratch buffer; suffix steps only
 * ever cut or replace the end of the word, so the word is the buffer's first `len` units.
 */

/** Languages the analyser knows. 'deu+eng' indexes both stems of a word when they differ. */
export type AnalyserLanguage = 'deu' | 'eng' | 'deu+eng';

let buf = new Uint16Array(128);

function load(word: string): void {
  if (buf.length < word.length + 8) buf = new Uint16Array(word.length * 2 + 8);
  for (let i = 0; i < word.length; i++) buf[i] = word.charCodeAt(i);
}

function text(len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

/** buf[0, len) ends with `s`. */
function endsWith(len: number, s: string): boolean {
  const n = s.length;
  if (n > len) return false;
  for (let i = 0; i < n; i++) if (buf[len - n + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** Replaces buf[from, len) with `s`; returns the new length. */
function replaceEnd(from: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[from + i] = s.charCodeAt(i);
  return from + s.length;
}

/** The first of `suffixes` (longest first) that buf[0, len) ends with, or -1: Snowball's among. */
function among(len: number, suffixes: readonly string[]): number {
  for (let i = 0; i < suffixes.length; i++) if (endsWith(len, suffixes[i]!)) return i;
  return -1;
}

// ---------------------------------------------------------------- German

/** a e i o u y ä ö ü */
function deVowel(c: number): boolean {
  return c === 97 || c === 101 || c === 105 || c === 111 || c === 117 || c === 121 || c === 228 || c === 246 || c === 252;
}

/** b d f g h k l m n r t (t only for st: without r) */
function deSEnding(c: number): boolean {
  return (
    c === 98 ||
    c === 100 ||
    c === 102 ||
    c === 103 ||
    c === 104 ||
    c === 107 ||
    c === 108 ||
    c === 109 ||
    c === 110 ||
    c === 114 ||
    c === 116
  );
}

/** Longest first; the step's rule per suffix in the parallel array. */
const DE_STEP1 = ['ern', 'em', 'en', 'er', 'es', 'e', 's'];
const DE_STEP1_RULE = [1, 1, 2, 1, 2, 2, 3];
const DE_STEP2 = ['est', 'en', 'er', 'st'];
const DE_STEP3 = ['lich', 'isch', 'heit', 'keit', 'end', 'ung', 'ig', 'ik'];
const DE_STEP3_RULE = [3, 2, 3, 4, 1, 1, 2, 2];

/**
 * The Snowball German stemmer. Prelude: ß → ss, u and y between vowels kept apart as U and Y. R1 and R2
 * (R1 at least 3 letters in); step 1 (-ern -em -er; -e -en -es, and -niss → -nis; -s after a valid
 * s-ending), step 2 (-en -er -est; -st after a valid st-ending, 3+ letters before it), step 3 (derivational
 * suffixes in R2), postlude (U Y ä ö ü → u y a o u).
 */
export function snowballGerman(word: string): string {
  const w = word.includes('ß') ? word.replace(/ß/g, 'ss') : word;
  load(w);
  let len = w.length;
  for (let p = 0; p + 2 < len; p++) {
    if (!deVowel(buf[p]!)) continue;
    const c = buf[p + 1]!;
    if ((c === 117 || c === 121) && deVowel(buf[p + 2]!)) buf[p + 1] = c === 117 ? 85 : 89;
  }
  // Regions.
  let p1 = len;
  let p2 = len;
  if (len >= 3) {
    let i = 0;
    while (i < len && !deVowel(buf[i]!)) i++;
    if (i < len) {
      i++;
      while (i < len && deVowel(buf[i]!)) i++;
      if (i < len) {
        i++;
        p1 = i < 3 ? 3 : i;
        while (i < len && !deVowel(buf[i]!)) i++;
        if (i < len) {
          i++;
          while (i < len && deVowel(buf[i]!)) i++;
          if (i < len) p2 = i + 1;
        }
      }
    }
  }
  // Step 1.
  let k = among(len, DE_STEP1);
  if (k >= 0) {
    const bra = len - DE_STEP1[k]!.length;
    if (bra >= p1) {
      const rule = DE_STEP1_RULE[k]!;
      if (rule === 1) len = bra;
      else if (rule === 2) {
        len = bra;
        if (endsWith(len, 'niss')) len--;
      } else if (bra > 0 && deSEnding(buf[bra - 1]!)) len = bra;
    }
  }
  // Step 2.
  k = among(len, DE_STEP2);
  if (k >= 0) {
    const bra = len - DE_STEP2[k]!.length;
    if (bra >= p1) {
      if (k < 3) len = bra;
      else if (bra > 0 && buf[bra - 1] !== 114 && deSEnding(buf[bra - 1]!) && bra - 4 >= 0) len = bra;
    }
  }
  // Step 3.
  k = among(len, DE_STEP3);
  if (k >= 0) {
    const bra = len - DE_STEP3[k]!.length;
    if (bra >= p2) {
      switch (DE_STEP3_RULE[k]) {
        case 1:
          len = bra;
          if (endsWith(len, 'ig') && !(len - 3 >= 0 && buf[len - 3] === 101) && len - 2 >= p2) len -= 2;
          break;
        case 2:
          if (!(bra > 0 && buf[bra - 1] === 101)) len = bra;
          break;
        case 3:
          len = bra;
          if ((endsWith(len, 'er') || endsWith(len, 'en')) && len - 2 >= p1) len -= 2;
          break;
        case 4: {
          len = bra;
          const j = among(len, DE_KEIT);
          if (j >= 0 && len - DE_KEIT[j]!.length >= p2) len -= DE_KEIT[j]!.length;
          break;
        }
      }
    }
  }
  // Postlude.
  for (let i = 0; i < len; i++) {
    const c = buf[i]!;
    if (c === 85) buf[i] = 117;
    else if (c === 89) buf[i] = 121;
    else if (c === 228) buf[i] = 97;
    else if (c === 246) buf[i] = 111;
    else if (c === 252) buf[i] = 117;
  }
  return text(len);
}

const DE_KEIT = ['lich', 'ig'];

/**
 * Snowball German with the "german2" prelude: the analyser has already folded ä→ae ö→oe ü→ue ß→ss, so we
 * turn ae/oe/ue back into umlauts (not "ue" after "q", as Snowball's german2 does) and let the stemmer
 * remove them at its end. "Häuser" and "Haeuser" both stem to "haus".
 */
export function stemGerman(folded: string): string {
  let w = folded;
  if (w.includes('e')) w = w.replace(/(q?)([aou])e/g, (m, q: string, v: string) => (q && v === 'u' ? m : q + UMLAUT[v]!));
  return snowballGerman(w);
}

const UMLAUT: Record<string, string> = { a: 'ä', o: 'ö', u: 'ü' };

// ---------------------------------------------------------------- English

/** a e i o u y */
function enVowel(c: number): boolean {
  return c === 97 || c === 101 || c === 105 || c === 111 || c === 117 || c === 121;
}

/** The non-vowels of a short syllable's end may not be w, x or Y (nor a vowel). */
function enVowelWXY(c: number): boolean {
  return enVowel(c) || c === 119 || c === 120 || c === 89;
}

/** c d e g h k m n r t: what may stand before a deleted -li. */
function enValidLi(c: number): boolean {
  return (
    c === 99 || c === 100 || c === 101 || c === 103 || c === 104 || c === 107 || c === 109 || c === 110 || c === 114 || c === 116
  );
}

/** buf[0, end) ends in a short syllable: non-vowel (not w x Y), vowel, non-vowel; or is vowel + non-vowel. */
function shortSyllable(end: number): boolean {
  if (end >= 3 && !enVowelWXY(buf[end - 1]!) && enVowel(buf[end - 2]!) && !enVowel(buf[end - 3]!)) return true;
  return end === 2 && !enVowel(buf[1]!) && enVowel(buf[0]!);
}

const EN_EXCEPTIONS1: ReadonlyMap<string, string> = new Map([
  ['skis', 'ski'],
  ['skies', 'sky'],
  ['dying', 'die'],
  ['lying', 'lie'],
  ['tying', 'tie'],
  ['idly', 'idl'],
  ['gently', 'gentl'],
  ['ugly', 'ugli'],
  ['early', 'earli'],
  ['only', 'onli'],
  ['singly', 'singl'],
  ['sky', 'sky'],
  ['news', 'news'],
  ['howe', 'howe'],
  ['atlas', 'atlas'],
  ['cosmos', 'cosmos'],
  ['bias', 'bias'],
  ['andes', 'andes'],
]);
const EN_EXCEPTIONS2 = new Set(['inning', 'outing', 'canning', 'herring', 'earring', 'proceed', 'exceed', 'succeed']);
const EN_PREFIXES = ['arsen', 'commun', 'gener'];
const EN_APOSTROPHE = ["'s'", "'s", "'"];
const EN_STEP1A = ['sses', 'ied', 'ies', 'ss', 'us', 's'];
const EN_STEP1B = ['eedly', 'ingly', 'edly', 'eed', 'ing', 'ed'];
const EN_STEP2: readonly (readonly [string, string])[] = [
  ['ational', 'ate'],
  ['iveness', 'ive'],
  ['fulness', 'ful'],
  ['ousness', 'ous'],
  ['ization', 'ize'],
  ['tional', 'tion'],
  ['biliti', 'ble'],
  ['lessli', 'less'],
  ['fulli', 'ful'],
  ['ousli', 'ous'],
  ['entli', 'ent'],
  ['aliti', 'al'],
  ['iviti', 'ive'],
  ['alism', 'al'],
  ['ation', 'ate'],
  ['anci', 'ance'],
  ['enci', 'ence'],
  ['abli', 'able'],
  ['alli', 'al'],
  ['izer', 'ize'],
  ['ator', 'ate'],
  ['bli', 'ble'],
  ['ogi', 'og'],
  ['li', ''],
];
const EN_STEP2_SUFFIXES = EN_STEP2.map(([s]) => s);
const EN_STEP3: readonly (readonly [string, string])[] = [
  ['ational', 'ate'],
  ['tional', 'tion'],
  ['icate', 'ic'],
  ['ative', ''],
  ['alize', 'al'],
  ['iciti', 'ic'],
  ['ical', 'ic'],
  ['ness', ''],
  ['ful', ''],
];
const EN_STEP3_SUFFIXES = EN_STEP3.map(([s]) => s);
const EN_STEP4 = [
  'ement',
  'ance',
  'ence',
  'able',
  'ible',
  'ment',
  'ate',
  'ive',
  'ize',
  'iti',
  'ism',
  'ion',
  'ous',
  'ant',
  'ent',
  'ic',
  'al',
  'er',
];

/**
 * Snowball English (Porter2): exceptions, prelude (initial apostrophe, y as a consonant → Y), R1/R2 (with
 * the arsen/commun/gener prefixes), steps 1a, 1b, 1c, 2, 3, 4, 5, postlude (Y → y).
 */
export function stemEnglish(word: string): string {
  const exception = EN_EXCEPTIONS1.get(word);
  if (exception !== undefined) return exception;
  if (word.length < 3) return word;
  load(word);
  let len = word.length;
  // Prelude.
  if (buf[0] === 39) {
    buf.copyWithin(0, 1, len);
    len--;
  }
  let yFound = false;
  if (len > 0 && buf[0] === 121) {
    buf[0] = 89;
    yFound = true;
  }
  for (let p = 0; p + 1 < len; p++) {
    if (enVowel(buf[p]!) && buf[p + 1] === 121) {
      buf[p + 1] = 89;
      yFound = true;
    }
  }
  // Regions.
  let p1 = len;
  let p2 = len;
  {
    let i = -1;
    for (const prefix of EN_PREFIXES) {
      if (prefix.length <= len && startsWith(prefix)) {
        i = prefix.length;
        break;
      }
    }
    if (i < 0) {
      i = 0;
      while (i < len && !enVowel(buf[i]!)) i++;
      if (i < len) {
        i++;
        while (i < len && enVowel(buf[i]!)) i++;
        i = i < len ? i + 1 : -1;
      } else i = -1;
    }
    if (i >= 0) {
      p1 = i;
      while (i < len && !enVowel(buf[i]!)) i++;
      if (i < len) {
        i++;
        while (i < len && enVowel(buf[i]!)) i++;
        if (i < len) p2 = i + 1;
      }
    }
  }
  // Step 1a.
  const a = among(len, EN_APOSTROPHE);
  if (a >= 0) len -= EN_APOSTROPHE[a]!.length;
  let k = among(len, EN_STEP1A);
  if (k >= 0) {
    const suffix = EN_STEP1A[k]!;
    const bra = len - suffix.length;
    if (suffix === 'sses') len = replaceEnd(bra, 'ss');
    else if (suffix === 'ied' || suffix === 'ies') len = replaceEnd(bra, bra >= 2 ? 'i' : 'ie');
    else if (suffix === 's') {
      // Delete if a vowel stands somewhere before the letter preceding the s.
      let v = false;
      for (let i = bra - 2; i >= 0; i--) {
        if (enVowel(buf[i]!)) {
          v = true;
          break;
        }
      }
      if (bra > 0 && v) len = bra;
    }
  }
  if (len < 6 || len > 7 || !EN_EXCEPTIONS2.has(text(len))) {
    len = enStep1b(len, p1);
    // Step 1c.
    const last = len > 0 ? buf[len - 1]! : 0;
    if ((last === 121 || last === 89) && len - 2 > 0 && !enVowel(buf[len - 2]!)) buf[len - 1] = 105;
    // Step 2.
    k = among(len, EN_STEP2_SUFFIXES);
    if (k >= 0) {
      const [suffix, repl] = EN_STEP2[k]!;
      const bra = len - suffix.length;
      if (bra >= p1) {
        if (suffix === 'ogi') {
          if (bra > 0 && buf[bra - 1] === 108) len = replaceEnd(bra, repl);
        } else if (suffix === 'li') {
          if (bra > 0 && enValidLi(buf[bra - 1]!)) len = bra;
        } else len = replaceEnd(bra, repl);
      }
    }
    // Step 3.
    k = among(len, EN_STEP3_SUFFIXES);
    if (k >= 0) {
      const [suffix, repl] = EN_STEP3[k]!;
      const bra = len - suffix.length;
      if (bra >= p1 && (suffix !== 'ative' || bra >= p2)) len = replaceEnd(bra, repl);
    }
    // Step 4.
    k = among(len, EN_STEP4);
    if (k >= 0) {
      const bra = len - EN_STEP4[k]!.length;
      if (bra >= p2) {
        if (EN_STEP4[k] !== 'ion') len = bra;
        else if (bra > 0 && (buf[bra - 1] === 115 || buf[bra - 1] === 116)) len = bra;
      }
    }
    // Step 5.
    if (len > 0 && buf[len - 1] === 101) {
      const bra = len - 1;
      if (bra >= p2 || (bra >= p1 && !shortSyllable(bra))) len = bra;
    } else if (len > 0 && buf[len - 1] === 108) {
      const bra = len - 1;
      if (bra >= p2 && bra > 0 && buf[bra - 1] === 108) len = bra;
    }
  }
  if (yFound) for (let i = 0; i < len; i++) if (buf[i] === 89) buf[i] = 121;
  return text(len);
}

function startsWith(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (buf[i] !== s.charCodeAt(i)) return false;
  return true;
}

/** Step 1b: -eed -eedly → -ee in R1; -ed -edly -ing -ingly deleted after a vowel, then tidied. */
function enStep1b(len: number, p1: number): number {
  const k = among(len, EN_STEP1B);
  if (k < 0) return len;
  const suffix = EN_STEP1B[k]!;
  const bra = len - suffix.length;
  if (suffix === 'eed' || suffix === 'eedly') return bra >= p1 ? replaceEnd(bra, 'ee') : len;
  let v = false;
  for (let i = bra - 1; i >= 0; i--) {
    if (enVowel(buf[i]!)) {
      v = true;
      break;
    }
  }
  if (!v) return len;
  len = bra;
  if (endsWith(len, 'at') || endsWith(len, 'bl') || endsWith(len, 'iz')) return replaceEnd(len, 'e');
  if (len >= 2 && buf[len - 1] === buf[len - 2] && DOUBLES.includes(buf[len - 1]!)) return len - 1;
  if (len === p1 && shortSyllable(len)) return replaceEnd(len, 'e');
  return len;
}

/** bb dd ff gg mm nn pp rr tt */
const DOUBLES = [98, 100, 102, 103, 109, 110, 112, 114, 116];
