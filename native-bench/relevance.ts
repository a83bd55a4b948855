/**
 * Relevance of the search core on the Cranfield collection, through the public API: every document is
 * sealed and uploaded over gRPC, processed by the real pipeline, and every query is asked through
 * SearchService. Reports nDCG@10 (graded qrels), MAP (top 100) and P@10 with a small evaluator of ours.
 *
 *   npx tsx native-bench/relevance.ts [path/to/cranfield]   (default: ../shared/eval/cranfield)
 *
 * Queries are natural-language sentences: they are turned into an OR of their words (bag of words), which
 * is what a plain BM25 baseline scores too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ArchivarClient, connect } from '../src/sdk/index.js';
import { realSession, startBenchServer } from './harness/bench-server.js';

const dir = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '../../shared/eval/cranfield'));
const docs = fs
  .readFileSync(path.join(dir, 'docs.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { id: string; title: string; text: string });
const queries = fs
  .readFileSync(path.join(dir, 'queries.tsv'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => {
    const [id, ...text] = l.split('\t');
    return { id: id ?? '', text: text.join(' ') };
  });
const qrels = new Map<string, Map<string, number>>();
for (const line of fs.readFileSync(path.join(dir, 'qrels.trec'), 'utf8').split('\n')) {
  const [q, , d, g] = line.trim().split(/\s+/);
  if (!q || !d || g === undefined) continue;
  const grade = Number(g);
  if (grade <= 0) continue;
  if (!qrels.has(q)) qrels.set(q, new Map());
  qrels.get(q)?.set(d, grade);
}

const server = await startBenchServer({ 'pool-threads': '2' });
try {
  const token = await realSession(server.address);
  const client = new ArchivarClient(connect({ server: server.address, insecure: true, token }));
  const byDocument = new Map<string, string>();
  const started = performance.now();
  for (let i = 0; i < docs.length; i += 16) {
    await Promise.all(
      docs.slice(i, i + 16).map(async (d) => {
        const res = await client.upload(Buffer.from(`${d.title}\n\n${d.text}`), {
          fileName: `cranfield-${d.id}.txt`,
          mediaType: 'text/plain',
        });
        byDocument.set(res.documentId, d.id);
      }),
    );
  }
  await server.idle();
  const ingestSeconds = (performance.now() - started) / 1000;

  let ndcg = 0;
  let ap = 0;
  let p10 = 0;
  let judged = 0;
  for (const q of queries) {
    const rel = qrels.get(q.id);
    if (!rel) continue;
    judged++;
    const words = q.text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
    const res = await client.search([...new Set(words)].join(' OR '), { limit: 100 });
    const ranked = res.hits.map((h) => byDocument.get(h.documentId) ?? '');
    // nDCG@10 with graded gains (2^g − 1).
    const dcg = ranked.slice(0, 10).reduce((s, d, i) => s + (2 ** (rel.get(d) ?? 0) - 1) / Math.log2(i + 2), 0);
    const ideal = [...rel.values()]
      .sort((a, b) => b - a)
      .slice(0, 10)
      .reduce((s, g, i) => s + (2 ** g - 1) / Math.log2(i + 2), 0);
    ndcg += ideal > 0 ? dcg / ideal : 0;
    let hits = 0;
    let sumPrecision = 0;
    ranked.forEach((d, i) => {
      if (rel.has(d)) {
        hits++;
        sumPrecision += hits / (i + 1);
      }
    });
    ap += sumPrecision / rel.size;
    p10 += ranked.slice(0, 10).filter((d) => rel.has(d)).length / 10;
  }
  const result = {
    name: 'relevance/cranfield',
    documents: docs.length,
    queries: judged,
    ndcg_at_10: Number((ndcg / judged).toFixed(4)),
    map_at_100: Number((ap / judged).toFixed(4)),
    p_at_10: Number((p10 / judged).toFixed(4)),
    reference: 'plain BM25, nDCG@10 ≈ 0.34 (issue 6)',
    ingest_seconds: Number(ingestSeconds.toFixed(1)),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  client.close();
} finally {
  await server.stop();
}
