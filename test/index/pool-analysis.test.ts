import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open } from 'lmdb';
import { afterAll, describe, expect, it } from 'vitest';
import { poolAnalyser } from '../../src/documents/search-adapters.js';
import { type IndexDoc, InMemoryTextStore, SearchIndex } from '../../src/index/index.js';
import { buildSegment } from '../../src/index/segment-writer.js';
import { createLogger } from '../../src/server/logger.js';
import { WorkerPool } from '../../src/workers/pool.js';
import { testCipher } from '../helpers/index-cipher.js';

/** Index analysis in the worker pool (as the server runs it) against the same analysis in this thread. */
describe('document analysis in the pool', () => {
  const pool = new WorkerPool({ threads: 1, maxQueue: 4 });
  const logged: string[] = [];
  const log = createLogger('warn', { write: (line: string) => logged.push(line) } as unknown as NodeJS.WritableStream);
  afterAll(() => pool.close());

  const docs: IndexDoc[] = [
    {
      docId: 'a',
      language: 'deu',
      fields: {
        title: 'Rechnung RE-2024-0042',
        body: ['Die Datenschutzerklärung der Müller GmbH.', 'IBAN DE89 3704 0044 0532 0130 00, Seite zwei'],
        fileName: 'rechnung_2024.pdf',
        sender: 'Anna Müller <anna@example.org>',
      },
      createdMs: 1_700_000_000_000,
      mediaType: 'application/pdf',
    },
    { docId: 'b', fields: { body: ['running runners ran; Mueller and MÜLLER'] } },
  ];

  it('builds exactly the in-thread segment, as one task or analysed in pieces and built here', async () => {
    const local = buildSegment(docs, 'deu+eng');
    const remote = await poolAnalyser(pool, log)(docs, 'deu+eng');
    expect(remote).toEqual(local);
    expect(remote.bytes).toBeInstanceOf(Uint8Array);
    expect(remote.words.split('\n')).toContain('Datenschutzerklärung');
    // A batch above the one-task size: analysed in the pool piece by piece, laid out in this thread.
    const runs: string[] = [];
    const counting = { run: ((task: { type: string }) => (runs.push(task.type), pool.run(task as never))) as typeof pool.run };
    expect(await poolAnalyser(counting, log, 10)(docs, 'deu+eng')).toEqual(local);
    expect(runs).toEqual(['analyse-documents']);
    expect(logged).toEqual([]);
  });

  it('indexes through the pool with the same hits and scores as in-thread, and falls back when the pool is full', async () => {
    const dirs = [0, 1].map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'archivar-pool-analysis-')));
    const roots = dirs.map((d) => open({ path: d }));
    try {
      const viaPool = new SearchIndex(roots[0]!, { cipher: testCipher, analyser: poolAnalyser(pool, log), autoMerge: false });
      const inThread = new SearchIndex(roots[1]!, { cipher: testCipher, textStore: new InMemoryTextStore(), autoMerge: false });
      await viaPool.addDocuments('t', docs);
      await inThread.addDocuments('t', docs);
      for (const q of ['müller', 'datenschutz', 'run', '"seite zwei"', 're-2024-0042'])
        expect((await viaPool.search('t', q)).hits.map((h) => [h.docId, h.score])).toEqual(
          (await inThread.search('t', q)).hits.map((h) => [h.docId, h.score]),
        );
      // A pool that takes nothing: the documents are analysed here, and the fallback is logged.
      const full = { run: () => Promise.reject(new Error('the processing queue is full; retry later')) };
      const fallback = new SearchIndex(roots[0]!, { cipher: testCipher, analyser: poolAnalyser(full, log), autoMerge: false });
      await fallback.addDocuments('t2', docs);
      expect((await fallback.search('t2', 'müller')).hits.map((h) => h.docId)).toEqual(
        (await inThread.search('t', 'müller')).hits.map((h) => h.docId),
      );
      expect(logged.join('\n')).toContain('analysing them in the main thread');
    } finally {
      for (const r of roots) await r.close();
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    }
  });
});
