import { createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SealedFormatError } from './errors.js';
import type { RandomSource } from './random.js';

/** A key id: 16 bytes, written as 32 lowercase hex characters in the API. */
export type KeyId = string;
export const KEY_ID_BYTES = 16;

// Fixed DER prefixes of RFC 8410 structures for X25519: raw 32-byte keys go right after them.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

export interface X25519KeyPair {
  readonly keyId: KeyId;
  readonly publicKey: Buffer;
  readonly privateKey: KeyObject;
}

export function keyIdToBytes(keyId: KeyId): Buffer {
  if (!/^[0-9a-f]{32}$/.test(keyId)) throw new SealedFormatError('invalid-header', 'invalid key id');
  return Buffer.from(keyId, 'hex');
}

export function keyIdFromBytes(bytes: Uint8Array): KeyId {
  return Buffer.from(bytes).toString('hex');
}

/** Public keys name themselves: anyone holding the key can compute its id. */
export function x25519KeyId(publicKey: Uint8Array): KeyId {
  const h = createHash('sha256').update('archivar/x25519-key-id\0').update(publicKey).digest();
  return keyIdFromBytes(h.subarray(0, KEY_ID_BYTES));
}

export function x25519PublicKeyObject(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== 32) throw new SealedFormatError('invalid-header', 'X25519 public key must be 32 bytes');
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function x25519PrivateKeyObject(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== 32) throw new SealedFormatError('invalid-header', 'X25519 private key must be 32 bytes');
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

export function rawPublicKey(key: KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - 32));
}

export function rawPrivateKey(key: KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'pkcs8' });
  return Buffer.from(der.subarray(der.length - 32));
}

export function x25519KeyPairFromPrivate(privateKey: KeyObject): X25519KeyPair {
  const publicKey = rawPublicKey(createPublicKey(privateKey));
  return { keyId: x25519KeyId(publicKey), publicKey, privateKey };
}

/** A fresh key pair; with `random` (tests only) the private scalar comes from it. */
export function generateX25519KeyPair(random?: RandomSource): X25519KeyPair {
  const privateKey = random ? x25519PrivateKeyObject(random(32)) : generateKeyPairSync('x25519').privateKey;
  return x25519KeyPairFromPrivate(privateKey);
}

/** X25519 ECDH; an all-zero result (small-order peer key) is rejected as RFC 7748 §6.1 allows. */
export function x25519SharedSecret(privateKey: KeyObject, peerPublicKey: Uint8Array): Buffer {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey, publicKey: x25519PublicKeyObject(peerPublicKey) });
  } catch (err) {
    if (err instanceof SealedFormatError) throw err;
    throw new SealedFormatError('wrong-key', 'X25519 key agreement failed (invalid public key)', { cause: err });
  }
  if (shared.every((b) => b === 0)) throw new SealedFormatError('wrong-key', 'X25519 key agreement produced zero');
  return shared;
}
