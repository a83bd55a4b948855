import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';
import type { DocValues, ValuedIndexDoc } from '../../src/index/doc-values.js';
import type { EngineSearchOptions, FacetField, SearchEngine } from '../../src/index/engine.js';
import { listSegments } from '../../src/index/segment-merger.js';
import { openBenchEngine } from '../harness/bench-engine.js';
import { Corpus, type CorpusDoc, Rng } from '../harness/data.js';
import { loadSqlite, type SqliteCtor } from '../harness/sqlite.js';
import type { BenchContext, Benchmark, FigureInput } from '../harness/types.js';

/**
 * Search latency as the corpus grows (10k → 50k documents quick, 10k → 100k → 1M with --full), per query
 * kind: single terms (frequent, rare), two-term AND, phrase, prefix, typo (`word~` and the automatic retry),
 * text fields (`title:`, `from:`), ranges (`date:a..b`, `amount:>100`, beside a word and alone), facets
 * over the whole result set, date sort, and Suggest (as-you-type, and with a typo in the prefix).
 *
 * Ours is SearchEngine as the server composes it (LMDB store, record cipher, analysis in a worker pool of
 * one thread per core, background merges on) with per-document values (ValuedIndexDoc.values). The
 * reference is SQLite FTS5 (better-sqlite3) for what it can express: the FTS5 table for the text kinds,
 * and for ranges, facets and date sort the FTS5 table joined with ordinary indexed tables holding the same
 * per-document values (the SQL is in SQL below and in each figure's note). Kinds FTS5 cannot express
 * (typo tolerance, Suggest) have no reference.
 *
 * One index per side grows through the sizes (documents [0, n) each time, added in batches of 1000); after
 * each size both sides are left as their own write path leaves them (ours: the background merges by its
 * merge policy, waited for; FTS5: its automerge), then every kind is measured, ours and FTS5 alternating
 * query by query. Writes CSV (size, kind, side, p50, p99, samples) and an SVG chart (log-log) to
 * native-bench/results/search-scaling-{quick,full}.{csv,svg}.
 *
 * Bars (issue 8, ARCHITECTURE §5), judged at 1M documents only: typo and faceted p99 ≤ 60 ms; plain
 * queries (term, AND, phrase) p50 ≤ 3 ms and p99 ≤ 30 ms; Suggest p99 ≤ 5 ms (judged at every size).
 */

export const TENANT = 'bench';
const BATCH = 1000;
/** Documents generated (untimed) and then indexed by each side in turn. */
export const CHUNK = 50_000;
export const FACETS: readonly FacetField[] = ['type', 'year', 'tag', 'source', 'lang'];
const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));
const FTS5_TOKENIZER = "tokenize='unicode61 remove_diacritics 2'";

/** The reference's statements, verbatim (prepared once; `?` bound per query). */
export const SQL = {
  schema: [
    `CREATE VIRTUAL TABLE t USING fts5(title, body, sender, ${FTS5_TOKENIZER})`,
    'CREATE TABLE meta(id INTEGER PRIMARY KEY, date INTEGER NOT NULL, year INTEGER NOT NULL, type TEXT NOT NULL, source TEXT NOT NULL, lang TEXT NOT NULL)',
    'CREATE TABLE amounts(id INTEGER NOT NULL, cents INTEGER NOT NULL)',
    'CREATE TABLE tags(id INTEGER NOT NULL, tag TEXT NOT NULL)',
    'CREATE INDEX meta_date ON meta(date)',
    'CREATE INDEX amounts_id ON amounts(id, cents)',
    'CREATE INDEX amounts_cents ON amounts(cents, id)',
    'CREATE INDEX tags_id ON tags(id, tag)',
  ],
  top: 'SELECT rowid, bm25(t) FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT 10',
  topDate:
    'SELECT t.rowid, bm25(t) FROM t JOIN meta ON meta.id = t.rowid WHERE t MATCH ? AND meta.date >= ? AND meta.date < ? ORDER BY bm25(t) LIMIT 10',
  topAmount:
    'SELECT t.rowid, bm25(t) FROM t WHERE t MATCH ? AND EXISTS (SELECT 1 FROM amounts a WHERE a.id = t.rowid AND a.cents >= ?) ORDER BY bm25(t) LIMIT 10',
  onlyDate: 'SELECT id FROM meta WHERE date >= ? AND date < ? LIMIT 10',
  onlyDateCount: 'SELECT count(*) FROM meta WHERE date >= ? AND date < ?',
  onlyAmount: 'SELECT DISTINCT id FROM amounts WHERE cents >= ? LIMIT 10',
  onlyAmountCount: 'SELECT count(DISTINCT id) FROM amounts WHERE cents >= ?',
  /** One pass over the matches for type/year/source/lang (summed per facet in JS), one for tags. */
  facets:
    'WITH m(id) AS MATERIALIZED (SELECT rowid FROM t WHERE t MATCH ?) ' +
    'SELECT 0 AS k, type, year, source, lang, count(*) AS n FROM m JOIN meta USING (id) GROUP BY type, year, source, lang ' +
    'UNION ALL SELECT 1, tag, NULL, NULL, NULL, count(*) FROM m JOIN tags USING (id) GROUP BY tag',
  sortDate: 'SELECT t.rowid FROM t JOIN meta ON meta.id = t.rowid WHERE t MATCH ? ORDER BY meta.date DESC, meta.id LIMIT 10',
  count: 'SELECT count(*) FROM t WHERE t MATCH ?',
  countDate: 'SELECT count(*) FROM t JOIN meta ON meta.id = t.rowid WHERE t MATCH ? AND meta.date >= ? AND meta.date < ?',
  countAmount:
    'SELECT count(*) FROM t WHERE t MATCH ? AND EXISTS (SELECT 1 FROM amounts a WHERE a.id = t.rowid AND a.cents >= ?)',
} as const;

