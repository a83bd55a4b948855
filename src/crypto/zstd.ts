/**
 * Bounded streaming zstd on zstd-napi's low-level streaming contexts (ZSTD_compressStream2 /
 * ZSTD_decompressStream). The high-level DecompressStream pushes all output of one input chunk
 * at once, which a decompression bomb would turn into an unbounded allocation; here every call
 * produces at most one output buffer and the caller checks its limit in between.
 */
import zstd from 'zstd-napi/binding.js';
import { SealedFormatError } from './errors.js';

/** Readers refuse frames whose window exceeds 8 MiB (level ≤ 19 never needs more). */
export const ZSTD_WINDOW_LOG_MAX = 23;
export const MIN_COMPRESSION_LEVEL = -7;
export const MAX_COMPRESSION_LEVEL = 19;
const OUT_SIZE = zstd.dStreamOutSize();
const EMPTY = Buffer.alloc(0);

export class StreamingCompressor {
  private readonly cctx = new zstd.CCtx();
  private readonly out = Buffer.allocUnsafe(zstd.cStreamOutSize());

  constructor(level: number) {
    if (!Number.isInteger(level) || level < MIN_COMPRESSION_LEVEL || level > MAX_COMPRESSION_LEVEL) {
      throw new RangeError(`compression level must be an integer in ${MIN_COMPRESSION_LEVEL}..${MAX_COMPRESSION_LEVEL}`);
    }
    this.cctx.setParameter(zstd.CParameter.compressionLevel, level);
  }

  /** Compress `src`; `sink` receives views of a reused buffer and must copy what it keeps. */
  write(src: Uint8Array, sink: (compressed: Buffer) => void): void {
    let rest = src;
    while (rest.byteLength > 0) {
      const [, produced, consumed] = this.cctx.compressStream2(this.out, rest, zstd.EndDirective.continue);
      rest = rest.subarray(consumed);
      if (produced > 0) sink(this.out.subarray(0, produced));
    }
  }

  end(sink: (compressed: Buffer) => void): void {
    for (;;) {
      const [remaining, produced] = this.cctx.compressStream2(this.out, EMPTY, zstd.EndDirective.end);
      if (produced > 0) sink(this.out.subarray(0, produced));
      if (remaining === 0) return;
    }
  }
}

/** Decompresses exactly one zstd frame, refusing to produce more than `limit` bytes in total. */
export class BoundedDecompressor {
  private readonly dctx = new zstd.DCtx();
  private produced = 0;
  private frameDone = false;
  private started = false;

  constructor(private readonly limit: number) {
    this.dctx.setParameter(zstd.DParameter.windowLogMax, ZSTD_WINDOW_LOG_MAX);
  }

  get outputBytes(): number {
    return this.produced;
  }

  /**
   * Feed compressed bytes; yields freshly allocated plaintext pieces (safe to keep) one output
   * buffer at a time, so a highly compressed input never materialises all at once.
   */
  *write(src: Uint8Array): Generator<Buffer, void, undefined> {
    let rest = src;
    if (rest.byteLength > 0) this.started = true;
    for (;;) {
      if (this.frameDone && rest.byteLength > 0) {
        throw new SealedFormatError('invalid-payload', 'unexpected data after the compressed frame');
      }
      const dst = Buffer.allocUnsafe(OUT_SIZE);
      let ret: number;
      let produced: number;
      let consumed: number;
      try {
        [ret, produced, consumed] = this.dctx.decompressStream(dst, rest);
      } catch (err) {
        throw new SealedFormatError('invalid-payload', 'compressed payload is malformed', { cause: err });
      }
      rest = rest.subarray(consumed);
      if (produced > 0) {
        this.produced += produced;
        if (this.produced > this.limit) {
          throw new SealedFormatError('too-large', `plaintext exceeds the limit of ${this.limit} bytes`);
        }
        // Keep small outputs from pinning a whole 128 KiB buffer.
        yield produced * 4 < OUT_SIZE ? Buffer.from(dst.subarray(0, produced)) : dst.subarray(0, produced);
      }
      if (ret === 0) this.frameDone = true;
      if (rest.byteLength === 0 && produced < dst.byteLength) return;
    }
  }

  /** Throws unless exactly one complete frame was seen. */
  end(): void {
    if (!this.started || !this.frameDone) {
      throw new SealedFormatError('invalid-payload', 'compressed payload ends inside its frame');
    }
  }
}
