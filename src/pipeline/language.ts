/**
 * Document language from text: German, English, both, or unknown. Counts frequent function words
 * (stopwords) of each language; they make up 30–50 % of running text, so a few dozen words suffice.
 * Pure and cheap, so the analyser and the mail stage can reuse it.
 */
export type DocumentLanguage = 'deu' | 'eng' | 'deu+eng' | 'unknown';

export interface LanguageGuess {
  language: DocumentLanguage;
  /** Stopword hits per language over all words considered. */
  scores: { deu: number; eng: number };
  words: number;
}

// Words that are frequent in one language and rare or absent in the other ("in", "am", "so" are in both).
const DEU = new Set(
  'der die das und ist nicht ein eine einen einem einer eines zu den dem des mit von sich auf für fur für auch als noch nach bei aus wie wir ich sie er es war wird werden wurde sind haben hat hatte oder aber wenn nur über uber unter durch gegen ohne sehr schon mehr kein keine dass daß diese dieser dieses ihr ihre ihnen uns unser unsere zum zur vom beim können konnen müssen mussen soll sollen bitte vielen dank sehr geehrte geehrter damen herren mit freundlichen grüßen grüssen rechnung betrag datum seite'.split(
    ' ',
  ),
);
const ENG = new Set(
  'the and of to is are was were be been being that this these those with for not you your we our they their them he she his her it its from by have has had which what who whom will would should could can may there here than then also but or if when where into about over after before because such only very please dear sincerely regards thank thanks invoice amount date page'.split(
    ' ',
  ),
);

export function detectLanguage(text: string, maxWords = 5000): LanguageGuess {
  let words = 0;
  let deu = 0;
  let eng = 0;
  // \p{L} keeps umlauts and ß inside words.
  for (const m of text.toLowerCase().matchAll(/\p{L}+/gu)) {
    const w = m[0];
    words++;
    if (DEU.has(w)) deu++;
    if (ENG.has(w)) eng++;
    if (words >= maxWords) break;
  }
  // German-only letters are strong evidence even in short texts.
  const umlauts = (text.match(/[äöüßÄÖÜ]/g) ?? []).length;
  const scores = { deu: words ? deu / words : 0, eng: words ? eng / words : 0 };
  let language: DocumentLanguage = 'unknown';
  const hits = deu + eng;
  if (hits >= 2 || (words >= 3 && umlauts > 0)) {
    const deuShare = (deu + Math.min(umlauts, words) * 0.25) / (hits + Math.min(umlauts, words) * 0.25 || 1);
    // Both when the minority language still carries a real share (bilingual letters, mixed mail threads).
    if (deuShare >= 0.75) language = 'deu';
    else if (deuShare <= 0.25) language = 'eng';
    else language = 'deu+eng';
  }
  return { language, scores, words };
}