// ------------------------------------------------------------------------------------------ the corpus

const TYPES: readonly (readonly [string, number])[] = [
  ['application/pdf', 50],
  ['image/jpeg', 15],
  ['image/png', 5],
  ['message/rfc822', 15],
  ['text/plain', 10],
  ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', 5],
];
const TAGS = (
  'steuer versicherung miete auto gesundheit bank arbeit strom internet handy kita schule urlaub garantie ' +
  'rente kredit spenden nebenkosten reparatur wohnung haftpflicht kfz arzt quittung'
).split(' ');
const LAST_NAMES = (
  'Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer Richter ' +
  'Klein Wolf Schröder Neumann Schwarz Zimmermann'
).split(' ');
const FORMS = ['GmbH', 'AG', 'KG', '& Söhne', 'Versicherung', 'Immobilien', 'Steuerberatung', 'Autohaus'];
const SENDERS = [
  'Finanzamt Köln',
  'Stadtwerke München',
  'Deutsche Bahn',
  'Telekom Deutschland',
  'Sparkasse Berlin',
  'Allianz Versicherung',
  ...LAST_NAMES.flatMap((n) => FORMS.map((f) => `${n} ${f}`)),
];
const FIRST_DAY = Date.UTC(2012, 0, 1);
const DAYS = 14 * 365;
const DAY = 86_400_000;

function hash32(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0 || 1;
}

/** Index of a Zipf-ish draw (weight 1/(k+1)) from `n` items. */
function zipfIndex(rng: Rng, n: number): number {
  const u = rng.next() / 2 ** 32;
  // Inverse of the continuous approximation ln(k + 1) / ln(n + 1).
  return Math.min(n - 1, Math.floor((n + 1) ** u) - 1);
}

function weighted(rng: Rng, table: readonly (readonly [string, number])[]): string {
  const total = table.reduce((s, [, w]) => s + w, 0);
  let r = rng.below(total);
  for (const [v, w] of table) {
    if (r < w) return v;
    r -= w;
  }
  return (table[0] as readonly [string, number])[0];
}

/** Document i's metadata, deterministic (independent of the text generator's stream). */
export interface DocMeta {
  readonly sender: string;
  readonly dateMs: number;
  readonly createdMs: number;
  readonly mediaType: string;
  readonly source: string;
  /** Two decimals. */
  readonly amounts: readonly number[];
  readonly tags: readonly string[];
}

export function docMeta(i: number): DocMeta {
  const rng = new Rng(hash32(0x3e7a, i));
  const mediaType = weighted(rng, TYPES);
  const mail = mediaType === 'message/rfc822';
  const s = rng.below(100);
  const source = mail ? 'imap' : s < 80 ? 'upload' : s < 95 ? 'attachment' : 'archive-member';
  const sender = mail || rng.below(2) === 0 ? (SENDERS[zipfIndex(rng, SENDERS.length)] as string) : '';
  const dateMs = FIRST_DAY + rng.below(DAYS) * DAY;
  const createdMs = dateMs + rng.below(60) * DAY + rng.below(DAY);
  const amounts: number[] = [];
  for (let n = rng.below(4); n > 0; n--)
    amounts.push(Math.round(Math.exp((rng.next() / 2 ** 32) * Math.log(20_000)) * 100) / 100);
  const tags = new Set<string>();
  for (let n = rng.below(3); n > 0; n--) tags.add(TAGS[zipfIndex(rng, TAGS.length)] as string);
  return { sender, dateMs, createdMs, mediaType, source, amounts, tags: [...tags] };
}

export function indexDoc(d: CorpusDoc, m: DocMeta): ValuedIndexDoc {
  const values: DocValues = {
    title: d.title,
    fileName: '',
    subject: '',
    from: m.sender,
    to: [],
    dateMs: m.dateMs,
    createdMs: m.createdMs,
    mediaType: m.mediaType,
    lang: d.language,
    source: m.source,
    tags: [...m.tags],
    dates: [],
    amounts: [...m.amounts],
    ibans: [],
    invoices: [],
  };
  return {
    docId: d.id,
    language: d.language,
    fields: { title: d.title, body: [d.body], ...(m.sender ? { sender: m.sender } : {}) },
    createdMs: m.createdMs,
    mediaType: m.mediaType,
    values,
  };
}

// ------------------------------------------------------------------------------------------ the sides

export interface Ours {
  engine: SearchEngine;
  add(docs: readonly ValuedIndexDoc[]): Promise<void>;
  /** Waits for the background merges (and runs any the policy still wants), then durable. */
  settle(): Promise<void>;
  search(q: string, options?: EngineSearchOptions): Promise<number>;
  total(q: string, options?: EngineSearchOptions): Promise<string>;
  facets(q: string): Promise<Map<string, number>>;
  suggest(typed: string): Promise<number>;
  segments(): number;
  close(): Promise<void>;
}

