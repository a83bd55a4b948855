import fs from 'node:fs';
import path from 'node:path';
import { recordCipherFromSecret } from '../../src/crypto/index.js';
import { type AnalyserOptions, setAnalyserOptions } from '../../src/index/analyser.js';
import { SearchEngine, type SearchEngineOptions } from '../../src/index/engine.js';
import type { IndexDoc } from '../../src/index/index.js';
import { extractDocument } from '../../src/pipeline/index.js';
import { ArchivarClient, connect } from '../../src/sdk/index.js';
import { Store } from '../../src/store/database.js';
import { realSession, startBenchServer } from '../harness/bench-server.js';
import { Rng } from '../harness/data.js';
import { loadSqlite, type SqliteCtor } from '../harness/sqlite.js';
import type { BenchContext, Benchmark } from '../harness/types.js';

/**
 * Relevance of the search core on the Cranfield collection (issue 6). Our own evaluator reports nDCG@10
 * (graded qrels, gain 2^g − 1), MAP and recall over the top 100, and P@10.
 *
 * 1. Through the public API: every document is sealed and uploaded over gRPC, processed by the real
 *    pipeline (language detection included) and indexed by the server; every query is asked through
 *    SearchService. This is the headline figure.
 * 2. Ablations, in this process: the same documents (extracted by the pipeline's `extractDocument`, with
 *    its language, fields as the server's indexer builds them, an identical upload stored once as the
 *    server does) in a SearchEngine on LMDB with the server's defaults, analysed in this thread so that
 *    `setAnalyserOptions` reaches it (the server analyses in its worker pool, whose threads keep the
 *    defaults). Variants: each analyser step switched off (stemming, German compound splitting,
 *    umlaut/accent folding), queries analysed as English only instead of German + English, and BM25F
 *    parameters (k1, body length normalisation b). The first variant (defaults) must match the API figure.
 *    Each variant is compared with the defaults query by query: how many queries got better or worse at
 *    nDCG@10, and a paired two-sided randomisation test on the per-query differences (10 000 sign flips,
 *    fixed seed).
 * 3. Reference: SQLite FTS5 (better-sqlite3) on the same texts and the same queries, with the porter
 *    tokenizer (`porter unicode61 remove_diacritics 2`) and, to show what stemming buys there, without it
 *    (`unicode61 remove_diacritics 2`); one column, ORDER BY rank (FTS5's BM25, k1 1.2, b 0.75).
 *
 * Queries are natural-language sentences: every side gets an OR of their words (bag of words), which is
 * what a plain BM25 baseline scores too. Data: `../shared/eval/cranfield` (docs.jsonl, queries.tsv,
 * qrels.trec), or the directory in ARCHIVAR_CRANFIELD.
 */

const DEFAULT_DIR = path.join(import.meta.dirname, '../../../shared/eval/cranfield');
const TOP = 100;
const PERMUTATIONS = 10_000;

interface Collection {
  docs: { id: string; title: string; text: string }[];
  queries: { id: string; words: string[] }[];
  /** Query id → (document id → grade > 0). */
  qrels: Map<string, Map<string, number>>;
}

interface Variant {
  readonly name: string;
  readonly what: string;
  readonly analyser?: Partial<AnalyserOptions>;
  readonly engine?: Pick<SearchEngineOptions, 'k1' | 'fieldB' | 'queryLanguage'>;
}

