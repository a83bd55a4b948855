import { describe, expect, it } from 'vitest';
import { DEFAULT_SCRYPT_PARAMS, dummyVerify, hashPassword, needsRehash, verifyPassword } from '../../src/crypto/index.js';

const FAST = { ...DEFAULT_SCRYPT_PARAMS, logN: 10 };

describe('password hashing', () => {
  it('hashes with encoded parameters and verifies', async () => {
    const h = await hashPassword('correct horse', FAST);
    expect(h).toMatch(/^scrypt\$10\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword('correct horse', h)).toBe(true);
    expect(await verifyPassword('correct horsE', h)).toBe(false);
    expect(await hashPassword('correct horse', FAST)).not.toBe(h); // fresh salt
  });

  it('normalises Unicode so the same password typed differently verifies', async () => {
    const h = await hashPassword('Mu\u0308ller', FAST);
    expect(await verifyPassword('M\u00fcller', h)).toBe(true);
  });

  it('needsRehash when parameters are weaker than the current ones', async () => {
    const h = await hashPassword('pw', FAST);
    expect(needsRehash(h)).toBe(true);
    expect(needsRehash(h, FAST)).toBe(false);
    expect(needsRehash('garbage')).toBe(true);
  });

  it('malformed or hostile stored hashes verify as false, without huge allocations', async () => {
    expect(
      await verifyPassword('pw', 'scrypt$30$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', FAST),
    ).toBe(false);
    expect(await verifyPassword('pw', 'bcrypt$...', FAST)).toBe(false);
    expect(await dummyVerify('pw', FAST)).toBe(false);
  });

  it('runs many hashes concurrently through the gate', async () => {
    const hashes = await Promise.all(Array.from({ length: 6 }, (_, i) => hashPassword(`pw${i}`, FAST)));
    expect(await Promise.all(hashes.map((h, i) => verifyPassword(`pw${i}`, h)))).toEqual(Array(6).fill(true));
  });

  it('works at the OWASP defaults (N=2^17, r=8, p=1; needs maxmem > 128 MiB)', async () => {
    const h = await hashPassword('owasp');
    expect(h.startsWith('scrypt$17$8$1$')).toBe(true);
    expect(needsRehash(h)).toBe(false);
    expect(await verifyPassword('owasp', h)).toBe(true);
  }, 20_000);
});
