/**
 * Typed values recognised in a document's text (the proto's RecognizedValue): dates, amounts with a
 * currency, IBANs, e-mail addresses, invoice and customer numbers, each with the page it was found on,
 * plus a pick of the document's own date. German and English conventions; pure and linear in the text.
 */
export type RecognizedKind = 'date' | 'amount' | 'iban' | 'email' | 'invoice_number' | 'customer_number';

export interface RecognizedValue {
  kind: RecognizedKind;
  /** As written in the text. */
  text: string;
  /** ISO date `YYYY-MM-DD`, amount `1234.56 EUR`, IBAN without spaces, lower-cased e-mail, upper-cased code. */
  normalized: string;
  /** 1-based page; 0 when the document has no pages. */
  page: number;
}

export interface Recognition {
  values: RecognizedValue[];
  /** ISO date of the document itself: the labelled date (Rechnungsdatum, Datum, Date…) else the first plausible one. */
  documentDate?: string;
}

export interface RecognizeOptions {
  /** Reads ambiguous `03/04/2024` as month first for English, day first otherwise. */
  language?: 'deu' | 'eng' | 'deu+eng' | 'und';
  /** Values returned at most (the earliest ones win). @default 1000 */
  maxValues?: number;
  /** Characters read per page; the rest of a giant page is ignored. @default 1_000_000 */
  maxCharsPerPage?: number;
  /** "Now" for the plausibility window of the document date. @default new Date() */
  now?: Date;
}

