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

/**
 * Idle (de)compression contexts, reused across streams. A fresh zstd context allocates its whole
 * workspace (at level 3 with an unknown input size: a 2 MiB window buffer plus hash tables) and
 * touches it page by page, and the native memory is only given back when the GC finalizes the
 * object: for a 1 MiB text file that was 15 ms of CPU per stream against 5 ms with a reused one
 * (docs/performance.md, "Upload over gRPC"). A context is returned only after a stream ended cleanly
 * and is reset (session and parameters) before its next use, so no state crosses streams; one that
 * failed or was abandoned is left to the GC. Only compressors of level ≤ 3 (about 3 MiB each) are kept:
 * the workspace of a high level runs to tens of MiB and would stay allocated.
 */
const MAX_IDLE_CCTX = 8;
const MAX_POOLED_LEVEL = 3;
const MAX_IDLE_DCTX = 4;
const idleCCtx: InstanceType<typeof zstd.CCtx>[] = [];
const idleDCtx: InstanceType<typeof zstd.DCtx>[] = [];

/** An idle context, reset, or a new one. */
function take<T extends { reset(directive: zstd.ResetDirective): void }>(idle: T[], make: () => T): T {
  const ctx = idle.pop();
  if (!ctx) return make();
  ctx.reset(zstd.ResetDirective.sessionAndParameters);
  return ctx;
}

export class StreamingCompressor {
  private cctx: InstanceType<typeof zstd.CCtx> | undefined;
  private readonly out = Buffer.allocUnsafe(zstd.cStreamOutSize());
  private readonly pooled: boolean;

  constructor(level: number) {
    if (!Number.isInteger(level) || level < MIN_COMPRESSION_LEVEL || level > MAX_COMPRESSION_LEVEL) {
      throw new RangeError(`compression level must be an integer in ${MIN_COMPRESSION_LEVEL}..${MAX_COMPRESSION_LEVEL}`);
    }
    this.pooled = level <= MAX_POOLED_LEVEL;
    this.cctx = this.pooled ? take(idleCCtx, () => new zstd.CCtx()) : new zstd.CCtx();
    this.cctx.setParameter(zstd.CParameter.compressionLevel, level);
  }

  private context(): InstanceType<typeof zstd.CCtx> {
    if (!this.cctx) throw new Error('StreamingCompressor: used after end');
    return this.cctx;
  }

  /** Compress `src`; `sink` receives views of a reused buffer and must copy what it keeps. */
  write(src: Uint8Array, sink: (compressed: Buffer) => void): void {
    const cctx = this.context();
    let rest = src;
    while (rest.byteLength > 0) {
      const [, produced, consumed] = cctx.compressStream2(this.out, rest, zstd.EndDirective.continue);
      rest = rest.subarray(consumed);
      if (produced > 0) sink(this.out.subarray(0, produced));
    }
  }

  /** Ends the frame; afterwards the context goes back to the idle list and this compressor is spent. */
  end(sink: (compressed: Buffer) => void): void {
    const cctx = this.context();
    for (;;) {
      const [remaining, produced] = cctx.compressStream2(this.out, EMPTY, zstd.EndDirective.end);
      if (produced > 0) sink(this.out.subarray(0, produced));
      if (remaining === 0) break;
    }
    this.cctx = undefined;
    if (this.pooled && idleCCtx.length < MAX_IDLE_CCTX) idleCCtx.push(cctx);
  }
}

/**
 * Decompresses exactly one zstd frame, refusing to produce more than `limit` bytes in total.
 *
 * Output goes into one OUT_SIZE buffer at a time, which is handed out only once it is full (or the
 * frame ended): inputs of any framing (e.g. 16 KiB pieces of a raw block) yield few large pieces, a
 * step that produces nothing allocates nothing, and no yielded piece pins a mostly empty buffer.
 */
export class BoundedDecompressor {
  private dctx: InstanceType<typeof zstd.DCtx> | undefined;
  private produced = 0;
  private frameDone = false;
  private started = false;
  /** The buffer being filled; its first `filled` bytes are output not yet handed out. */
  private dst: Buffer | undefined;
  private filled = 0;

  constructor(private readonly limit: number) {
    this.dctx = take(idleDCtx, () => new zstd.DCtx());
    this.dctx.setParameter(zstd.DParameter.windowLogMax, ZSTD_WINDOW_LOG_MAX);
  }

