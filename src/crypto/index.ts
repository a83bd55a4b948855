/** Public API of the crypto part: sealed format v1, key hierarchy, password hashing. */
export { SealedFormatError, isSealedFormatError, type SealedFormatErrorKind } from './errors.js';
export {
  DEFAULT_CHUNK_SIZE_LOG2,
  FORMAT_VERSION,
  MAX_HEADER_BYTES,
  type KeyEnvelope,
  type ObjectKind,
  type SealContext,
  type SealedHeader,
  type StreamHeader,
  parseSealedHeader,
  splitSealed,
} from './sealed-format.js';
export {
  DEFAULT_COMPRESSION_LEVEL,
  type SealOptions,
  type SealRecipient,
  type SealSummary,
  type SealedStream,
  Sealer,
  sealBuffer,
  sealStream,
} from './seal.js';
export {
  type OpenOptions,
  type OpenSummary,
  type OpenedStream,
  type VerifyOptions,
  type VerifySummary,
  Opener,
  openBuffer,
  openStream,
  verifySealedChunks,
} from './open.js';
export {
  type OpenKey,
  type TenantKey,
  replaceEnvelope,
  resolveFileKey,
  rewrapHeaderForRecipient,
  rewrapHeaderForTenant,
  unwrapFileKeyForTenant,
  unwrapFileKeyX25519,
  wrapFileKeyForTenant,
  wrapFileKeyToX25519,
} from './file-key-wrap.js';
export {
  LocalMasterKeyProvider,
  MASTER_KEY_ENV,
  type LoadMasterKeyOptions,
  type LoadedMasterKey,
  type MasterKeyProvider,
  type WrappedServerKey,
  type WrappedTenantKey,
  createTenantKey,
  createWrappedServerKey,
  describeWrappedKey,
  loadMasterKey,
  rewrapServerKey,
  rewrapTenantKey,
  unwrapServerKey,
  unwrapTenantKey,
} from './keys.js';
export {
  type KeyId,
  type X25519KeyPair,
  generateX25519KeyPair,
  x25519KeyId,
  x25519KeyPairFromPrivate,
  x25519PrivateKeyObject,
} from './x25519.js';
export {
  DEFAULT_SCRYPT_PARAMS,
  type ScryptParams,
  dummyVerify,
  hashPassword,
  needsRehash,
  verifyPassword,
} from './password.js';
export type { RandomSource } from './random.js';
