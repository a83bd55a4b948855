/**
 * What a kept index takes on disk against the raw text it holds (issue 6: "index size ÷ raw text",
 * "postings with positions ≤ 0.35 × raw text"), for an index written by `search-1m.ts build`.
 *   nice -n 19 npx tsx native-bench/probes/index-size.ts DIR
 * Per sub-database: LMDB pages in use (branch + leaf + overflow, × page size) and the sealed value bytes;
 * raw text: the UTF-8 bytes of the title, body and sender of the documents DIR was built from (the stage's
 * corpus and metadata), the text each document gives the index.
 */
import fs from 'node:fs';
import path from 'node:path';
import { open } from 'lmdb';
import { Corpus } from '../harness/data.js';
import { docMeta } from '../stages/search-scaling.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: index-size.ts DIR');
const { docs } = JSON.parse(fs.readFileSync(path.join(dir, 'built.json'), 'utf8')) as { docs: number };
const root = open({ path: path.join(dir, 'archivar.mdb'), readOnly: true, noSubdir: true });
const NAMES = ['meta', 'dirs', 'terms', 'positions', 'large', 'norms', 'deletes', 'docs', 'ids', 'words', 'spans'];
const MB = (n: number) => +(n / 1e6).toFixed(1);
const dbs: Record<string, { entries: number; pagesMB: number; valuesMB: number }> = {};
for (const name of NAMES) {
  const db = root.openDB({ name: `index-${name}`, encoding: 'binary' });
  const st = db.getStats() as {
    pageSize: number;
    treeBranchPageCount: number;
    treeLeafPageCount: number;
    overflowPages: number;
    entryCount: number;
  };
  let values = 0;
  for (const { value } of db.getRange({})) values += (value as Uint8Array).length;
  dbs[name] = {
    entries: st.entryCount,
    pagesMB: MB((st.treeBranchPageCount + st.treeLeafPageCount + st.overflowPages) * st.pageSize),
    valuesMB: MB(values),
  };
}
const values = root.openDB({ name: 'index-values', encoding: 'binary' });
const vs = values.getStats() as {
  pageSize: number;
  treeBranchPageCount: number;
  treeLeafPageCount: number;
  overflowPages: number;
  entryCount: number;
};
dbs.values = {
  entries: vs.entryCount,
  pagesMB: MB((vs.treeBranchPageCount + vs.treeLeafPageCount + vs.overflowPages) * vs.pageSize),
  valuesMB: 0,
};
const corpus = new Corpus(1);
const enc = new TextEncoder();
let raw = 0;
for (let i = 0; i < docs; i++) {
  const d = corpus.doc(i);
  raw += enc.encode(d.title).length + enc.encode(d.body).length + enc.encode(docMeta(i).sender).length;
}
const postings = dbs.terms!.pagesMB + dbs.positions!.pagesMB + dbs.large!.pagesMB;
const all = Object.values(dbs).reduce((a, d) => a + d.pagesMB, 0);
console.log(
  JSON.stringify({
    docs,
    rawTextMB: MB(raw),
    fileMB: MB(fs.statSync(path.join(dir, 'archivar.mdb')).size),
    indexPagesMB: +all.toFixed(1),
    postingsWithPositionsMB: +postings.toFixed(1),
    postingsRatio: +(postings / (raw / 1e6)).toFixed(3),
    indexRatio: +(all / (raw / 1e6)).toFixed(3),
    dbs,
  }),
);
root.close();