  get outputBytes(): number {
    return this.produced;
  }

  /**
   * Feed compressed bytes; yields freshly allocated plaintext pieces (safe to keep), one output
   * buffer at a time, so a highly compressed input never materialises all at once. Output of an
   * unfinished frame that does not fill a buffer is held until a later write fills it or the frame
   * ends (all of a frame's output has been yielded once it ended).
   */
  *write(src: Uint8Array): Generator<Buffer, void, undefined> {
    const dctx = this.dctx;
    if (!dctx) throw new Error('BoundedDecompressor: used after end');
    let rest = src;
    if (rest.byteLength > 0) this.started = true;
    for (;;) {
      if (this.frameDone && rest.byteLength > 0) {
        throw new SealedFormatError('invalid-payload', 'unexpected data after the compressed frame');
      }
      if (this.frameDone) return;
      // Checked before the next buffer is allocated (the bomb limit counts every step's output).
      this.dst ??= Buffer.allocUnsafe(OUT_SIZE);
      const dst = this.dst;
      let ret: number;
      let produced: number;
      let consumed: number;
      try {
        [ret, produced, consumed] = dctx.decompressStream(this.filled === 0 ? dst : dst.subarray(this.filled), rest);
      } catch (err) {
        this.dst = undefined;
        throw new SealedFormatError('invalid-payload', 'compressed payload is malformed', { cause: err });
      }
      rest = rest.subarray(consumed);
      const space = dst.byteLength - this.filled;
      if (produced > 0) {
        this.produced += produced;
        if (this.produced > this.limit) {
          this.dst = undefined;
          throw new SealedFormatError('too-large', `plaintext exceeds the limit of ${this.limit} bytes`);
        }
        this.filled += produced;
      }
      if (ret === 0) this.frameDone = true;
      if (this.filled === dst.byteLength || (this.frameDone && this.filled > 0)) {
        const full = this.filled === dst.byteLength;
        const out = full ? dst : this.pieceOf(dst);
        this.dst = undefined;
        this.filled = 0;
        yield out;
        if (full) continue; // zstd may hold more output for this input
      }
      // Not full: zstd had no more output for the input it was given (ZSTD_decompressStream's
      // contract), so all input was consumed or it needs more.
      if (produced < space && rest.byteLength === 0) return;
      if (this.frameDone) continue; // raises on trailing input
    }
  }

  /** The filled part of a partly filled buffer; a small one is copied so it does not pin OUT_SIZE. */
  private pieceOf(dst: Buffer): Buffer {
    return this.filled * 4 < dst.byteLength ? Buffer.from(dst.subarray(0, this.filled)) : dst.subarray(0, this.filled);
  }

  /** Throws unless exactly one complete frame was seen. */
  end(): void {
    if (!this.started || !this.frameDone) {
      throw new SealedFormatError('invalid-payload', 'compressed payload ends inside its frame');
    }
    // A complete frame: the context is clean enough to reset and reuse.
    const dctx = this.dctx;
    this.dctx = undefined;
    if (dctx && idleDCtx.length < MAX_IDLE_DCTX) idleDCtx.push(dctx);
  }
}

/**
 * Decompresses `src` into `dst` in one call when `src` is exactly one complete frame (same window
 * limit as BoundedDecompressor) whose whole output fits `dst`; returns the bytes written, or
 * undefined for anything else (malformed, incomplete, data after the frame, output that would not
 * fit), where the caller runs BoundedDecompressor for the exact error. Never writes beyond `dst`.
 */
export function decompressFrameInto(src: Uint8Array, dst: Buffer): number | undefined {
  if (src.byteLength === 0) return undefined;
  const dctx = take(idleDCtx, () => new zstd.DCtx());
  dctx.setParameter(zstd.DParameter.windowLogMax, ZSTD_WINDOW_LOG_MAX);
  let ret: number;
  let produced: number;
  let consumed: number;
  try {
    [ret, produced, consumed] = dctx.decompressStream(dst, src);
  } catch {
    return undefined; // a failed context is left to the GC, as BoundedDecompressor does
  }
  // ret 0: the frame ended and everything it holds was flushed into dst.
  if (ret !== 0 || consumed !== src.byteLength) return undefined;
  if (idleDCtx.length < MAX_IDLE_DCTX) idleDCtx.push(dctx);
  return produced;
}