export async function openOurs(dir: string, secret?: Uint8Array): Promise<Ours> {
  // Background merges on (the server's default).
  const { store, engine, addAll, check, close } = openBenchEngine(dir, { autoMerge: true, secret });
  const base = { limit: 10, snippets: false } as const;
  return {
    engine,
    add: (docs) => addAll(TENANT, docs, BATCH),
    async settle() {
      await engine.index.merge({ tenantId: TENANT });
      await store.flushed();
      check();
    },
    async search(q, options) {
      return (await engine.search(TENANT, q, { ...base, ...options })).hits.length;
    },
    async total(q, options) {
      const r = await engine.search(TENANT, q, { ...base, ...options });
      return `${r.totalExact ? '' : '≈'}${r.total}${r.didYouMean !== undefined ? ` (did you mean: ${r.didYouMean})` : ''}`;
    },
    async facets(q) {
      const r = await engine.search(TENANT, q, { ...base, facets: FACETS });
      const out = new Map<string, number>();
      for (const f of r.facets) for (const b of f.buckets) out.set(`${f.field}:${b.value}`, b.count);
      return out;
    },
    async suggest(typed) {
      return (await engine.suggest(TENANT, typed, 8)).suggestions.length;
    },
    segments: () => listSegments(engine.index.store, TENANT).length,
    close,
  };
}

type Stmt = BetterSqlite3.Statement<unknown[], unknown>;

export interface Sqlite {
  add(docs: readonly CorpusDoc[], metas: readonly DocMeta[], first: number): void;
  run(name: keyof typeof SQL, ...params: (string | number)[]): number;
  facets(match: string): Map<string, number>;
  count(name: keyof typeof SQL, ...params: (string | number)[]): number;
  close(): void;
}

/** `create`: a new file gets the schema; false reopens one built before (the 1M probe). */
export function openSqlite(Database: SqliteCtor, file: string, create = true): Sqlite {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  if (create) for (const s of SQL.schema) db.exec(s);
  const insertText = db.prepare('INSERT INTO t(rowid, title, body, sender) VALUES (?, ?, ?, ?)');
  const insertMeta = db.prepare('INSERT INTO meta(id, date, year, type, source, lang) VALUES (?, ?, ?, ?, ?, ?)');
  const insertAmount = db.prepare('INSERT INTO amounts(id, cents) VALUES (?, ?)');
  const insertTag = db.prepare('INSERT INTO tags(id, tag) VALUES (?, ?)');
  const batch = db.transaction((docs: readonly CorpusDoc[], metas: readonly DocMeta[], first: number) => {
    for (let j = 0; j < docs.length; j++) {
      const d = docs[j] as CorpusDoc;
      const m = metas[j] as DocMeta;
      const id = first + j;
      insertText.run(id, d.title, d.body, m.sender);
      insertMeta.run(id, m.dateMs, new Date(m.dateMs).getUTCFullYear(), m.mediaType, m.source, d.language);
      for (const a of m.amounts) insertAmount.run(id, Math.round(a * 100));
      for (const t of m.tags) insertTag.run(id, t);
    }
  });
  const stmts = new Map<string, Stmt>();
  const stmt = (name: keyof typeof SQL): Stmt => {
    let s = stmts.get(name);
    if (s === undefined) {
      s = db.prepare(SQL[name] as string);
      stmts.set(name, s);
    }
    return s;
  };
  return {
    add(docs, metas, first) {
      for (let i = 0; i < docs.length; i += BATCH) batch(docs.slice(i, i + BATCH), metas.slice(i, i + BATCH), first + i);
    },
    run: (name, ...params) => stmt(name).all(...params).length,
    facets(match) {
      const out = new Map<string, number>();
      const bump = (k: string, n: number) => out.set(k, (out.get(k) ?? 0) + n);
      for (const r of stmt('facets').all(match) as {
        k: number;
        type: string;
        year: number;
        source: string;
        lang: string;
        n: number;
      }[]) {
        if (r.k === 1) {
          bump(`tag:${r.type}`, r.n);
          continue;
        }
        bump(`type:${r.type}`, r.n);
        bump(`year:${r.year}`, r.n);
        bump(`source:${r.source}`, r.n);
        bump(`lang:${r.lang}`, r.n);
      }
      return out;
    },
    count: (name, ...params) =>
      Number(
        stmt(name)
          .pluck()
          .get(...params),
      ),
    close() {
      db.close();
    },
  };
}

// ------------------------------------------------------------------------------------------ the kinds

export interface Instance {
  readonly label: string;
  ours(o: Ours): Promise<number>;
  sql?(s: Sqlite): number;
  /** Untimed, for the log: how many documents match. */
  oursTotal(o: Ours): Promise<string>;
  sqlTotal?(s: Sqlite): number;
}

export interface Kind {
  readonly kind: string;
  readonly instances: readonly Instance[];
  /** The reference statement(s), for the figure's note; undefined = no reference. */
  readonly sql?: string;
  readonly bar?: 'plain' | 'typo' | 'faceted' | 'suggest';
}

