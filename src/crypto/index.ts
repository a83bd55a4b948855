/** Public API of the crypto part: sealed format v1, key hierarchy, password hashing. */
export { isSealedFormatError, SealedFormatError, type SealedFormatErrorKind } from './errors.js';
export {
  type OpenKey,
  replaceEnvelope,
  resolveFileKey,
  rewrapHeaderForRecipient,
  rewrapHeaderForTenant,
  type TenantKey,
  unwrapFileKeyForTenant,
  unwrapFileKeyX25519,
  withWrapKey,
  wrapFileKeyForTenant,
  wrapFileKeyToX25519,
} from './file-key-wrap.js';
export {
  createTenantKey,
  createWrappedServerKey,
  describeWrappedKey,
  type LoadedMasterKey,
  type LoadMasterKeyOptions,
  LocalMasterKeyProvider,
  loadMasterKey,
  MASTER_KEY_ENV,
  type MasterKeyProvider,
  rewrapServerKey,
  rewrapTenantKey,
  unwrapServerKey,
  unwrapTenantKey,
  type WrappedServerKey,
  type WrappedTenantKey,
} from './keys.js';
export {
  type OpenedStream,
  Opener,
  type OpenOptions,
  type OpenSummary,
  openBuffer,
  openStream,
  type VerifyOptions,
  type VerifySummary,
  verifySealedChunks,
} from './open.js';
export {
  DEFAULT_SCRYPT_PARAMS,
  dummyVerify,
  hashPassword,
  needsRehash,
  type ScryptParams,
  verifyPassword,
} from './password.js';
export type { RandomSource } from './random.js';
export { RECORD_OVERHEAD, RecordCipher, type RecordPurpose, RecordSealer, recordCipherFromSecret } from './record-cipher.js';
export {
  DEFAULT_COMPRESSION_LEVEL,
  type SealedStream,
  Sealer,
  type SealOptions,
  type SealRecipient,
  type SealSummary,
  sealBuffer,
  sealStream,
} from './seal.js';
export {
  DEFAULT_CHUNK_SIZE_LOG2,
  FORMAT_VERSION,
  type KeyEnvelope,
  MAX_HEADER_BYTES,
  type ObjectKind,
  parseSealedHeader,
  type SealContext,
  type SealedHeader,
  type StreamHeader,
  splitSealed,
} from './sealed-format.js';
export {
  generateX25519KeyPair,
  type KeyId,
  type X25519KeyPair,
  x25519KeyId,
  x25519KeyPairFromPrivate,
  x25519PrivateKeyObject,
} from './x25519.js';
