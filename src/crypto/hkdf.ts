import { createHmac, hkdfSync } from 'node:crypto';

/**
 * HKDF-Expand (RFC 5869 §2.3) alone. node:crypto's hkdf always runs Extract first, which the
 * C2SP chunked-encryption derivation must not do (its input key is already uniformly random).
 */
export function hkdfExpand(hash: 'sha256' | 'sha512', prk: Uint8Array, info: Uint8Array, length: number): Buffer {
  const hashLen = hash === 'sha256' ? 32 : 64;
  if (length <= 0 || length > 255 * hashLen) throw new RangeError('HKDF-Expand: invalid output length');
  const out = Buffer.alloc(length);
  let previous: Buffer = Buffer.alloc(0);
  let written = 0;
  for (let counter = 1; written < length; counter++) {
    const hmac = createHmac(hash, prk);
    hmac.update(previous);
    hmac.update(info);
    hmac.update(Buffer.of(counter));
    previous = hmac.digest();
    written += previous.copy(out, written);
  }
  return out;
}

/** Full HKDF (Extract + Expand) with SHA-256, as used by the X25519 key wrap. */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, length));
}
