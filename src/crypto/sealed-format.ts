/**
 * Sealed stream format v1: byte layout of the header, the binding context and the key envelopes.
 * docs/sealed-format.md is the normative description; keep both in step.
 *
 *   header = stream header (64 bytes, fixed, bound into the chunk-key derivation)
 *            || envelope length (u16 BE) || key envelope (replaceable: re-wrapping changes only it)
 *   body   = C2SP chunks of  zstd frame || trailer (u64 BE plaintext length || SHA-256(plaintext))
 */
import { u16be } from './bytes.js';
import { COMMITMENT_BYTES, SALT_BYTES, TAG_BYTES } from './chunked-aead.js';
import { SealedFormatError } from './errors.js';
import { KEY_ID_BYTES, type KeyId, keyIdFromBytes } from './x25519.js';

export const MAGIC = Buffer.from('ARSF', 'latin1');
export const FORMAT_VERSION = 1;
/** Suite 1: C2SP chunked encryption, AES-256-GCM, HKDF-Expand-SHA-512 (Cobblestone-256 shape). */
export const SUITE_COBBLESTONE_256 = 1;
export const COMPRESSION_ZSTD = 1;
export const MIN_CHUNK_SIZE_LOG2 = 14;
export const MAX_CHUNK_SIZE_LOG2 = 20;
/** 256 KiB: see "Chunk size" in docs/sealed-format.md for the measurement. */
export const DEFAULT_CHUNK_SIZE_LOG2 = 18;
export const STREAM_HEADER_BYTES = 64;
export const TRAILER_BYTES = 40;
export const FILE_KEY_BYTES = 32;
const WRAPPED_FILE_KEY_BYTES = FILE_KEY_BYTES + TAG_BYTES;

export const ENVELOPE_X25519 = 1;
export const ENVELOPE_TENANT = 2;
export const X25519_ENVELOPE_BYTES = 1 + KEY_ID_BYTES + 32 + WRAPPED_FILE_KEY_BYTES; // 97
export const TENANT_ENVELOPE_BYTES = 1 + KEY_ID_BYTES + 12 + WRAPPED_FILE_KEY_BYTES; // 77
/** Longest header this version reads; bounds what a reader buffers before the body. */
export const MAX_HEADER_BYTES = STREAM_HEADER_BYTES + 2 + 1024;

/** Context string prefix of the chunk-key derivation (the C2SP "context"). */
const CONTEXT_LABEL = Buffer.from('archivar/sealed/v1\0', 'latin1');
const MAX_BINDING_FIELD_BYTES = 1024;

/** Well-known object kinds; other strings are allowed (e.g. 'secret' for IMAP passwords). */
export type ObjectKind = 'original' | 'preview' | 'text' | (string & {});

/**
 * What a sealed object is bound to. Whatever is given at seal time must be given again at open
 * time. Client uploads bind only `{ kind: 'original' }` (the client does not know the document
 * id); the at-rest tenant envelope then binds tenant + document + kind. Server-sealed objects
 * (previews, text, secrets) bind all three in the stream itself.
 */
export interface SealContext {
  readonly tenantId?: string | undefined;
  readonly documentId?: string | undefined;
  readonly kind?: ObjectKind | undefined;
}

export interface StreamHeader {
  readonly version: number;
  readonly suite: number;
  readonly compression: number;
  readonly chunkSizeLog2: number;
  readonly chunkSize: number;
  readonly salt: Buffer;
  readonly commitment: Buffer;
  /** The 64 raw bytes (what envelopes authenticate). */
  readonly bytes: Buffer;
}

export type KeyEnvelope =
  | {
      readonly type: 'x25519';
      readonly keyId: KeyId;
      readonly ephemeralPublicKey: Buffer;
      readonly wrappedKey: Buffer;
      readonly bytes: Buffer;
    }
  | {
      readonly type: 'tenant';
      readonly keyId: KeyId;
      readonly nonce: Buffer;
      readonly wrappedKey: Buffer;
      readonly bytes: Buffer;
    };

export interface SealedHeader {
  readonly stream: StreamHeader;
  readonly envelope: KeyEnvelope;
  /** Total header length in bytes (the body starts right after). */
  readonly byteLength: number;
}

/** Bytes of one binding field: 0x00 absent, or 0x01 || u16 BE length || UTF-8. */
function bindingFieldBytes(value: string | undefined): number {
  if (value === undefined) return 1;
  const length = Buffer.byteLength(value, 'utf8');
  if (length > MAX_BINDING_FIELD_BYTES) throw new RangeError('binding field too long');
  return 3 + length;
}

function writeBindingField(out: Buffer, offset: number, value: string | undefined): number {
  if (value === undefined) {
    out[offset] = 0;
    return offset + 1;
  }
  out[offset] = 1;
  const length = out.write(value, offset + 3, 'utf8');
  out.writeUInt16BE(length, offset + 1);
  return offset + 3 + length;
}

/** `prefix || encodeBinding(context)` in one buffer: every open encodes its binding twice. */
export function encodeWithBinding(prefix: readonly Uint8Array[], context: SealContext | undefined): Buffer {
  const t = context?.tenantId;
  const d = context?.documentId;
  const k = context?.kind;
  let offset = 0;
  for (const p of prefix) offset += p.byteLength;
  const out = Buffer.allocUnsafe(offset + bindingFieldBytes(t) + bindingFieldBytes(d) + bindingFieldBytes(k));
  offset = 0;
  for (const p of prefix) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  writeBindingField(out, writeBindingField(out, writeBindingField(out, offset, t), d), k);
  return out;
}

export function encodeBinding(context: SealContext | undefined): Buffer {
  return encodeWithBinding([], context);
}

