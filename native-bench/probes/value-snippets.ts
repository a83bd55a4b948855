/**
 * What showing a value filter's matches in snippets costs (engine `findValues`): `amount:>100` with
 * snippets, top 10, over documents of `pages` pages of ~3 000 characters each, the amount written on the
 * last page (`last`) or nowhere, only in the values (`none`: every hit's text is read to its scan bound for
 * nothing); the same engine with and without the recogniser, alternating, on one index and text store (in
 * memory, so opening texts costs nothing here; a server's sealed texts add their opening).
 *   npx tsx native-bench/probes/value-snippets.ts [docs=200] [pages=20] [where=last|none] [rounds=30]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open } from 'lmdb';
import { recordCipherFromSecret } from '../../src/crypto/index.js';
import type { DocValues, ValuedIndexDoc } from '../../src/index/doc-values.js';
import { SearchEngine } from '../../src/index/engine.js';
import { InMemoryTextStore } from '../../src/index/index.js';
import { placedValues } from '../../src/pipeline/recognize.js';

const [docsArg, pagesArg, whereArg, roundsArg] = process.argv.slice(2);
const N = Number(docsArg ?? 200);
const PAGES = Number(pagesArg ?? 20);
const WHERE = whereArg ?? 'last';
const ROUNDS = Number(roundsArg ?? 30);
const WORDS = 'die Wohnung wird vermietet und der Mieter zahlt monatlich an den Vermieter gemäß Vertrag'.split(' ');
const page = (seed: number) => {
  const out: string[] = [];
  for (let i = 0; out.join(' ').length < 3000; i++) out.push(WORDS[(seed * 7 + i * 13) % WORDS.length] as string);
  return `${out.join(' ')}.`;
};
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archivar-value-snippets-'));
const root = open({ path: dir });
const textStore = new InMemoryTextStore();
const options = { cipher: recordCipherFromSecret(Buffer.alloc(32, 7)), textStore, autoMerge: false };
const withValues = new SearchEngine(root, { ...options, findValues: placedValues });
const plain = new SearchEngine(root, options);
const docs: ValuedIndexDoc[] = [];
for (let d = 0; d < N; d++) {
  const body = Array.from({ length: PAGES }, (_, p) => page(d + p));
  if (WHERE === 'last') body[PAGES - 1] += ' Gesamtbetrag: 220,00 EUR.';
  const values: DocValues = {
    title: `Vertrag ${d}`,
    fileName: `v${d}.pdf`,
    subject: '',
    from: '',
    to: [],
    dateMs: 0,
    createdMs: 0,
    mediaType: 'application/pdf',
    lang: 'deu',
    source: 'upload',
    tags: [],
    dates: [],
    amounts: [220],
    ibans: [],
    invoices: [],
  };
  docs.push({
    docId: `v${d}`,
    language: 'deu',
    fields: { title: values.title, body, fileName: values.fileName, subject: '', sender: '' },
    createdMs: 0,
    mediaType: values.mediaType,
    values,
  });
}
await withValues.index.addDocuments('t1', docs);
const time = async (e: SearchEngine) => {
  const t0 = process.hrtime.bigint();
  const r = await e.search('t1', 'amount:>100', { limit: 10 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, marked: r.hits.filter((h) => h.snippets.some((s) => s.highlights.length > 0)).length };
};
for (let i = 0; i < 3; i++) {
  await time(plain);
  await time(withValues);
}
const a: number[] = [];
const b: number[] = [];
let marked = 0;
for (let i = 0; i < ROUNDS; i++) {
  a.push((await time(plain)).ms);
  const w = await time(withValues);
  b.push(w.ms);
  marked = w.marked;
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
console.log(
  JSON.stringify({
    docs: N,
    pages: PAGES,
    where: WHERE,
    rounds: ROUNDS,
    withoutMs: median(a),
    withMs: median(b),
    hitsMarked: marked,
    load: os.loadavg()[0],
  }),
);
await root.close();
fs.rmSync(dir, { recursive: true, force: true });