const DATE_RANGE = 'date:2020-01-01..2021-06-30';
const DATE_FROM = Date.UTC(2020, 0, 1);
const DATE_TO = Date.UTC(2021, 6, 1); // exclusive: the whole of 2021-06-30
const AMOUNT = 'amount:>100';
const AMOUNT_MIN_CENTS = 10_001; // `>100` is after the point 100.00

/** `rechnung` → `rechnnug`: two letters in the middle swapped (a typo that keeps the first two letters). */
function swapTypo(word: string, at: number): string {
  return word.slice(0, at) + word.charAt(at + 1) + word.charAt(at) + word.slice(at + 2);
}

function ftsTerm(w: string): string {
  return `"${w.replaceAll('"', '""')}"`;
}

/** The words the kinds are made of, chosen from the corpus (and checked against ours at the first size). */
export interface Words {
  frequent: string[];
  medium: string[];
  rare: string[];
  /** Words of 6+ letters for typos. */
  typoTargets: string[];
}

export function chooseWords(corpus: Corpus): Words {
  const v = (rank: number) => (corpus.vocabulary[rank] as string).toLowerCase();
  const rankOf = new Map(corpus.vocabulary.map((w, r) => [w.toLowerCase(), r]));
  // Rare: the highest-ranked vocabulary word of each of the first documents (so each is in every size).
  const rare: string[] = [];
  for (let i = 0; rare.length < 4; i++) {
    const words = corpus
      .doc(i)
      .body.toLowerCase()
      .split(/[^\p{L}]+/u);
    let best = '';
    for (const w of words) if ((rankOf.get(w) ?? -1) > (rankOf.get(best) ?? -1) && /^\p{L}{4,}$/u.test(w)) best = w;
    if (best && !rare.includes(best)) rare.push(best);
  }
  const letters = /^\p{L}{6,}$/u;
  const typoTargets: string[] = [];
  for (const rank of [14, 40, 150, 400, 700, 1000, 1500, 2000, 2500, 3000, 4000, 5000])
    for (let r = rank; r < rank + 200; r++) {
      const w = v(r);
      if (letters.test(w) && !typoTargets.includes(w)) {
        typoTargets.push(w);
        break;
      }
    }
  return {
    frequent: [v(14), v(15), v(17), v(19)],
    medium: [v(200), v(300), v(500), v(800)],
    rare,
    typoTargets,
  };
}

