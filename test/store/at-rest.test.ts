import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalMasterKeyProvider } from '../../src/crypto/index.js';
import { DocumentStatus } from '../../src/gen/archivar/v1/common.js';
import {
  addStorageKeyWrap,
  openStorageKey,
  pruneStorageKeyWraps,
  StorageKeyError,
  storageKeyFile,
} from '../../src/store/storage-key.js';
import { filesContaining } from '../accounts/helpers.js';
import { search } from '../helpers/search-fixture.js';
import { tempDir } from '../helpers/temp-dir.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { getDoc, uploader } from '../processing/helpers.js';

const master = () => new LocalMasterKeyProvider(randomBytes(32));

describe('encryption at rest (LMDB page encryption with a storage key)', () => {
  const cleanups: Array<() => void | Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('the storage key is created once (0600), opens with its master key only, and survives a rotation', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const m1 = master();
    const key = await openStorageKey(dir.path, m1);
    expect(key).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(fs.statSync(storageKeyFile(dir.path)).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(storageKeyFile(dir.path), 'utf8')).not.toContain(key);
    expect(await openStorageKey(dir.path, m1)).toBe(key);
    await expect(openStorageKey(dir.path, master())).rejects.toThrow(StorageKeyError);

    // Rotation: the next master key is added first, the old one dropped at the end.
    const m2 = master();
    await addStorageKeyWrap(dir.path, m1, m2);
    expect(await openStorageKey(dir.path, m1)).toBe(key);
    expect(await openStorageKey(dir.path, m2)).toBe(key);
    await pruneStorageKeyWraps(dir.path, m2);
    expect(await openStorageKey(dir.path, m2)).toBe(key);
    await expect(openStorageKey(dir.path, m1)).rejects.toThrow(/wrong master key/);
  });

  it('refuses a database that predates encryption at rest instead of opening it', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    fs.writeFileSync(path.join(dir.path, 'archivar.mdb'), 'an older, unencrypted database');
    await expect(openStorageKey(dir.path, master())).rejects.toThrow(/predates encryption at rest/);
    expect(fs.existsSync(storageKeyFile(dir.path))).toBe(false);
  });

  it('an indexed document leaves no word, stem, code or file name readable on disk, and the store reopens', async () => {
    const dir = tempDir('archivar-at-rest-');
    cleanups.push(dir.cleanup);
    let t: TestServer = await startTestServer({ 'pool-threads': '1' }, undefined, { dataDir: dir.path });
    cleanups.push(() => t.stop());
    const upload = await uploader(t);
    const id = await upload(
      'Der Quaxelbrunnen steht im Zebulondorf. Invoice number RE-2031-7741 for Mrs Wobbleton.',
      'Geheimakte-Plimsoll.txt',
      'text/plain',
    );
    await t.server.runner.whenIdle();
    expect((await getDoc(t.client, id)).status).toBe(DocumentStatus.DOCUMENT_STATUS_INDEXED);
    await expect.poll(async () => (await search(t.client, 'quaxelbrunnen')).hits.length).toBe(1);
    await t.server.app.store.flushed();

    // Surface forms, folded forms and stems as the index would hold them, the file name, a code.
    const markers = [
      'Quaxelbrunn',
      'quaxelbrunn',
      'zebulondorf',
      'Zebulon',
      'wobbleton',
      'Plimsoll',
      'plimsoll',
      're-2031-7741',
      '7741',
    ];
    // The scan itself works: a marker in a plain file is found.
    fs.writeFileSync(path.join(dir.path, 'scan-control.txt'), 'wobbleton');
    expect(filesContaining(dir.path, markers)).toEqual(['scan-control.txt: wobbleton']);
    fs.rmSync(path.join(dir.path, 'scan-control.txt'));

    // A restart opens the encrypted store with the same master key: the document is still found.
    cleanups.pop();
    await t.server.shutdown();
    t.client.close();
    t = await startTestServer({ 'pool-threads': '1' }, undefined, { dataDir: dir.path });
    cleanups.push(() => t.stop());
    expect((await search(t.client, 'Zebulondorf')).hits.map((h) => h.documentId)).toEqual([id]);
    expect(filesContaining(dir.path, markers)).toEqual([]);
  });
});
