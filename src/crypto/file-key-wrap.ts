/**
 * Key envelopes: how the per-object file key travels with a sealed stream.
 *
 *  - X25519 (type 1): the client wraps to the server's published key (ephemeral ECDH +
 *    HKDF-SHA256 + AES-256-GCM, the shape of HPKE base mode); the server uses the same envelope
 *    to hand a Download to a caller-provided X25519 key.
 *  - Tenant (type 2): at rest, the file key wrapped under the tenant key, bound to tenant,
 *    document and kind.
 *
 * Every envelope authenticates the 64-byte stream header it belongs to, its own type and key id.
 * Re-wrapping replaces only the envelope: the body stays byte-for-byte what the client sent.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { wipe } from './bytes.js';
import { TAG_BYTES } from './chunked-aead.js';
import { SealedFormatError } from './errors.js';
import { hkdfExpand, hkdfSha256 } from './hkdf.js';
import { type RandomSource, secureRandom } from './random.js';
import {
  ENVELOPE_TENANT,
  ENVELOPE_X25519,
  encodeSealedHeader,
  encodeWithBinding,
  FILE_KEY_BYTES,
  type SealContext,
  type SealedHeader,
  toSealedHeader,
} from './sealed-format.js';
import {
  generateX25519KeyPair,
  type KeyId,
  keyIdToBytes,
  type X25519KeyPair,
  x25519KeyId,
  x25519SharedSecret,
} from './x25519.js';

/** An unwrapped tenant key (32 bytes) with its id. Keep it in memory only. */
export interface TenantKey {
  readonly keyId: KeyId;
  readonly key: Buffer;
  /**
   * The subkey that wraps file keys, when derived once by `withWrapKey` (saves an HMAC per open);
   * otherwise derived per use. Whoever zeroes `key` must zero this too.
   */
  readonly wrapKey?: Buffer | undefined;
}

const X25519_INFO = Buffer.from('archivar/sealed/v1/x25519-file-key\0', 'latin1');
const TENANT_SUBKEY_INFO = Buffer.from('archivar/sealed/v1/tenant-file-key-wrap', 'latin1');
const TENANT_AAD_LABEL = Buffer.from('archivar/sealed/v1/tenant-envelope\0', 'latin1');

function gcmSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** Returns undefined when the tag does not verify (the caller picks the error). */
function gcmOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer | undefined {
  if (sealed.byteLength < TAG_BYTES) return undefined;
  const ctLen = sealed.byteLength - TAG_BYTES;
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(ctLen));
  const out = decipher.update(sealed.subarray(0, ctLen));
  try {
    decipher.final();
    return out;
  } catch {
    out.fill(0);
    return undefined;
  }
}

function checkFileKey(fileKey: Uint8Array): void {
  if (fileKey.byteLength !== FILE_KEY_BYTES) throw new SealedFormatError('wrong-key', 'file key must be 32 bytes');
}

function x25519WrapKeys(shared: Buffer, ephemeralPublic: Uint8Array, recipientPublic: Uint8Array, keyId: Uint8Array) {
  const okm = hkdfSha256(shared, Buffer.concat([ephemeralPublic, recipientPublic]), Buffer.concat([X25519_INFO, keyId]), 44);
  return { key: okm.subarray(0, 32), nonce: okm.subarray(32, 44) };
}

/** Envelope type 1: wrap `fileKey` to an X25519 public key. */
export function wrapFileKeyToX25519(
  streamHeader: Uint8Array,
  fileKey: Uint8Array,
  recipientPublicKey: Uint8Array,
  random: RandomSource = secureRandom,
): Buffer {
  checkFileKey(fileKey);
  const keyId = keyIdToBytes(x25519KeyId(recipientPublicKey));
  // Fresh ephemeral key per wrap, so the derived nonce is never reused under one key.
  const ephemeral = generateX25519KeyPair(random === secureRandom ? undefined : random);
  const shared = x25519SharedSecret(ephemeral.privateKey, recipientPublicKey);
  const prefix = Buffer.concat([Buffer.of(ENVELOPE_X25519), keyId, ephemeral.publicKey]);
  const { key, nonce } = x25519WrapKeys(shared, ephemeral.publicKey, recipientPublicKey, keyId);
  const wrapped = gcmSeal(key, nonce, fileKey, Buffer.concat([streamHeader, prefix]));
  wipe(shared, key);
  return Buffer.concat([prefix, wrapped]);
}

/** Envelope type 2: wrap `fileKey` under a tenant key, bound to tenant, document and kind. */
export function wrapFileKeyForTenant(
  streamHeader: Uint8Array,
  fileKey: Uint8Array,
  tenantKey: TenantKey,
  binding: SealContext,
  random: RandomSource = secureRandom,
): Buffer {
  checkFileKey(fileKey);
  requireFullBinding(binding);
  const nonce = random(12);
  const prefix = Buffer.concat([Buffer.of(ENVELOPE_TENANT), keyIdToBytes(tenantKey.keyId), nonce]);
  const subkey = tenantSubkey(tenantKey);
  const wrapped = gcmSeal(subkey, nonce, fileKey, tenantAad(streamHeader, prefix, binding));
  if (subkey !== tenantKey.wrapKey) wipe(subkey);
  return Buffer.concat([prefix, wrapped]);
}

function requireFullBinding(binding: SealContext): void {
  if (binding.tenantId === undefined || binding.documentId === undefined || binding.kind === undefined) {
    throw new TypeError('tenant envelopes need tenantId, documentId and kind');
  }
}

/** The tenant's file-key wrapping key: its `wrapKey` if it has one (not to be wiped), else derived. */
function tenantSubkey(tenantKey: TenantKey): Buffer {
  return tenantKey.wrapKey ?? deriveTenantSubkey(tenantKey.key);
}

