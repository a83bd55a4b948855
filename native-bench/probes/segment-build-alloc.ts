/**
 * What the pool's part of the index build allocates (JS heap; typed arrays' backing stores are not
 * counted), by allocating function, for `docs` documents of the benchmark corpus in batches of 1000 on this
 * thread, after a warm-up over other documents. A build's garbage costs the pool thread its scavenges and V8's
 * platform threads their share of them (harness/thread-cpu.ts shows both); unlike CPU time on this shared
 * machine, bytes allocated do not swing with the neighbours.
 *   npx tsx native-bench/probes/segment-build-alloc.ts [docs=10000] [top=25]
 */
import inspector from 'node:inspector/promises';
import { finishSegment, SegmentBuilder } from '../../src/index/segment-writer.js';
import { Corpus } from '../harness/data.js';

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

const n = Number(process.argv[2] ?? 10000);
const top = Number(process.argv[3] ?? 25);
const corpus = new Corpus(1);
const docs = Array.from({ length: 2 * n }, (_, i) => {
  const d = corpus.doc(i);
  return { docId: d.id, language: d.language, fields: { title: d.title, body: [d.body] } };
});
const build = (from: number) => {
  for (let b = from; b < from + n; b += 1000) {
    const builder = new SegmentBuilder();
    for (const d of docs.slice(b, b + 1000)) builder.addDocument(d, 'deu+eng');
    finishSegment(builder);
  }
};
build(0);
const session = new inspector.Session();
session.connect();
await session.post('HeapProfiler.startSampling', {
  samplingInterval: 4096,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
build(n);
const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: { head: HeapNode } };
const bytes = new Map<string, number>();
const walk = (node: HeapNode, caller: string) => {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = `${functionName || '(anonymous)'} ${url.split('/').pop()?.split('?')[0]}:${lineNumber + 1}`;
  // Built-ins (push, join, slice …) by their caller.
  const key = url === '' ? `${name} in ${caller}` : name;
  bytes.set(key, (bytes.get(key) ?? 0) + node.selfSize);
  for (const c of node.children) walk(c, name);
};
walk(profile.head, '');
let total = 0;
for (const v of bytes.values()) total += v;
console.log(JSON.stringify({ docs: n, allocatedMB: +(total / 1e6).toFixed(1), perDocKB: +(total / n / 1e3).toFixed(2) }));
for (const [k, v] of [...bytes].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`${(v / 1e6).toFixed(1).padStart(8)} MB  ${k}`);
