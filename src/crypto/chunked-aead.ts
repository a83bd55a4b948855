/**
 * The chunk layer: C2SP chunked encryption ("Cobblestone", c2sp.org/chunked-encryption) with
 * AES-256-GCM and HKDF-Expand-SHA-512, generalised to a chunk size of 2^n bytes (the C2SP
 * instantiation is n = 14; the sealed format v1 records n in its header and binds it into the
 * context). With n = 14 this is exactly Cobblestone-256 and passes its official vectors.
 *
 * End of message is signalled the C2SP way: the final chunk is always shorter than a full chunk
 * (possibly empty), so a full chunk can never be accepted as the last one. That is the
 * "last-chunk flag", carried by the length instead of a nonce bit; truncation at a chunk boundary,
 * dropping, reordering, duplicating and cross-file swapping all fail (see docs/sealed-format.md).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { constantTimeEqual } from './bytes.js';
import { SealedFormatError } from './errors.js';
import { hkdfExpand } from './hkdf.js';

export const SALT_BYTES = 24;
export const COMMITMENT_BYTES = 32;
export const INPUT_KEY_BYTES = 32;
export const AEAD_KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** C2SP: the chunk counter must stay below 2^38. */
export const MAX_CHUNK_COUNT = 2 ** 38;

const INFO_PREFIX = Buffer.from('c2sp.org/chunked-encryption@v1+AEAD_AES_256_GCM\0', 'latin1');

export interface ChunkKeys {
  readonly key: Buffer;
  readonly baseNonce: Buffer;
  readonly commitment: Buffer;
}

/** key || base nonce || commitment = HKDF-Expand-SHA-512(input key, prefix || salt || context). */
export function deriveChunkKeys(inputKey: Uint8Array, salt: Uint8Array, context: Uint8Array): ChunkKeys {
  if (inputKey.byteLength !== INPUT_KEY_BYTES) throw new SealedFormatError('wrong-key', 'file key must be 32 bytes');
  if (salt.byteLength !== SALT_BYTES) throw new SealedFormatError('invalid-header', 'salt must be 24 bytes');
  const okm = hkdfExpand('sha512', inputKey, Buffer.concat([INFO_PREFIX, salt, context]), 76);
  return {
    key: okm.subarray(0, 32),
    baseNonce: okm.subarray(32, 44),
    commitment: okm.subarray(44, 76),
  };
}

/** Derive and check the stored commitment before any chunk is touched (C2SP requirement). */
export function deriveAndCheckChunkKeys(
  inputKey: Uint8Array,
  salt: Uint8Array,
  context: Uint8Array,
  commitment: Uint8Array,
): ChunkKeys {
  const keys = deriveChunkKeys(inputKey, salt, context);
  if (!constantTimeEqual(keys.commitment, commitment)) {
    throw new SealedFormatError('wrong-key', 'key commitment mismatch: wrong key or wrong context');
  }
  return keys;
}

/** nonce = base nonce XOR big-endian chunk counter (as wide as the nonce). */
export function chunkNonce(baseNonce: Uint8Array, counter: number): Buffer {
  const nonce = Buffer.from(baseNonce);
  let c = counter;
  for (let i = NONCE_BYTES - 1; c > 0 && i >= 0; i--) {
    // `& 0xff` works beyond 2^32 too: ToInt32 keeps the value modulo 2^32.
    nonce[i] = (nonce[i] ?? 0) ^ (c & 0xff);
    c = Math.floor(c / 256);
  }
  return nonce;
}

function checkChunkSize(chunkSize: number): void {
  if (!Number.isInteger(chunkSize) || chunkSize < 1024 || chunkSize > 1 << 24) {
    throw new RangeError('chunk size out of range');
  }
}

/**
 * Streaming encryptor: push message bytes, get back finished encrypted chunks; finish() emits the
 * final short chunk. Holds at most one chunk of plaintext.
 */
export class ChunkEncryptor {
  private readonly buffer: Buffer;
  private filled = 0;
  private counter = 0;
  private finished = false;

  constructor(
    private readonly keys: Pick<ChunkKeys, 'key' | 'baseNonce'>,
    private readonly chunkSize: number,
  ) {
    checkChunkSize(chunkSize);
    this.buffer = Buffer.allocUnsafe(chunkSize);
  }

  get chunkCount(): number {
    return this.counter;
  }

