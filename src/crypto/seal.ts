/**
 * Sealing: plaintext → zstd (streaming) → message || trailer → C2SP chunks under a fresh file key,
 * with the file key wrapped to the server's X25519 key (client side) or to a tenant key (server
 * side, for previews, text and secrets). Memory stays bounded by one chunk plus zstd's window.
 */
import { createHash, type Hash } from 'node:crypto';
import { u64be, wipe } from './bytes.js';
import { ChunkEncryptor, deriveChunkKeys, INPUT_KEY_BYTES, SALT_BYTES } from './chunked-aead.js';
import { type TenantKey, wrapFileKeyForTenant, wrapFileKeyToX25519 } from './file-key-wrap.js';
import { type RandomSource, secureRandom } from './random.js';
import {
  chunkContext,
  DEFAULT_CHUNK_SIZE_LOG2,
  encodeSealedHeader,
  encodeStreamHeader,
  MAX_CHUNK_SIZE_LOG2,
  MIN_CHUNK_SIZE_LOG2,
  type SealContext,
  streamHeaderPrefix,
} from './sealed-format.js';
import { type KeyId, x25519KeyId } from './x25519.js';
import { StreamingCompressor } from './zstd.js';

export const DEFAULT_COMPRESSION_LEVEL = 3;
/** Large input pieces are processed in slices so one huge Buffer cannot balloon the output. */
const MAX_SLICE = 1 << 20;

/** Who can unwrap the file key: the server (client uploads) or a tenant key (at rest). */
export type SealRecipient =
  | { readonly serverPublicKey: Uint8Array; readonly serverKeyId?: KeyId | undefined }
  | { readonly tenantKey: TenantKey };

export type SealOptions = SealRecipient & {
  /** Binding; with a tenant recipient it must name tenant, document and kind. */
  readonly context?: SealContext | undefined;
  /** Chunk size as a power of two, 14..20 (default 18 = 256 KiB). */
  readonly chunkSizeLog2?: number | undefined;
  readonly compressionLevel?: number | undefined;
  /** TESTS ONLY: deterministic randomness for test vectors. Never set in production. */
  readonly random?: RandomSource | undefined;
};

export interface SealSummary {
  readonly plaintextBytes: number;
  /** SHA-256 of the plaintext (the content id), also carried inside the stream. */
  readonly contentDigest: Buffer;
  readonly contentId: string;
  readonly bodyBytes: number;
  readonly chunkCount: number;
}

export interface SealedStream {
  /** Header bytes: store or send them before (or apart from) the body. */
  readonly header: Buffer;
  /** Encrypted chunks, produced lazily as the input is read (one item per chunk). */
  readonly body: AsyncIterable<Buffer>;
  /** Resolves once `body` has been fully consumed. */
  readonly summary: Promise<SealSummary>;
}

/**
 * Incremental sealer: write plaintext, get encrypted chunks back. The building block of
 * sealStream/sealBuffer, usable directly where push style fits better (e.g. a Transform).
 */
export class Sealer {
  readonly header: Buffer;
  private readonly encryptor: ChunkEncryptor;
  private readonly compressor: StreamingCompressor;
  private readonly hash: Hash = createHash('sha256');
  private plaintextBytes = 0;
  private bodyBytes = 0;
  private result: SealSummary | undefined;

  constructor(options: SealOptions) {
    const random = options.random ?? secureRandom;
    const chunkSizeLog2 = options.chunkSizeLog2 ?? DEFAULT_CHUNK_SIZE_LOG2;
    if (!Number.isInteger(chunkSizeLog2) || chunkSizeLog2 < MIN_CHUNK_SIZE_LOG2 || chunkSizeLog2 > MAX_CHUNK_SIZE_LOG2) {
      throw new RangeError(`chunkSizeLog2 must be ${MIN_CHUNK_SIZE_LOG2}..${MAX_CHUNK_SIZE_LOG2}`);
    }
    this.compressor = new StreamingCompressor(options.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL);

    // Order of random draws is part of the deterministic test-vector recipe: file key, salt, envelope.
    const fileKey = random(INPUT_KEY_BYTES);
    const salt = random(SALT_BYTES);
    const keys = deriveChunkKeys(fileKey, salt, chunkContext(streamHeaderPrefix(chunkSizeLog2), options.context));
    const streamHeader = encodeStreamHeader(chunkSizeLog2, salt, keys.commitment);
    let envelope: Buffer;
    try {
      if ('tenantKey' in options) {
        envelope = wrapFileKeyForTenant(streamHeader, fileKey, options.tenantKey, options.context ?? {}, random);
      } else {
        if (options.serverKeyId !== undefined && options.serverKeyId !== x25519KeyId(options.serverPublicKey)) {
          throw new TypeError('serverKeyId does not match serverPublicKey');
        }
        envelope = wrapFileKeyToX25519(streamHeader, fileKey, options.serverPublicKey, random);
      }
    } finally {
      wipe(fileKey);
    }
    this.header = encodeSealedHeader(streamHeader, envelope);
    this.encryptor = new ChunkEncryptor(keys, 2 ** chunkSizeLog2);
  }

