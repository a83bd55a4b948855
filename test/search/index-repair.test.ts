import { afterAll, describe, expect, it } from 'vitest';
import { indexedDocument } from '../../src/documents/processing.js';
import { reindexTenant, repairIndexes, searchIndexer } from '../../src/documents/search-adapters.js';
import { connect, unary } from '../../src/sdk/index.js';
import { uploadPlaintext } from '../helpers/raw-upload.js';
import { search } from '../helpers/search-fixture.js';
import { tempDir } from '../helpers/temp-dir.js';
import { startTestServer, TEST_PRINCIPAL, TEST_TOKEN, testVerifier } from '../helpers/test-server.js';

const dir = tempDir('archivar-repair-');
const dir2 = tempDir('archivar-repair-');
const dir3 = tempDir('archivar-repair-');
afterAll(() => {
  dir.cleanup();
  dir2.cleanup();
  dir3.cleanup();
});

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
    expect(await t.server.indexRepair).toEqual({ added: 1, removed: 1, retagged: 0 });
    const res = await search(t.client, 'heizkostenabrechnung', { facets: ['type'] });
    expect(res.hits.map((h) => h.documentId).sort()).toEqual([missed, kept].sort());
    expect(Number(res.total)).toBe(2);
    expect(res.facets[0]?.buckets.map((b) => [b.value, Number(b.count)])).toEqual([['text/plain', 2]]);
    expect((await search(t.client, 'januar')).hits.map((h) => h.documentId)).toEqual([missed]);
    await t.stop();

    // Nothing to repair the next time.
    t = await startTestServer({}, undefined, { dataDir: dir.path });
    expect(await t.server.indexRepair).toEqual({ added: 0, removed: 0, retagged: 0 });
    await t.stop();
  }, 60_000);

  it('gives the index the tags of a Tag (or a retagging upload) whose index write a crash cut off, at the next start', async () => {
    const tenant = TEST_PRINCIPAL.tenantId;
    let t = await startTestServer({}, undefined, { dataDir: dir3.path });
    const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    const tag = (documentId: string, add: string[], remove: string[]) =>
      unary(t.client.documents.tag.bind(t.client.documents), { documentId, add, remove });
    const tagFacet = async () =>
      (await search(t.client, 'stromrechnung', { facets: ['tag'] })).facets[0]?.buckets.map((b) => [b.value, Number(b.count)]);
    const hits = async (q: string) => (await search(t.client, q)).hits.map((h) => h.documentId).sort();
    const retagged = await up(t, key, 'Stromrechnung Abschlag Januar', 'retagged.txt', ['alt']);
    const duplicate = await up(t, key, 'Stromrechnung Abschlag Februar', 'duplicate.txt', ['alt']);
    const untouched = await up(t, key, 'Stromrechnung Abschlag März', 'untouched.txt', ['alt']);
    const deleted = await up(t, key, 'Stromrechnung Abschlag April', 'deleted.txt', ['alt']);
    await t.server.runner.whenIdle();
    expect(await tagFacet()).toEqual([['alt', 4]]);
    // What a kill -9 leaves between a tag change's record commit and the index's write of the tags: the
    // records carry the new tags (the Tag calls answer with them), the index never heard of them.
    t.server.documents.onTagged = undefined;
    expect((await tag(retagged, ['neu'], ['alt'])).tags).toEqual(['neu']);
    // The same content uploaded again with another tag: the stored document takes it.
    expect(await up(t, key, 'Stromrechnung Abschlag Februar', 'again.txt', ['zweit'])).toBe(duplicate);
    expect((await tag(deleted, ['neu'], [])).tags).toEqual(['alt', 'neu']);
    await unary(t.client.documents.delete.bind(t.client.documents), { documentId: deleted });
    expect(await hits('tag:neu')).toEqual([]);
    expect(await tagFacet()).toEqual([['alt', 3]]);
    await t.stop();

    t = await startTestServer({}, undefined, { dataDir: dir3.path });
    expect(await t.server.indexRepair).toEqual({ added: 0, removed: 0, retagged: 2 });
    expect(await hits('tag:neu')).toEqual([retagged]);
    expect(await hits('tag:zweit')).toEqual([duplicate]);
    expect(await hits('tag:alt')).toEqual([duplicate, untouched].sort());
    expect(await tagFacet()).toEqual([
      ['alt', 2],
      ['neu', 1],
      ['zweit', 1],
    ]);
    expect([...t.server.documents.deps.documents.tagsPending()]).toEqual([]);

    // An index write of tags that fails (not a crash) is logged, the Tag answered, and the note kept: the
    // repair (at the next start) applies it.
    const real = t.server.documents.onTagged;
    t.server.documents.onTagged = async () => {
      throw new Error('the index write failed');
    };
    expect((await tag(untouched, ['spät'], [])).tags).toEqual(['alt', 'spät']);
    t.server.documents.onTagged = real;
    expect(await hits('tag:spät')).toEqual([]);
    expect([...t.server.documents.deps.documents.tagsPending()].map(([tid, id]) => [tid, id])).toEqual([[tenant, untouched]]);
    expect(await repairIndexes(t.server.documents, t.server.search.index, new AbortController().signal)).toEqual({
      added: 0,
      removed: 0,
      retagged: 1,
    });
    expect(await hits('tag:spät')).toEqual([untouched]);
    // A hook that resolves without storing the tags (nor settling) keeps the note as well: it goes only with
    // the write that stores them, so the repair still applies the change.
    t.server.documents.onTagged = async () => {};
    expect((await tag(untouched, ['nachher'], [])).tags).toEqual(['alt', 'nachher', 'spät']);
    t.server.documents.onTagged = real;
    expect(await hits('tag:nachher')).toEqual([]);
    expect([...t.server.documents.deps.documents.tagsPending()].map(([tid, id]) => [tid, id])).toEqual([[tenant, untouched]]);
    expect(await repairIndexes(t.server.documents, t.server.search.index, new AbortController().signal)).toEqual({
      added: 0,
      removed: 0,
      retagged: 1,
    });
    expect(await hits('tag:nachher')).toEqual([untouched]);
    // A tag change the index took leaves no note behind: cleared in the index's own write, not in one more.
    const records = t.server.documents.deps.documents;
    const clearInOwnWrite = records.clearTagsPending.bind(records);
    let ownWrites = 0;
    records.clearTagsPending = (...args) => {
      ownWrites++;
      return clearInOwnWrite(...args);
    };
    await tag(untouched, [], ['spät']);
    records.clearTagsPending = clearInOwnWrite;
    expect(ownWrites).toBe(0);
    expect([...records.tagsPending()]).toEqual([]);
    expect(await hits('tag:spät')).toEqual([]);
    await t.stop();

    // Nothing left to apply the next time.
    t = await startTestServer({}, undefined, { dataDir: dir3.path });
    expect(await t.server.indexRepair).toEqual({ added: 0, removed: 0, retagged: 0 });
    expect(await hits('tag:neu')).toEqual([retagged]);
    await t.stop();
  }, 60_000);

  it('resumes a Reindex cut short at the next start, and adds what is missing in batches', async () => {
    const tenant = TEST_PRINCIPAL.tenantId;
    let t = await startTestServer({}, undefined, { dataDir: dir2.path });
    const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    for (let i = 0; i < 30; i++) await uploadPlaintext(t.client, key, `Zählerstand Nummer ${i}`, { fileName: `z${i}.txt` });
    await t.server.runner.whenIdle();
    expect(Number((await search(t.client, 'zählerstand')).total)).toBe(30);
    // A Reindex stopped (shutdown, kill -9) once it dropped the index and began reading the texts.
    const kill = new AbortController();
    await withOpenText(
      t,
      (open) => (tenantId, sealed, context) => {
        kill.abort();
        return open(tenantId, sealed, context);
      },
      () => expect(reindexTenant(t.server.documents, t.server.search.index, tenant, kill.signal)).rejects.toThrow(),
    );
    expect(Number((await search(t.client, 'zählerstand')).total)).toBe(0);
    await t.stop();

    // The next start rebuilds the tenant as a whole; the repair finds nothing left to add one by one.
    t = await startTestServer({}, undefined, { dataDir: dir2.path });
    expect(await t.server.indexRebuild).toBe(30);
    expect(await t.server.indexRepair).toEqual({ added: 0, removed: 0, retagged: 0 });
    expect(t.server.search.index.rebuildsPending()).toEqual([]);
    expect(Number((await search(t.client, 'zählerstand')).total)).toBe(30);

    // A repair with many documents missing (what a crash leaves, at scale) adds them in one write, not 30.
    const index = t.server.search.index;
    await index.dropTenant(tenant);
    let writes = 0;
    const addDocuments = index.addDocuments.bind(index);
    index.addDocuments = (tid, docs) => {
      writes++;
      return addDocuments(tid, docs);
    };
    expect(await repairIndexes(t.server.documents, index, new AbortController().signal)).toEqual({
      added: 30,
      removed: 0,
      retagged: 0,
    });
    expect(writes).toBe(1);
    expect(Number((await search(t.client, 'zählerstand')).total)).toBe(30);
    await t.stop();
  }, 60_000);

  it('opens the records missing from the index in steps, skips one that fails authentication, and goes on with the other tenants', async () => {
    const other = { ...TEST_PRINCIPAL, userId: 'u2', tenantId: 't2', sessionId: 's2' };
    const OTHER_TOKEN = 'other-token-0123456789abcdef';
    const t = await startTestServer({}, testVerifier({ [TEST_TOKEN]: TEST_PRINCIPAL, [OTHER_TOKEN]: other }));
    const client2 = connect({ server: t.address, insecure: true, token: OTHER_TOKEN });
    try {
      await t.server.indexRepair;
      const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
      const up = async (c: typeof t.client, text: string, name: string) =>
        (await uploadPlaintext(c, key, text, { fileName: name })).documentId;
      const a = await up(t.client, 'Wasserzähler Ablesung eins', 'a.txt');
      const bad = await up(t.client, 'Wasserzähler Ablesung zwei', 'bad.txt');
      const c = await up(t.client, 'Wasserzähler Ablesung drei', 'c.txt');
      const x = await up(client2, 'Wasserzähler Ablesung vier', 'x.txt');
      await t.server.runner.whenIdle();
      const index = t.server.search.index;
      const { store, documents } = t.server.documents.deps;
      const tenant = TEST_PRINCIPAL.tenantId;
      // Many records the index legitimately lacks (stored, not indexed), and two INDEXED ones it misses, one
      // of whose records fails authentication (another record's sealed value under its key).
      const record = documents.get(tenant, a);
      if (!record) throw new Error('no record');
      await store.atomic(() => {
        for (let i = 0; i < 1500; i++)
          documents.insertSync({ ...record, id: `stored${i}`, status: 'STORED', contentId: '', artifacts: [] });
      });
      for (const id of [a, bad]) await index.deleteDocument(tenant, id);
      const raw = store.db<Buffer>('documents');
      await raw.put([tenant, bad], raw.get([tenant, a]) as Buffer);

      // Records opened between two turns of the event loop.
      let tick = 0;
      let running = true;
      const ticker = () => {
        tick++;
        if (running) setImmediate(ticker);
      };
      setImmediate(ticker);
      const opened = new Map<number, number>();
      const get = documents.get.bind(documents);
      documents.get = (...args) => {
        opened.set(tick, (opened.get(tick) ?? 0) + 1);
        return get(...args);
      };
      try {
        expect(await repairIndexes(t.server.documents, index, new AbortController().signal)).toEqual({
          added: 1,
          removed: 0,
          retagged: 0,
        });
      } finally {
        running = false;
        documents.get = get;
      }
      expect(Math.max(...opened.values())).toBeLessThanOrEqual(1024);
      expect((await search(t.client, 'eins')).hits.map((h) => h.documentId)).toEqual([a]);

      // A tenant whose repair fails (a text that does not open) does not keep the next one unrepaired.
      await index.deleteDocument(tenant, c);
      await index.deleteDocument(other.tenantId, x);
      const repaired = await withOpenText(
        t,
        (open) => async (tenantId, sealed, context) => {
          if (context.id === c) throw new Error('the text failed authentication');
          return open(tenantId, sealed, context);
        },
        () => repairIndexes(t.server.documents, index, new AbortController().signal),
      );
      expect(repaired).toEqual({ added: 1, removed: 0, retagged: 0 });
      expect((await search(client2, 'vier')).hits.map((h) => h.documentId)).toEqual([x]);
    } finally {
      client2.close();
      await t.stop();
    }
  }, 60_000);

  it('does not count a document the job runner indexed while the repair read it', async () => {
    const t = await startTestServer({});
    try {
      await t.server.indexRepair;
      const tenant = TEST_PRINCIPAL.tenantId;
      const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
      const up = async (text: string, name: string) =>
        (await uploadPlaintext(t.client, key, text, { fileName: name })).documentId;
      const raced = await up('Gaszähler Ablesung Mai', 'raced.txt');
      const missed = await up('Gaszähler Ablesung Juni', 'missed.txt');
      await t.server.runner.whenIdle();
      const index = t.server.search.index;
      for (const id of [raced, missed]) await index.deleteDocument(tenant, id);
      // While the repair opens its text, the job runner's add of `raced` (just processed) joins the queue.
      const { documents } = t.server.documents.deps;
      const repaired = await withOpenText(
        t,
        (open) => async (tenantId, sealed, context) => {
          const plain = await open(tenantId, sealed, context);
          const record = documents.get(tenant, raced);
          if (context.id === raced && record)
            void searchIndexer(index, t.server.documents).add(
              tenant,
              indexedDocument(record, plain.toString('utf8').split('\f')),
            );
          return plain;
        },
        () => repairIndexes(t.server.documents, index, new AbortController().signal),
      );
      expect(repaired).toEqual({ added: 1, removed: 0, retagged: 0 });
      expect((await search(t.client, 'gaszähler')).hits.map((h) => h.documentId).sort()).toEqual([raced, missed].sort());
    } finally {
      await t.stop();
    }
  }, 60_000);
});

async function up(
  t: Awaited<ReturnType<typeof startTestServer>>,
  key: Uint8Array,
  text: string,
  fileName: string,
  tags: string[],
): Promise<string> {
  return (await uploadPlaintext(t.client, key, text, { fileName, tags })).documentId;
}

type OpenText = Awaited<ReturnType<typeof startTestServer>>['server']['documents']['deps']['keyring']['openForTenant'];

/** Runs `fn` while the server opens texts through `wrap` around its keyring's own opening; restored after. */
async function withOpenText<T>(
  t: Awaited<ReturnType<typeof startTestServer>>,
  wrap: (open: OpenText) => OpenText,
  fn: () => Promise<T>,
): Promise<T> {
  const keyring = t.server.documents.deps.keyring;
  const open = keyring.openForTenant;
  keyring.openForTenant = wrap(open.bind(keyring));
  try {
    return await fn();
  } finally {
    keyring.openForTenant = open;
  }
}
