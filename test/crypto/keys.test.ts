import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createTenantKey,
  createWrappedServerKey,
  describeWrappedKey,
  LocalMasterKeyProvider,
  loadMasterKey,
  openBuffer,
  rewrapServerKey,
  rewrapTenantKey,
  SealedFormatError,
  sealBuffer,
  unwrapServerKey,
  unwrapTenantKey,
} from '../../src/crypto/index.js';
import { flip } from './deterministic-random.js';

const dir = mkdtempSync(join(tmpdir(), 'archivar-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('master key loading', () => {
  it('generates a 0600 key file on first start and reads it back later', async () => {
    const path = join(dir, 'master.key');
    const first = await loadMasterKey({ filePath: path });
    expect(first.generated).toBe(true);
    expect(first.source).toBe('generated');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64').byteLength).toBe(32);
    const second = await loadMasterKey({ filePath: path });
    expect(second.generated).toBe(false);
    expect(second.provider.keyId).toBe(first.provider.keyId);
    expect(second.insecureFileMode).toBe(false);
    chmodSync(path, 0o644);
    expect((await loadMasterKey({ filePath: path })).insecureFileMode).toBe(true);
  });

  it('prefers the env value and rejects malformed keys', async () => {
    const key = randomBytes(32);
    const loaded = await loadMasterKey({ envValue: key.toString('base64'), filePath: join(dir, 'unused.key') });
    expect(loaded.source).toBe('env');
    expect(loaded.provider.keyId).toBe(new LocalMasterKeyProvider(key).keyId);
    await expect(loadMasterKey({ envValue: randomBytes(16).toString('base64') })).rejects.toThrow(/32 bytes/);
    await expect(loadMasterKey({ envValue: 'not base64!' })).rejects.toThrow(/base64/);
    const bad = join(dir, 'bad.key');
    writeFileSync(bad, 'c2hvcnQ=\n', { mode: 0o600 });
    await expect(loadMasterKey({ filePath: bad })).rejects.toThrow(/32 bytes/);
    await expect(loadMasterKey({})).rejects.toThrow(/no master key/);
  });
});

describe('tenant keys', () => {
  const master = new LocalMasterKeyProvider(randomBytes(32));
  const newMaster = new LocalMasterKeyProvider(randomBytes(32));

  it('create, unwrap, use, rotate the master key without touching blobs', async () => {
    const created = await createTenantKey(master);
    expect(created.keyId).toMatch(/^[0-9a-f]{32}$/);
    expect(describeWrappedKey(created.wrapped)).toEqual({ kind: 'tenant', keyId: created.keyId, masterKeyId: master.keyId });
    const tenantKey = await unwrapTenantKey(master, created.wrapped);
    expect(tenantKey.keyId).toBe(created.keyId);
    const ctx = { tenantId: 't', documentId: 'd', kind: 'text' };
    const blob = sealBuffer('extracted text', { tenantKey, context: ctx });

    const rotated = await rewrapTenantKey(master, newMaster, created.wrapped);
    expect(rotated.keyId).toBe(created.keyId);
    expect(describeWrappedKey(rotated.wrapped).masterKeyId).toBe(newMaster.keyId);
    const again = await unwrapTenantKey(newMaster, rotated.wrapped);
    expect(again.key.equals(tenantKey.key)).toBe(true);
    expect(openBuffer(blob, { tenantKey: again, binding: ctx }, { maxPlaintextBytes: 100, context: ctx }).toString()).toBe(
      'extracted text',
    );
    await expect(unwrapTenantKey(master, rotated.wrapped)).rejects.toMatchObject({ kind: 'wrong-key' });
  });

  it('rejects tampering: key id, purpose, ciphertext, truncation', async () => {
    const { wrapped } = await createTenantKey(master);
    for (const pos of [3, 25, wrapped.byteLength - 1, wrapped.byteLength - 20]) {
      const copy = Buffer.from(wrapped);
      flip(copy, pos, 1);
      await expect(unwrapTenantKey(master, copy)).rejects.toBeInstanceOf(SealedFormatError);
    }
    const purpose = Buffer.from(wrapped);
    purpose[1] = 2;
    await expect(unwrapTenantKey(master, purpose)).rejects.toMatchObject({ kind: 'invalid-header' });
    await expect(unwrapTenantKey(master, wrapped.subarray(0, 30))).rejects.toMatchObject({ kind: 'invalid-header' });
    await expect(unwrapTenantKey(new LocalMasterKeyProvider(randomBytes(32)), wrapped)).rejects.toMatchObject({
      kind: 'wrong-key',
    });
  });
});

describe('server X25519 key', () => {
  it('is stored wrapped, unwraps to the published key, survives rotation', async () => {
    const master = new LocalMasterKeyProvider(randomBytes(32));
    const created = await createWrappedServerKey(master);
    const pair = await unwrapServerKey(master, created.stored);
    expect(pair.keyId).toBe(created.keyId);
    expect(pair.publicKey.equals(created.publicKey)).toBe(true);
    const sealed = sealBuffer('to the server', { serverPublicKey: created.publicKey, serverKeyId: created.keyId });
    expect(openBuffer(sealed, { x25519: pair }, { maxPlaintextBytes: 100 }).toString()).toBe('to the server');

    const newMaster = new LocalMasterKeyProvider(randomBytes(32));
    const rotated = await rewrapServerKey(master, newMaster, created.stored);
    expect((await unwrapServerKey(newMaster, rotated.stored)).keyId).toBe(created.keyId);
    expect(describeWrappedKey(rotated.stored)).toEqual({
      kind: 'server-x25519',
      keyId: created.keyId,
      masterKeyId: newMaster.keyId,
    });

    // Swapping in another public key breaks the wrap (the public key is bound as AAD).
    const other = await createWrappedServerKey(master);
    const forged = Buffer.from(created.stored);
    other.publicKey.copy(forged, 20);
    await expect(unwrapServerKey(master, forged)).rejects.toMatchObject({ kind: 'wrong-key' });
  });
});