/** The C2SP context: label || header bytes 0..7 (magic, version, suite, compression, n) || binding. */
export function chunkContext(streamHeader: Uint8Array, context: SealContext | undefined): Buffer {
  return encodeWithBinding([CONTEXT_LABEL, streamHeader.subarray(0, 8)], context);
}

export function encodeStreamHeader(chunkSizeLog2: number, salt: Uint8Array, commitment: Uint8Array): Buffer {
  const out = Buffer.alloc(STREAM_HEADER_BYTES);
  MAGIC.copy(out, 0);
  out[4] = FORMAT_VERSION;
  out[5] = SUITE_COBBLESTONE_256;
  out[6] = COMPRESSION_ZSTD;
  out[7] = chunkSizeLog2;
  out.set(salt, 8);
  out.set(commitment, 32);
  return out;
}

/** The fixed prefix without the commitment, used while the commitment is being derived. */
export function streamHeaderPrefix(chunkSizeLog2: number): Buffer {
  return encodeStreamHeader(chunkSizeLog2, Buffer.alloc(SALT_BYTES), Buffer.alloc(COMMITMENT_BYTES));
}

export function encodeSealedHeader(streamHeader: Uint8Array, envelope: Uint8Array): Buffer {
  return Buffer.concat([streamHeader, u16be(envelope.byteLength), envelope]);
}

function invalid(message: string): never {
  throw new SealedFormatError('invalid-header', message);
}

export function parseStreamHeader(bytes: Uint8Array): StreamHeader {
  if (bytes.byteLength < STREAM_HEADER_BYTES) {
    throw new SealedFormatError('truncated', 'sealed header is truncated');
  }
  const b = Buffer.from(bytes.subarray(0, STREAM_HEADER_BYTES));
  if (!b.subarray(0, 4).equals(MAGIC)) invalid('not a sealed stream (bad magic)');
  const version = b[4] ?? 0;
  if (version !== FORMAT_VERSION) {
    throw new SealedFormatError('unsupported-version', `unsupported sealed format version ${version}`);
  }
  const suite = b[5] ?? 0;
  if (suite !== SUITE_COBBLESTONE_256) throw new SealedFormatError('unsupported-version', `unsupported suite ${suite}`);
  const compression = b[6] ?? 0;
  if (compression !== COMPRESSION_ZSTD) {
    throw new SealedFormatError('unsupported-version', `unsupported compression ${compression}`);
  }
  const chunkSizeLog2 = b[7] ?? 0;
  if (chunkSizeLog2 < MIN_CHUNK_SIZE_LOG2 || chunkSizeLog2 > MAX_CHUNK_SIZE_LOG2) {
    invalid(`chunk size 2^${chunkSizeLog2} out of range`);
  }
  return {
    version,
    suite,
    compression,
    chunkSizeLog2,
    chunkSize: 2 ** chunkSizeLog2,
    salt: b.subarray(8, 32),
    commitment: b.subarray(32, 64),
    bytes: b,
  };
}

export function parseEnvelope(bytes: Uint8Array): KeyEnvelope {
  const b = Buffer.from(bytes);
  if (b.byteLength < 1) invalid('empty key envelope');
  const type = b[0];
  if (type === ENVELOPE_X25519) {
    if (b.byteLength !== X25519_ENVELOPE_BYTES) invalid('bad X25519 envelope length');
    return {
      type: 'x25519',
      keyId: keyIdFromBytes(b.subarray(1, 17)),
      ephemeralPublicKey: b.subarray(17, 49),
      wrappedKey: b.subarray(49),
      bytes: b,
    };
  }
  if (type === ENVELOPE_TENANT) {
    if (b.byteLength !== TENANT_ENVELOPE_BYTES) invalid('bad tenant envelope length');
    return {
      type: 'tenant',
      keyId: keyIdFromBytes(b.subarray(1, 17)),
      nonce: b.subarray(17, 29),
      wrappedKey: b.subarray(29),
      bytes: b,
    };
  }
  throw new SealedFormatError('unsupported-version', `unsupported key envelope type ${type}`);
}

/**
 * Parse and validate a sealed header at the start of `bytes` (trailing bytes, e.g. the body,
 * are allowed and ignored: see `byteLength`). Throws SealedFormatError, never anything else.
 */
export function parseSealedHeader(bytes: Uint8Array): SealedHeader {
  const stream = parseStreamHeader(bytes);
  if (bytes.byteLength < STREAM_HEADER_BYTES + 2) throw new SealedFormatError('truncated', 'sealed header is truncated');
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const envLen = b.readUInt16BE(STREAM_HEADER_BYTES);
  if (envLen === 0 || STREAM_HEADER_BYTES + 2 + envLen > MAX_HEADER_BYTES) invalid('bad key envelope length');
  const end = STREAM_HEADER_BYTES + 2 + envLen;
  if (b.byteLength < end) throw new SealedFormatError('truncated', 'sealed header is truncated');
  const envelope = parseEnvelope(b.subarray(STREAM_HEADER_BYTES + 2, end));
  return { stream, envelope, byteLength: end };
}

/** Split a whole sealed object (header || body) into its two parts. */
export function splitSealed(sealed: Uint8Array): { header: SealedHeader; headerBytes: Buffer; body: Buffer } {
  const header = parseSealedHeader(sealed);
  const b = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  return { header, headerBytes: b.subarray(0, header.byteLength), body: b.subarray(header.byteLength) };
}

export function toSealedHeader(header: Uint8Array | SealedHeader): SealedHeader {
  return header instanceof Uint8Array ? parseSealedHeader(header) : header;
}