function deriveTenantSubkey(key: Buffer): Buffer {
  if (key.byteLength !== 32) throw new SealedFormatError('wrong-key', 'tenant key must be 32 bytes');
  // A dedicated subkey: the tenant key may wrap other things later without sharing a GCM key.
  return hkdfExpand('sha256', key, TENANT_SUBKEY_INFO, 32);
}

/**
 * The same tenant key with its file-key wrapping subkey derived once, for a holder that keeps the key
 * for many opens (the keyring) and zeroes both when it drops them.
 */
export function withWrapKey(tenantKey: TenantKey): TenantKey {
  return { keyId: tenantKey.keyId, key: tenantKey.key, wrapKey: deriveTenantSubkey(tenantKey.key) };
}

function tenantAad(streamHeader: Uint8Array, prefix: Uint8Array, binding: SealContext): Buffer {
  return encodeWithBinding([TENANT_AAD_LABEL, streamHeader, prefix], binding);
}

/** Unwrap an X25519 envelope with the recipient's key pair (the server's or a downloader's). */
export function unwrapFileKeyX25519(header: Uint8Array | SealedHeader, recipient: X25519KeyPair): Buffer {
  const h = toSealedHeader(header);
  const env = h.envelope;
  if (env.type !== 'x25519') throw new SealedFormatError('wrong-key', 'object is not wrapped to an X25519 key');
  if (env.keyId !== recipient.keyId) {
    throw new SealedFormatError('wrong-key', `object is wrapped to key ${env.keyId}, not ${recipient.keyId}`);
  }
  const keyIdBytes = keyIdToBytes(env.keyId);
  const shared = x25519SharedSecret(recipient.privateKey, env.ephemeralPublicKey);
  const { key, nonce } = x25519WrapKeys(shared, env.ephemeralPublicKey, recipient.publicKey, keyIdBytes);
  const aad = Buffer.concat([h.stream.bytes, env.bytes.subarray(0, 49)]);
  const fileKey = gcmOpen(key, nonce, env.wrappedKey, aad);
  wipe(shared, key);
  if (!fileKey) throw new SealedFormatError('wrong-key', 'file key does not unwrap with this X25519 key');
  return fileKey;
}

/** Unwrap a tenant envelope; `binding` must name the same tenant, document and kind. */
export function unwrapFileKeyForTenant(header: Uint8Array | SealedHeader, tenantKey: TenantKey, binding: SealContext): Buffer {
  const h = toSealedHeader(header);
  const env = h.envelope;
  if (env.type !== 'tenant') throw new SealedFormatError('wrong-key', 'object is not wrapped to a tenant key');
  if (env.keyId !== tenantKey.keyId) {
    throw new SealedFormatError('wrong-key', `object is wrapped to tenant key ${env.keyId}, not ${tenantKey.keyId}`);
  }
  const subkey = tenantSubkey(tenantKey);
  let fileKey: Buffer | undefined;
  try {
    requireFullBinding(binding);
    fileKey = gcmOpen(subkey, env.nonce, env.wrappedKey, tenantAad(h.stream.bytes, env.bytes.subarray(0, 29), binding));
  } finally {
    if (subkey !== tenantKey.wrapKey) wipe(subkey);
  }
  if (!fileKey) throw new SealedFormatError('wrong-key', 'file key does not unwrap with this tenant key and binding');
  return fileKey;
}

/** How an opener obtains the file key. */
export type OpenKey =
  | Uint8Array
  | { readonly fileKey: Uint8Array }
  | { readonly tenantKey: TenantKey; readonly binding: SealContext }
  | { readonly x25519: X25519KeyPair };

export function resolveFileKey(header: SealedHeader, key: OpenKey): Buffer {
  if (key instanceof Uint8Array) return Buffer.from(key);
  if ('fileKey' in key) return Buffer.from(key.fileKey);
  if ('tenantKey' in key) return unwrapFileKeyForTenant(header, key.tenantKey, key.binding);
  return unwrapFileKeyX25519(header, key.x25519);
}

/** Replace the envelope of `header` (the stream header, and so the body, stay untouched). */
export function replaceEnvelope(header: Uint8Array | SealedHeader, envelope: Uint8Array): Buffer {
  return encodeSealedHeader(toSealedHeader(header).stream.bytes, envelope);
}

/**
 * At-rest re-wrap on upload: unwrap with the server key, wrap under the tenant key bound to
 * tenant/document/kind. Returns the new header; the body is stored exactly as received.
 */
export function rewrapHeaderForTenant(
  header: Uint8Array | SealedHeader,
  serverKey: X25519KeyPair,
  tenantKey: TenantKey,
  binding: SealContext,
  random: RandomSource = secureRandom,
): Buffer {
  const h = toSealedHeader(header);
  const fileKey = unwrapFileKeyX25519(h, serverKey);
  try {
    return replaceEnvelope(h, wrapFileKeyForTenant(h.stream.bytes, fileKey, tenantKey, binding, random));
  } finally {
    wipe(fileKey);
  }
}

/** Download: re-wrap the file key of a stored object to a caller-provided X25519 public key. */
export function rewrapHeaderForRecipient(
  header: Uint8Array | SealedHeader,
  key: OpenKey,
  recipientPublicKey: Uint8Array,
  random: RandomSource = secureRandom,
): Buffer {
  const h = toSealedHeader(header);
  const fileKey = resolveFileKey(h, key);
  try {
    return replaceEnvelope(h, wrapFileKeyToX25519(h.stream.bytes, fileKey, recipientPublicKey, random));
  } finally {
    wipe(fileKey);
  }
}
