import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexedDocument } from '../../src/documents/processing.js';
import { searchIndexer } from '../../src/documents/search-adapters.js';
import { type Connection, connect, unary } from '../../src/sdk/index.js';
import { loadConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/logger.js';
import { startServer } from '../../src/server/server.js';
import { uploadPlaintext } from '../helpers/raw-upload.js';
import { search as searchAs } from '../helpers/search-fixture.js';
import { tempDir } from '../helpers/temp-dir.js';
import { startTestServer, TEST_PRINCIPAL, TEST_TOKEN, type TestServer, testVerifier } from '../helpers/test-server.js';

const ADMIN_TOKEN = 'admin-token-0123456789abcdefgh';
const tokens = {
  [TEST_TOKEN]: TEST_PRINCIPAL,
  [ADMIN_TOKEN]: { userId: 'op', tenantId: '', role: 'admin' as const, sessionId: 'sa' },
};

describe('Admin: master key rotation and reindex', () => {
  let t: TestServer;
  let admin: Connection;
  let docId = '';
  const text = 'Kontoauszug mit Zinsabrechnung für das dritte Quartal';

  beforeAll(async () => {
    t = await startTestServer({}, testVerifier(tokens));
    admin = connect({ server: t.address, insecure: true, token: ADMIN_TOKEN });
    const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    docId = (await uploadPlaintext(t.client, key, text, { fileName: 'auszug.txt' })).documentId;
    await t.server.runner.whenIdle();
  });
  afterAll(async () => {
    admin.close();
    await t.stop();
  });

  const search = (q: string) => searchAs(t.client, q);

  it('keeps operators out of documents and members out of admin calls', async () => {
    await expect(unary(admin.documents.get.bind(admin.documents), { documentId: docId })).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
    await expect(searchAs(admin, 'x')).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
    await expect(unary(t.client.admin.reindex.bind(t.client.admin), { tenantId: 't1' })).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
  });

  it('reports the index terms and the jobs by state in GetStats', async () => {
    await search('zinsabrechnung'); // the tenant's caches are warm once a query ran
    const stats = await unary(admin.admin.getStats.bind(admin.admin), {});
    expect(stats.documents).toBe(1n);
    // One short text: its words, stems and compound parts, more than its 8 words and far fewer than 100.
    expect(stats.indexTerms).toBeGreaterThanOrEqual(8n);
    expect(stats.indexTerms).toBeLessThan(100n);
    expect(stats.jobs).toEqual({ queued: 0n, running: 0n });
  });

  it('rebuilds a tenant index with identical results; an unknown tenant is NOT_FOUND', async () => {
    const before = await search('zinsabrechnung');
    expect(before.hits.map((h) => h.documentId)).toEqual([docId]);
    const res = await unary(admin.admin.reindex.bind(admin.admin), { tenantId: TEST_PRINCIPAL.tenantId });
    expect(res.documents).toBe(1n);
    const after = await search('zinsabrechnung');
    expect(after.hits.map((h) => [h.documentId, h.score])).toEqual(before.hits.map((h) => [h.documentId, h.score]));
    await expect(unary(admin.admin.reindex.bind(admin.admin), { tenantId: 'no-such-tenant' })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
  });

  it('finishes a reindex whose caller went away (deadline, cancel) instead of leaving the tenant half indexed', async () => {
    const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    const more = [];
    for (let i = 0; i < 3; i++)
      more.push((await uploadPlaintext(t.client, key, `Zinsabrechnung Nachtrag ${i}`, { fileName: `n${i}.txt` })).documentId);
    await t.server.runner.whenIdle();
    expect(Number((await search('zinsabrechnung')).total)).toBe(4);
    // The caller gives up once the index was dropped and the rebuild has begun opening the texts (slowly
    // enough for the cancel to reach the server).
    const keyring = t.server.documents.deps.keyring;
    const openText = keyring.openForTenant.bind(keyring);
    const call = new AbortController();
    keyring.openForTenant = async (...args) => {
      call.abort();
      await new Promise((r) => setTimeout(r, 100));
      return openText(...args);
    };
    try {
      const reindex = new Promise((resolve, reject) => {
        const c = admin.admin.reindex({ tenantId: TEST_PRINCIPAL.tenantId }, (err, res) => (err ? reject(err) : resolve(res)));
        call.signal.addEventListener('abort', () => c.cancel());
      });
      await expect(reindex).rejects.toMatchObject({ code: grpc.status.CANCELLED });
    } finally {
      keyring.openForTenant = openText;
    }
    // The rebuild goes on without its caller: every document comes back.
    let total = 0;
    for (let i = 0; i < 100 && total !== 4; i++) {
      await new Promise((r) => setTimeout(r, 50));
      total = Number((await search('zinsabrechnung')).total);
    }
    expect(total).toBe(4);
    expect((await search('nachtrag')).hits.map((h) => h.documentId).sort()).toEqual([...more].sort());
    for (const id of more) await unary(t.client.documents.delete.bind(t.client.documents), { documentId: id });
  });

  it('never brings back a document deleted while a reindex is reading it', async () => {
    const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    const gone = (await uploadPlaintext(t.client, key, 'Zinsabrechnung storniert', { fileName: 'storno.txt' })).documentId;
    await t.server.runner.whenIdle();
    expect(Number((await search('zinsabrechnung')).total)).toBe(2);
    // The delete lands after the rebuild read the document's record, while it opens its text.
    const keyring = t.server.documents.deps.keyring;
    const openText = keyring.openForTenant.bind(keyring);
    keyring.openForTenant = async (tenantId, sealed, context) => {
      if (context.id === gone) await unary(t.client.documents.delete.bind(t.client.documents), { documentId: gone });
      return openText(tenantId, sealed, context);
    };
    try {
      await unary(admin.admin.reindex.bind(admin.admin), { tenantId: TEST_PRINCIPAL.tenantId });
    } finally {
      keyring.openForTenant = openText;
    }
    const res = await searchAs(t.client, 'zinsabrechnung', { facets: ['type'] });
    expect(res.hits.map((h) => h.documentId)).toEqual([docId]);
    expect(Number(res.total)).toBe(1);
    expect(res.facets[0]?.buckets.map((b) => Number(b.count))).toEqual([1]);
  });

  it('keeps a tag change made while a reindex is reading the document', async () => {
    const keyring = t.server.documents.deps.keyring;
    const openText = keyring.openForTenant.bind(keyring);
    let tagged = false;
    keyring.openForTenant = async (tenantId, sealed, context) => {
      // Once: the reindex reads a document changed meanwhile again (a Tag writes its record even unchanged).
      if (context.id === docId && !tagged) {
        tagged = true;
        await unary(t.client.documents.tag.bind(t.client.documents), { documentId: docId, add: ['zinsen'], remove: [] });
      }
      return openText(tenantId, sealed, context);
    };
    try {
      await unary(admin.admin.reindex.bind(admin.admin), { tenantId: TEST_PRINCIPAL.tenantId });
    } finally {
      keyring.openForTenant = openText;
    }
    expect((await search('tag:zinsen')).hits.map((h) => h.documentId)).toEqual([docId]);
    await unary(t.client.documents.tag.bind(t.client.documents), { documentId: docId, add: [], remove: ['zinsen'] });
    expect((await search('tag:zinsen')).hits).toEqual([]);
  });

  it('never puts the old text over the new one of a document reprocessed while a reindex read it', async () => {
    const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    const doc = (await uploadPlaintext(t.client, key, 'Zinsabrechnung Entwurf', { fileName: 'z.txt' })).documentId;
    await t.server.runner.whenIdle();
    const tenant = TEST_PRINCIPAL.tenantId;
    const { store, documents, blobs, keyring } = t.server.documents.deps;
    const index = t.server.search.index;
    // What a reprocess's commit does while the rebuild opens the old text: new text and record, then its add.
    const openText = keyring.openForTenant.bind(keyring);
    let reprocessed = false;
    keyring.openForTenant = async (tenantId, sealed, context) => {
      if (context.id === doc && !reprocessed) {
        reprocessed = true;
        const newText = await keyring.sealForTenant(tenant, Buffer.from('Zinsabrechnung Endfassung'), { kind: 'text', id: doc });
        const next = await store.atomic(() => {
          const current = documents.get(tenant, doc);
          if (!current) throw new Error('no record');
          blobs.removeSync(tenant, doc, 'text');
          blobs.putSync(tenant, doc, 'text', 0, newText);
          const updated = { ...current, updatedMs: current.updatedMs + 1 };
          documents.updateSync(updated);
          return updated;
        });
        await searchIndexer(index, t.server.documents).add(tenant, indexedDocument(next, ['Zinsabrechnung Endfassung']));
      }
      return openText(tenantId, sealed, context);
    };
    try {
      await unary(admin.admin.reindex.bind(admin.admin), { tenantId: tenant });
    } finally {
      keyring.openForTenant = openText;
    }
    try {
      expect(reprocessed).toBe(true);
      expect((await search('endfassung')).hits.map((h) => h.documentId)).toEqual([doc]);
      expect((await search('entwurf')).hits).toEqual([]);
    } finally {
      await unary(t.client.documents.delete.bind(t.client.documents), { documentId: doc });
    }
  });

  it('runs one reindex of a tenant at a time: a second call (a retry) joins the running one', async () => {
    const index = t.server.search.index;
    const drop = index.dropTenant.bind(index);
    let drops = 0;
    index.dropTenant = (...args) => {
      drops++;
      return drop(...args);
    };
    const { read, restore } = slowTextOpens(t);
    try {
      const reindex = () => unary(admin.admin.reindex.bind(admin.admin), { tenantId: TEST_PRINCIPAL.tenantId });
      const first = reindex();
      await read;
      const [a, b] = await Promise.all([first, reindex()]);
      expect([a.documents, b.documents]).toEqual([1n, 1n]);
      expect(drops).toBe(1);
    } finally {
      restore();
      index.dropTenant = drop;
    }
    expect((await search('zinsabrechnung')).hits.map((h) => h.documentId)).toEqual([docId]);
  });

  it('rotates the master key without touching blobs; documents open before and after a restart', async () => {
    const keyFile = `${t.dataDir}/master.key`;
    const oldKey = fs.readFileSync(keyFile, 'utf8');
    const blobsBefore = [...t.server.documents.deps.blobs.read(TEST_PRINCIPAL.tenantId, docId, 'original')].map((b) =>
      b.toString('hex'),
    );
    const res = await unary(admin.admin.rotateMasterKey.bind(admin.admin), {});
    // Every wrapped tenant key (the accounts part keeps its own too) was re-wrapped.
    expect(res.tenantsRewrapped).toBe(t.server.app.store.db('tenantKeys').getKeysCount());
    expect(res.tenantsRewrapped).toBeGreaterThanOrEqual(1);
    expect(fs.readFileSync(keyFile, 'utf8')).not.toBe(oldKey);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(`${keyFile}.next`)).toBe(false);
    const blobsAfter = [...t.server.documents.deps.blobs.read(TEST_PRINCIPAL.tenantId, docId, 'original')].map((b) =>
      b.toString('hex'),
    );
    expect(blobsAfter).toEqual(blobsBefore);
    expect((await search('quartal')).hits.map((h) => h.documentId)).toEqual([docId]);

    // A fresh server on the same data dir (after this one stopped) opens everything with the new key.
    await t.server.shutdown();
    const again = await startServer(
      loadConfig(
        { listen: '127.0.0.1:0', data: t.dataDir, 'pool-threads': '1', 'scrypt-log-n': '10', 'retention-interval-ms': '0' },
        {},
      ),
      {
        log: createLogger('silent'),
        verifier: testVerifier(tokens),
      },
    );
    try {
      // Called directly, not over gRPC: load the tenant's record keys as the session check would.
      await again.app.keyring.records.ready(TEST_PRINCIPAL.tenantId);
      const plain = await again.documents.original(TEST_PRINCIPAL.tenantId, docId, 'plaintext');
      const parts: Buffer[] = [];
      for await (const p of plain.body) parts.push(p);
      expect(Buffer.concat(parts).toString('utf8')).toBe(text);
    } finally {
      await again.shutdown();
    }
  });
});

describe('Admin.Reindex and a shutdown', () => {
  const dir = tempDir('archivar-reindex-');
  afterAll(() => dir.cleanup());

  it('stops a running reindex at once when the server shuts down, and the next start resumes it', async () => {
    let t = await startTestServer({}, testVerifier(tokens), { dataDir: dir.path });
    const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    for (let i = 0; i < 5; i++) await uploadPlaintext(t.client, key, `Stromrechnung Abschlag ${i}`, { fileName: `s${i}.txt` });
    await t.server.runner.whenIdle();
    const admin = connect({ server: t.address, insecure: true, token: ADMIN_TOKEN });
    // Every text opens slowly: the reindex would take a second; the shutdown comes while it reads the first.
    const { read } = slowTextOpens(t);
    const reindex = unary(admin.admin.reindex.bind(admin.admin), { tenantId: TEST_PRINCIPAL.tenantId });
    reindex.catch(() => {});
    await read;
    const stopping = t.stop();
    await expect(reindex).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    await stopping;
    admin.close();

    t = await startTestServer({}, testVerifier(tokens), { dataDir: dir.path });
    expect(await t.server.indexRebuild).toBe(5);
    expect(await t.server.indexRepair).toEqual({ added: 0, removed: 0, retagged: 0 });
    expect(Number((await searchAs(t.client, 'stromrechnung')).total)).toBe(5);
    await t.stop();
  }, 60_000);
});

/** Makes every sealed text of the server open 200 ms late; `read` resolves when the first open begins. */
function slowTextOpens(t: TestServer): { read: Promise<void>; restore(): void } {
  const keyring = t.server.documents.deps.keyring;
  const openText = keyring.openForTenant.bind(keyring);
  let reading!: () => void;
  const read = new Promise<void>((r) => {
    reading = r;
  });
  keyring.openForTenant = async (...args) => {
    reading();
    await new Promise((r) => setTimeout(r, 200));
    return openText(...args);
  };
  return {
    read,
    restore: () => {
      keyring.openForTenant = openText;
    },
  };
}
