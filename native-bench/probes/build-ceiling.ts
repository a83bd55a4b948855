/**
 * The index build's ceiling on one thread, beside SQLite FTS5 in the same process: the benchmark corpus
 * (as the index stage feeds it: title + one body page, batches of 1000), each part timed by process CPU
 * (every thread: V8's GC and compiler threads count, as in `index.build.*.per-core`) and reported as MB of
 * UTF-8 text per CPU second:
 *   analyse      the analyser alone: terms by id, positions, spans (what a pool thread does per document
 *                before the segment builder maps the ids; analyseFields with sinks that only record spans)
 *   analyseBare  the same without spans
 *   addDocument  analysis straight into SegmentBuilder (the pool's path)
 *   finish       finishSegment: sort terms, encode postings and dictionary, Suggest's words
 *   segment      the segment build given analysed documents (builder.add of analyseDocument's output,
 *                computed untimed beforehand, then finishSegment)
 *   task         a pool task's work: buildSegment + sealBuiltSegment (not the hand-over between threads)
 *   fts5         better-sqlite3 FTS5, unicode61 remove_diacritics 2, file DB, WAL, synchronous=NORMAL,
 *                1000 rows per transaction (the index stage's reference)
 * The parts take turns within each pass (order rotated pass to pass) after a warm-up pass, so the word
 * caches are warm, as in the benchmark's builds over the same documents; medians over the passes. Then,
 * with `steps`, what the analysis steps cost: `analyse` and `task` with stemming, decompounding or folding
 * off (setAnalyserOptions, warm again first), and cold (every word cache emptied before the pass: each
 * word normalised, stemmed and split once, as in a thread's first build).
 *   npx tsx native-bench/probes/build-ceiling.ts [docs=20000] [passes=5] [steps]
 * Prints one JSON line.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type AnalysedDoc, analyseDocument, analyseFields, type IndexDoc } from '../../src/index/analyse-document.js';
import { type AnalyserOptions, setAnalyserOptions } from '../../src/index/analyser.js';
import { finishSegment, SegmentBuilder, sealBuiltSegment } from '../../src/index/segment-writer.js';
import { SpanWriter } from '../../src/index/spans.js';
import { Corpus } from '../harness/data.js';
import { loadSqlite } from '../harness/sqlite.js';

const n = Number(process.argv[2] ?? 20000);
const passes = Number(process.argv[3] ?? 5);
const steps = process.argv[4] === 'steps';
const BATCH = 1000;
const corpus = new Corpus(1);
const raw = Array.from({ length: n }, (_, i) => corpus.doc(i));
const docs: IndexDoc[] = raw.map((d) => ({ docId: d.id, language: d.language, fields: { title: d.title, body: [d.body] } }));
let bytes = 0;
for (const d of raw) bytes += Buffer.byteLength(d.title) + Buffer.byteLength(d.body);
const sqlite = await loadSqlite();
if (typeof sqlite === 'string') throw new Error(sqlite);
const Database = sqlite;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'build-ceiling-'));
const sealing = { tenantId: 't', segmentId: 1, key: randomBytes(32) };

/** CPU ms (all threads) and wall ms of f. */
function timed(f: () => void): { cpu: number; wall: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  f();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / 1000, wall };
}

let sunk = 0;
function analyseOnly(withSpans: boolean): void {
  const spans = new SpanWriter();
  for (const doc of docs) {
    let field = 0;
    if (withSpans) spans.begin();
    const onToken = (position: number, start: number, end: number) => {
      if (withSpans && field === 0) spans.token(position, start, end);
      sunk++;
    };
    const { lengths } = analyseFields(
      doc,
      doc.language ?? 'deu+eng',
      (_term, position, start, end) => onToken(position, start, end),
      (f, text, position) => {
        field = f;
        if (withSpans && f === 0) spans.page(position, text);
      },
      (_id, position, start, end) => onToken(position, start, end),
    );
    if (withSpans) sunk += spans.finish(lengths[0]!).length;
  }
}

/** addDocument and finishSegment per batch, timed apart. */
function builderParts(): { add: { cpu: number; wall: number }; finish: { cpu: number; wall: number } } {
  const add = { cpu: 0, wall: 0 };
  const finish = { cpu: 0, wall: 0 };
  for (let b = 0; b < n; b += BATCH) {
    const builder = new SegmentBuilder();
    const a = timed(() => {
      for (let i = b; i < Math.min(n, b + BATCH); i++) builder.addDocument(docs[i]!, 'deu+eng');
    });
    const f = timed(() => {
      sunk += finishSegment(builder).bytes.length;
    });
    add.cpu += a.cpu;
    add.wall += a.wall;
    finish.cpu += f.cpu;
    finish.wall += f.wall;
  }
  return { add, finish };
}

