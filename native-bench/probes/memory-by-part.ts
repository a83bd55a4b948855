/**
 * What the process holds in memory for a kept index (search-1m.ts `build`), step by step: after opening it,
 * after plain queries (postings caches, norms, the tenant's value columns, ids and titles), after a
 * faceted and a date-sorted query, after the first Suggest (the title index and word list). Each step
 * forces two full collections first, then prints anonymous RSS (/proc/self/status RssAnon: the process's
 * own memory, not the mapped LMDB file), the JS heap, and the ArrayBuffers (typed arrays and Buffers,
 * off the JS heap). Run at two corpus sizes to see what grows with the corpus:
 *   flock /tmp/bench.lock node --expose-gc --import tsx native-bench/probes/memory-by-part.ts DIR
 */
import fs from 'node:fs';
import { openOurs } from '../stages/search-scaling.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: memory-by-part.ts DIR');
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const mib = (bytes: number) => +(bytes / 2 ** 20).toFixed(1);
function anonBytes(): number {
  const m = /RssAnon:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error('no RssAnon in /proc/self/status');
  return Number(m[1]) * 1024;
}
function step(label: string): void {
  gc?.();
  gc?.();
  const u = process.memoryUsage();
  const anon = anonBytes();
  console.log(
    JSON.stringify({
      step: label,
      anonMiB: mib(anon),
      heapMiB: mib(u.heapUsed),
      arrayBuffersMiB: mib(u.arrayBuffers),
      restMiB: mib(anon - u.arrayBuffers),
    }),
  );
}

step('start');
const ours = await openOurs(dir, new Uint8Array(32).fill(7));
const docs = JSON.parse(fs.readFileSync(`${dir}/built.json`, 'utf8')).docs as number;
step('opened');
// The stage's plain kinds (frequent and rare words, AND, OR, phrases, prefixes), three times each.
const plain = [
  'rechnung',
  'vertrag',
  'rechnung vertrag',
  'rechnung OR stur',
  '"müller gmbh"',
  '"annual report"',
  'rechn*',
  'sche*',
  'stu*',
  'vers*',
];
for (const q of plain) for (let i = 0; i < 3; i++) await ours.search(q);
step('plain queries');
await ours.facets('rechnung');
await ours.search('rechnung', { sort: 'date_desc' });
step('faceted and date-sorted');
await ours.suggest('rech');
step('first Suggest');
console.log(JSON.stringify({ docs }));
await ours.close();