/** In-process variants; the first is the server's defaults, the others are compared with it. */
const VARIANTS: readonly Variant[] = [
  { name: 'defaults', what: 'full analyser, server defaults (k1 1.2, body b 0.75)' },
  { name: 'no-stem', what: 'no stemming', analyser: { stem: false } },
  { name: 'no-decompound', what: 'no German compound splitting', analyser: { decompound: false } },
  { name: 'no-fold', what: 'no umlaut/ß transliteration or accent stripping', analyser: { fold: false } },
  { name: 'query-eng', what: "queries analysed as 'eng' (default 'deu+eng')", engine: { queryLanguage: 'eng' } },
  { name: 'k1-0.9', what: 'k1 0.9', engine: { k1: 0.9 } },
  { name: 'k1-1.5', what: 'k1 1.5', engine: { k1: 1.5 } },
  { name: 'k1-2.0', what: 'k1 2.0', engine: { k1: 2 } },
  { name: 'b-0.3', what: 'body b 0.3', engine: { fieldB: { body: 0.3 } } },
  { name: 'b-0.5', what: 'body b 0.5', engine: { fieldB: { body: 0.5 } } },
  { name: 'b-0.9', what: 'body b 0.9', engine: { fieldB: { body: 0.9 } } },
];

const TENANT = 'cranfield';

/** Per-query figures, in the order of Collection.queries (judged queries only). */
interface Scores {
  ndcg10: number[];
  ap: number[];
  p10: number[];
  recall: number[];
}

interface Row {
  readonly name: string;
  readonly what: string;
  readonly scores: Scores;
  /** Hits asked for per query; MAP@100 and R@100 need 100 (default). */
  readonly depth?: number;
}

function cranfieldDir(): string {
  return path.resolve(process.env.ARCHIVAR_CRANFIELD ?? DEFAULT_DIR);
}

