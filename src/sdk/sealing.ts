/**
 * Client-side sealing: thin wrappers over src/crypto with the conventions of an upload
 * (binding `{kind: 'original'}`, file key wrapped to the server's X25519 key).
 */
import {
  type OpenedStream,
  type OpenKey,
  openStream,
  type SealContext,
  type SealedStream,
  sealStream,
  type X25519KeyPair,
  x25519KeyId,
} from '../crypto/index.js';

/** Originals are bound only to their kind: the client does not know the document id yet. */
export const ORIGINAL_CONTEXT: SealContext = Object.freeze({ kind: 'original' });

/** Default cap on what `open` decompresses (a bound against decompression bombs). */
export const DEFAULT_MAX_PLAINTEXT_BYTES = 64 * 1024 ** 3;

/** The server's published key, as GetServerKey returns it. */
export interface ServerPublicKey {
  /** Raw 32-byte X25519 public key. */
  readonly publicKey: Uint8Array;
  /** 32 hex characters; when given it must be the id of `publicKey`. */
  readonly keyId?: string | undefined;
}

export interface SealSettings {
  /** Chunk size as a power of two, 14..20. @default 18 (256 KiB) */
  readonly chunkSizeLog2?: number | undefined;
  /** zstd level −7..19. @default 3 */
  readonly compressionLevel?: number | undefined;
}

/**
 * Seals a plaintext stream to the server key. The header is ready at once; the body is produced
 * lazily as it is read (bounded memory), and `summary` (content id, sizes) resolves at its end.
 */
export function seal(
  plaintext: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  serverKey: ServerPublicKey,
  settings: SealSettings = {},
): SealedStream {
  if (serverKey.publicKey.byteLength !== 32) throw new TypeError('server public key must be 32 bytes');
  if (serverKey.keyId !== undefined && serverKey.keyId !== x25519KeyId(serverKey.publicKey)) {
    throw new TypeError(`server key id ${serverKey.keyId} does not name the published public key`);
  }
  return sealStream(plaintext, {
    serverPublicKey: serverKey.publicKey,
    context: ORIGINAL_CONTEXT,
    chunkSizeLog2: settings.chunkSizeLog2,
    compressionLevel: settings.compressionLevel,
  });
}

export interface OpenSettings {
  /** Binding given at seal time. @default { kind: 'original' } */
  readonly context?: SealContext | undefined;
  /** @default DEFAULT_MAX_PLAINTEXT_BYTES */
  readonly maxPlaintextBytes?: number | undefined;
}

/**
 * Opens a sealed stream with a key pair it was wrapped to (a download's ephemeral key) or any
 * other crypto OpenKey. Wrong keys fail here; the body is only valid once iteration completes.
 */
export function open(
  header: Uint8Array,
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  key: X25519KeyPair | OpenKey,
  settings: OpenSettings = {},
): OpenedStream {
  const openKey: OpenKey = isKeyPair(key) ? { x25519: key } : key;
  return openStream(header, body, openKey, {
    context: settings.context ?? ORIGINAL_CONTEXT,
    maxPlaintextBytes: settings.maxPlaintextBytes ?? DEFAULT_MAX_PLAINTEXT_BYTES,
  });
}

function isKeyPair(key: X25519KeyPair | OpenKey): key is X25519KeyPair {
  return !(key instanceof Uint8Array) && 'privateKey' in key && 'publicKey' in key;
}
