import fs from 'node:fs';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchivarClient, unary } from '../../src/sdk/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { type AccountsServer, collect, expectCode, filesContaining, PASSWORD, startAccountsServer, untar } from './helpers.js';

/** Accounts with the real documents part behind the TenantDocuments port: export, isolation, erasure. */
describe('a tenant’s documents through export, isolation and erasure', () => {
  let s: AccountsServer;
  const secrets = tempDir('archivar-admin-');
  beforeAll(async () => {
    const file = path.join(secrets.path, 'pw');
    fs.writeFileSync(file, 'operator passphrase 42\n');
    s = await startAccountsServer({ 'admin-email': 'ops@archivar.example', 'admin-password-file': file });
  });
  afterAll(async () => {
    await s.stop();
    secrets.cleanup();
  });

  it('exports uploaded documents opened, hides them from other tenants and operators, and erases them', async () => {
    const a = await s.signUp('docs-owner@example.org');
    const body = Buffer.from('Rechnung Nr. 4711 – documentmarker-plaintext\n');
    const client = new ArchivarClient(a.c);
    const up = await client.upload(body, { fileName: 'rechnung.txt' });

    const files = untar(await collect(a.c.accounts.exportMyData({ includeDocuments: true, archiveFormat: 'tar' })));
    const json = JSON.parse(files.get('export.json')?.toString() ?? '{}');
    expect(json.documents).toEqual([
      expect.objectContaining({ id: up.documentId, fileName: 'rechnung.txt', file: `documents/${up.documentId}/rechnung.txt` }),
    ]);
    expect(files.get(`documents/${up.documentId}/rechnung.txt`)).toEqual(body);

    // Another tenant guessing the id gets NOT_FOUND; an operator gets PERMISSION_DENIED.
    const b = await s.signUp('docs-other@example.org');
    await expectCode(new ArchivarClient(b.c).get(up.documentId), status.NOT_FOUND);
    const admin = await s.login('ops@archivar.example', 'operator passphrase 42');
    await expectCode(new ArchivarClient(admin.c).get(up.documentId), status.PERMISSION_DENIED);

    await s.server.runner.whenIdle();
    await unary(a.c.accounts.deleteAccount.bind(a.c.accounts), { password: PASSWORD, deleteTenant: false });
    await expectCode(s.login('docs-owner@example.org'), status.UNAUTHENTICATED);
    expect(s.server.app.keyring.hasTenantKey(a.user.tenantId)).toBe(false);
    expect([...s.server.documents.deps.documents.ids(a.user.tenantId)]).toEqual([]);
    // The index keeps nothing of the tenant: no segment, term, document record or tombstone waiting for a merge.
    for (const db of s.server.search.index.store.all()) {
      expect([...db.getKeys({ start: [a.user.tenantId], end: [a.user.tenantId, '\uffff'] })]).toEqual([]);
    }
    await s.server.app.store.flushed();
    expect(filesContaining(s.dataDir, ['documentmarker-plaintext', 'docs-owner@example.org'])).toEqual([]);
  });
});