function loadCollection(dir: string): Collection {
  const docs = fs
    .readFileSync(path.join(dir, 'docs.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { id: string; title: string; text: string });
  const qrels = new Map<string, Map<string, number>>();
  for (const line of fs.readFileSync(path.join(dir, 'qrels.trec'), 'utf8').split('\n')) {
    const [q, , d, g] = line.trim().split(/\s+/);
    if (!q || !d || g === undefined) continue;
    const grade = Number(g);
    if (grade <= 0) continue;
    if (!qrels.has(q)) qrels.set(q, new Map());
    qrels.get(q)?.set(d, grade);
  }
  const queries = fs
    .readFileSync(path.join(dir, 'queries.tsv'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [id, ...text] = l.split('\t');
      return {
        id: id ?? '',
        words: [
          ...new Set(
            text
              .join(' ')
              .toLowerCase()
              .match(/[a-z0-9]+/g) ?? [],
          ),
        ],
      };
    })
    .filter((q) => qrels.has(q.id) && q.words.length > 0);
  return { docs, queries, qrels };
}

/** The text both sides index for a document: what the upload carries. */
const documentText = (d: { title: string; text: string }) => `${d.title}\n\n${d.text}`;

/** nDCG@10, AP, P@10 and recall over the top 100 of each query's ranking (Cranfield document ids). */
function evaluate(c: Collection, rankings: ReadonlyMap<string, readonly string[]>): Scores {
  const s: Scores = { ndcg10: [], ap: [], p10: [], recall: [] };
  for (const q of c.queries) {
    const rel = c.qrels.get(q.id) as Map<string, number>;
    const ranked = (rankings.get(q.id) ?? []).slice(0, TOP);
    const dcg = ranked.slice(0, 10).reduce((sum, d, i) => sum + (2 ** (rel.get(d) ?? 0) - 1) / Math.log2(i + 2), 0);
    const ideal = [...rel.values()]
      .sort((a, b) => b - a)
      .slice(0, 10)
      .reduce((sum, g, i) => sum + (2 ** g - 1) / Math.log2(i + 2), 0);
    let hits = 0;
    let sumPrecision = 0;
    ranked.forEach((d, i) => {
      if (rel.has(d)) {
        hits++;
        sumPrecision += hits / (i + 1);
      }
    });
    s.ndcg10.push(ideal > 0 ? dcg / ideal : 0);
    s.ap.push(sumPrecision / rel.size);
    s.p10.push(ranked.slice(0, 10).filter((d) => rel.has(d)).length / 10);
    s.recall.push(hits / rel.size);
  }
  return s;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Two-sided paired randomisation test of mean(a − b) = 0 by random sign flips. */
function pairedPValue(a: readonly number[], b: readonly number[]): number {
  const diffs = a.map((x, i) => x - (b[i] as number));
  const observed = Math.abs(mean(diffs));
  if (observed === 0) return 1;
  const rng = new Rng(6);
  let atLeast = 0;
  for (let p = 0; p < PERMUTATIONS; p++) {
    let sum = 0;
    for (const d of diffs) sum += rng.next() >>> 31 ? d : -d;
    if (Math.abs(sum / diffs.length) >= observed - 1e-12) atLeast++;
  }
  return (atLeast + 1) / (PERMUTATIONS + 1);
}

/** The server's view of the upload of `d`: extracted by the pipeline, fields as its indexer builds them. */
async function indexDoc(d: { id: string; title: string; text: string }): Promise<IndexDoc> {
  const fileName = `cranfield-${d.id}.txt`;
  const x = await extractDocument(Buffer.from(documentText(d)), { declaredType: 'text/plain', fileName });
  return {
    docId: d.id,
    ...(x.language !== 'unknown' ? { language: x.language } : {}),
    fields: {
      title: x.metadata.title ?? '',
      body: x.pages.map((p) => p.text),
      fileName,
      subject: '',
      sender: '',
    },
    createdMs: 0,
    mediaType: x.mediaType,
  };
}

/** Every document once: an upload of bytes already stored is a duplicate (counted as the later id). */
function uniqueDocs(c: Collection): Collection['docs'] {
  const byText = new Map<string, Collection['docs'][number]>();
  for (const d of c.docs) {
    const text = documentText(d);
    byText.delete(text);
    byText.set(text, d);
  }
  return [...byText.values()];
}

/** Through the public API: a fresh server, every document uploaded, every query asked over gRPC. */
async function runApi(ctx: BenchContext, c: Collection, depth: number): Promise<Row> {
  const server = await startBenchServer({ 'pool-threads': '2' });
  try {
    const token = await realSession(server.address);
    const client = new ArchivarClient(connect({ server: server.address, insecure: true, token }));
    try {
      const byDocument = new Map<string, string>();
      const started = performance.now();
      for (let i = 0; i < c.docs.length; i += 16) {
        await Promise.all(
          c.docs.slice(i, i + 16).map(async (d) => {
            const res = await client.upload(Buffer.from(documentText(d)), {
              fileName: `cranfield-${d.id}.txt`,
              mediaType: 'text/plain',
            });
            byDocument.set(res.documentId, d.id);
          }),
        );
      }
      await server.idle();
      const seconds = (performance.now() - started) / 1000;
      // The language each document was analysed with (the pipeline detects it).
      const all = await client.search('type:text', { limit: 1, facets: ['lang'], snippets: false });
      const buckets = all.facets.find((f) => f.field === 'lang')?.buckets ?? [];
      const other = Number(all.total) - buckets.reduce((n, b) => n + Number(b.count), 0);
      ctx.log(
        `API: ${c.docs.length} uploads, ${byDocument.size} documents stored and indexed in ${seconds.toFixed(1)} s; ` +
          `languages: ${[...buckets.map((b) => `${b.value} ${b.count}`), ...(other > 0 ? [`none detected ${other}`] : [])].join(', ')}`,
      );
      const rankings = new Map<string, string[]>();
      const q0 = performance.now();
      for (const q of c.queries) {
        // Rankings only: hits without snippets (no text opened or re-analysed).
        const res = await client.search(q.words.join(' OR '), { limit: depth, snippets: false });
        rankings.set(
          q.id,
          res.hits.map((h) => byDocument.get(h.documentId) ?? ''),
        );
      }
      ctx.log(`API: ${c.queries.length} queries (top ${depth}) in ${((performance.now() - q0) / 1000).toFixed(1)} s`);
      const what = `full analyser, through the public API${depth < TOP ? ` (top ${depth}: MAP@100 and R@100 with --full)` : ''}`;
      return { name: 'api', what, scores: evaluate(c, rankings), depth };
    } finally {
      client.close();
    }
  } finally {
    const s0 = performance.now();
    await server.stop();
    ctx.log(`API: server stopped in ${((performance.now() - s0) / 1000).toFixed(1)} s`);
  }
}

/** One in-process variant: a fresh SearchEngine on LMDB, analysis in this thread under `variant.analyser`. */
async function runInProcess(ctx: BenchContext, c: Collection, docs: readonly IndexDoc[], variant: Variant): Promise<Row> {
  const dir = fs.mkdtempSync(path.join(ctx.tmp, `${variant.name}-`));
  const store = Store.open(dir, { mapSize: 2 ** 30 });
  let failed: unknown;
  const previous = setAnalyserOptions(variant.analyser ?? {});
  try {
    const engine = new SearchEngine(store.root, {
      cipher: recordCipherFromSecret(),
      autoMerge: false,
      onBackgroundError: (err) => {
        failed = err;
      },
      ...variant.engine,
    });
    try {
      for (let i = 0; i < docs.length; i += 200) await engine.index.addDocuments(TENANT, docs.slice(i, i + 200));
      const rankings = new Map<string, string[]>();
      for (const q of c.queries) {
        const res = await engine.search(TENANT, q.words.join(' OR '), { limit: TOP, snippets: false });
        rankings.set(
          q.id,
          res.hits.map((h) => h.docId),
        );
      }
      if (failed !== undefined) throw failed;
      return { name: variant.name, what: variant.what, scores: evaluate(c, rankings) };
    } finally {
      await engine.index.close();
    }
  } finally {
    setAnalyserOptions(previous);
    await store.close();
  }
}

/** The same texts and queries in an in-memory FTS5 table with `tokenizer`, ranked by FTS5's BM25. */
function runFts5(Database: SqliteCtor, c: Collection, tokenizer: string): Map<string, string[]> {
  const db = new Database(':memory:');
  try {
    db.exec(`CREATE VIRTUAL TABLE t USING fts5(body, tokenize='${tokenizer}')`);
    const insert = db.prepare('INSERT INTO t(rowid, body) VALUES (?, ?)');
    db.transaction(() => {
      for (const [i, d] of c.docs.entries()) insert.run(i + 1, documentText(d));
    })();
    const search = db.prepare(`SELECT rowid FROM t WHERE t MATCH ? ORDER BY rank LIMIT ${TOP}`).pluck();
    const rankings = new Map<string, string[]>();
    for (const q of c.queries) {
      const rows = search.all(q.words.map((w) => `"${w}"`).join(' OR ')) as number[];
      rankings.set(
        q.id,
        rows.map((r) => c.docs[r - 1]?.id ?? ''),
      );
    }
    return rankings;
  } finally {
    db.close();
  }
}

/** The table for docs/performance.md; every row after `base` is compared with it. */
function markdownTable(rows: readonly Row[], base: Row): string[] {
  const f4 = (x: number) => x.toFixed(4);
  const lines = [
    '| variant | nDCG@10 | MAP@100 | P@10 | R@100 | Δ nDCG@10 | queries better / worse | p (paired) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    const s = r.scores;
    let compare = '| — | — | — |';
    if (r !== base) {
      const better = s.ndcg10.filter((x, i) => x > (base.scores.ndcg10[i] as number) + 1e-12).length;
      const worse = s.ndcg10.filter((x, i) => x < (base.scores.ndcg10[i] as number) - 1e-12).length;
      const delta = mean(s.ndcg10) - mean(base.scores.ndcg10);
      const p = pairedPValue(s.ndcg10, base.scores.ndcg10);
      compare =
        better + worse === 0
          ? '| ±0 | 0 / 0 | — |'
          : `| ${delta >= 0 ? '+' : '−'}${f4(Math.abs(delta))} | ${better} / ${worse} | ${p.toFixed(4)} |`;
    }
    const deep = (r.depth ?? TOP) >= TOP;
    const at100 = (x: number[]) => (deep ? f4(mean(x)) : '—');
    lines.push(`| ${r.what} | ${f4(mean(s.ndcg10))} | ${at100(s.ap)} | ${f4(mean(s.p10))} | ${at100(s.recall)} ${compare}`);
  }
  return lines;
}

const METRICS = [
  ['nDCG@10', (s: Scores) => mean(s.ndcg10)],
  ['MAP@100', (s: Scores) => mean(s.ap)],
  ['R@100', (s: Scores) => mean(s.recall)],
] as const;

export const relevanceBenchmark: Benchmark = {
  name: 'relevance',
  description: 'Cranfield nDCG@10 / MAP / R@100 through the public API; analyser and BM25F ablations; FTS5 (porter) reference',
  async available() {
    const dir = cranfieldDir();
    return fs.existsSync(path.join(dir, 'docs.jsonl')) ? undefined : `no Cranfield collection in ${dir} (ARCHIVAR_CRANFIELD)`;
  },
  // Quick mode asks the API for the top 10 only: every hit carries snippets, and 225 queries × 100 hits
  // of them took two of the quick run's ten minutes. --full asks for the top 100.
  quick: (ctx) => runRelevance(ctx, 10),
  full: (ctx) => runRelevance(ctx, TOP),
};

async function runRelevance(ctx: BenchContext, apiDepth: number): Promise<void> {
  const c = loadCollection(cranfieldDir());
  ctx.log(`${c.docs.length} documents, ${c.queries.length} judged queries`);
  const api = await runApi(ctx, c, apiDepth);

  const docs: IndexDoc[] = [];
  for (const d of uniqueDocs(c)) docs.push(await indexDoc(d));
  ctx.log(`${docs.length} documents extracted in this process`);
  const rows: Row[] = [];
  for (const v of VARIANTS) {
    const t0 = performance.now();
    rows.push(await runInProcess(ctx, c, docs, v));
    ctx.log(`${v.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const defaults = rows[0] as Row;
  const differ = defaults.scores.ndcg10.filter((x, i) => Math.abs(x - (api.scores.ndcg10[i] as number)) > 1e-9).length;
  ctx.log(`in-process defaults against the API: nDCG@10 differs on ${differ} of ${c.queries.length} queries`);

  const Database = await loadSqlite('porter unicode61');
  const references: Row[] = [];
  if (typeof Database === 'string') ctx.log(`FTS5 reference not run: ${Database}`);
  else {
    for (const [name, what, tokenizer] of [
      ['fts5-porter', 'SQLite FTS5, porter unicode61 remove_diacritics 2', 'porter unicode61 remove_diacritics 2'],
      ['fts5-unicode61', 'SQLite FTS5, unicode61 remove_diacritics 2 (no stemming)', 'unicode61 remove_diacritics 2'],
    ] as const) {
      references.push({ name, what, scores: evaluate(c, runFts5(Database, c, tokenizer)) });
    }
  }
  const porter = references[0];

  for (const [unit, of] of METRICS) {
    if (unit !== 'nDCG@10' && apiDepth < TOP) continue;
    ctx.record({
      name: 'cranfield.api',
      unit,
      higherIsBetter: true,
      ours: [of(api.scores)],
      ...(porter ? { reference: { label: porter.what, values: [of(porter.scores)] } } : {}),
      ...(unit === 'nDCG@10' ? { bar: { text: '≥ 0.34 (plain BM25, issue 6)', atLeast: 0.34 } } : {}),
    });
  }
  for (const r of rows.slice(1)) {
    for (const [unit, of] of METRICS) {
      ctx.record({
        name: `cranfield.${r.name}`,
        unit,
        higherIsBetter: true,
        ours: [of(r.scores)],
        reference: { label: 'in-process defaults', values: [of(defaults.scores)] },
      });
    }
  }
  for (const line of markdownTable([defaults, api, ...rows.slice(1), ...references], defaults)) ctx.log(line);
}
