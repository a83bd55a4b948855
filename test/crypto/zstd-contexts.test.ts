import { describe, expect, it } from 'vitest';
import zstd from 'zstd-napi/binding.js';
import { BoundedDecompressor, StreamingCompressor } from '../../src/crypto/zstd.js';
import { pseudoRandomBytes } from './deterministic-random.js';

/** zstd contexts are reused across streams (src/crypto/zstd.ts): nothing of one stream may reach the next. */

const text = Buffer.from('Rechnung Nr. 2024-001 über 1.234,56 EUR, fällig am 3. März 2024. '.repeat(4000));

function compress(level: number, input: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  const c = new StreamingCompressor(level);
  for (let i = 0; i < input.byteLength; i += 100_000) c.write(input.subarray(i, i + 100_000), (b) => parts.push(Buffer.from(b)));
  c.end((b) => parts.push(Buffer.from(b)));
  return Buffer.concat(parts);
}

/** The same stream through a context nobody used before. */
function compressFresh(level: number, input: Uint8Array): Buffer {
  const cctx = new zstd.CCtx();
  cctx.setParameter(zstd.CParameter.compressionLevel, level);
  const out = Buffer.allocUnsafe(zstd.cStreamOutSize());
  const parts: Buffer[] = [];
  for (let i = 0; i < input.byteLength; i += 100_000) {
    let rest = input.subarray(i, i + 100_000);
    while (rest.byteLength > 0) {
      const [, produced, consumed] = cctx.compressStream2(out, rest, zstd.EndDirective.continue);
      parts.push(Buffer.from(out.subarray(0, produced)));
      rest = rest.subarray(consumed);
    }
  }
  for (;;) {
    const [remaining, produced] = cctx.compressStream2(out, Buffer.alloc(0), zstd.EndDirective.end);
    parts.push(Buffer.from(out.subarray(0, produced)));
    if (remaining === 0) return Buffer.concat(parts);
  }
}

function decompress(frame: Uint8Array, limit = 1 << 30): Buffer {
  const d = new BoundedDecompressor(limit);
  const parts = [...d.write(frame)];
  d.end();
  return Buffer.concat(parts);
}

describe('reused zstd contexts', () => {
  it('a reused compressor produces the bytes of a fresh one, whatever level it ran at before', () => {
    const random = pseudoRandomBytes(300_000, 7);
    for (const [before, level] of [
      [1, 3],
      [3, 1],
      [-5, 3],
      [3, 3],
    ] as const) {
      compress(before, text);
      compress(before, random);
      expect(compress(level, text).equals(compressFresh(level, text))).toBe(true);
      expect(compress(level, random).equals(compressFresh(level, random))).toBe(true);
    }
  });

  it('a compressor that was abandoned mid-frame is not reused', () => {
    const c = new StreamingCompressor(3);
    c.write(text.subarray(0, 200_000), () => {});
    // No end(): the half-written frame must not leak into the next stream.
    expect(decompress(compress(3, text)).equals(text)).toBe(true);
  });

  it('a compressor is spent after end()', () => {
    const c = new StreamingCompressor(3);
    c.end(() => {});
    expect(() => c.write(text, () => {})).toThrow(/after end/);
    expect(() => c.end(() => {})).toThrow(/after end/);
  });

  it('a decompressor that failed or stopped mid-frame does not poison the next one', () => {
    const frame = compress(3, text);
    // Malformed input: fails, and the context is dropped.
    const bad = Buffer.from(frame);
    bad.fill(0xff, 4, 40);
    expect(() => decompress(bad)).toThrow();
    // A frame cut short, then abandoned.
    const cut = new BoundedDecompressor(1 << 30);
    for (const _ of cut.write(frame.subarray(0, frame.byteLength >> 1))) {
      // drain
    }
    // Over the limit.
    expect(() => decompress(frame, 1000)).toThrow();
    for (let i = 0; i < 10; i++) expect(decompress(frame).equals(text)).toBe(true);
  });

  it('yields full output buffers whatever the input framing, and all of a frame once it ended', () => {
    const random = pseudoRandomBytes(700_000, 5);
    for (const input of [text, random]) {
      const frame = compress(3, input);
      for (const piece of [1, 1000, 16_384, frame.byteLength]) {
        const d = new BoundedDecompressor(1 << 30);
        const out: Buffer[] = [];
        for (let i = 0; i < frame.byteLength; i += piece) out.push(...d.write(frame.subarray(i, i + piece)));
        d.end();
        expect(Buffer.concat(out).equals(input)).toBe(true);
        // Every piece but the last is a whole output buffer.
        const size = zstd.dStreamOutSize();
        for (const p of out.slice(0, -1)) expect(p.byteLength).toBe(size);
        expect(d.outputBytes).toBe(input.byteLength);
      }
    }
    // The limit is still enforced per decompression step, before the next buffer.
    const d = new BoundedDecompressor(100_000);
    expect(() => [...d.write(compress(3, text))]).toThrow(/exceeds the limit/);
  });

  it('a reused decompressor still enforces the window limit', () => {
    // Decompress something first so the next context comes from the idle list.
    decompress(compress(3, text));
    const cctx = new zstd.CCtx();
    cctx.setParameter(zstd.CParameter.compressionLevel, 1);
    cctx.setParameter(zstd.CParameter.windowLog, 25);
    // A frame that declares a 32 MiB window: refused by the reader (windowLogMax 23).
    const big = pseudoRandomBytes(1 << 20, 3);
    const input = Buffer.concat([big, Buffer.alloc(40 << 20), big]);
    const out = Buffer.allocUnsafe(zstd.compressBound(input.byteLength));
    const n = cctx.compress2(out, input);
    expect(() => decompress(out.subarray(0, n))).toThrow(expect.objectContaining({ kind: 'invalid-payload' }));
    // The same frame opens without the limit: it is the window that was refused.
    const dctx = new zstd.DCtx();
    const dst = Buffer.allocUnsafe(input.byteLength);
    expect(dctx.decompress(dst, out.subarray(0, n))).toBe(input.byteLength);
  });
});
