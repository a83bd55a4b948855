/**
 * Key hierarchy: master key (env/file, or a KMS behind MasterKeyProvider) → tenant keys and the
 * server's X25519 private key → per-object file keys (see file-key-wrap.ts).
 *
 * Functions here are pure with respect to storage: they take and return the bytes the store part
 * persists in LMDB. Every wrapped form carries the id of the key it is wrapped under and the id of
 * the key it holds, so rotation and mismatches are explicit.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { wipe } from './bytes.js';
import { TAG_BYTES } from './chunked-aead.js';
import { SealedFormatError } from './errors.js';
import type { TenantKey } from './file-key-wrap.js';
import { type RandomSource, secureRandom } from './random.js';
import {
  generateX25519KeyPair,
  KEY_ID_BYTES,
  type KeyId,
  keyIdFromBytes,
  keyIdToBytes,
  rawPrivateKey,
  type X25519KeyPair,
  x25519KeyPairFromPrivate,
  x25519PrivateKeyObject,
} from './x25519.js';

/** Suggested environment variable for the base64 master key (config reads it; we take the value). */
export const MASTER_KEY_ENV = 'ARCHIVAR_MASTER_KEY';
export const MASTER_KEY_BYTES = 32;

/**
 * Wraps and unwraps key material under a master key. Implementations: LocalMasterKeyProvider
 * (key in memory from env/file); a KMS implementation can do the same with remote calls.
 * `aad` must be authenticated; the returned blob must start with the 16-byte id of the master key
 * that wrapped it, so a reader can tell which master key it needs.
 */
export interface MasterKeyProvider {
  /** Id of the master key used by wrap(). */
  readonly keyId: KeyId;
  wrap(plaintext: Uint8Array, aad: Uint8Array): Promise<Buffer>;
  /** Throws SealedFormatError 'wrong-key' if the blob belongs to another master key or fails. */
  unwrap(blob: Uint8Array, aad: Uint8Array): Promise<Buffer>;
}

const MASTER_ID_INFO = 'archivar/master-key-id';
const MASTER_WRAP_AAD = Buffer.from('archivar/master-wrap/v1\0', 'latin1');

/** Master key held in process memory. Blob: master key id (16) || nonce (12) || ct || tag (16). */
export class LocalMasterKeyProvider implements MasterKeyProvider {
  readonly keyId: KeyId;
  readonly #key: Buffer;
  readonly #random: RandomSource;

