import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openBuffer, type TenantKey } from '../../src/crypto/index.js';
import { createLogger } from '../../src/server/logger.js';
import { Keyring, TenantErasedError } from '../../src/store/keyring.js';
import { openTestStore } from '../helpers/test-store.js';

/** The keyring keeps unwrapped tenant keys (and their derived file-key wrapping subkeys) in memory only. */
describe('Keyring tenant keys', () => {
  let t: ReturnType<typeof openTestStore>;
  let keyring: Keyring;
  const text = Buffer.from('Kündigung zum 31. März; notice of termination. '.repeat(200));
  const ctx = { kind: 'text', id: 'doc-1' };

  beforeEach(async () => {
    t = openTestStore();
    keyring = await Keyring.open(t.store, createLogger('silent'), {
      masterKey: Buffer.alloc(32, 9).toString('base64'),
      masterKeyFile: `${t.dir}/master.key`,
    });
  });
  afterEach(async () => {
    await t.close();
  });

  const openWith = (key: TenantKey, sealed: Buffer) =>
    openBuffer(
      sealed,
      { tenantKey: key, binding: { tenantId: 't1', documentId: 'doc-1', kind: 'text' } },
      { maxPlaintextBytes: 1 << 20, context: { tenantId: 't1', documentId: 'doc-1', kind: 'text' } },
    );

  it('seals and opens with a derived-once wrapping subkey, interchangeable with deriving it per use', async () => {
    const sealed = await keyring.sealForTenant('t1', text, ctx);
    expect((await keyring.openForTenant('t1', sealed, ctx)).equals(text)).toBe(true);
    const key = await keyring.tenantKey('t1');
    expect(key.wrapKey?.byteLength).toBe(32);
    // The same tenant key without the cached subkey opens it too: same envelope bytes either way.
    expect(openWith({ keyId: key.keyId, key: Buffer.from(key.key) }, sealed).equals(text)).toBe(true);
    // And the cached subkey is what unwraps: a wrong one fails although the tenant key is right.
    expect(() => openWith({ ...key, wrapKey: Buffer.alloc(32, 1) }, sealed)).toThrow(
      expect.objectContaining({ kind: 'wrong-key' }),
    );
    expect((await keyring.openForTenant('t1', await keyring.sealForTenant('t1', text, ctx), ctx)).equals(text)).toBe(true);
  });

  it('concurrent first uses of a tenant share one key object', async () => {
    const [a, b, c] = await Promise.all([keyring.tenantKey('t2'), keyring.tenantKey('t2'), keyring.tenantKey('t2')]);
    expect(b).toBe(a);
    expect(c).toBe(a);
  });

  it('shredding zeroes the tenant key and its subkey: a key object kept from before opens nothing', async () => {
    const sealed = await keyring.sealForTenant('t1', text, ctx);
    const kept = await keyring.tenantKey('t1');
    expect(openWith(kept, sealed).equals(text)).toBe(true);
    await keyring.shredTenant('t1');
    expect(kept.key.equals(Buffer.alloc(32))).toBe(true);
    expect(kept.wrapKey?.equals(Buffer.alloc(32))).toBe(true);
    expect(() => openWith(kept, sealed)).toThrow(expect.objectContaining({ kind: 'wrong-key' }));
    await expect(keyring.openForTenant('t1', sealed, ctx)).rejects.toBeInstanceOf(TenantErasedError);
  });
});
