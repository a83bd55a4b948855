import { open } from 'lmdb';
import { afterAll, describe, expect, it } from 'vitest';
import { INDEX_FORMAT } from '../../src/index/search-index.js';
import { unary } from '../../src/sdk/index.js';
import { uploadPlaintext } from '../helpers/raw-upload.js';
import { search } from '../helpers/search-fixture.js';
import { tempDir } from '../helpers/temp-dir.js';
import { startTestServer } from '../helpers/test-server.js';

const dir = tempDir('archivar-format-');
afterAll(() => dir.cleanup());

/** Edit the stopped server's LMDB directly (what an older build, or a crash, left behind). */
async function withIndexMeta(edit: (meta: ReturnType<ReturnType<typeof open>['openDB']>, root: ReturnType<typeof open>) => void) {
  const root = open({ path: `${dir.path}/archivar.mdb`, maxDbs: 64, encoding: 'msgpack' });
  const meta = root.openDB({ name: 'index-meta', encoding: 'msgpack' });
  await root.transaction(() => edit(meta, root));
  await root.close();
}

describe('the search index layout', () => {
  it('an index of an older layout is dropped at start, never read, and rebuilt from the stored documents', async () => {
    let t = await startTestServer({}, undefined, { dataDir: dir.path });
    expect(await t.server.indexRebuild).toBe(0); // a new data directory: nothing to rebuild
    const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    const a = (await uploadPlaintext(t.client, key, 'Zwetschgenkuchen mit Streuseln', { fileName: 'a.txt' })).documentId;
    const b = (await uploadPlaintext(t.client, key, 'Zwetschgenkuchen ohne Sahne', { fileName: 'b.txt' })).documentId;
    await t.server.runner.whenIdle();
    expect((await search(t.client, 'zwetschgenkuchen')).hits.map((h) => h.documentId).sort()).toEqual([a, b].sort());
    await t.stop();

    // Written by a build before the layout changed: marked with the old version, and its dictionary blocks
    // would not even open (a server that read them would fail the search).
    await withIndexMeta((meta, root) => {
      meta.put(['', 'format'], INDEX_FORMAT - 1);
      const terms = root.openDB({ name: 'index-terms', encoding: 'binary' });
      for (const { key: k, value } of terms.getRange({})) {
        const spoilt = Buffer.from(value as Uint8Array);
        spoilt[spoilt.length - 1]! ^= 0xff;
        terms.put(k, spoilt);
      }
    });
    t = await startTestServer({}, undefined, { dataDir: dir.path });
    expect(await t.server.indexRebuild).toBe(2);
    expect((await search(t.client, 'zwetschgenkuchen')).hits.map((h) => h.documentId).sort()).toEqual([a, b].sort());
    expect((await search(t.client, 'sahne')).hits.map((h) => h.documentId)).toEqual([b]);
    await t.stop();

    // A rebuild cut short by a crash is listed and resumes at the next start, without duplicates.
    await withIndexMeta((meta) => {
      expect(meta.get(['', 'format'])).toBe(INDEX_FORMAT);
      expect([...meta.getKeys({ start: ['', 'rebuild'], end: ['', 'rebuild', '\uffff'] })]).toEqual([]);
      meta.put(['', 'rebuild', 't1'], true);
    });
    t = await startTestServer({}, undefined, { dataDir: dir.path });
    expect(await t.server.indexRebuild).toBe(2);
    const again = await search(t.client, 'zwetschgenkuchen');
    expect(again.hits.map((h) => h.documentId).sort()).toEqual([a, b].sort());
    expect(Number(again.total)).toBe(2);
    await t.stop();
    await withIndexMeta((meta) => {
      expect([...meta.getKeys({ start: ['', 'rebuild'], end: ['', 'rebuild', '\uffff'] })]).toEqual([]);
    });
  }, 60_000);
});