  constructor(key: Uint8Array, random: RandomSource = secureRandom) {
    if (key.byteLength !== MASTER_KEY_BYTES) throw new RangeError('master key must be 32 bytes');
    this.#key = Buffer.from(key);
    this.#random = random;
    // Derived, so the id is stable across restarts without storing anything.
    this.keyId = keyIdFromBytes(createHmac('sha256', this.#key).update(MASTER_ID_INFO).digest().subarray(0, KEY_ID_BYTES));
  }

  async wrap(plaintext: Uint8Array, aad: Uint8Array): Promise<Buffer> {
    const id = keyIdToBytes(this.keyId);
    const nonce = this.#random(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.concat([MASTER_WRAP_AAD, id, aad]));
    return Buffer.concat([id, nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  }

  async unwrap(blob: Uint8Array, aad: Uint8Array): Promise<Buffer> {
    if (blob.byteLength < KEY_ID_BYTES + 12 + TAG_BYTES)
      throw new SealedFormatError('invalid-header', 'wrapped key is too short');
    const b = Buffer.from(blob);
    const id = keyIdFromBytes(b.subarray(0, KEY_ID_BYTES));
    if (id !== this.keyId) throw new SealedFormatError('wrong-key', `wrapped under master key ${id}, not ${this.keyId}`);
    const decipher = createDecipheriv('aes-256-gcm', this.#key, b.subarray(16, 28), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.concat([MASTER_WRAP_AAD, b.subarray(0, 16), aad]));
    decipher.setAuthTag(b.subarray(b.byteLength - TAG_BYTES));
    const out = decipher.update(b.subarray(28, b.byteLength - TAG_BYTES));
    try {
      decipher.final();
    } catch {
      out.fill(0);
      throw new SealedFormatError('wrong-key', 'wrapped key failed authentication under the master key');
    }
    return out;
  }
}

export interface LoadMasterKeyOptions {
  /** Base64 master key (e.g. the value of ARCHIVAR_MASTER_KEY); wins over the file. */
  readonly envValue?: string | undefined;
  /** Key file (base64 text); created with mode 0600 on first start if missing. */
  readonly filePath?: string | undefined;
}

export interface LoadedMasterKey {
  readonly provider: LocalMasterKeyProvider;
  readonly source: 'env' | 'file' | 'generated';
  /** True when the file did not exist and a new key was generated: log a loud warning. */
  readonly generated: boolean;
  /** True when an existing key file is readable by group or others. */
  readonly insecureFileMode: boolean;
}

function decodeMasterKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) throw new Error(`master key from ${where} is not base64`);
  const key = Buffer.from(trimmed, 'base64');
  if (key.byteLength !== MASTER_KEY_BYTES) {
    throw new Error(`master key from ${where} must decode to ${MASTER_KEY_BYTES} bytes, got ${key.byteLength}`);
  }
  return key;
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Master key from env (base64) or file; generates the file (0600, exclusive create) if missing. */
export async function loadMasterKey(options: LoadMasterKeyOptions): Promise<LoadedMasterKey> {
  if (options.envValue !== undefined && options.envValue.trim() !== '') {
    return {
      provider: new LocalMasterKeyProvider(decodeMasterKey(options.envValue, 'environment')),
      source: 'env',
      generated: false,
      insecureFileMode: false,
    };
  }
  const path = options.filePath;
  if (path === undefined) throw new Error('no master key: set the environment value or a key file path');
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    const key = decodeMasterKey(text, 'key file');
    return {
      provider: new LocalMasterKeyProvider(key),
      source: 'file',
      generated: false,
      insecureFileMode: (info.mode & 0o077) !== 0,
    };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = secureRandom(MASTER_KEY_BYTES);
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (err) {
    // Another process created it between our read and create: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadMasterKey({ filePath: path });
    throw err;
  }
  try {
    await handle.writeFile(`${key.toString('base64')}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsyncDir(dirname(path));
  return { provider: new LocalMasterKeyProvider(key), source: 'generated', generated: true, insecureFileMode: false };
}

// ---- wrapped key records -------------------------------------------------------------------

const WRAPPED_KEY_VERSION = 1;
const PURPOSE_TENANT = 1;
const PURPOSE_SERVER_X25519 = 2;
const RECORD_LABEL = Buffer.from('archivar/wrapped-key/v1\0', 'latin1');

/**
 * Record: version (1) || purpose (1) || key id (16) || public part length (u16 BE) || public part
 * || master blob. Everything before the blob is bound as AAD of the master wrap.
 */
function encodeRecord(purpose: number, keyId: KeyId, publicPart: Uint8Array, blob: Uint8Array): Buffer {
  const head = recordHead(purpose, keyId, publicPart);
  return Buffer.concat([head, blob]);
}

function recordHead(purpose: number, keyId: KeyId, publicPart: Uint8Array): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(publicPart.byteLength);
  return Buffer.concat([Buffer.of(WRAPPED_KEY_VERSION, purpose), keyIdToBytes(keyId), len, publicPart]);
}

interface ParsedRecord {
  purpose: number;
  keyId: KeyId;
  publicPart: Buffer;
  head: Buffer;
  blob: Buffer;
  masterKeyId: KeyId;
}

function parseRecord(bytes: Uint8Array, expectedPurpose: number): ParsedRecord {
  const b = Buffer.from(bytes);
  if (b.byteLength < 20) throw new SealedFormatError('invalid-header', 'wrapped key record is truncated');
  if (b[0] !== WRAPPED_KEY_VERSION) throw new SealedFormatError('unsupported-version', `unsupported wrapped key version ${b[0]}`);
  if (b[1] !== expectedPurpose) throw new SealedFormatError('invalid-header', 'wrapped key record has the wrong purpose');
  const pubLen = b.readUInt16BE(18);
  const headLen = 20 + pubLen;
  if (b.byteLength < headLen + KEY_ID_BYTES + 12 + TAG_BYTES) {
    throw new SealedFormatError('invalid-header', 'wrapped key record is truncated');
  }
  const blob = b.subarray(headLen);
  return {
    purpose: expectedPurpose,
    keyId: keyIdFromBytes(b.subarray(2, 18)),
    publicPart: b.subarray(20, headLen),
    head: b.subarray(0, headLen),
    blob,
    masterKeyId: keyIdFromBytes(blob.subarray(0, KEY_ID_BYTES)),
  };
}

function recordAad(head: Buffer): Buffer {
  return Buffer.concat([RECORD_LABEL, head]);
}

/** Which master key (and which key id) a stored record needs, without unwrapping it. */
export function describeWrappedKey(bytes: Uint8Array): { kind: 'tenant' | 'server-x25519'; keyId: KeyId; masterKeyId: KeyId } {
  const b = Buffer.from(bytes);
  const purpose = b[1] === PURPOSE_SERVER_X25519 ? PURPOSE_SERVER_X25519 : PURPOSE_TENANT;
  const r = parseRecord(b, purpose);
  return { kind: purpose === PURPOSE_TENANT ? 'tenant' : 'server-x25519', keyId: r.keyId, masterKeyId: r.masterKeyId };
}

// ---- tenant keys ---------------------------------------------------------------------------

export interface WrappedTenantKey {
  readonly keyId: KeyId;
  /** Bytes to store; only the master key can open them. */
  readonly wrapped: Buffer;
}

/** A new random tenant key, wrapped by the master key. Deleting `wrapped` crypto-shreds the tenant. */
export async function createTenantKey(master: MasterKeyProvider, random: RandomSource = secureRandom): Promise<WrappedTenantKey> {
  const keyId = keyIdFromBytes(random(KEY_ID_BYTES));
  const key = random(32);
  try {
    const head = recordHead(PURPOSE_TENANT, keyId, Buffer.alloc(0));
    const blob = await master.wrap(key, recordAad(head));
    return { keyId, wrapped: encodeRecord(PURPOSE_TENANT, keyId, Buffer.alloc(0), blob) };
  } finally {
    wipe(key);
  }
}

export async function unwrapTenantKey(master: MasterKeyProvider, wrapped: Uint8Array): Promise<TenantKey> {
  const r = parseRecord(wrapped, PURPOSE_TENANT);
  const key = await master.unwrap(r.blob, recordAad(r.head));
  if (key.byteLength !== 32) throw new SealedFormatError('invalid-header', 'tenant key has the wrong length');
  return { keyId: r.keyId, key };
}

/** Master key rotation: same tenant key and id, wrapped under `newMaster`. No blob is touched. */
export async function rewrapTenantKey(
  oldMaster: MasterKeyProvider,
  newMaster: MasterKeyProvider,
  wrapped: Uint8Array,
): Promise<WrappedTenantKey> {
  const r = parseRecord(wrapped, PURPOSE_TENANT);
  const key = await oldMaster.unwrap(r.blob, recordAad(r.head));
  try {
    const blob = await newMaster.wrap(key, recordAad(r.head));
    return { keyId: r.keyId, wrapped: encodeRecord(PURPOSE_TENANT, r.keyId, r.publicPart, blob) };
  } finally {
    wipe(key);
  }
}

// ---- server X25519 key ---------------------------------------------------------------------

export interface WrappedServerKey {
  readonly keyId: KeyId;
  /** Publish this (with keyId) so clients can seal to the server. */
  readonly publicKey: Buffer;
  /** Bytes to store; the private key inside is wrapped by the master key. */
  readonly stored: Buffer;
}

/** Generate the server key pair once; the public key is bound into the wrap's AAD. */
export async function createWrappedServerKey(master: MasterKeyProvider, random?: RandomSource): Promise<WrappedServerKey> {
  const pair = generateX25519KeyPair(random);
  const priv = rawPrivateKey(pair.privateKey);
  try {
    const head = recordHead(PURPOSE_SERVER_X25519, pair.keyId, pair.publicKey);
    const blob = await master.wrap(priv, recordAad(head));
    return { keyId: pair.keyId, publicKey: pair.publicKey, stored: Buffer.concat([head, blob]) };
  } finally {
    wipe(priv);
  }
}

export async function unwrapServerKey(master: MasterKeyProvider, stored: Uint8Array): Promise<X25519KeyPair> {
  const r = parseRecord(stored, PURPOSE_SERVER_X25519);
  const priv = await master.unwrap(r.blob, recordAad(r.head));
  try {
    const pair = x25519KeyPairFromPrivate(x25519PrivateKeyObject(priv));
    if (!pair.publicKey.equals(r.publicPart) || pair.keyId !== r.keyId) {
      throw new SealedFormatError('wrong-key', 'stored server key pair is inconsistent');
    }
    return pair;
  } finally {
    wipe(priv);
  }
}

/** Master key rotation for the stored server key. */
export async function rewrapServerKey(
  oldMaster: MasterKeyProvider,
  newMaster: MasterKeyProvider,
  stored: Uint8Array,
): Promise<WrappedServerKey> {
  const r = parseRecord(stored, PURPOSE_SERVER_X25519);
  const priv = await oldMaster.unwrap(r.blob, recordAad(r.head));
  try {
    const blob = await newMaster.wrap(priv, recordAad(r.head));
    return { keyId: r.keyId, publicKey: Buffer.from(r.publicPart), stored: Buffer.concat([r.head, blob]) };
  } finally {
    wipe(priv);
  }
}
