import { open, type RootDatabase } from 'lmdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poolAnalyser } from '../../src/documents/search-adapters.js';
import { type IndexDoc, SearchIndex } from '../../src/index/index.js';
import { IndexStore, type Key, RANGE_END, type SealedDb, type SegmentMeta } from '../../src/index/index-store.js';
import { buildSegment, writeBuiltSegment } from '../../src/index/segment-writer.js';
import { createLogger } from '../../src/server/logger.js';
import { WorkerPool } from '../../src/workers/pool.js';
import { testCipher } from '../helpers/index-cipher.js';
import { tempDir } from '../helpers/temp-dir.js';

/** Segments sealed where they are built (a pool thread) for a segment id taken when the add is queued. */
describe('segments sealed where they are built', () => {
  const pool = new WorkerPool({ threads: 1, maxQueue: 4 });
  const logged: string[] = [];
  const log = createLogger('warn', { write: (line: string) => logged.push(line) } as unknown as NodeJS.WritableStream);
  let dir: ReturnType<typeof tempDir>;
  let root: RootDatabase;
  beforeAll(async () => {
    dir = tempDir('archivar-segment-sealing-');
    root = open({ path: dir.path });
    for (const t of ['plain', 'sealed', 'm']) await testCipher.ready(t);
  });
  afterAll(async () => {
    await pool.close();
    await root.close();
    dir.cleanup();
  });

  const docs: IndexDoc[] = Array.from({ length: 40 }, (_, i) => ({
    docId: `d${i}`,
    language: i % 2 === 0 ? 'deu' : 'eng',
    fields: {
      title: `Rechnung ${i} der Müller GmbH`,
      body: [`Die Datenschutzerklärung ${i}; running runners ran, IBAN DE89 3704 0044 0532 0130 ${i}`],
    },
    createdMs: 1_700_000_000_000 + i,
    mediaType: 'application/pdf',
  }));

  function opened(store: IndexStore, tenantId: string): [SealedDb, Key, string][] {
    const out: [SealedDb, Key, string][] = [];
    for (const db of ['dirs', 'terms', 'positions', 'large', 'docs', 'spans'] as const)
      for (const { key, value } of store[db].getRange({ start: [tenantId], end: [tenantId, RANGE_END] }))
        out.push([db, (key as Key).slice(1), store.open(db, key as Key, value).toString('base64')]);
    return out;
  }

  it('stores what the writer would seal, each value bound to its key, and only as the segment it was sealed for', async () => {
    const store = new IndexStore(root, testCipher);
    await root.transaction(() => writeBuiltSegment(store, 'plain', 1, buildSegment(docs, 'deu+eng')));
    const sealing = { tenantId: 'sealed', segmentId: 1, key: testCipher.recordKey('sealed', 'index-block') };
    const sealed = await poolAnalyser(pool, log)(docs, 'deu+eng', sealing);
    expect(sealed.sealedFor).toEqual({ tenantId: 'sealed', segmentId: 1 });
    expect(logged).toEqual([]); // built and sealed in the pool, not by the fallback here
    await expect(root.transaction(() => writeBuiltSegment(store, 'sealed', 2, sealed))).rejects.toThrow(
      'cannot be written as sealed/2',
    );
    await root.transaction(() => writeBuiltSegment(store, 'sealed', 1, sealed));
    const plain = opened(store, 'plain');
    expect(plain.length).toBeGreaterThan(docs.length);
    expect(opened(store, 'sealed')).toEqual(plain);
    // A value moved to another key, or another tenant's, does not open.
    const doc0 = store.docs.get(['sealed', 1, 0]) as Uint8Array;
    expect(() => store.open('docs', ['sealed', 1, 1], doc0)).toThrow('failed authentication');
    expect(() => store.open('docs', ['plain', 1, 0], doc0)).toThrow('failed authentication');
    // The same for a document's word spans: bound to its tenant and document id.
    const spans0 = store.spans.get(['sealed', 'd0']) as Uint8Array;
    expect(opened(store, 'sealed').filter(([db]) => db === 'spans')).toHaveLength(docs.length);
    expect(() => store.open('spans', ['sealed', 'd1'], spans0)).toThrow('failed authentication');
    expect(() => store.open('spans', ['plain', 'd0'], spans0)).toThrow('failed authentication');
    expect(store.doc('sealed', 1, 7)?.id).toBe('d7');
  });

  it('gives a merge running beside queued adds a segment id of its own', async () => {
    const index = new SearchIndex(root, { cipher: testCipher, autoMerge: false });
    await index.addDocuments('m', docs.slice(0, 10));
    await index.addDocuments('m', docs.slice(10, 20));
    // The adds take ids 3 and 4 now; the merge, started before they are written, must not take either.
    const adds = [index.addDocuments('m', docs.slice(20, 30)), index.addDocuments('m', docs.slice(30, 40))];
    const merged = index.merge({ tenantId: 'm', force: true });
    expect((await Promise.all(adds)).map((a) => a.segmentId)).toEqual([3, 4]);
    await merged;
    await index.merge({ tenantId: 'm', force: true });
    const segments = [...index.store.meta.getRange({ start: ['m', 'seg'], end: ['m', 'seg', RANGE_END] })].map(
      ({ value }) => value as SegmentMeta,
    );
    expect(segments.map((s) => s.docs - s.deleted)).toEqual([40]);
    expect((await index.search('m', 'datenschutzerklärung', { limit: 100 })).hits.map((h) => h.docId).sort()).toEqual(
      docs.map((d) => d.docId).sort(),
    );
    await index.close();
  });
});
