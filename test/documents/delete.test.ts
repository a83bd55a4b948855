/** Documents.Delete of a document with many descendants, through the real server (gRPC, LMDB, the pool). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unary } from '../../src/sdk/index.js';
import { makeZip } from '../fixtures/zip-writer.js';
import { uploadPlaintext } from '../helpers/raw-upload.js';
import { search } from '../helpers/search-fixture.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const MEMBERS = 200;

describe('deleting an archive and its members', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.stop();
  });

  it(`tombstones an archive of ${MEMBERS} members in one index write transaction, and answers with all of them gone`, async () => {
    const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    const zip = makeZip(
      Array.from({ length: MEMBERS }, (_, i) => ({ name: `beleg-${i}.txt`, data: Buffer.from(`Quittung Nummer ${i}`) })),
    );
    const { documentId } = await uploadPlaintext(t.client, key, zip, { fileName: 'belege.zip', mediaType: 'application/zip' });
    await t.server.runner.whenIdle();
    expect(Number((await search(t.client, 'quittung')).total)).toBe(MEMBERS);

    // Numbers every write transaction on the shared LMDB root, and notes the one each tombstone is written in
    // (the engine's doc values forget a document inside the index's tombstone transaction).
    const root = t.server.search.index.store.root;
    const childTransaction = root.childTransaction.bind(root);
    let transactions = 0;
    let current = 0;
    root.childTransaction = <T>(fn: () => T) => {
      const n = ++transactions;
      return childTransaction(() => {
        current = n;
        try {
          return fn();
        } finally {
          current = 0;
        }
      });
    };
    const values = t.server.search.values;
    const removed = values.removed.bind(values);
    const tombstonedIn = new Set<number>();
    let tombstones = 0;
    values.removed = (tenantId, docId) => {
      tombstones++;
      tombstonedIn.add(current);
      removed(tenantId, docId);
    };
    await unary(t.client.documents.delete.bind(t.client.documents), { documentId });

    expect(tombstones).toBe(MEMBERS);
    expect([...tombstonedIn]).toHaveLength(1);
    expect(tombstonedIn.has(0)).toBe(false);
    // Answered once the index forgot them: totals and Suggest no longer count them.
    expect(Number((await search(t.client, 'quittung')).total)).toBe(0);
  });
});