  push(data: Uint8Array): Buffer[] {
    if (this.finished) throw new Error('ChunkEncryptor: push after finish');
    const out: Buffer[] = [];
    let offset = 0;
    while (offset < data.byteLength) {
      const take = Math.min(this.chunkSize - this.filled, data.byteLength - offset);
      this.buffer.set(data.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      // A full chunk is never final (the final one is always short), so emit it right away.
      if (this.filled === this.chunkSize) {
        out.push(this.seal(this.buffer));
        this.filled = 0;
      }
    }
    return out;
  }

  finish(): Buffer {
    if (this.finished) throw new Error('ChunkEncryptor: finish twice');
    this.finished = true;
    const last = this.seal(this.buffer.subarray(0, this.filled));
    this.buffer.fill(0);
    return last;
  }

  private seal(plaintext: Buffer): Buffer {
    if (this.counter >= MAX_CHUNK_COUNT) throw new SealedFormatError('too-large', 'too many chunks');
    const cipher = createCipheriv('aes-256-gcm', this.keys.key, chunkNonce(this.keys.baseNonce, this.counter), {
      authTagLength: TAG_BYTES,
    });
    this.counter++;
    // One output buffer per chunk (the caller keeps it); the cipher's own outputs stay small and
    // short-lived, so they are recycled by the allocator instead of each costing fresh pages.
    const out = Buffer.allocUnsafe(plaintext.byteLength + TAG_BYTES);
    const n = cryptInto(cipher, plaintext, out);
    cipher.final();
    cipher.getAuthTag().copy(out, n);
    return out;
  }
}

/**
 * Largest piece handed to one `update` call. `update` returns a freshly allocated Buffer each time;
 * a whole 256 KiB chunk at once (plus a `Buffer.concat` into the final chunk) made every chunk
 * touch two fresh 256 KiB allocations, and on this VM page faults on fresh memory cost more than
 * the AES itself (docs/performance.md, "Seal and open"). 16 KiB pieces come from and go back to
 * the allocator's free lists.
 */
export const CRYPT_SLICE = 16 * 1024;

/** Runs `input` through a GCM (de)cipher in CRYPT_SLICE pieces, writing the output into `out` at 0. */
function cryptInto(cipher: { update(data: Uint8Array): Buffer }, input: Uint8Array, out: Buffer): number {
  let written = 0;
  for (let i = 0; i < input.byteLength; i += CRYPT_SLICE) {
    const part = cipher.update(input.subarray(i, Math.min(input.byteLength, i + CRYPT_SLICE)));
    part.copy(out, written);
    written += part.byteLength;
  }
  return written;
}

/**
 * Opens a whole body that is shorter than one full ciphertext chunk, so it can only be the final
 * chunk 0: what ChunkDecryptor does for such a body (same checks, errors and messages), without its
 * two chunk-sized buffers. The plaintext is a Buffer of its own.
 */
export function openOnlyChunk(keys: Pick<ChunkKeys, 'key' | 'baseNonce'>, body: Uint8Array, chunkSize: number): Buffer {
  checkChunkSize(chunkSize);
  if (body.byteLength >= chunkSize + TAG_BYTES) throw new RangeError('openOnlyChunk: body holds a full chunk');
  if (body.byteLength < TAG_BYTES) throw new SealedFormatError('truncated', 'sealed stream is truncated');
  return openChunk(keys, 0, body, true);
}

/**
 * Decrypts and authenticates chunk `counter` (ciphertext || tag): into `out` from 0 when given, else into a
 * Buffer of its own. A wrong tag zeroes what was decrypted and throws 'authentication-failed'.
 */
function openChunk(
  keys: Pick<ChunkKeys, 'key' | 'baseNonce'>,
  counter: number,
  sealed: Uint8Array,
  final: boolean,
  out?: Buffer,
): Buffer {
  const ctLen = sealed.byteLength - TAG_BYTES;
  const decipher = createDecipheriv('aes-256-gcm', keys.key, chunkNonce(keys.baseNonce, counter), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAuthTag(sealed.subarray(ctLen));
  const ct = sealed.subarray(0, ctLen);
  const body = out === undefined ? decipher.update(ct) : out.subarray(0, cryptInto(decipher, ct, out));
  try {
    decipher.final();
  } catch {
    body.fill(0);
    throw new SealedFormatError(
      'authentication-failed',
      `sealed chunk ${counter} failed authentication${final ? ' (final chunk)' : ''}`,
    );
  }
  return body;
}

/**
 * Streaming decryptor over arbitrarily framed ciphertext. A full ciphertext chunk is authenticated as
 * soon as it is complete (decrypted in place when it lies within one input piece), but its plaintext
 * is released only once at least one more byte arrived: at the end of input a full-size chunk means
 * the real final chunk is missing (`truncated`). Plaintext is returned only after its tag verified.
 * After any error the instance stays failed.
 *
 * `push`/`finish` return Buffers the caller may keep. `pushViews`/`finishView` return views of one
 * reused plaintext buffer instead (no allocation per chunk): each view is valid only until the
 * decryptor is used again (for `pushViews`: until the generator is resumed).
 */
export class ChunkDecryptor {
  private readonly buffer: Buffer;
  private readonly plain: Buffer;
  private readonly fullChunk: number;
  private filled = 0;
  /**
   * Plaintext (a view of `plain`) of the last full chunk, authenticated as soon as it was complete
   * but released only once more input shows it is not the final chunk.
   */
  private pending: Buffer | undefined;
  private counter = 0;
  private failed: SealedFormatError | undefined;
  private finished = false;
  private abandoned = false;

  constructor(
    private readonly keys: Pick<ChunkKeys, 'key' | 'baseNonce'>,
    chunkSize: number,
    private readonly maxChunks = MAX_CHUNK_COUNT,
  ) {
    checkChunkSize(chunkSize);
    this.fullChunk = chunkSize + TAG_BYTES;
    this.buffer = Buffer.allocUnsafe(this.fullChunk);
    this.plain = Buffer.allocUnsafeSlow(chunkSize);
  }

  /** Number of chunks authenticated so far. */
  get chunkCount(): number {
    return this.counter;
  }

  /** Authenticated plaintext of the chunks completed by `data`, each a Buffer of its own. */
  push(data: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    for (const view of this.pushViews(data)) out.push(Buffer.from(view));
    return out;
  }

  /**
   * Like push, but yields views of the reused plaintext buffer: consume (or copy) each before
   * resuming the generator. Abandoning the generator midway leaves the decryptor unusable.
   */
  *pushViews(data: Uint8Array): Generator<Buffer, void, undefined> {
    this.checkUsable();
    let offset = 0;
    let complete = false;
    try {
      while (offset < data.byteLength) {
        if (this.pending) {
          // More bytes follow, so the held full chunk was not the final one: release it.
          const view = this.pending;
          this.pending = undefined;
          yield view;
        }
        if (this.filled === 0 && data.byteLength - offset >= this.fullChunk) {
          // A whole chunk inside `data`: decrypt it where it is, without copying it to the holding buffer.
          this.pending = this.open(data.subarray(offset, offset + this.fullChunk), false);
          offset += this.fullChunk;
          continue;
        }
        const take = Math.min(this.fullChunk - this.filled, data.byteLength - offset);
        this.buffer.set(data.subarray(offset, offset + take), this.filled);
        this.filled += take;
        offset += take;
        if (this.filled === this.fullChunk) {
          this.pending = this.open(this.buffer, false);
          this.filled = 0;
        }
      }
      complete = true;
    } finally {
      // Stopped early (by the consumer or an error): the rest of `data` was never buffered.
      if (!complete) this.abandoned = true;
    }
  }

  /** End of ciphertext: authenticate the final (short) chunk and return its plaintext. */
  finish(): Buffer {
    return Buffer.from(this.finishView());
  }

  /** Like finish, but returns a view of the reused plaintext buffer. */
  finishView(): Buffer {
    this.checkUsable();
    this.finished = true;
    if (this.pending) {
      // The input ended with a full chunk: a full chunk is never the final one.
      this.pending = undefined;
      this.plain.fill(0);
      return this.fail('truncated', 'sealed stream is truncated (final chunk missing)');
    }
    if (this.filled < TAG_BYTES) return this.fail('truncated', 'sealed stream is truncated');
    return this.open(this.buffer.subarray(0, this.filled), true);
  }

  private checkUsable(): void {
    if (this.failed) throw this.failed;
    if (this.finished) throw new Error('ChunkDecryptor: used after finish');
    if (this.abandoned) throw new Error('ChunkDecryptor: used after an unfinished pushViews');
  }

  private fail(kind: 'truncated' | 'authentication-failed' | 'too-large', message: string): never {
    this.failed = new SealedFormatError(kind, message);
    throw this.failed;
  }

  private open(sealed: Uint8Array, final: boolean): Buffer {
    if (this.counter >= this.maxChunks) this.fail('too-large', 'sealed stream has too many chunks');
    let body: Buffer;
    try {
      body = openChunk(this.keys, this.counter, sealed, final, this.plain);
    } catch (err) {
      this.failed = err as SealedFormatError;
      throw err;
    }
    this.counter++;
    return body;
  }
}
