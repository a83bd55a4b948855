import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchIndexer } from '../../src/documents/search-adapters.js';
import { ArtifactKind, DocumentStatus } from '../../src/gen/archivar/v1/common.js';
import { ArchivarClient, unary } from '../../src/sdk/index.js';
import { TenantErasedError } from '../../src/store/keyring.js';
import { JobRunner } from '../../src/workers/job-runner.js';
import { germanPdf } from '../fixtures/pdfs.js';
import { renderTextPng } from '../fixtures/text-image.js';
import { search } from '../helpers/search-fixture.js';
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
    const up = await client.upload(body, { fileName: 'rechnung-documentmarker-name.txt', tags: ['documentmarker-tag'] });

    const files = untar(await collect(a.c.accounts.exportMyData({ includeDocuments: true, archiveFormat: 'tar' })));
    const json = JSON.parse(files.get('export.json')?.toString() ?? '{}');
    expect(json.documents).toEqual([
      expect.objectContaining({
        id: up.documentId,
        fileName: 'rechnung-documentmarker-name.txt',
        file: `documents/${up.documentId}/rechnung-documentmarker-name.txt`,
      }),
    ]);
    expect(files.get(`documents/${up.documentId}/rechnung-documentmarker-name.txt`)).toEqual(body);

    // Another tenant guessing the id gets NOT_FOUND; an operator gets PERMISSION_DENIED.
    const b = await s.signUp('docs-other@example.org');
    await expectCode(new ArchivarClient(b.c).get(up.documentId), status.NOT_FOUND);
    const admin = await s.login('ops@archivar.example', 'operator passphrase 42');
    await expectCode(new ArchivarClient(admin.c).get(up.documentId), status.PERMISSION_DENIED);
    // An operator's export on the owner's written request lists no document, names none, and holds no file.
    const byOperator = untar(await collect(admin.c.admin.exportAccount({ email: 'docs-owner@example.org', archiveFormat: '' })));
    expect([...byOperator.keys()]).toEqual(['export.json']);
    const operatorJson = byOperator.get('export.json')?.toString() ?? '';
    expect(JSON.parse(operatorJson)).toMatchObject({ requestedBy: 'operator', documents: null, account: { id: a.user.id } });
    expect(operatorJson).not.toContain('documentmarker');

    await s.server.runner.whenIdle();
    // A second document is still queued or being processed when the tenant is erased: its late work must
    // neither fail loudly nor bring anything back (nor a new tenant key).
    await client.upload(Buffer.from('Zweites Dokument documentmarker-plaintext\n'), { fileName: 'zwei.txt' });
    await unary(a.c.accounts.deleteAccount.bind(a.c.accounts), { password: PASSWORD, deleteTenant: false });
    await s.server.runner.whenIdle();
    await expectCode(s.login('docs-owner@example.org'), status.UNAUTHENTICATED);
    expect(s.server.app.keyring.hasTenantKey(a.user.tenantId)).toBe(false);
    expect([...s.server.documents.deps.documents.ids(a.user.tenantId)]).toEqual([]);
    // Erased without opening a record (the key went first): every key range of the tenant is empty, no job is
    // left, and late work cannot create a new key for it.
    for (const name of ['documents', 'documentKeys', 'documentTimeline', 'blobs', 'pendingUploads'] as const) {
      const db = s.server.app.store.db(name);
      expect([...db.getKeys({ start: [a.user.tenantId], end: [a.user.tenantId, '\uffff'] })], name).toEqual([]);
    }
    const jobs = [...s.server.app.store.db<{ tenantId: string }>('jobs').getRange()].map((e) => e.value);
    expect(jobs.filter((j) => j.tenantId === a.user.tenantId)).toEqual([]);
    await expect(s.server.app.keyring.tenantKey(a.user.tenantId)).rejects.toBeInstanceOf(TenantErasedError);
    expect(s.server.app.keyring.hasTenantKey(a.user.tenantId)).toBe(false);
    // The index keeps nothing of the tenant: no segment, term, document record or tombstone waiting for a merge.
    for (const db of s.server.search.index.store.all()) {
      expect([...db.getKeys({ start: [a.user.tenantId], end: [a.user.tenantId, '\uffff'] })]).toEqual([]);
    }
    await s.server.app.store.flushed();
    expect(
      filesContaining(s.dataDir, [
        'documentmarker-plaintext',
        'documentmarker-name',
        'documentmarker-tag',
        'docs-owner@example.org',
      ]),
    ).toEqual([]);
  });

  it('records storage, processing, OCR and searches as usage for billing, each for the user who caused it', async () => {
    const a = await s.signUp('usage-owner@example.org');
    const client = new ArchivarClient(a.c);
    const text = await client.upload(Buffer.from('Rechnung für den Zählerstand\n'), { fileName: 'zaehler.txt' });
    const scan = await client.upload(renderTextPng(['Mietvertrag Hauptstraße 12', 'Berlin, den 3. März 2024']), {
      fileName: 'scan.png',
    });
    await s.server.runner.whenIdle();
    expect((await client.get(scan.documentId)).status).toBe(DocumentStatus.DOCUMENT_STATUS_INDEXED);
    await search(a.c, 'Mietvertrag');
    const { records } = await unary(a.c.accounts.listUsage.bind(a.c.accounts), {
      range: { startMs: 0n, endMs: 0n },
      pageSize: 0,
      cursor: '',
    });
    const by = (kind: string) => records.filter((r) => r.kind === kind).map((r) => [Number(r.quantity), r.userId]);
    expect(by('bytes_stored').sort()).toEqual(
      [
        [Number(text.storedSize), a.user.id],
        [Number(scan.storedSize), a.user.id],
      ].sort(),
    );
    expect(by('documents_processed')).toEqual([
      [1, a.user.id],
      [1, a.user.id],
    ]);
    expect(by('pages_ocr')).toEqual([[1, a.user.id]]);
    expect(by('searches')).toEqual([[1, a.user.id]]);
  });

  it('erases a tenant key first, then every blob of its processed documents: originals, previews, texts', async () => {
    const a = await s.signUp('blobs-owner@example.org');
    const client = new ArchivarClient(a.c);
    const scan = await client.upload(renderTextPng(['Kaufvertrag Blobmarker', 'Hamburg, den 1. April 2024']), {
      fileName: 'scan.png',
    });
    const pdf = await client.upload(await germanPdf(), { fileName: 'brief.pdf' });
    await s.server.runner.whenIdle();
    for (const id of [scan.documentId, pdf.documentId]) {
      expect((await client.get(id)).status).toBe(DocumentStatus.DOCUMENT_STATUS_INDEXED);
      // Previews served (and rendered, where they are made on request).
      for (const [kind, page] of [
        [ArtifactKind.ARTIFACT_KIND_THUMBNAIL, undefined],
        [ArtifactKind.ARTIFACT_KIND_PAGE, 1],
        [ArtifactKind.ARTIFACT_KIND_TEXT, undefined],
      ] as const) {
        const sink = new Writable({ write: (_c, _e, done) => done() });
        expect((await client.download(id, { kind, page, to: sink })).bytes).toBeGreaterThan(0);
      }
    }
    // A search opens the hit's text for its snippet; the server keeps it in memory (text cache).
    expect((await search(a.c, 'Kaufvertrag')).hits.map((h) => h.documentId)).toEqual([scan.documentId]);
    expect(s.server.textCache.has(a.user.tenantId, scan.documentId)).toBe(true);
    const blobs = s.server.app.store.db('blobs');
    const tenantRange = { start: [a.user.tenantId], end: [a.user.tenantId, '\uffff'] };
    const kinds = () => new Set([...blobs.getKeys(tenantRange)].map((k) => String((k as unknown[])[2])));
    // The check below can fail: before the erasure there are originals, previews and extracted texts.
    expect([...kinds()]).toEqual(expect.arrayContaining(['original', 'thumbnail', 'text']));
    expect(kinds().size).toBeGreaterThan(3);

    // Observe the order: when the documents' deletion starts, the tenant key is already gone and the
    // documents are still there.
    const documents = s.server.documents;
    const eraseTenant = documents.eraseTenant.bind(documents);
    const seen: Array<{ hasKey: boolean; textCached: boolean; documents: number; blobs: number }> = [];
    documents.eraseTenant = async (tenantId: string) => {
      if (tenantId === a.user.tenantId) {
        seen.push({
          hasKey: s.server.app.keyring.hasTenantKey(tenantId),
          textCached: s.server.textCache.has(tenantId, scan.documentId),
          documents: [...documents.deps.documents.ids(tenantId)].length,
          blobs: [...blobs.getKeys(tenantRange)].length,
        });
      }
      return eraseTenant(tenantId);
    };
    try {
      expect(s.server.app.keyring.hasTenantKey(a.user.tenantId)).toBe(true);
      await unary(a.c.accounts.deleteAccount.bind(a.c.accounts), { password: PASSWORD, deleteTenant: true });
    } finally {
      documents.eraseTenant = eraseTenant;
    }
    // The opened text went with the key, before any document was erased.
    expect(seen).toEqual([{ hasKey: false, textCached: false, documents: 2, blobs: expect.any(Number) }]);
    expect(seen[0]?.blobs).toBeGreaterThan(0);
    await s.server.runner.whenIdle();
    expect([...blobs.getKeys(tenantRange)]).toEqual([]);
    expect([...documents.deps.documents.ids(a.user.tenantId)]).toEqual([]);
    for (const db of s.server.search.index.store.all()) expect([...db.getKeys(tenantRange)]).toEqual([]);
    await s.server.app.store.flushed();
    expect(filesContaining(s.dataDir, ['blobs-owner@example.org', 'Blobmarker'])).toEqual([]);
  });

  // Last in this file: it replaces the server's job runner.
  it('keeps a restricted uploader’s queued document unprocessed until the restriction is lifted (Art. 18)', async () => {
    const a = await s.signUp('restricted-queue@example.org');
    const client = new ArchivarClient(a.c);
    // The document waits in the queue (runner stopped) when the restriction comes.
    await s.server.runner.stop();
    const up = await client.upload(Buffer.from('Rechnung für den Zählerstand\n'), { fileName: 'gesperrt.txt' });
    await unary(a.c.accounts.setProcessingRestriction.bind(a.c.accounts), { restricted: true });
    const accounts = s.server.app.accounts;
    const runner = new JobRunner(s.server.documents, s.server.app.pool, s.server.app.log, {
      indexer: searchIndexer(s.server.search.index, s.server.documents),
      isRestricted: (t, u) => accounts.isProcessingRestricted(t, u),
    });
    await runner.start();
    try {
      await runner.whenIdle();
      expect((await client.get(up.documentId)).status).toBe(DocumentStatus.DOCUMENT_STATUS_QUEUED);
      // Still waiting after the recheck interval.
      s.clock.advance(61_000);
      runner.wake();
      await runner.whenIdle();
      expect((await client.get(up.documentId)).status).toBe(DocumentStatus.DOCUMENT_STATUS_QUEUED);
      await unary(a.c.accounts.setProcessingRestriction.bind(a.c.accounts), { restricted: false });
      s.clock.advance(61_000);
      runner.wake();
      await runner.whenIdle();
      expect((await client.get(up.documentId)).status).toBe(DocumentStatus.DOCUMENT_STATUS_INDEXED);
      expect((await search(a.c, 'Zählerstand')).hits.map((h) => h.documentId)).toEqual([up.documentId]);
    } finally {
      await runner.stop();
    }
  });
});
