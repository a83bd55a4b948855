/**
 * Opening: header → file key (direct, tenant envelope or X25519 envelope) → commitment check →
 * chunk-by-chunk authentication → bounded zstd decompression → trailer check (length + SHA-256).
 * Plaintext is released only from authenticated chunks; the stream as a whole is only valid once
 * iteration finished without error (the digest is checked last).
 */
import { createHash, type Hash } from 'node:crypto';
import { constantTimeEqual, wipe } from './bytes.js';
import { ChunkDecryptor, deriveAndCheckChunkKeys, openOnlyChunk, TAG_BYTES } from './chunked-aead.js';
import { SealedFormatError } from './errors.js';
import { type OpenKey, resolveFileKey } from './file-key-wrap.js';
import { slices } from './seal.js';
import {
  chunkContext,
  type SealContext,
  type SealedHeader,
  splitSealed,
  TRAILER_BYTES,
  toSealedHeader,
} from './sealed-format.js';
import { BoundedDecompressor, decompressFrameInto } from './zstd.js';

export interface OpenOptions {
  /** Hard cap on the decompressed size: exceeding it throws 'too-large' before allocating more. */
  readonly maxPlaintextBytes: number;
  /** The binding given at seal time (e.g. `{ kind: 'original' }` for client uploads). */
  readonly context?: SealContext | undefined;
}

export interface VerifyOptions {
  readonly context?: SealContext | undefined;
  /** Optional cap on the sealed body size. */
  readonly maxBodyBytes?: number | undefined;
}

export interface OpenSummary {
  readonly plaintextBytes: number;
  readonly contentDigest: Buffer;
  readonly contentId: string;
  readonly chunkCount: number;
}

export interface VerifySummary extends OpenSummary {
  readonly bodyBytes: number;
}

export interface OpenedStream extends AsyncIterable<Buffer> {
  /** Resolves after the last plaintext byte was verified; rejects like the iterator. */
  readonly summary: Promise<OpenSummary>;
}

/**
 * Releases all but the last TRAILER_BYTES bytes seen: the trailer ends the message. `push` may be
 * given views of a reused buffer: what it returns is only valid until the next push, and the held
 * tail is always its own copy.
 */
class TrailerSplitter {
  private readonly tail = Buffer.alloc(TRAILER_BYTES);
  private tailBytes = 0;
  total = 0;

  push(piece: Buffer): Buffer[] {
    this.total += piece.byteLength;
    if (piece.byteLength >= TRAILER_BYTES) {
      const out: Buffer[] = this.tailBytes > 0 ? [Buffer.from(this.tail.subarray(0, this.tailBytes))] : [];
      if (piece.byteLength > TRAILER_BYTES) out.push(piece.subarray(0, piece.byteLength - TRAILER_BYTES));
      piece.copy(this.tail, 0, piece.byteLength - TRAILER_BYTES);
      this.tailBytes = TRAILER_BYTES;
      return out;
    }
    const parts: Uint8Array[] = [this.tail.subarray(0, this.tailBytes), piece];
    const joined = Buffer.concat(parts);
    const cut = Math.max(0, joined.byteLength - TRAILER_BYTES);
    this.tailBytes = joined.copy(this.tail, 0, cut);
    return cut > 0 ? [joined.subarray(0, cut)] : [];
  }

  trailer(): { plaintextBytes: number; digest: Buffer } {
    if (this.tailBytes !== TRAILER_BYTES) {
      throw new SealedFormatError('invalid-payload', 'sealed message is too short for its trailer');
    }
    const length = this.tail.readBigUInt64BE(0);
    if (length > BigInt(Number.MAX_SAFE_INTEGER)) throw new SealedFormatError('invalid-payload', 'bad trailer length');
    return { plaintextBytes: Number(length), digest: Buffer.from(this.tail.subarray(8)) };
  }
}