/** Recognises values on each page; `pages[i]` is page i + 1. */
export function recognizeValues(pages: readonly string[], opts: RecognizeOptions = {}): Recognition {
  const maxValues = opts.maxValues ?? 1000;
  const maxChars = opts.maxCharsPerPage ?? 1_000_000;
  const monthFirst = opts.language === 'eng';
  const nowYear = (opts.now ?? new Date()).getUTCFullYear();
  const values: RecognizedValue[] = [];
  const seen = new Set<string>();
  const dates: DateHit[] = [];

  for (const [i, raw] of pages.entries()) {
    const text = raw.length > maxChars ? raw.slice(0, maxChars) : raw;
    const page = i + 1;
    const hits = pageHits(text, ALL_KINDS, monthFirst);
    for (const h of hits) if (h.kind === 'date') dates.push({ ...h, page, score: dateLabelScore(text, h.index) });
    for (const h of hits) {
      const key = `${h.kind}\u0000${h.normalized}\u0000${page}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (values.length >= maxValues) break;
      values.push({ kind: h.kind, text: h.text, normalized: h.normalized, page });
    }
  }
  const out: Recognition = { values };
  const documentDate = pickDocumentDate(dates, nowYear);
  if (documentDate) out.documentDate = documentDate;
  return out;
}

interface Hit {
  index: number;
  text: string;
  normalized: string;
}

const ALL_KINDS: ReadonlySet<RecognizedKind> = new Set(['date', 'amount', 'iban', 'email', 'invoice_number', 'customer_number']);

/** The values of `kinds` on one page, in text order. */
function pageHits(text: string, kinds: ReadonlySet<RecognizedKind>, monthFirst: boolean): (Hit & { kind: RecognizedKind })[] {
  const hits: (Hit & { kind: RecognizedKind })[] = [];
  const add = (kind: RecognizedKind, found: () => Hit[]) => {
    if (kinds.has(kind)) for (const h of found()) hits.push({ ...h, kind });
  };
  add('date', () => findDates(text, monthFirst));
  add('amount', () => findAmounts(text));
  add('iban', () => findIbans(text));
  add('email', () => findEmails(text));
  add('invoice_number', () => findLabelled(text, INVOICE_LABEL));
  add('customer_number', () => findLabelled(text, CUSTOMER_LABEL));
  return hits.sort((a, b) => a.index - b.index);
}

/** A value written on a page, with where: text[start, end). */
export interface PlacedValue {
  kind: RecognizedKind;
  normalized: string;
  start: number;
  end: number;
}

/**
 * Where values of `kinds` are written on one page (a search hit's snippet shows the value its query filtered
 * by), read as `recognizeValues` reads them (an ambiguous `03/04/2024` day first); only the asked kinds'
 * patterns run.
 */
export function placedValues(text: string, kinds: ReadonlySet<RecognizedKind>): PlacedValue[] {
  return pageHits(text, kinds, false).map((h) => ({
    kind: h.kind,
    normalized: h.normalized,
    start: h.index,
    end: h.index + h.text.length,
  }));
}

interface DateHit extends Hit {
  page: number;
  score: number;
}

// ---------------------------------------------------------------------------------------------
// Dates

// biome-ignore format: a table reads better than one key per line
const MONTHS: Record<string, number> = {
  januar: 1, jänner: 1, jaenner: 1, january: 1, jan: 1,
  februar: 2, feber: 2, february: 2, feb: 2,
  märz: 3, maerz: 3, march: 3, mär: 3, mrz: 3, mar: 3,
  april: 4, apr: 4,
  mai: 5, may: 5,
  juni: 6, june: 6, jun: 6,
  juli: 7, july: 7, jul: 7,
  august: 8, aug: 8,
  september: 9, sept: 9, sep: 9,
  oktober: 10, october: 10, okt: 10, oct: 10,
  november: 11, nov: 11,
  dezember: 12, december: 12, dez: 12, dec: 12,
};

// Longest names first, so "März" is not read as "Mär" + "z".
const MONTH_RE = Object.keys(MONTHS)
  .sort((a, b) => b.length - a.length)
  .join('|');

const DAY_MONTH_YEAR = new RegExp(
  `(?<![\\p{L}\\d])(\\d{1,2})(?:\\.|st|nd|rd|th)?\\s*(?:of\\s+)?(${MONTH_RE})(?![\\p{L}])\\.?,?\\s*(\\d{4})(?!\\d)`,
  'giu',
);
const MONTH_DAY_YEAR = new RegExp(
  `(?<![\\p{L}])(${MONTH_RE})(?![\\p{L}])\\.?\\s+(\\d{1,2})(?:st|nd|rd|th)?,?\\s+(\\d{4})(?!\\d)`,
  'giu',
);
// 03.03.2024, 3.3.24 — not inside longer dotted numbers (versions, IPs, amounts).
const DOTTED = /(?<![\d.,])(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4}|\d{2})(?!\d|[.,]\d)/g;
const ISO = /(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d])/g;
const SLASHED = /(?<![\d/])(\d{1,2})\/(\d{1,2})\/(\d{4}|\d{2})(?![\d/])/g;

function isoDate(y: number, m: number, d: number): string | undefined {
  if (y < 1900 || y > 2100 || m < 1 || m > 12 || d < 1) return undefined;
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  if (d > days) return undefined;
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

function fullYear(y: string): number {
  const n = Number(y);
  // Two-digit years: 00–69 are 20xx, 70–99 are 19xx (the POSIX pivot).
  return y.length === 2 ? (n < 70 ? 2000 + n : 1900 + n) : n;
}

function findDates(text: string, monthFirst: boolean): Hit[] {
  const hits: Hit[] = [];
  const taken: [number, number][] = [];
  const add = (m: RegExpMatchArray, iso: string | undefined) => {
    const index = m.index ?? 0;
    const end = index + m[0].length;
    if (!iso || taken.some(([a, b]) => index < b && end > a)) return;
    taken.push([index, end]);
    hits.push({ index, text: m[0], normalized: iso });
  };
  for (const m of text.matchAll(DAY_MONTH_YEAR)) {
    add(m, isoDate(Number(m[3]), MONTHS[(m[2] ?? '').toLowerCase()] ?? 0, Number(m[1])));
  }
  for (const m of text.matchAll(MONTH_DAY_YEAR)) {
    add(m, isoDate(Number(m[3]), MONTHS[(m[1] ?? '').toLowerCase()] ?? 0, Number(m[2])));
  }
  for (const m of text.matchAll(ISO)) add(m, isoDate(Number(m[1]), Number(m[2]), Number(m[3])));
  for (const m of text.matchAll(DOTTED)) add(m, isoDate(fullYear(m[3] ?? ''), Number(m[2]), Number(m[1])));
  for (const m of text.matchAll(SLASHED)) {
    const a = Number(m[1]);
    const b = Number(m[2]);
    const y = fullYear(m[3] ?? '');
    // Unambiguous when one part exceeds 12; otherwise the document's language decides.
    const dayFirst = a > 12 ? true : b > 12 ? false : !monthFirst;
    add(m, dayFirst ? isoDate(y, b, a) : isoDate(y, a, b));
  }
  return hits;
}

const DOC_DATE_LABEL =
  /(rechnungsdatum|belegdatum|ausstellungsdatum|invoice\s+date|date\s+of\s+invoice|issue\s+date|datum|date|dated|,\s*den)\s*[:.]?\s*$/iu;
const NOT_DOC_DATE =
  /(fällig|faellig|zahlbar|zahlungsziel|\bdue\b|liefer|leistung|geburt|geboren|\bbirth|gültig|\bvalid|expir|ablauf|\bbis\b|\buntil\b)/iu;

function dateLabelScore(text: string, index: number): number {
  const before = text.slice(Math.max(0, index - 48), index);
  const label = DOC_DATE_LABEL.exec(before)?.[1]?.toLowerCase().replace(/\s+/g, ' ');
  // Only the words since the previous number or sentence: "due" earlier in the line says nothing about this date.
  const lineBefore =
    before
      .slice(before.lastIndexOf('\n') + 1)
      .split(/[.;!?]\s|\d/)
      .pop() ?? '';
  if (NOT_DOC_DATE.test(lineBefore) || (!label && NOT_DOC_DATE.test(before.slice(-24)))) return -1;
  if (!label) return 0;
  // "Köln, den 3. März 2024" is how German letters date themselves.
  if (label === 'datum' || label === 'date' || label === 'dated' || label.endsWith('den')) return 2;
  return 3;
}

function pickDocumentDate(dates: DateHit[], nowYear: number): string | undefined {
  const plausible = dates.filter((d) => {
    const y = Number(d.normalized.slice(0, 4));
    return d.score >= 0 && y >= 1970 && y <= nowYear + 1;
  });
  let best: DateHit | undefined;
  for (const d of plausible) {
    if (
      !best ||
      d.score > best.score ||
      (d.score === best.score && (d.page < best.page || (d.page === best.page && d.index < best.index)))
    ) {
      best = d;
    }
  }
  return best?.normalized;
}

// ---------------------------------------------------------------------------------------------
// Amounts

const CURRENCY: Record<string, string> = {
  '€': 'EUR',
  eur: 'EUR',
  euro: 'EUR',
  $: 'USD',
  usd: 'USD',
  '£': 'GBP',
  gbp: 'GBP',
  chf: 'CHF',
};
const CUR = String.raw`€|EUR|Euro|\$|USD|£|GBP|CHF`;
// Grouped thousands (. , ' or no-break spaces) with optional decimals, or plain digits with decimals.
const NUM = String.raw`\d{1,3}(?:[.,'\u00a0\u202f]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?`;
const AMOUNT_AFTER = new RegExp(String.raw`(?<![\w.,'])(-\s?)?(${NUM})\s?(${CUR})(?![\p{L}\d])`, 'giu');
const AMOUNT_BEFORE = new RegExp(String.raw`(?<![\p{L}])(${CUR})\s?(-\s?)?(${NUM})(?![\d]|[.,]\d)`, 'giu');

/** "1.234,56" / "1,234.56" / "1'234.50" / "12,5" → "1234.56" style with two decimals; undefined if not a number. */
export function parseAmountNumber(s: string): string | undefined {
  const t = s.replace(/[\s'\u00a0\u202f]/g, '');
  const lastDot = t.lastIndexOf('.');
  const lastComma = t.lastIndexOf(',');
  const sepAt = Math.max(lastDot, lastComma);
  let int = t;
  let frac = '';
  if (sepAt >= 0) {
    const sep = t[sepAt] as string;
    const after = t.length - sepAt - 1;
    const both = lastDot >= 0 && lastComma >= 0;
    const repeated = t.indexOf(sep) !== sepAt;
    // The last separator is the decimal one when both kinds occur, or when it is single and not
    // followed by exactly three digits ("1.234" and "1,234" are thousands).
    if (both || (!repeated && after !== 3)) {
      if (after < 1 || after > 2) return undefined;
      frac = t.slice(sepAt + 1);
      int = t.slice(0, sepAt);
    }
  }
  // What remains may only group thousands, with one kind of separator.
  if (!/^\d+$/.test(int) && !/^\d{1,3}(?:\.\d{3})+$/.test(int) && !/^\d{1,3}(?:,\d{3})+$/.test(int)) return undefined;
  if (!/^\d*$/.test(frac)) return undefined;
  return `${int.replace(/[.,]/g, '').replace(/^0+(?=\d)/, '')}.${frac.padEnd(2, '0')}`;
}

function findAmounts(text: string): Hit[] {
  const hits: Hit[] = [];
  const add = (index: number, raw: string, sign: string | undefined, num: string, cur: string) => {
    const value = parseAmountNumber(num);
    const code = CURRENCY[cur.toLowerCase()];
    if (!value || !code) return;
    hits.push({ index, text: raw, normalized: `${sign ? '-' : ''}${value} ${code}` });
  };
  for (const m of text.matchAll(AMOUNT_AFTER)) add(m.index ?? 0, m[0], m[1], m[2] ?? '', m[3] ?? '');
  for (const m of text.matchAll(AMOUNT_BEFORE)) add(m.index ?? 0, m[0], m[2], m[3] ?? '', m[1] ?? '');
  return hits;
}

// ---------------------------------------------------------------------------------------------
// IBANs

// ISO 13616 lengths of the countries a German/English archive meets (SEPA and a few more).
// biome-ignore format: a table reads better than one key per line
const IBAN_LENGTH: Record<string, number> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, CH: 21, CR: 22, CY: 28,
  CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23,
  GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28,
  LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15,
  PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, SA: 24, SE: 24, SI: 19, SK: 24, SM: 27, TN: 24,
  TR: 26, UA: 29, VA: 22, VG: 24, XK: 20,
};

const IBAN_START = /(?<![A-Za-z0-9])([A-Z]{2})(\d{2})/g;

/** ISO 7064 mod 97-10 over the rearranged IBAN, digit by digit (no bigint needed). */
export function isValidIban(iban: string): boolean {
  const s = iban.replace(/\s+/g, '').toUpperCase();
  const len = IBAN_LENGTH[s.slice(0, 2)];
  if (!len || s.length !== len || !/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(s)) return false;
  const r = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of r) {
    const v = ch >= 'A' ? ch.charCodeAt(0) - 55 : ch.charCodeAt(0) - 48;
    rem = v >= 10 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97;
  }
  return rem === 1;
}

function findIbans(text: string): Hit[] {
  const hits: Hit[] = [];
  for (const m of text.matchAll(IBAN_START)) {
    const len = IBAN_LENGTH[m[1] ?? ''];
    if (!len) continue;
    const start = m.index ?? 0;
    // Take exactly the country's length of characters, allowing single spaces between groups.
    let i = start;
    let compact = '';
    while (i < text.length && compact.length < len) {
      const ch = text[i] as string;
      if (/[A-Z0-9]/.test(ch)) {
        compact += ch;
        i++;
      } else if (ch === ' ' && /[A-Z0-9]/.test(text[i + 1] ?? '') && compact.length >= 4) {
        i++;
      } else break;
    }
    // The next character must not continue the code (an IBAN glued to more letters or digits).
    if (compact.length !== len || /[A-Za-z0-9]/.test(text[i] ?? '')) continue;
    if (!isValidIban(compact)) continue;
    hits.push({ index: start, text: text.slice(start, i), normalized: compact });
  }
  return hits;
}

// ---------------------------------------------------------------------------------------------
// E-mail addresses

const EMAIL =
  /(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-]|\.[A-Za-z0-9])/g;

function findEmails(text: string): Hit[] {
  const hits: Hit[] = [];
  for (const m of text.matchAll(EMAIL)) {
    if (m[0].includes('..')) continue;
    hits.push({ index: m.index ?? 0, text: m[0], normalized: m[0].toLowerCase() });
  }
  return hits;
}

// ---------------------------------------------------------------------------------------------
// Invoice and customer numbers

const INVOICE_LABEL = String.raw`Rechnungs?[- ]?(?:nummer|nr\.?|no\.?)|Rechnung\s+(?:Nr\.?|Nummer|No\.?)|Re\.?-Nr\.?|Invoice\s*(?:No\.?|Number|Nr\.?|#|ID)|Inv\.\s*No\.?`;
const CUSTOMER_LABEL = String.raw`Kunden[- ]?(?:nummer|nr\.?|no\.?|ID)|Kd\.?-?Nr\.?|Customer\s*(?:No\.?|Number|Nr\.?|#|ID)|Client\s*(?:No\.?|Number|ID)`;
// The label, an optional ":" or "#", and the code on the same line or the next one.
const labelled = (label: string) =>
  new RegExp(
    String.raw`(?<![\p{L}])(?:${label})(?!(?<=\p{L})\p{L})[ \t]*[:#]?[ \t]*(?:\r?\n[ \t]*)?([A-Z0-9](?:[A-Z0-9]|[-/._](?=[A-Z0-9])){2,39})(?![\p{L}\d])`,
    'giu',
  );
const LABEL_RES = new Map<string, RegExp>();

function findLabelled(text: string, label: string): Hit[] {
  let re = LABEL_RES.get(label);
  if (!re) {
    re = labelled(label);
    LABEL_RES.set(label, re);
  }
  const hits: Hit[] = [];
  for (const m of text.matchAll(re)) {
    const code = m[1] ?? '';
    // A code has a digit; "Invoice number below" names none.
    if (!/\d/.test(code)) continue;
    hits.push({ index: (m.index ?? 0) + m[0].length - code.length, text: code, normalized: code.toUpperCase() });
  }
  return hits;
}
