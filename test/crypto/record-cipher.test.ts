import { describe, expect, it } from 'vitest';
import { RECORD_OVERHEAD, recordCipherFromSecret } from '../../src/crypto/index.js';

const secret = Buffer.alloc(32, 3);

describe('RecordCipher', () => {
  it('round-trips a record and binds it to tenant, purpose and key', async () => {
    const c = recordCipherFromSecret(secret);
    await c.ready('t1');
    await c.ready('t2');
    const plain = Buffer.from('Zwetschgenkuchen und Quark');
    const sealed = c.seal('t1', 'index-block', plain, 'terms/1/0');
    expect(sealed.length).toBe(plain.length + RECORD_OVERHEAD);
    expect(sealed.includes(plain)).toBe(false);
    expect(c.open('t1', 'index-block', sealed, 'terms/1/0')).toEqual(plain);
    expect(() => c.open('t1', 'index-block', sealed, 'terms/1/1')).toThrow(/failed authentication/);
    expect(() => c.open('t2', 'index-block', sealed, 'terms/1/0')).toThrow(/failed authentication/);
    expect(() => c.open('t1', 'document', sealed, 'terms/1/0')).toThrow(/failed authentication/);
    for (const at of [0, 5, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[at]! ^= 0x40;
      expect(() => c.open('t1', 'index-block', bad, 'terms/1/0')).toThrow(/not sealed in a known format|failed authentication/);
    }
    expect(() => c.open('t1', 'index-block', sealed.subarray(0, 10), 'terms/1/0')).toThrow(/not sealed in a known format/);
    // Another process with the same secret reads it; another secret does not.
    const again = recordCipherFromSecret(secret);
    await again.ready('t1');
    expect(again.open('t1', 'index-block', sealed, 'terms/1/0')).toEqual(plain);
    const other = recordCipherFromSecret(Buffer.alloc(32, 4));
    await other.ready('t1');
    expect(() => other.open('t1', 'index-block', sealed, 'terms/1/0')).toThrow(/failed authentication/);
  });

  it('never repeats a nonce, and refuses a tenant whose keys are not loaded or were forgotten', async () => {
    const c = recordCipherFromSecret(secret);
    expect(() => c.seal('t1', 'document', Buffer.from('x'), 'k')).toThrow(/not loaded/);
    await c.ready('t1');
    const nonces = new Set<string>();
    for (let i = 0; i < 5000; i++) nonces.add(c.seal('t1', 'document', Buffer.alloc(0), 'k').subarray(1, 13).toString('hex'));
    expect(nonces.size).toBe(5000);
    c.forget('t1');
    expect(c.isReady('t1')).toBe(false);
    expect(() => c.open('t1', 'document', Buffer.alloc(40), 'k')).toThrow(/not loaded/);
  });

  it('gives blind keys that are stable per tenant and purpose and reveal nothing of the text', async () => {
    const c = recordCipherFromSecret(secret);
    await Promise.all([c.ready('t1'), c.ready('t2')]);
    const k = c.blindKey('t1', 'index-word', 'muller');
    expect(k).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(c.blindKey('t1', 'index-word', 'muller')).toBe(k);
    expect(c.blindKey('t2', 'index-word', 'muller')).not.toBe(k);
    expect(c.blindKey('t1', 'document', 'muller')).not.toBe(k);
    expect(c.blindKey('t1', 'index-word', 'mullers')).not.toBe(k);
  });
});
