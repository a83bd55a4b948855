import { afterAll, describe, expect, it } from 'vitest';
import { unary } from '../../src/sdk/index.js';
import { uploadPlaintext } from '../helpers/raw-upload.js';
import { search } from '../helpers/search-fixture.js';
import { tempDir } from '../helpers/temp-dir.js';
import { startTestServer, TEST_PRINCIPAL } from '../helpers/test-server.js';

const dir = tempDir('archivar-repair-');
afterAll(() => dir.cleanup());

describe('the search index after a crash between a document write and its index write', () => {
  it('adds an INDEXED document the index missed and forgets one whose record was deleted, at the next start', async () => {
    const tenant = TEST_PRINCIPAL.tenantId;
    let t = await startTestServer({}, undefined, { dataDir: dir.path });
    const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    const up = async (text: string, name: string) => (await uploadPlaintext(t.client, key, text, { fileName: name })).documentId;
    const missed = await up('Heizkostenabrechnung Ablesung Januar', 'missed.txt');
    const ghost = await up('Heizkostenabrechnung Ablesung Februar', 'ghost.txt');
    const kept = await up('Heizkostenabrechnung Ablesung März', 'kept.txt');
    await t.server.runner.whenIdle();
    expect(Number((await search(t.client, 'heizkostenabrechnung')).total)).toBe(3);
    // What a kill -9 leaves: a processing commit (INDEXED) whose index write never ran...
    expect(await t.server.search.index.deleteDocument(tenant, missed)).toBe(true);
    // ...and a delete that committed before its tombstone.
    const { store, documents } = t.server.documents.deps;
    const record = documents.get(tenant, ghost);
    if (!record) throw new Error('no record');
    await store.atomic(() => documents.removeSync(record));
    await t.stop();

    t = await startTestServer({}, undefined, { dataDir: dir.path });
    expect(await t.server.indexRepair).toEqual({ added: 1, removed: 1 });
    const res = await search(t.client, 'heizkostenabrechnung', { facets: ['type'] });
    expect(res.hits.map((h) => h.documentId).sort()).toEqual([missed, kept].sort());
    expect(Number(res.total)).toBe(2);
    expect(res.facets[0]?.buckets.map((b) => [b.value, Number(b.count)])).toEqual([['text/plain', 2]]);
    expect((await search(t.client, 'januar')).hits.map((h) => h.documentId)).toEqual([missed]);
    await t.stop();

    // Nothing to repair the next time.
    t = await startTestServer({}, undefined, { dataDir: dir.path });
    expect(await t.server.indexRepair).toEqual({ added: 0, removed: 0 });
    await t.stop();
  }, 60_000);
});