  /** Add plaintext; returns the chunks that became complete (possibly none). */
  write(plaintext: Uint8Array): Buffer[] {
    if (this.result) throw new Error('Sealer: write after end');
    this.hash.update(plaintext);
    this.plaintextBytes += plaintext.byteLength;
    const out: Buffer[] = [];
    this.compressor.write(plaintext, (c) => {
      for (const chunk of this.encryptor.push(c)) out.push(chunk);
    });
    for (const c of out) this.bodyBytes += c.byteLength;
    return out;
  }

  /** End of plaintext: flush zstd, append the trailer, emit the final short chunk. */
  end(): Buffer[] {
    if (this.result) throw new Error('Sealer: end twice');
    const out: Buffer[] = [];
    this.compressor.end((c) => {
      for (const chunk of this.encryptor.push(c)) out.push(chunk);
    });
    const digest = this.hash.digest();
    for (const chunk of this.encryptor.push(Buffer.concat([u64be(this.plaintextBytes), digest]))) out.push(chunk);
    out.push(this.encryptor.finish());
    for (const c of out) this.bodyBytes += c.byteLength;
    this.result = {
      plaintextBytes: this.plaintextBytes,
      contentDigest: digest,
      contentId: digest.toString('hex'),
      bodyBytes: this.bodyBytes,
      chunkCount: this.encryptor.chunkCount,
    };
    return out;
  }

  /** Available after end(). */
  get summary(): SealSummary {
    if (!this.result) throw new Error('Sealer: summary before end');
    return this.result;
  }
}

function toBytes(piece: unknown): Uint8Array {
  if (piece instanceof Uint8Array) return piece;
  if (typeof piece === 'string') return Buffer.from(piece, 'utf8');
  throw new TypeError('sealStream input must yield Uint8Array or string chunks');
}

/** Subarrays of at most MAX_SLICE bytes. */
export function* slices(bytes: Uint8Array, size = MAX_SLICE): Generator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, Math.min(bytes.byteLength, i + size));
}

/**
 * Seal a plaintext stream (a Readable, or any (async) iterable of bytes). The header is ready at
 * once; the body is produced lazily as it is consumed, so a 2 GB input never sits in memory.
 */
export function sealStream(
  plaintext: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  options: SealOptions,
): SealedStream {
  const sealer = new Sealer(options);
  let resolve!: (s: SealSummary) => void;
  let reject!: (e: unknown) => void;
  const summary = new Promise<SealSummary>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  summary.catch(() => {}); // rejection is also raised by the body iterator; never unhandled.
  async function* body(): AsyncGenerator<Buffer> {
    try {
      for await (const piece of plaintext) {
        for (const slice of slices(toBytes(piece))) yield* sealer.write(slice);
      }
      yield* sealer.end();
      resolve(sealer.summary);
    } catch (err) {
      reject(err);
      throw err;
    }
  }
  return { header: sealer.header, body: body(), summary };
}

/** Seal small data in one go (previews, extracted text, secrets): returns header || body. */
export function sealBuffer(plaintext: Uint8Array | string, options: SealOptions): Buffer {
  const sealer = new Sealer(options);
  const parts: Buffer[] = [sealer.header];
  for (const slice of slices(toBytes(plaintext))) parts.push(...sealer.write(slice));
  parts.push(...sealer.end());
  return Buffer.concat(parts);
}
