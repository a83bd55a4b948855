// Official vectors: C2SP chunked encryption (our chunk layer, exactly), plus AES-GCM, HKDF-SHA256
// and X25519 as sanity checks of how we use node:crypto.
import { createCipheriv, createDecipheriv, createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  ChunkDecryptor,
  ChunkEncryptor,
  COMMITMENT_BYTES,
  deriveAndCheckChunkKeys,
  deriveChunkKeys,
  SALT_BYTES,
} from '../../src/crypto/chunked-aead.js';
import { SealedFormatError } from '../../src/crypto/errors.js';
import { hkdfExpand, hkdfSha256 } from '../../src/crypto/hkdf.js';
import { x25519PrivateKeyObject, x25519SharedSecret } from '../../src/crypto/x25519.js';

const dir = new URL('../vectors/wycheproof/', import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: vector files are loosely typed JSON
const load = (name: string): any => JSON.parse(readFileSync(new URL(name, dir), 'utf8'));
const hex = (s: string) => Buffer.from(s, 'hex');

interface ChunkedVector {
  tcId: number;
  comment: string;
  key: string;
  ctx: string;
  ct: string;
  aeadKey?: string;
  baseNonce?: string;
  msgLength?: number;
  msgSha512?: string;
  result: 'valid' | 'invalid';
  flags: string[];
}

/** Decrypt a whole Cobblestone-256 ciphertext; returns the plaintext released before any error. */
function decryptCobblestone(v: ChunkedVector): { plain: Buffer; error?: unknown; keys?: ReturnType<typeof deriveChunkKeys> } {
  const ct = inflateSync(hex(v.ct));
  const released: Buffer[] = [];
  try {
    if (ct.byteLength < SALT_BYTES + COMMITMENT_BYTES) throw new SealedFormatError('truncated', 'short');
    const salt = ct.subarray(0, SALT_BYTES);
    const keys = deriveAndCheckChunkKeys(hex(v.key), salt, hex(v.ctx), ct.subarray(SALT_BYTES, 56));
    const dec = new ChunkDecryptor(keys, 16384);
    try {
      // Feed in odd-sized pieces: framing must not matter.
      const body = ct.subarray(56);
      for (let i = 0; i < body.byteLength; i += 7001) released.push(...dec.push(body.subarray(i, i + 7001)));
      released.push(dec.finish());
    } catch (error) {
      // "must keep returning an error": the decryptor stays failed.
      expect(() => dec.push(Buffer.alloc(1))).toThrow(SealedFormatError);
      return { plain: Buffer.concat(released), error, keys };
    }
    return { plain: Buffer.concat(released), keys };
  } catch (error) {
    return { plain: Buffer.concat(released), error };
  }
}

describe('C2SP chunked encryption (Cobblestone-256) vectors', () => {
  const file = load('c2sp_chunked_encryption_aes_256_gcm_test.json');
  const tests: ChunkedVector[] = file.testGroups.flatMap((g: { tests: ChunkedVector[] }) => g.tests);
  expect(tests.length).toBe(file.numberOfTests);

  it.each(tests.map((t) => [t.tcId, t.comment, t] as const))('tc %i: %s', (_id, _c, v) => {
    const { plain, error, keys } = decryptCobblestone(v);
    if (v.aeadKey && keys) {
      expect(keys.key.toString('hex')).toBe(v.aeadKey);
      expect(keys.baseNonce.toString('hex')).toBe(v.baseNonce);
    }
    if (v.result === 'valid') {
      expect(error).toBeUndefined();
    } else {
      expect(error).toBeInstanceOf(SealedFormatError);
      if (v.flags.includes('HeaderFailure')) expect(keys).toBeUndefined();
    }
    if (v.result === 'valid') {
      expect(plain.byteLength).toBe(v.msgLength);
      expect(createHash('sha512').update(plain).digest('hex')).toBe(v.msgSha512);
    } else if (v.msgLength !== undefined) {
      // PartialPlaintext: at most the valid prefix (we may hold back a full chunk we could not
      // yet prove non-final), never anything beyond it.
      expect(plain.byteLength).toBeLessThanOrEqual(v.msgLength);
      expect(plain.byteLength % 16384).toBe(0);
      if (plain.byteLength === v.msgLength) expect(createHash('sha512').update(plain).digest('hex')).toBe(v.msgSha512);
    } else {
      expect(plain.byteLength).toBe(0);
    }
    if (v.result === 'valid' && keys) {
      // Deterministic re-encryption with the vector's salt must reproduce the ciphertext.
      const ct = inflateSync(hex(v.ct));
      const enc = new ChunkEncryptor(deriveChunkKeys(hex(v.key), ct.subarray(0, 24), hex(v.ctx)), 16384);
      const out = [ct.subarray(0, 56), ...enc.push(plain), enc.finish()];
      expect(Buffer.concat(out).equals(ct)).toBe(true);
    }
  });
});

describe('Wycheproof AES-GCM via node:crypto', () => {
  const file = load('aes_gcm_test.json');
  for (const group of file.testGroups) {
    it(`key ${group.keySize} bits, iv ${group.ivSize} bits`, () => {
      for (const t of group.tests) {
        if (group.ivSize > 1024) {
          // OpenSSL (Node 20) refuses IVs this long outright; we only ever use 96-bit nonces.
          expect(() => createCipheriv(`aes-${group.keySize}-gcm` as 'aes-256-gcm', hex(t.key), hex(t.iv))).toThrow();
          continue;
        }
        const alg = `aes-${group.keySize}-gcm` as 'aes-256-gcm';
        let ok: boolean;
        let ctMatches = false;
        try {
          const decipher = createDecipheriv(alg, hex(t.key), hex(t.iv), { authTagLength: 16 });
          decipher.setAAD(hex(t.aad));
          decipher.setAuthTag(hex(t.tag));
          const msg = Buffer.concat([decipher.update(hex(t.ct)), decipher.final()]);
          ok = msg.equals(hex(t.msg));
          const cipher = createCipheriv(alg, hex(t.key), hex(t.iv), { authTagLength: 16 });
          cipher.setAAD(hex(t.aad));
          const ct = Buffer.concat([cipher.update(hex(t.msg)), cipher.final()]);
          ctMatches = ct.equals(hex(t.ct)) && cipher.getAuthTag().equals(hex(t.tag));
        } catch {
          ok = false;
        }
        if (t.result === 'valid') expect([t.tcId, ok && ctMatches]).toEqual([t.tcId, true]);
        else expect([t.tcId, ok]).toEqual([t.tcId, false]);
      }
    });
  }
});

describe('Wycheproof HKDF-SHA256', () => {
  const file = load('hkdf_sha256_test.json');
  const tests = file.testGroups.flatMap((g: { tests: unknown[] }) => g.tests);
  it(`${tests.length} vectors through hkdfSha256 and our Expand-only HKDF`, () => {
    for (const t of tests) {
      if (t.result === 'invalid') {
        expect(() => hkdfSha256(hex(t.ikm), hex(t.salt), hex(t.info), t.size)).toThrow();
        continue;
      }
      expect(hkdfSha256(hex(t.ikm), hex(t.salt), hex(t.info), t.size).toString('hex')).toBe(t.okm);
      // Extract by hand (empty salt = HashLen zeros), then our Expand: checks hkdfExpand.
      const salt = t.salt === '' ? Buffer.alloc(32) : hex(t.salt);
      const prk = createHmac('sha256', salt).update(hex(t.ikm)).digest();
      expect(hkdfExpand('sha256', prk, hex(t.info), t.size).toString('hex')).toBe(t.okm);
    }
  });
});

describe('Wycheproof X25519', () => {
  const file = load('x25519_test.json');
  const tests = file.testGroups.flatMap((g: { tests: unknown[] }) => g.tests);
  it(`${tests.length} vectors; zero shared secrets are rejected`, () => {
    for (const t of tests) {
      const priv = x25519PrivateKeyObject(hex(t.private));
      if (/^0+$/.test(t.shared)) {
        expect(() => x25519SharedSecret(priv, hex(t.public))).toThrow(SealedFormatError);
        continue;
      }
      expect([t.tcId, x25519SharedSecret(priv, hex(t.public)).toString('hex')]).toEqual([t.tcId, t.shared]);
    }
  });
});