export function kinds(w: Words, typos: readonly string[]): Kind[] {
  const text = (label: string, ours: string, fts: string): Instance => ({
    label,
    ours: (o) => o.search(ours),
    sql: (s) => s.run('top', fts),
    oursTotal: (o) => o.total(ours),
    sqlTotal: (s) => s.count('count', fts),
  });
  const term = (t: string) => text(t, t, ftsTerm(t));
  const [f0, f1, f2, f3] = w.frequent as [string, string, string, string];
  const [m0, m1, m2, m3] = w.medium as [string, string, string, string];
  const list: Kind[] = [
    { kind: 'term.frequent', sql: SQL.top, bar: 'plain', instances: w.frequent.map(term) },
    { kind: 'term.rare', sql: SQL.top, bar: 'plain', instances: w.rare.map(term) },
    {
      kind: 'and',
      sql: `${SQL.top} with MATCH '"a" AND "b"'`,
      bar: 'plain',
      instances: [
        [f0, f1],
        [f0, m1],
        [m0, m2],
        [f2, m3],
      ].map(([a, b]) => text(`${a} ${b}`, `${a} ${b}`, `${ftsTerm(a as string)} AND ${ftsTerm(b as string)}`)),
    },
    {
      kind: 'or',
      sql: `${SQL.top} with MATCH '"a" OR "b"'`,
      bar: 'plain',
      instances: [
        [f0, m1],
        [m0, m2, m3],
        [f1, f3],
        [w.rare[0] as string, m0],
      ].map((ws) => text(ws.join(' OR '), ws.join(' OR '), ws.map(ftsTerm).join(' OR '))),
    },
    {
      kind: 'phrase',
      sql: `${SQL.top} with MATCH '"a b"'`,
      bar: 'plain',
      instances: ['müller gmbh', 'annual report'].map((p) => text(`"${p}"`, `"${p}"`, `"${p}"`)),
    },
    {
      kind: 'prefix',
      sql: `${SQL.top} with MATCH '"pre"*'`,
      instances: [f0.slice(0, 5), m0.slice(0, 4), m1.slice(0, 3), 'vers'].map((p) => text(`${p}*`, `${p}*`, `${ftsTerm(p)}*`)),
    },
    {
      kind: 'typo~',
      bar: 'typo',
      instances: typos.map((t) => ({ label: `${t}~`, ours: (o) => o.search(`${t}~`), oursTotal: (o) => o.total(`${t}~`) })),
    },
    {
      kind: 'typo.auto',
      bar: 'typo',
      instances: typos.map((t) => ({ label: t, ours: (o) => o.search(t), oursTotal: (o) => o.total(t) })),
    },
    {
      kind: 'field.title',
      sql: `${SQL.top} with MATCH 'title : "word"'`,
      instances: [f1, m0, m1, m2].map((t) => text(`title:${t}`, `title:${t}`, `title : ${ftsTerm(t)}`)),
    },
    {
      kind: 'field.from',
      sql: `${SQL.top} with MATCH 'sender : "name"'`,
      instances: ['müller', 'finanzamt', 'versicherung', 'schröder'].map((t) =>
        text(`from:${t}`, `from:${t}`, `sender : ${ftsTerm(t)}`),
      ),
    },
    {
      kind: 'range.date',
      sql: SQL.topDate,
      instances: [f0, m0, m1, f3].map((t) => ({
        label: `${t} ${DATE_RANGE}`,
        ours: (o) => o.search(`${t} ${DATE_RANGE}`),
        sql: (s) => s.run('topDate', ftsTerm(t), DATE_FROM, DATE_TO),
        oursTotal: (o) => o.total(`${t} ${DATE_RANGE}`),
        sqlTotal: (s) => s.count('countDate', ftsTerm(t), DATE_FROM, DATE_TO),
      })),
    },
    {
      kind: 'range.amount',
      sql: SQL.topAmount,
      instances: [f0, m0, m1, f3].map((t) => ({
        label: `${t} ${AMOUNT}`,
        ours: (o) => o.search(`${t} ${AMOUNT}`),
        sql: (s) => s.run('topAmount', ftsTerm(t), AMOUNT_MIN_CENTS),
        oursTotal: (o) => o.total(`${t} ${AMOUNT}`),
        sqlTotal: (s) => s.count('countAmount', ftsTerm(t), AMOUNT_MIN_CENTS),
      })),
    },
    {
      kind: 'range.alone',
      sql: `${SQL.onlyDate}; ${SQL.onlyDateCount} | ${SQL.onlyAmount}; ${SQL.onlyAmountCount}`,
      instances: [
        {
          label: DATE_RANGE,
          ours: (o) => o.search(DATE_RANGE),
          // The first 10 and the total, as ours answers.
          sql: (s) => Math.min(s.run('onlyDate', DATE_FROM, DATE_TO), s.count('onlyDateCount', DATE_FROM, DATE_TO)),
          oursTotal: (o) => o.total(DATE_RANGE),
          sqlTotal: (s) => s.count('onlyDateCount', DATE_FROM, DATE_TO),
        },
        {
          label: AMOUNT,
          ours: (o) => o.search(AMOUNT),
          sql: (s) => Math.min(s.run('onlyAmount', AMOUNT_MIN_CENTS), s.count('onlyAmountCount', AMOUNT_MIN_CENTS)),
          oursTotal: (o) => o.total(AMOUNT),
          sqlTotal: (s) => s.count('onlyAmountCount', AMOUNT_MIN_CENTS),
        },
      ],
    },
    {
      kind: 'faceted',
      sql: `${SQL.top}; then ${SQL.facets}`,
      bar: 'faceted',
      instances: [
        [f0, ftsTerm(f0)],
        [m0, ftsTerm(m0)],
        [`${f1} ${m1}`, `${ftsTerm(f1)} AND ${ftsTerm(m1)}`],
        [w.rare[0] as string, ftsTerm(w.rare[0] as string)],
      ].map(([q, fts]) => ({
        label: `${q} +facets`,
        ours: (o) => o.search(q as string, { facets: FACETS }),
        sql: (s) => s.run('top', fts as string) + s.facets(fts as string).size,
        oursTotal: (o) => o.total(q as string),
        sqlTotal: (s) => s.count('count', fts as string),
      })),
    },
    {
      kind: 'sort.date',
      sql: SQL.sortDate,
      instances: [f0, m0, m1, w.rare[0] as string].map((t) => ({
        label: `${t} sort=date`,
        ours: (o) => o.search(t, { sort: 'date_desc' }),
        sql: (s) => s.run('sortDate', ftsTerm(t)),
        oursTotal: (o) => o.total(t, { sort: 'date_desc' }),
        sqlTotal: (s) => s.count('count', ftsTerm(t)),
      })),
    },
    {
      kind: 'suggest',
      bar: 'suggest',
      instances: [f0.slice(0, 3), f0.slice(0, 5), 'mül', `annual ${'rep'}`, m0.slice(0, 4), `${f1} ${m2.slice(0, 3)}`].map(
        (p) => ({
          label: `"${p}"`,
          ours: (o) => o.suggest(p),
          oursTotal: async (o) => `${await o.suggest(p)} suggestions`,
        }),
      ),
    },
    {
      kind: 'suggest.typo',
      bar: 'suggest',
      instances: w.typoTargets.slice(0, 4).map((t) => {
        const p = swapTypo(t.slice(0, 6), 3);
        return { label: `"${p}"`, ours: (o) => o.suggest(p), oursTotal: async (o) => `${await o.suggest(p)} suggestions` };
      }),
    },
  ];
  return list;
}

/** Typo'd forms of the typo targets that the exact query does not find (so the automatic retry runs). */
export async function chooseTypos(ours: Ours, targets: readonly string[], log: (m: string) => void): Promise<string[]> {
  const out: string[] = [];
  for (const t of targets) {
    if (out.length >= 4) break;
    const typo = swapTypo(t, Math.min(3, t.length - 3));
    if (typo === t) continue;
    const exact = await ours.engine.search(TENANT, typo, { limit: 1, snippets: false, autoTypos: false });
    if (exact.total === 0) out.push(typo);
    else log(`  typo candidate ${typo} (of ${t}) matches exactly: skipped`);
  }
  return out;
}

