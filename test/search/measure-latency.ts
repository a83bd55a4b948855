/**
 * Latency of typo, field/range, faceted queries and suggestions on a synthetic corpus (not a test):
 *   npx tsx test/search/measure-latency.ts [docs=20000]
 * Prints p50/p99 in ms. The 1M-document figures belong in native-bench.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open } from 'lmdb';
import type { ValuedIndexDoc } from '../../src/index/doc-values.js';
import { SearchEngine } from '../../src/index/engine.js';
import { testCipher } from '../helpers/index-cipher.js';

const N = Number(process.argv[2] ?? 20_000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archivar-latency-'));
const root = open({ path: dir });
const engine = new SearchEngine(root, { cipher: testCipher, autoMerge: false });
let seed = 1;
const rnd = (n: number) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};
// A vocabulary with a Zipf-ish spread: some common words, many rare ones.
const vocab = Array.from(
  { length: 20_000 },
  (_, i) => `${['rech', 'vert', 'miet', 'steu', 'ver', 'ant', 'kon', 'zahl'][i % 8]}${i.toString(36)}ung`,
);
vocab.push('rechnung', 'mietvertrag', 'steuerbescheid', 'versicherung', 'kontoauszug');
const types = ['application/pdf', 'image/jpeg', 'text/plain', 'message/rfc822'];
const word = () => vocab[Math.floor(vocab.length * (rnd(1000) / 1000) ** 3)]!;
const t0 = Date.now();
for (let b = 0; b < N; b += 1000) {
  const docs: ValuedIndexDoc[] = [];
  for (let i = b; i < Math.min(N, b + 1000); i++) {
    const body = Array.from({ length: 80 }, word).join(' ');
    const dateMs = Date.UTC(2018 + rnd(7), rnd(12), 1 + rnd(28));
    docs.push({
      docId: `d${i}`,
      fields: { title: `${word()} ${word()}`, body: [body] },
      createdMs: dateMs,
      mediaType: types[rnd(4)]!,
      values: {
        title: `${word()} ${word()}`,
        fileName: `d${i}.pdf`,
        subject: '',
        from: '',
        to: [],
        dateMs,
        createdMs: dateMs,
        mediaType: types[rnd(4)]!,
        lang: rnd(2) ? 'deu' : 'eng',
        source: rnd(4) ? 'upload' : 'imap',
        tags: rnd(3) ? [] : [`tag${rnd(20)}`],
        dates: [],
        amounts: [rnd(100_000) / 100],
        ibans: [],
        invoices: [],
      },
    });
  }
  await engine.index.addDocuments('t', docs);
}
await engine.index.merge({ tenantId: 't', force: true });
console.log(`indexed ${N} docs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

async function measure(name: string, queries: string[], run: (q: string) => Promise<unknown> | unknown): Promise<void> {
  for (const q of queries.slice(0, 5)) await run(q); // warm-up (lazy dictionary, columns, FlexSearch)
  const times: number[] = [];
  for (let r = 0; r < 3; r++)
    for (const q of queries) {
      const s = process.hrtime.bigint();
      await run(q);
      times.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
  times.sort((a, b) => a - b);
  const p = (x: number) => times[Math.min(times.length - 1, Math.floor(times.length * x))]!.toFixed(2);
  console.log(`${name.padEnd(10)} n=${times.length}  p50 ${p(0.5)} ms  p99 ${p(0.99)} ms`);
}

const typo = (w: string) => (w.length > 5 ? w.slice(0, 2) + w[3] + w[2] + w.slice(4) : `${w}x`);
const sample = Array.from({ length: 50 }, word);
await measure('typo', sample.map(typo), (q) => engine.search('t', q, { limit: 10 }));
await measure(
  'typo~',
  sample.map((w) => `${typo(w)}~`),
  (q) => engine.search('t', q, { limit: 10 }),
);
await measure(
  'field',
  sample.map((w) => `${w} type:pdf date:2020..2022`),
  (q) => engine.search('t', q, { limit: 10 }),
);
await measure(
  'range',
  sample.map((w) => `${w} amount:100..500`),
  (q) => engine.search('t', q, { limit: 10 }),
);
await measure(
  'faceted',
  sample.map((w) => `${w} OR rechnung`),
  (q) => engine.search('t', q, { limit: 10, facets: ['type', 'year', 'tag', 'source', 'lang'] }),
);
await measure('date sort', sample, (q) => engine.search('t', q, { limit: 10, sort: 'date_desc' }));
await measure(
  'suggest',
  sample.map((w) => `foo ${w.slice(0, 4)}`),
  (q) => engine.suggest('t', q, 8),
);
await measure(
  'suggest~',
  sample.map((w) => typo(w).slice(0, 6)),
  (q) => engine.suggest('t', q, 8),
);
await engine.index.close();
await root.close();
fs.rmSync(dir, { recursive: true, force: true });
