import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Accounts, type DocumentSummary, ManualClock, type TenantDocuments } from '../../src/accounts/index.js';
import { loadConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/logger.js';
import { Keyring } from '../../src/store/keyring.js';
import { TERMS } from '../helpers/test-server.js';
import { openTestStore } from '../helpers/test-store.js';
import { PASSWORD, T0, untar } from './helpers.js';

/** A document store with fixed contents, standing in for the documents part behind the port. */
function fakeDocuments(docs: Array<DocumentSummary & { body: Buffer }>): TenantDocuments & { deleted: string[] } {
  const deleted: string[] = [];
  return {
    deleted,
    async *list(tenantId) {
      if (!deleted.includes(tenantId)) for (const { body: _b, ...d } of docs) yield d;
    },
    async *open(_tenantId, id) {
      const body = docs.find((d) => d.id === id)?.body ?? Buffer.alloc(0);
      // In two pieces, as a real opened stream would arrive.
      yield body.subarray(0, 3);
      yield body.subarray(3);
    },
    async deleteTenant(tenantId) {
      deleted.push(tenantId);
      return docs.length;
    },
    stats: async () => ({ documents: docs.length, storedBytes: 0 }),
  };
}

describe('export and erasure through the TenantDocuments port', () => {
  const t = openTestStore();
  let accounts: Accounts;
  const docs = [
    {
      id: 'd1',
      fileName: 'Rechnung 2024.pdf',
      mediaType: 'application/pdf',
      sizeBytes: 11,
      createdMs: T0,
      metadata: { title: 'Rechnung' },
      body: Buffer.from('%PDF-1.7 xx'),
    },
    {
      id: 'd2',
      fileName: '../../etc/passwd',
      mediaType: 'text/plain',
      sizeBytes: 5,
      createdMs: T0,
      metadata: {},
      body: Buffer.from('hello'),
    },
    {
      // An import that failed before anything was stored: listed, never a file.
      id: 'd3',
      fileName: 'Riesig.eml',
      mediaType: 'message/rfc822',
      sizeBytes: 0,
      createdMs: T0,
      metadata: { status: 'FAILED', statusReason: 'not imported from the mailbox: too large' },
      stored: false,
      body: Buffer.alloc(0),
    },
  ];
  const documents = fakeDocuments(docs);
  beforeAll(async () => {
    const config = loadConfig({ data: t.dir, 'scrypt-log-n': '10' }, {});
    const log = createLogger('silent');
    const keyring = await Keyring.open(t.store, log, {
      masterKey: Buffer.alloc(32, 7).toString('base64'),
      masterKeyFile: `${t.dir}/mk`,
    });
    accounts = await Accounts.open({
      store: t.store,
      keyring,
      documents,
      clock: new ManualClock(T0),
      config: config.accounts,
      log,
    });
  });
  afterAll(async () => {
    accounts.close();
    await t.close();
  });

  it('lists documents with metadata, and on request includes them opened under safe names', async () => {
    const user = await accounts.register(
      { email: 'docs@example.org', password: PASSWORD, firstName: 'D', lastName: 'D' },
      TERMS,
      'ipv4:127.0.0.1:1',
    );
    const { token } = await accounts.login('docs@example.org', PASSWORD, 'ipv4:127.0.0.1:1');
    const principal = await accounts.verify(token);
    if (!principal) throw new Error('no session');
    const read = async (includeDocuments: boolean) => {
      const parts: Buffer[] = [];
      for await (const c of accounts.exportMyData(principal, { includeDocuments, format: 'tar' }, new AbortController().signal))
        parts.push(c);
      return untar(Buffer.concat(parts));
    };
    const without = await read(false);
    expect([...without.keys()]).toEqual(['export.json']);
    const json = JSON.parse(without.get('export.json')?.toString() ?? '{}');
    expect(json.documents).toEqual([
      {
        id: 'd1',
        fileName: 'Rechnung 2024.pdf',
        mediaType: 'application/pdf',
        sizeBytes: 11,
        createdMs: T0,
        metadata: { title: 'Rechnung' },
        file: null,
      },
      { id: 'd2', fileName: '../../etc/passwd', mediaType: 'text/plain', sizeBytes: 5, createdMs: T0, metadata: {}, file: null },
      {
        id: 'd3',
        fileName: 'Riesig.eml',
        mediaType: 'message/rfc822',
        sizeBytes: 0,
        createdMs: T0,
        metadata: { status: 'FAILED', statusReason: 'not imported from the mailbox: too large' },
        file: null,
      },
    ]);
    const withDocs = await read(true);
    expect([...withDocs.keys()]).toEqual(['export.json', 'documents/d1/Rechnung 2024.pdf', 'documents/d2/__.._etc_passwd']);
    expect(withDocs.get('documents/d1/Rechnung 2024.pdf')?.toString()).toBe('%PDF-1.7 xx');
    expect(withDocs.get('documents/d2/__.._etc_passwd')?.toString()).toBe('hello');

    // Erasure deletes the tenant's documents through the port, after shredding the key.
    await accounts.deleteAccount(principal, PASSWORD, false);
    expect(documents.deleted).toEqual([user.tenantId]);
    expect(await accounts.verify(token)).toBeNull();
  });
});