// ------------------------------------------------------------------------------------------ measuring

function countLabel(n: number): string {
  return n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] as number;
}

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** samples[kind][side][rep] = latencies in ms. */
type Samples = Map<string, Map<'ours' | 'sqlite-fts5', number[][]>>;

async function measure(
  allKinds: readonly Kind[],
  ours: Ours,
  sqlite: Sqlite | undefined,
  reps: number,
  rounds: number,
): Promise<Samples> {
  const out: Samples = new Map();
  for (const k of allKinds) {
    out.set(
      k.kind,
      new Map([
        ['ours', []],
        ['sqlite-fts5', []],
      ]),
    );
    // Warm-up: lazy columns, dictionary lists, the title index, prepared statements, JIT.
    for (let i = 0; i < 2; i++)
      for (const q of k.instances) {
        await q.ours(ours);
        if (sqlite) q.sql?.(sqlite);
      }
  }
  for (let r = 0; r < reps; r++) {
    for (const k of allKinds) {
      const o: number[] = [];
      const s: number[] = [];
      for (let round = 0; round < rounds; round++)
        for (const q of k.instances) {
          // Alternating query by query: both sides see the same moment of background load.
          let t0 = process.hrtime.bigint();
          const hits = await q.ours(ours);
          o.push(ms(t0));
          if (hits > 10) throw new Error(`ours returned ${hits} results for ${q.label}`);
          if (sqlite && q.sql) {
            t0 = process.hrtime.bigint();
            q.sql(sqlite);
            s.push(ms(t0));
          }
        }
      out.get(k.kind)?.get('ours')?.push(o);
      if (s.length > 0) out.get(k.kind)?.get('sqlite-fts5')?.push(s);
    }
  }
  return out;
}

interface Row {
  size: number;
  kind: string;
  side: 'ours' | 'sqlite-fts5';
  p50: number;
  p99: number;
  samples: number;
}

const BAR_SIZE = 1_000_000;

function barFor(kind: Kind, tag: 'p50' | 'p99', size: number): FigureInput['bar'] {
  if (kind.bar === 'suggest' && tag === 'p99') return { text: 'Suggest p99 ≤ 5 ms (issue 8)', atMost: 5 };
  if (size < BAR_SIZE) return undefined;
  if ((kind.bar === 'typo' || kind.bar === 'faceted') && tag === 'p99')
    return { text: `${kind.bar} p99 ≤ 60 ms at 1M (issue 8)`, atMost: 60 };
  if (kind.bar === 'plain')
    return tag === 'p50'
      ? { text: 'p50 ≤ 3 ms at 1M (ARCHITECTURE §5)', atMost: 3 }
      : { text: 'p99 ≤ 30 ms at 1M (ARCHITECTURE §5)', atMost: 30 };
  return undefined;
}

function barText(kind: Kind): string | undefined {
  switch (kind.bar) {
    case 'plain':
      return 'p50 ≤ 3 ms / p99 ≤ 30 ms at 1M';
    case 'typo':
    case 'faceted':
      return 'p99 ≤ 60 ms at 1M';
    case 'suggest':
      return 'p99 ≤ 5 ms';
    default:
      return undefined;
  }
}

function record(ctx: BenchContext, size: number, allKinds: readonly Kind[], samples: Samples, rows: Row[], rounds: number): void {
  const label = countLabel(size);
  for (const k of allKinds) {
    const per = samples.get(k.kind);
    const o = per?.get('ours') ?? [];
    const s = per?.get('sqlite-fts5') ?? [];
    for (const [side, reps] of [
      ['ours', o],
      ['sqlite-fts5', s],
    ] as const) {
      const all = reps.flat();
      if (all.length > 0)
        rows.push({ size, kind: k.kind, side, p50: percentile(all, 0.5), p99: percentile(all, 0.99), samples: all.length });
    }
    for (const [p, tag] of [
      [0.5, 'p50'],
      [0.99, 'p99'],
    ] as const) {
      const bar = barFor(k, tag, size);
      const pending = bar === undefined && barText(k) !== undefined ? `; bar ${barText(k)}: not judged at ${label}` : '';
      ctx.record({
        name: `search.${label}.${k.kind}.${tag}`,
        unit: 'ms',
        higherIsBetter: false,
        ours: o.map((rep) => percentile(rep, p)),
        reference: s.length > 0 ? { label: 'sqlite-fts5', values: s.map((rep) => percentile(rep, p)) } : undefined,
        bar,
        note:
          `${size} documents; ${k.instances.length} queries (${k.instances.map((q) => q.label).join(' | ')}), ` +
          `${tag} per repetition of ${rounds} rounds, spread over ${o.length} repetitions; ours top 10, no snippets` +
          (k.sql ? `; reference SQL: ${k.sql}` : '; reference: none (FTS5 cannot express it)') +
          pending,
      });
    }
  }
}

// ------------------------------------------------------------------------------------------ the chart

