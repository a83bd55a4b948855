/**
 * The one error type of the crypto part. `kind` is stable and meant for the gRPC adapter
 * (see docs/sealed-format.md, "Error mapping"); `message` is safe to show to a client: it never
 * contains key material, plaintext or internal offsets beyond what the caller already sent.
 */
export type SealedFormatErrorKind =
  /** Bytes do not parse as a sealed header / wrapped key (bad magic, length, field value). */
  | 'invalid-header'
  /** Well-formed, but a version/suite/compression/envelope type we do not implement. */
  | 'unsupported-version'
  /** An AEAD tag did not verify: the bytes were modified (or belong to another stream). */
  | 'authentication-failed'
  /** The stream ends too early (missing final chunk, cut inside a tag). */
  | 'truncated'
  /** A configured bound (plaintext size, compressed size, chunk count) would be exceeded. */
  | 'too-large'
  /** All chunks authenticated, but the plaintext's SHA-256 / length differ from the trailer. */
  | 'digest-mismatch'
  /** The key (file, tenant, server, master) or the binding context does not match the object. */
  | 'wrong-key'
  /** Authenticated payload that is nevertheless malformed (bad zstd frame, bad trailer). */
  | 'invalid-payload';

export class SealedFormatError extends Error {
  override readonly name = 'SealedFormatError';
  readonly kind: SealedFormatErrorKind;

  constructor(kind: SealedFormatErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

export function isSealedFormatError(err: unknown): err is SealedFormatError {
  return err instanceof SealedFormatError;
}