function checkedLimit(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer`);
  return value;
}

/** Derive chunk keys after unwrapping, checking the key commitment. */
function chunkKeysFor(header: SealedHeader, key: OpenKey, context: SealContext | undefined) {
  const fileKey = resolveFileKey(header, key);
  try {
    return deriveAndCheckChunkKeys(
      fileKey,
      header.stream.salt,
      chunkContext(header.stream.bytes, context),
      header.stream.commitment,
    );
  } finally {
    wipe(fileKey);
  }
}

/** zstd's worst-case expansion is ~1/256 plus block headers: a message bigger than this is not honest. */
function maxMessageBytes(maxPlaintextBytes: number): number {
  return maxPlaintextBytes + Math.ceil(maxPlaintextBytes / 128) + 65_536 + TRAILER_BYTES;
}

/**
 * The message layer (zstd frame || trailer) of authenticated plaintext pieces: bounded decompression,
 * then the trailer check (length + SHA-256).
 */
class MessageDecoder {
  private readonly decompressor: BoundedDecompressor;
  private readonly splitter = new TrailerSplitter();
  private readonly hash: Hash = createHash('sha256');
  private readonly maxMessageBytes: number;

  constructor(maxPlaintextBytes: number) {
    this.decompressor = new BoundedDecompressor(maxPlaintextBytes);
    this.maxMessageBytes = maxMessageBytes(maxPlaintextBytes);
  }

  /** Yields the decompressed plaintext of `piece` (which may be a view of a reused buffer). */
  *write(piece: Buffer): Generator<Buffer, void, undefined> {
    for (const compressed of this.splitter.push(piece)) {
      if (this.splitter.total > this.maxMessageBytes) {
        throw new SealedFormatError('too-large', 'sealed payload exceeds the size limit');
      }
      for (const plain of this.decompressor.write(compressed)) {
        this.hash.update(plain);
        yield plain;
      }
    }
  }

  /** End of message: the frame must be complete and the plaintext must match the trailer. */
  end(): { plaintextBytes: number; contentDigest: Buffer } {
    this.decompressor.end();
    const trailer = this.splitter.trailer();
    const digest = this.hash.digest();
    if (trailer.plaintextBytes !== this.decompressor.outputBytes || !constantTimeEqual(trailer.digest, digest)) {
      throw new SealedFormatError('digest-mismatch', 'plaintext digest does not match the sealed content id');
    }
    return { plaintextBytes: this.decompressor.outputBytes, contentDigest: digest };
  }
}

/**
 * Incremental opener (push style): write ciphertext of any framing, get verified plaintext back;
 * end() checks the final chunk and the trailer. Validates header and key in the constructor.
 */
export class Opener {
  private readonly decryptor: ChunkDecryptor;
  private readonly message: MessageDecoder;
  private result: OpenSummary | undefined;

  constructor(header: Uint8Array | SealedHeader, key: OpenKey, options: OpenOptions) {
    const max = checkedLimit(options.maxPlaintextBytes, 'maxPlaintextBytes');
    const h = toSealedHeader(header);
    this.decryptor = new ChunkDecryptor(chunkKeysFor(h, key, options.context), h.stream.chunkSize);
    this.message = new MessageDecoder(max);
  }

  /** Yields verified plaintext lazily (at most one zstd output buffer at a time). */
  *write(ciphertext: Uint8Array): Generator<Buffer, void, undefined> {
    // Each message piece is a view of the decryptor's reused buffer, consumed before the next.
    for (const piece of this.decryptor.pushViews(ciphertext)) yield* this.message.write(piece);
  }

  /** Final chunk, then the trailer check; the last plaintext is yielded before the check. */
  *end(): Generator<Buffer, void, undefined> {
    yield* this.message.write(this.decryptor.finishView());
    const { plaintextBytes, contentDigest } = this.message.end();
    this.result = {
      plaintextBytes,
      contentDigest,
      contentId: contentDigest.toString('hex'),
      chunkCount: this.decryptor.chunkCount,
    };
  }

  get summary(): OpenSummary {
    if (!this.result) throw new Error('Opener: summary before end');
    return this.result;
  }
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // the iterator raises the same error
  return { promise, resolve, reject };
}

/**
 * Open a sealed stream. Header, key and commitment are checked before this returns (so a wrong
 * key fails fast); the body is decrypted lazily. `body` may be framed arbitrarily.
 */
export function openStream(
  header: Uint8Array | SealedHeader,
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  key: OpenKey,
  options: OpenOptions,
): OpenedStream {
  const opener = new Opener(header, key, options);
  const done = deferred<OpenSummary>();
  async function* run(): AsyncGenerator<Buffer> {
    try {
      for await (const piece of body) {
        for (const slice of slices(piece)) yield* opener.write(slice);
      }
      yield* opener.end();
      done.resolve(opener.summary);
    } catch (err) {
      done.reject(err);
      throw err;
    }
  }
  const iterator = run();
  return { [Symbol.asyncIterator]: () => iterator, summary: done.promise };
}

/**
 * Open a whole sealed object (header || body) held in memory. A body shorter than one full chunk
 * (e.g. a document's extracted text) takes a one-shot path; every other body, and any message the
 * one-shot path does not accept as it stands, goes through the streaming opener, so results and
 * errors are the same either way.
 */
export function openBuffer(sealed: Uint8Array, key: OpenKey, options: OpenOptions): Buffer {
  const { header, body } = splitSealed(sealed);
  if (body.byteLength < header.stream.chunkSize + TAG_BYTES) {
    const max = checkedLimit(options.maxPlaintextBytes, 'maxPlaintextBytes');
    const message = openOnlyChunk(chunkKeysFor(header, key, options.context), body, header.stream.chunkSize);
    return decodeWholeMessage(message, max);
  }
  const opener = new Opener(header, key, options);
  const parts: Buffer[] = [];
  for (const slice of slices(body)) parts.push(...opener.write(slice));
  parts.push(...opener.end());
  return Buffer.concat(parts);
}

/**
 * zstd frame || trailer, all authenticated and in memory: decompressed in one call into a buffer of
 * the length the trailer states (at most the limit), then hashed once. Whatever that does not accept
 * (bad frame, data after it, a trailer whose length or digest is not the output's, a message over the
 * size cap) is decoded again by MessageDecoder, which raises the streaming path's error.
 */
function decodeWholeMessage(message: Buffer, maxPlaintextBytes: number): Buffer {
  const end = message.byteLength - TRAILER_BYTES;
  if (end > 0 && message.byteLength <= maxMessageBytes(maxPlaintextBytes)) {
    const stated = message.readBigUInt64BE(end);
    if (stated <= BigInt(maxPlaintextBytes)) {
      const out = Buffer.allocUnsafe(Number(stated));
      const written = decompressFrameInto(message.subarray(0, end), out);
      if (written === out.byteLength) {
        const digest = createHash('sha256').update(out).digest();
        if (constantTimeEqual(digest, message.subarray(end + 8))) return out;
      }
      out.fill(0);
    }
  }
  const decoder = new MessageDecoder(maxPlaintextBytes);
  const parts = [...decoder.write(message)];
  decoder.end();
  return Buffer.concat(parts);
}

/**
 * Check every chunk tag, the final chunk and the trailer without decompressing — what the
 * upload path runs when reading back from storage. Returns the content id from the trailer.
 */
export async function verifySealedChunks(
  header: Uint8Array | SealedHeader,
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  key: OpenKey,
  options: VerifyOptions = {},
): Promise<VerifySummary> {
  const h = toSealedHeader(header);
  const maxBody =
    options.maxBodyBytes === undefined ? Number.POSITIVE_INFINITY : checkedLimit(options.maxBodyBytes, 'maxBodyBytes');
  const decryptor = new ChunkDecryptor(chunkKeysFor(h, key, options.context), h.stream.chunkSize);
  const splitter = new TrailerSplitter();
  let bodyBytes = 0;
  for await (const piece of body) {
    bodyBytes += piece.byteLength;
    if (bodyBytes > maxBody) throw new SealedFormatError('too-large', 'sealed body exceeds the size limit');
    for (const slice of slices(piece)) for (const m of decryptor.pushViews(slice)) splitter.push(m);
  }
  splitter.push(decryptor.finishView());
  const trailer = splitter.trailer();
  // An honest message holds at least a zstd frame header (≥ 6 bytes) before the trailer.
  if (splitter.total < TRAILER_BYTES + 6 || bodyBytes < TAG_BYTES) {
    throw new SealedFormatError('invalid-payload', 'sealed message has no compressed payload');
  }
  return {
    plaintextBytes: trailer.plaintextBytes,
    contentDigest: trailer.digest,
    contentId: trailer.digest.toString('hex'),
    chunkCount: decryptor.chunkCount,
    bodyBytes,
  };
}
