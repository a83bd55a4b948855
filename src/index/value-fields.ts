/**
 * Values of value fields as typed in a query, parsed into ranges and name tests over the value columns:
 * dates (`2024`, `2024-03`, `2024-03-15`, ranges `a..b`, `>a`, `<=b`, relative `last-week`, `today`,
 * `last-30-days`), amounts (`100`, `99,90`, `>100`, `50..200`), codes and names. Relative dates are
 * resolved against the caller's clock (UTC calendar; weeks start on Monday).
 */

import { tagKey } from '../store/tags.js';
import { normaliseWord } from './analyser.js';
import { type NameColumn, type RangeColumn, type StringList, toCents } from './doc-values.js';
import type { ValueFieldName } from './query-ast.js';
import { QuerySyntaxError } from './query-parser.js';

/** Half-open [from, to) in ms. */
export interface Range {
  from: number;
  to: number;
}

const DAY = 86_400_000;

function utc(y: number, m = 0, d = 1): number {
  return Date.UTC(y, m, d);
}

/** A date or period as [start, end). */
function period(v: string, nowMs: number): Range | undefined {
  let m = /^(\d{4})$/.exec(v);
  if (m) return { from: utc(+m[1]!), to: utc(+m[1]! + 1) };
  // Months and days with two digits, as ISO 8601 writes them (`2024-1` is not a month: a typo of 2024-10?).
  m = /^(\d{4})-(\d{2})$/.exec(v);
  if (m && +m[2]! >= 1 && +m[2]! <= 12) return { from: utc(+m[1]!, +m[2]! - 1), to: utc(+m[1]!, +m[2]!) };
  m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (m) {
    const from = utc(+m[1]!, +m[2]! - 1, +m[3]!);
    const d = new Date(from);
    if (d.getUTCMonth() !== +m[2]! - 1 || d.getUTCDate() !== +m[3]!) return undefined;
    return { from, to: from + DAY };
  }
  const now = new Date(nowMs);
  const today = utc(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const monday = today - ((now.getUTCDay() + 6) % 7) * DAY;
  switch (v.toLowerCase()) {
    case 'today':
      return { from: today, to: today + DAY };
    case 'yesterday':
      return { from: today - DAY, to: today };
    case 'this-week':
      return { from: monday, to: monday + 7 * DAY };
    case 'last-week':
      return { from: monday - 7 * DAY, to: monday };
    case 'this-month':
      return { from: utc(now.getUTCFullYear(), now.getUTCMonth()), to: utc(now.getUTCFullYear(), now.getUTCMonth() + 1) };
    case 'last-month':
      return { from: utc(now.getUTCFullYear(), now.getUTCMonth() - 1), to: utc(now.getUTCFullYear(), now.getUTCMonth()) };
    case 'this-year':
      return { from: utc(now.getUTCFullYear()), to: utc(now.getUTCFullYear() + 1) };
    case 'last-year':
      return { from: utc(now.getUTCFullYear() - 1), to: utc(now.getUTCFullYear()) };
  }
  m = /^last-(\d{1,4})-days?$/i.exec(v);
  if (m && +m[1]! >= 1) return { from: today - (+m[1]! - 1) * DAY, to: today + DAY };
  return undefined;
}

/** `a..b`, `..b`, `a..`, `>a`, `>=a`, `<a`, `<=a` or a single value, over any "period" parser. */
function rangeOf(value: string, pos: number, one: (v: string) => Range | undefined, what: string): Range {
  const bad = (at: number) => new QuerySyntaxError(`not ${what}: ${JSON.stringify(value.slice(0, 40))}`, at);
  const get = (v: string, at: number): Range => {
    const r = one(v);
    if (r === undefined) throw bad(at);
    return r;
  };
  const dots = value.indexOf('..');
  if (dots >= 0) {
    const a = value.slice(0, dots);
    const b = value.slice(dots + 2);
    if (a === '' && b === '') throw bad(pos);
    const from = a === '' ? Number.NEGATIVE_INFINITY : get(a, pos).from;
    const to = b === '' ? Number.POSITIVE_INFINITY : get(b, pos + dots + 2).to;
    if (from >= to) throw new QuerySyntaxError(`empty range: ${JSON.stringify(value.slice(0, 40))} ends before it starts`, pos);
    return { from, to };
  }
  const op = /^(>=|<=|>|<)/.exec(value)?.[1];
  if (op !== undefined) {
    const r = get(value.slice(op.length), pos + op.length);
    switch (op) {
      case '>':
        return { from: r.to, to: Number.POSITIVE_INFINITY };
      case '>=':
        return { from: r.from, to: Number.POSITIVE_INFINITY };
      case '<':
        return { from: Number.NEGATIVE_INFINITY, to: r.from };
      default:
        return { from: Number.NEGATIVE_INFINITY, to: r.to };
    }
  }
  return get(value, pos);
}

export function parseDateRange(value: string, pos: number, nowMs: number): Range {
  return rangeOf(
    value,
    pos,
    (v) => period(v, nowMs),
    'a date (2024, 2024-03, 2024-03-15, last-week, last-N-days with N 1..9999 …)',
  );
}

/** Amounts are compared in cents; `100` is the point [100.00, 100.01). */
export function parseAmountRange(value: string, pos: number): Range {
  return rangeOf(
    value,
    pos,
    (v) => {
      let s = v.replace(/[€$£]|eur|usd|chf|gbp/gi, '');
      if (/^\d{1,3}(\.\d{3})+(,\d{1,2})?$/.test(s)) s = s.replace(/\./g, '').replace(',', '.');
      else if (/^\d+,\d{1,2}$/.test(s)) s = s.replace(',', '.');
      else s = s.replace(/,(?=\d{3}\b)/g, '');
      if (!/^\d+(\.\d{1,2})?$/.test(s)) return undefined;
      const cents = toCents(Number(s));
      return { from: cents, to: cents + 1 };
    },
    'an amount (100, 99.90, >100, 50..200)',
  );
}

const TYPE_ALIASES: Record<string, string[]> = {
  pdf: ['application/pdf'],
  image: ['image/'],
  photo: ['image/'],
  mail: ['message/rfc822'],
  email: ['message/rfc822'],
  'e-mail': ['message/rfc822'],
  text: ['text/plain'],
  html: ['text/html'],
  word: ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'application/msword'],
  docx: ['application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
  zip: ['application/zip'],
};

const LANG_ALIASES: Record<string, string> = {
  de: 'deu',
  ger: 'deu',
  german: 'deu',
  deutsch: 'deu',
  deu: 'deu',
  en: 'eng',
  english: 'eng',
  englisch: 'eng',
  eng: 'eng',
};

const SOURCE_ALIASES: Record<string, string> = { mail: 'imap', email: 'imap', 'e-mail': 'imap', archive: 'archive-member' };
/** Where documents come from (DocumentSource in store/document-store.ts). */
const SOURCES = new Set(['upload', 'imap', 'attachment', 'archive-member']);

/** An IBAN or a code as its column holds it and a clause compares it: upper case, no spaces. */
export const code = (s: string) => s.replace(/\s+/g, '').toUpperCase();

/**
 * An ISO date (`2024-03-15…`: a recognised date, a document's own date) as the date column holds it, its UTC
 * day in ms; undefined when it is no date. With `writtenAmount` and `code`, the one reading of written values for the
 * columns (documents/search-adapters.ts) and for the snippets of value clauses (`writtenValues`).
 */
export function writtenDay(iso: string): number | undefined {
  const t = Date.parse(`${iso.slice(0, 10)}T00:00:00Z`);
  return Number.isFinite(t) ? Math.floor(t / DAY) * DAY : undefined;
}

/** A recognised amount (`1234.56`) as the amount column is given it (NaN when it is none; the column keeps cents). */
export const writtenAmount = (s: string): number => Number.parseFloat(s);

/**
 * One value clause: a date, created or amount clause is a range of its column, [from, to) (a document passes
 * when one of the column's numbers is in it); any other clause tests the names of one column (a document
 * passes when `accepts` one of its names), so a filter asks once per interned name, not once per document.
 * Throws QuerySyntaxError (at the value) for a bad value.
 */
export type ValueClause =
  | { kind: 'range'; column: RangeColumn; from: number; to: number }
  | { kind: 'names'; column: NameColumn | StringList; accepts: (name: string) => boolean };

export function valueClause(field: ValueFieldName, value: string, pos: number, nowMs: number): ValueClause {
  const names = (column: NameColumn | StringList, accepts: (name: string) => boolean): ValueClause => ({
    kind: 'names',
    column,
    accepts,
  });
  switch (field) {
    case 'date':
    case 'created':
      return { kind: 'range', column: field, ...parseDateRange(value, pos, nowMs) };
    case 'amount':
      return { kind: 'range', column: 'amount', ...parseAmountRange(value, pos) };
    case 'iban': {
      const want = code(value);
      return names('ibans', (s) => s === want);
    }
    case 'invoice': {
      const want = code(value);
      return names('invoices', (s) => s === want);
    }
    case 'type': {
      const lower = value.toLowerCase();
      const wants = TYPE_ALIASES[lower] ?? [lower];
      return names('type', (name) => {
        const mt = name.toLowerCase();
        return wants.some((w) =>
          w.endsWith('/') ? mt.startsWith(w) : mt === w || mt.split('/')[1] === w || mt.split('/')[0] === w,
        );
      });
    }
    case 'tag': {
      const want = tagKey(value);
      return names('tag', (t) => tagKey(t) === want);
    }
    case 'lang': {
      const want = LANG_ALIASES[value.toLowerCase()];
      if (want === undefined)
        throw new QuerySyntaxError(`unknown language ${JSON.stringify(value.slice(0, 20))}: use deu or eng`, pos);
      return names('lang', (l) => l === want || l.split('+').includes(want));
    }
    case 'source': {
      const lower = value.toLowerCase();
      const want = SOURCE_ALIASES[lower] ?? lower;
      if (!SOURCES.has(want))
        throw new QuerySyntaxError(
          `unknown source ${JSON.stringify(value.slice(0, 20))}: use upload, imap (mail), attachment or archive-member`,
          pos,
        );
      return names('source', (s) => s === want);
    }
    case 'to': {
      const want = normaliseWord(value);
      return names('to', (t) => normaliseWord(t).includes(want));
    }
  }
}

/** Kinds of values recognised in a document's text (pipeline/recognize.ts) that value clauses read. */
export type WrittenKind = 'date' | 'amount' | 'iban' | 'invoice_number' | 'customer_number';

/**
 * Which values written in a text a clause accepts (the kinds, and a test of a value's normalised form), as
 * its column holds them (documents/search-adapters.ts `documentValues`); undefined for a clause no written
 * value answers (`created:`, `type:`, `tag:` …).
 */
export function writtenValues(
  clause: ValueClause,
): { kinds: readonly WrittenKind[]; accepts: (normalized: string) => boolean } | undefined {
  if (clause.kind === 'range') {
    const within = (x: number) => x >= clause.from && x < clause.to;
    if (clause.column === 'date')
      return {
        kinds: ['date'],
        accepts: (iso) => {
          const day = writtenDay(iso);
          return day !== undefined && within(day);
        },
      };
    if (clause.column === 'amount') return { kinds: ['amount'], accepts: (amount) => within(toCents(writtenAmount(amount))) };
    return undefined;
  }
  if (clause.column === 'ibans') return { kinds: ['iban'], accepts: (iban) => clause.accepts(code(iban)) };
  if (clause.column === 'invoices')
    return { kinds: ['invoice_number', 'customer_number'], accepts: (c) => clause.accepts(c.toUpperCase()) };
  return undefined;
}