let analysed: AnalysedDoc[] = [];
function segmentFromAnalysed(): void {
  for (let b = 0; b < n; b += BATCH) {
    const builder = new SegmentBuilder();
    for (let i = b; i < Math.min(n, b + BATCH); i++) builder.add(analysed[i]!);
    sunk += finishSegment(builder).bytes.length;
  }
}

function poolTask(): void {
  for (let b = 0; b < n; b += BATCH) {
    const builder = new SegmentBuilder();
    for (let i = b; i < Math.min(n, b + BATCH); i++) builder.addDocument(docs[i]!, 'deu+eng');
    sunk += sealBuiltSegment(finishSegment(builder), sealing).bytes.length;
  }
}

let ftsRun = 0;
function fts5(): void {
  const file = path.join(dir, `fts${ftsRun++}.db`);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec("CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize='unicode61 remove_diacritics 2')");
  const insert = db.prepare('INSERT INTO t(rowid, title, body) VALUES (?, ?, ?)');
  const batch = db.transaction((first: number) => {
    for (let i = first; i < Math.min(n, first + BATCH); i++) insert.run(i, raw[i]!.title, raw[i]!.body);
  });
  for (let b = 0; b < n; b += BATCH) batch(b);
  db.close();
  for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const mbPerS = (ms: number) => Math.round((bytes / 1e6 / (ms / 1000)) * 100) / 100;

/** Runs the named parts in turns for `count` passes (after one untimed warm-up pass); median CPU and wall ms. */
function measure(parts: Record<string, () => Record<string, { cpu: number; wall: number }>>, count: number) {
  const names = Object.keys(parts);
  for (const k of names) parts[k]!();
  const cpu: Record<string, number[]> = {};
  const wall: Record<string, number[]> = {};
  for (let p = 0; p < count; p++)
    for (let j = 0; j < names.length; j++) {
      const k = names[(p + j) % names.length]!;
      for (const [label, t] of Object.entries(parts[k]!())) {
        (cpu[label] ??= []).push(t.cpu);
        (wall[label] ??= []).push(t.wall);
      }
    }
  const out: Record<string, { mbPerCpuS: number; cpuMs: number; cpuMsRange: [number, number]; wallMs: number }> = {};
  for (const label of Object.keys(cpu)) {
    const c = cpu[label]!;
    out[label] = {
      mbPerCpuS: mbPerS(median(c)),
      cpuMs: Math.round(median(c)),
      cpuMsRange: [Math.round(Math.min(...c)), Math.round(Math.max(...c))],
      wallMs: Math.round(median(wall[label]!)),
    };
  }
  return out;
}

const one = (label: string, f: () => void) => () => ({ [label]: timed(f) });
const load0 = os.loadavg()[0]!;
analysed = docs.map((d) => analyseDocument(d, 'deu+eng'));
const parts = measure(
  {
    analyse: one('analyse', () => analyseOnly(true)),
    analyseBare: one('analyseBare', () => analyseOnly(false)),
    builder: () => {
      const { add, finish } = builderParts();
      return { addDocument: add, finish, addDocumentAndFinish: { cpu: add.cpu + finish.cpu, wall: add.wall + finish.wall } };
    },
    segment: one('segment', segmentFromAnalysed),
    task: one('task', poolTask),
    fts5: one('fts5', fts5),
  },
  passes,
);
analysed = [];

const stepFigures: Record<string, unknown> = {};
if (steps) {
  const ablate = (opts: Partial<AnalyserOptions>) => {
    setAnalyserOptions(opts);
    const r = measure({ analyse: one('analyse', () => analyseOnly(true)), task: one('task', poolTask) }, Math.max(3, passes - 2));
    setAnalyserOptions({});
    return { analyse: r.analyse, task: r.task };
  };
  stepFigures.noStem = ablate({ stem: false });
  stepFigures.noDecompound = ablate({ decompound: false });
  stepFigures.noFold = ablate({ fold: false });
  stepFigures.cold = measure(
    {
      analyse: one('analyse', () => {
        setAnalyserOptions({});
        analyseOnly(true);
      }),
      task: one('task', () => {
        setAnalyserOptions({});
        poolTask();
      }),
    },
    Math.max(3, passes - 2),
  );
}
fs.rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    docs: n,
    mb: Math.round(bytes / 1e4) / 100,
    passes,
    load: [Math.round(load0 * 100) / 100, Math.round(os.loadavg()[0]! * 100) / 100],
    ...parts,
    ...stepFigures,
    sunk: sunk > 0,
  }),
);