function logChart(title: string, rows: readonly Row[], sizes: readonly number[]): string {
  const W = 1160;
  const H = 470;
  const panelW = 380;
  const m = { l: 60, t: 50, b: 50, gap: 70 };
  const kindsSeen = [...new Set(rows.map((r) => r.kind))];
  const ys = rows.flatMap((r) => [r.p50, r.p99]).filter((v) => v > 0);
  const yLo = 10 ** Math.floor(Math.log10(Math.min(...ys, 1)));
  const yHi = 10 ** Math.ceil(Math.log10(Math.max(...ys, 60)));
  const xLo = Math.min(...sizes);
  const xHi = Math.max(...sizes);
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const colour = (i: number) => `hsl(${Math.round((i * 360) / kindsSeen.length)}, 70%, 40%)`;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${(2 * panelW + m.l + m.gap) / 2 + m.l / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  (['p50', 'p99'] as const).forEach((tag, panel) => {
    const x0 = m.l + panel * (panelW + m.gap);
    const px = (x: number) =>
      xHi === xLo ? x0 + panelW / 2 : x0 + ((Math.log10(x) - Math.log10(xLo)) / (Math.log10(xHi) - Math.log10(xLo))) * panelW;
    const py = (y: number) =>
      H - m.b - ((Math.log10(Math.max(y, yLo)) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo))) * (H - m.t - m.b);
    parts.push(`<text x="${x0 + panelW / 2}" y="${m.t - 10}" text-anchor="middle" font-size="13">${tag} (ms, log scale)</text>`);
    parts.push(`<line x1="${x0}" y1="${H - m.b}" x2="${x0 + panelW}" y2="${H - m.b}" stroke="#000"/>`);
    parts.push(`<line x1="${x0}" y1="${m.t}" x2="${x0}" y2="${H - m.b}" stroke="#000"/>`);
    for (let y = yLo; y <= yHi * 1.001; y *= 10) {
      parts.push(`<line x1="${x0}" y1="${py(y)}" x2="${x0 + panelW}" y2="${py(y)}" stroke="#eee"/>`);
      parts.push(`<text x="${x0 - 6}" y="${py(y) + 4}" text-anchor="end">${y >= 1 ? y : y.toPrecision(1)}</text>`);
    }
    const bars =
      tag === 'p50'
        ? [[3, 'p50 bar 3 ms (plain, 1M)']]
        : [
            [60, 'p99 bar 60 ms (typo, faceted, 1M)'],
            [30, 'p99 bar 30 ms (plain, 1M)'],
            [5, 'p99 bar 5 ms (suggest)'],
          ];
    for (const [y, text] of bars as [number, string][]) {
      parts.push(`<line x1="${x0}" y1="${py(y)}" x2="${x0 + panelW}" y2="${py(y)}" stroke="#999" stroke-dasharray="2 3"/>`);
      parts.push(`<text x="${x0 + 4}" y="${py(y) - 3}" fill="#777" font-size="10">${esc(text)}</text>`);
    }
    for (const x of sizes) parts.push(`<text x="${px(x)}" y="${H - m.b + 16}" text-anchor="middle">${countLabel(x)}</text>`);
    parts.push(`<text x="${x0 + panelW / 2}" y="${H - 12}" text-anchor="middle">documents (log scale)</text>`);
    kindsSeen.forEach((kind, i) => {
      for (const side of ['ours', 'sqlite-fts5'] as const) {
        const pts = rows
          .filter((r) => r.kind === kind && r.side === side)
          .sort((a, b) => a.size - b.size)
          .map((r) => [px(r.size), py(tag === 'p50' ? r.p50 : r.p99)] as const);
        if (pts.length === 0) continue;
        const dash = side === 'ours' ? '' : ' stroke-dasharray="5 4"';
        parts.push(
          `<polyline points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}" fill="none" stroke="${colour(i)}" stroke-width="${side === 'ours' ? 2 : 1.5}"${dash}/>`,
        );
        for (const [x, y] of pts)
          parts.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${side === 'ours' ? 3 : 2}" fill="${colour(i)}"/>`);
      }
    });
  });
  const lx = m.l + 2 * panelW + m.gap + 30;
  parts.push(`<text x="${lx}" y="${m.t}" font-size="11">solid: ours; dashed: SQLite FTS5</text>`);
  kindsSeen.forEach((kind, i) => {
    const ly = m.t + 20 + i * 18;
    parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 20}" y2="${ly}" stroke="${colour(i)}" stroke-width="2"/>`);
    parts.push(`<text x="${lx + 26}" y="${ly + 4}">${esc(kind)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

// ------------------------------------------------------------------------------------------ the run

export async function runSearchScaling(ctx: BenchContext, sizes: readonly number[], reps: number, rounds: number): Promise<void> {
  const Database = await loadSqlite();
  if (typeof Database === 'string') ctx.log(`reference unavailable, ours runs alone: ${Database}`);
  const corpus = new Corpus(1);
  const words = chooseWords(corpus);
  const ours = await openOurs(path.join(ctx.tmp, 'ours'));
  const sqlite = typeof Database === 'string' ? undefined : openSqlite(Database, path.join(ctx.tmp, 'fts5.db'));
  const rows: Row[] = [];
  let allKinds: Kind[] | undefined;
  let indexed = 0;
  const build = { ours: 0, sqlite: 0, merge: 0 };
  try {
    for (const size of sizes) {
      while (indexed < size) {
        const n = Math.min(CHUNK, size - indexed);
        const docs: CorpusDoc[] = [];
        const metas: DocMeta[] = [];
        for (let i = indexed; i < indexed + n; i++) {
          docs.push(corpus.doc(i));
          metas.push(docMeta(i));
        }
        const valued = docs.map((d, j) => indexDoc(d, metas[j] as DocMeta));
        let t0 = process.hrtime.bigint();
        await ours.add(valued);
        build.ours += ms(t0) / 1000;
        if (sqlite) {
          t0 = process.hrtime.bigint();
          sqlite.add(docs, metas, indexed);
          build.sqlite += ms(t0) / 1000;
        }
        indexed += n;
        if (size > CHUNK) ctx.log(`  ${indexed} of ${size} documents indexed`);
      }
      const t0 = process.hrtime.bigint();
      await ours.settle();
      build.merge += ms(t0) / 1000;
      ctx.log(
        `${countLabel(size)}: built so far ours ${build.ours.toFixed(1)} s + settle (merges, flush) ${build.merge.toFixed(1)} s` +
          `${sqlite ? `, sqlite ${build.sqlite.toFixed(1)} s` : ''}; ours ${ours.segments()} segment(s)`,
      );
      if (allKinds === undefined) {
        const typos = await chooseTypos(ours, words.typoTargets, ctx.log);
        allKinds = kinds(words, typos);
        ctx.log(
          `  words: frequent ${words.frequent.join(' ')}; medium ${words.medium.join(' ')}; rare ${words.rare.join(' ')}; typos ${typos.join(' ')}`,
        );
      }
      // Untimed: what each query matches on both sides (the engines analyse differently: stems, compounds).
      for (const k of allKinds) {
        const parts: string[] = [];
        for (const q of k.instances) {
          const sq = sqlite && q.sqlTotal ? ` / fts5 ${q.sqlTotal(sqlite)}` : '';
          parts.push(`${q.label}: ${await q.oursTotal(ours)}${sq}`);
        }
        ctx.log(`  matches ${k.kind}: ${parts.join('; ')}`);
      }
      {
        const probe = allKinds.find((k) => k.kind === 'faceted')?.instances[1];
        if (probe && sqlite) {
          const q = words.medium[0] as string;
          const a = await ours.facets(q);
          const b = sqlite.facets(ftsTerm(q));
          const diff = [...new Set([...a.keys(), ...b.keys()])].filter((key) => a.get(key) !== b.get(key));
          ctx.log(
            `  facets of ${q}: ${a.size} buckets ours, ${b.size} fts5; ${
              diff.length === 0
                ? 'all counts equal'
                : `differ in ${diff
                    .slice(0, 6)
                    .map((key) => `${key} ${a.get(key)}/${b.get(key)}`)
                    .join(', ')}`
            }`,
          );
        }
      }
      const t1 = process.hrtime.bigint();
      const samples = await measure(allKinds, ours, sqlite, reps, rounds);
      ctx.log(`  measured ${allKinds.length} kinds in ${(ms(t1) / 1000).toFixed(1)} s`);
      record(ctx, size, allKinds, samples, rows, rounds);
      for (const k of allKinds) {
        const o = rows.find((r) => r.size === size && r.kind === k.kind && r.side === 'ours');
        const s = rows.find((r) => r.size === size && r.kind === k.kind && r.side === 'sqlite-fts5');
        ctx.log(
          `  ${countLabel(size).padStart(4)} ${k.kind.padEnd(14)} ours p50 ${o?.p50.toFixed(2)} p99 ${o?.p99.toFixed(2)}` +
            (s ? ` | fts5 p50 ${s.p50.toFixed(2)} p99 ${s.p99.toFixed(2)}` : ''),
        );
      }
      writeOut(ctx, rows, sizes);
    }
  } finally {
    await ours.close();
    sqlite?.close();
  }
}

function writeOut(ctx: BenchContext, rows: readonly Row[], sizes: readonly number[]): void {
  fs.mkdirSync(RESULTS, { recursive: true });
  const base = path.join(RESULTS, `search-scaling-${ctx.mode}`);
  const csv = ['size,kind,side,p50_ms,p99_ms,samples'];
  for (const r of rows) csv.push(`${r.size},${r.kind},${r.side},${r.p50.toFixed(3)},${r.p99.toFixed(3)},${r.samples}`);
  fs.writeFileSync(`${base}.csv`, `${csv.join('\n')}\n`);
  const done = sizes.filter((s) => rows.some((r) => r.size === s));
  fs.writeFileSync(
    `${base}.svg`,
    logChart(`Search latency vs corpus size (${ctx.machine.cores} cores, ${ctx.mode} mode)`, rows, done),
  );
  ctx.log(`wrote ${base}.csv and ${base}.svg`);
}

export const searchScalingBenchmark: Benchmark = {
  name: 'search-scaling',
  description: 'search latency (p50, p99) per query kind as the corpus grows, vs SQLite FTS5 where FTS5 can express it',
  quick: (ctx) => runSearchScaling(ctx, [10_000, 50_000], 3, 4), // 50k, not 100k: `npm run bench` stays under 10 min
  full: (ctx) => runSearchScaling(ctx, [10_000, 100_000, 1_000_000], 3, 10),
};
