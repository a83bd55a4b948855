import { createHmac, hkdfSync } from 'node:crypto';

/**
 * HKDF-Expand (RFC 5869 §2.3) alone. node:crypto's hkdf always runs Extract first, which the
 * C2SP chunked-encryption derivation must not do (its input key is already uniformly random).
 */
export function hkdfExpand(hash: 'sha256' | 'sha512', prk: Uint8Array, info: Uint8Array, length: number): Buffer {
  const hashLen = hash === 'sha256' ? 32 : 64;
  if (length <= 0 || length > 255 * hashLen) throw new RangeError('HKDF-Expand: invalid output length');
  const out = Buffer.allocUnsafe(length);
  // T(i) = HMAC(prk, T(i-1) || info || i): one buffer holds the whole message, so each block is one update.
  const message = Buffer.allocUnsafe(hashLen + info.byteLength + 1);
  message.set(info, hashLen);
  let written = 0;
  for (let counter = 1; written < length; counter++) {
    message[message.byteLength - 1] = counter;
    const block = createHmac(hash, prk)
      .update(counter === 1 ? message.subarray(hashLen) : message)
      .digest();
    written += block.copy(out, written);
    block.copy(message, 0);
    block.fill(0);
  }
  message.fill(0, 0, hashLen);
  return out;
}

/** Full HKDF (Extract + Expand) with SHA-256, as used by the X25519 key wrap. */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, length));
}
