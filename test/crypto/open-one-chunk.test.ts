import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import zstd from 'zstd-napi/binding.js';
import { ChunkEncryptor, type ChunkKeys, deriveChunkKeys, openOnlyChunk, TAG_BYTES } from '../../src/crypto/chunked-aead.js';
import { wrapFileKeyForTenant } from '../../src/crypto/file-key-wrap.js';
import { openBuffer, openStream, SealedFormatError, sealBuffer, splitSealed } from '../../src/crypto/index.js';
import { chunkContext, encodeSealedHeader, encodeStreamHeader, type SealContext } from '../../src/crypto/sealed-format.js';
import { decompressFrameInto, StreamingCompressor } from '../../src/crypto/zstd.js';
import { deterministicRandom, flip, pseudoRandomBytes } from './deterministic-random.js';

/**
 * openBuffer opens a body shorter than one full chunk (a document's extracted text, a preview) in one
 * shot instead of through the streaming opener. Both must agree byte for byte and error for error, so
 * every case here is opened both ways: openStream always streams.
 */

/** Counts the streaming machinery openBuffer builds, to see which path it took. */
const built = vi.hoisted(() => ({ decryptors: 0, decompressors: 0 }));
vi.mock('../../src/crypto/zstd.js', async (importOriginal) => {
  const mod = await importOriginal<typeof import('../../src/crypto/zstd.js')>();
  class CountedDecompressor extends mod.BoundedDecompressor {
    constructor(limit: number) {
      super(limit);
      built.decompressors++;
    }
  }
  return { ...mod, BoundedDecompressor: CountedDecompressor };
});
vi.mock('../../src/crypto/chunked-aead.js', async (importOriginal) => {
  const mod = await importOriginal<typeof import('../../src/crypto/chunked-aead.js')>();
  class CountedDecryptor extends mod.ChunkDecryptor {
    constructor(...args: ConstructorParameters<typeof mod.ChunkDecryptor>) {
      super(...args);
      built.decryptors++;
    }
  }
  return { ...mod, ChunkDecryptor: CountedDecryptor };
});

const tenantKey = { keyId: '0123456789abcdef0123456789abcdef', key: deterministicRandom('tenant')(32) };
const CONTEXT: SealContext = { tenantId: 't-1', documentId: 'doc-1', kind: 'text' };
const KEY = { tenantKey, binding: CONTEXT };
const MAX = 1 << 30;
const text = Buffer.from('Rechnung Nr. 2024-001 über 1.234,56 EUR, fällig am 3. März 2024; invoice due. '.repeat(130));

type Outcome = { ok: Buffer } | { kind: string; message: string };

function outcome(fn: () => Buffer): Outcome {
  try {
    return { ok: fn() };
  } catch (err) {
    if (!(err instanceof SealedFormatError)) throw err;
    return { kind: err.kind, message: err.message };
  }
}

async function streamed(sealed: Buffer, max: number): Promise<Outcome> {
  try {
    const { headerBytes, body } = splitSealed(sealed);
    const parts: Buffer[] = [];
    for await (const p of openStream(headerBytes, [body], KEY, { maxPlaintextBytes: max, context: CONTEXT })) parts.push(p);
    return { ok: Buffer.concat(parts) };
  } catch (err) {
    if (!(err instanceof SealedFormatError)) throw err;
    return { kind: err.kind, message: err.message };
  }
}

/** openBuffer's outcome, after checking that the streaming opener has the same one. */
async function openBoth(sealed: Buffer, max = MAX): Promise<Outcome> {
  const whole = outcome(() => openBuffer(sealed, KEY, { maxPlaintextBytes: max, context: CONTEXT }));
  expect(whole).toEqual(await streamed(sealed, max));
  return whole;
}

function frameOf(plaintext: Uint8Array, params: (c: InstanceType<typeof zstd.CCtx>) => void = () => {}): Buffer {
  const cctx = new zstd.CCtx();
  cctx.setParameter(zstd.CParameter.compressionLevel, 3);
  params(cctx);
  const out = Buffer.alloc(zstd.compressBound(plaintext.byteLength) + 1024);
  let [, written] = cctx.compressStream2(out, plaintext, zstd.EndDirective.continue);
  for (;;) {
    const [remaining, produced] = cctx.compressStream2(out.subarray(written), Buffer.alloc(0), zstd.EndDirective.end);
    written += produced;
    if (remaining === 0) return Buffer.from(out.subarray(0, written));
  }
}

function trailer(length: number | bigint, plaintext: Uint8Array): Buffer {
  const len = Buffer.alloc(8);
  len.writeBigUInt64BE(BigInt(length));
  return Buffer.concat([len, createHash('sha256').update(plaintext).digest()]);
}

/** A tenant-sealed object whose message M (zstd frame || trailer, normally) is given as is. */
function sealMessage(message: Uint8Array, chunkSizeLog2 = 14): { sealed: Buffer; keys: ChunkKeys } {
  const random = deterministicRandom(`message/${message.byteLength}`);
  const fileKey = random(32);
  const salt = random(24);
  const prefix = encodeStreamHeader(chunkSizeLog2, Buffer.alloc(24), Buffer.alloc(32));
  const keys = deriveChunkKeys(fileKey, salt, chunkContext(prefix, CONTEXT));
  const stream = encodeStreamHeader(chunkSizeLog2, salt, keys.commitment);
  const header = encodeSealedHeader(stream, wrapFileKeyForTenant(stream, fileKey, tenantKey, CONTEXT, random));
  const enc = new ChunkEncryptor(keys, 2 ** chunkSizeLog2);
  return { sealed: Buffer.concat([header, ...enc.push(message), enc.finish()]), keys };
}

describe('opening a body of less than one full chunk', () => {
  it('gives the plaintext, as the streaming opener does, at every size up to the chunk boundary', async () => {
    const cases = [
      Buffer.alloc(0),
      Buffer.of(0x42),
      text,
      pseudoRandomBytes(2 ** 14 - 200, 5), // incompressible: just under one 16 KiB chunk
      pseudoRandomBytes(2 ** 14, 6), // a full chunk and more: the streaming path
    ];
    for (const plaintext of cases) {
      const sealed = sealBuffer(plaintext, { tenantKey, context: CONTEXT, chunkSizeLog2: 14 });
      expect(await openBoth(sealed)).toEqual({ ok: plaintext });
    }
    // The server's default chunk size, a 10 KB text: one short chunk.
    const sealed = sealBuffer(text, { tenantKey, context: CONTEXT });
    expect(splitSealed(sealed).body.byteLength).toBeLessThan(2 ** 18);
    expect(await openBoth(sealed)).toEqual({ ok: text });
  });

  it('at the boundary: a message one byte short of a chunk opens in one shot, a full one streams', async () => {
    const found = new Map<number, Buffer>();
    for (let n = 2 ** 14 - 200; n < 2 ** 14 && found.size < 2; n++) {
      const plain = pseudoRandomBytes(n, 8);
      const message = Buffer.concat([frameOf(plain), trailer(n, plain)]);
      if (message.byteLength !== 2 ** 14 - 1 && message.byteLength !== 2 ** 14) continue;
      const { sealed } = sealMessage(message);
      // 2^14 - 1 bytes: one short chunk; 2^14 bytes: one full chunk and an empty final one.
      expect(splitSealed(sealed).body.byteLength).toBe(message.byteLength + TAG_BYTES * (message.byteLength === 2 ** 14 ? 2 : 1));
      expect(await openBoth(sealed)).toEqual({ ok: plain });
      found.set(message.byteLength, plain);
    }
    expect([...found.keys()].sort()).toEqual([2 ** 14 - 1, 2 ** 14]);
  });

  it('tampering: every bit of a one-chunk body, a cut body, an empty body', async () => {
    const sealed = sealBuffer(text, { tenantKey, context: CONTEXT });
    const { headerBytes, body } = splitSealed(sealed);
    for (let i = 0; i < body.byteLength * 8; i += 7) {
      const copy = Buffer.from(sealed);
      flip(copy, headerBytes.byteLength + (i >> 3), 1 << (i & 7));
      expect(await openBoth(copy)).toMatchObject({ kind: 'authentication-failed' });
    }
    expect(await openBoth(sealed.subarray(0, sealed.byteLength - 1))).toMatchObject({ kind: 'authentication-failed' });
    expect(await openBoth(sealed.subarray(0, headerBytes.byteLength + 15))).toMatchObject({ kind: 'truncated' });
    expect(await openBoth(headerBytes)).toMatchObject({ kind: 'truncated' });
    const other = outcome(() =>
      openBuffer(sealed, { tenantKey, binding: { ...CONTEXT, documentId: 'doc-2' } }, { maxPlaintextBytes: MAX }),
    );
    expect(other).toMatchObject({ kind: 'wrong-key' });
  });

  it('authentic but dishonest messages fail with the streaming opener’s error', async () => {
    const frame = frameOf(text);
    const cases: [string, Buffer, string][] = [
      ['digest of other bytes', Buffer.concat([frame, trailer(text.byteLength, Buffer.from('x'))]), 'digest-mismatch'],
      ['length one short', Buffer.concat([frame, trailer(text.byteLength - 1, text)]), 'digest-mismatch'],
      ['length one over', Buffer.concat([frame, trailer(text.byteLength + 1, text)]), 'digest-mismatch'],
      ['length 0', Buffer.concat([frame, trailer(0, text)]), 'digest-mismatch'],
      ['length over 2^53', Buffer.concat([frame, trailer(2n ** 60n, text)]), 'invalid-payload'],
      ['length 2^64 - 1', Buffer.concat([frame, trailer(2n ** 64n - 1n, text)]), 'invalid-payload'],
      ['no trailer', frame, 'invalid-payload'],
      ['trailer only', trailer(0, Buffer.alloc(0)), 'invalid-payload'],
      ['empty message', Buffer.alloc(0), 'invalid-payload'],
      ['junk before the frame', Buffer.concat([Buffer.from('junk'), frame, trailer(text.byteLength, text)]), 'invalid-payload'],
      ['junk after the frame', Buffer.concat([frame, Buffer.from('junk'), trailer(text.byteLength, text)]), 'invalid-payload'],
      ['two frames', Buffer.concat([frame, frame, trailer(text.byteLength * 2, Buffer.concat([text, text]))]), 'invalid-payload'],
      ['frame cut short', Buffer.concat([frame.subarray(0, -3), trailer(text.byteLength, text)]), 'invalid-payload'],
      [
        'window over 8 MiB',
        Buffer.concat([frameOf(text, (c) => c.setParameter(zstd.CParameter.windowLog, 24)), trailer(text.byteLength, text)]),
        'invalid-payload',
      ],
    ];
    for (const [name, message, kind] of cases) {
      const { sealed } = sealMessage(message);
      expect(splitSealed(sealed).body.byteLength, name).toBeLessThan(2 ** 14 + TAG_BYTES);
      expect(await openBoth(sealed), name).toMatchObject({ kind });
    }
  });

  it('maxPlaintextBytes: exact size passes, one less is too-large, whatever the trailer says', async () => {
    const { sealed } = sealMessage(Buffer.concat([frameOf(text), trailer(text.byteLength, text)]));
    expect(await openBoth(sealed, text.byteLength)).toEqual({ ok: text });
    expect(await openBoth(sealed, text.byteLength - 1)).toMatchObject({ kind: 'too-large' });
    const understated = sealMessage(Buffer.concat([frameOf(text), trailer(10, text)])).sealed;
    expect(await openBoth(understated, text.byteLength - 1)).toMatchObject({ kind: 'too-large' });
    // A small bomb: 64 MiB of zeros in one chunk, trailer claiming 1 KiB or the limit.
    const zeros = frameOf(Buffer.alloc(64 << 20));
    for (const claimed of [1024, 8 << 20]) {
      const bomb = sealMessage(Buffer.concat([zeros, trailer(claimed, Buffer.alloc(0))])).sealed;
      expect(splitSealed(bomb).body.byteLength).toBeLessThan(2 ** 14);
      expect(await openBoth(bomb, 8 << 20)).toMatchObject({ kind: 'too-large' });
    }
  });

  it('a message over the size cap is too-large before it is decompressed', async () => {
    // max 1000 allows a message of 1000 + 8 + 65 536 + 40 bytes; incompressible 100 KB is well over.
    const plain = pseudoRandomBytes(100_000, 3);
    const { sealed } = sealMessage(Buffer.concat([frameOf(plain), trailer(plain.byteLength, plain)]), 18);
    expect(await openBoth(sealed, 1000)).toMatchObject({ kind: 'too-large' });
    // A valid frame of 1-byte raw blocks (4 bytes per byte of output): its plaintext and trailer are
    // within the limit, the message is not.
    const small = pseudoRandomBytes(30_000, 4);
    const blocks = Buffer.concat([...small].map((byte, i) => Buffer.of(8 | (i === small.byteLength - 1 ? 1 : 0), 0, 0, byte)));
    const padded = Buffer.concat([Buffer.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00), blocks, trailer(small.byteLength, small)]);
    const bloated = sealMessage(padded, 18).sealed;
    expect(await openBoth(bloated, 200_000)).toEqual({ ok: small });
    expect(await openBoth(bloated, 30_000)).toMatchObject({ kind: 'too-large' });
  });
});

describe('which path openBuffer takes', () => {
  const open = (sealed: Buffer) => openBuffer(sealed, KEY, { maxPlaintextBytes: MAX, context: CONTEXT });
  beforeEach(() => {
    built.decryptors = 0;
    built.decompressors = 0;
  });

  it('a one-chunk object: no streaming machinery at all', () => {
    expect(open(sealBuffer(text, { tenantKey, context: CONTEXT })).equals(text)).toBe(true);
    expect(open(sealBuffer(Buffer.alloc(0), { tenantKey, context: CONTEXT })).byteLength).toBe(0);
    expect(built).toEqual({ decryptors: 0, decompressors: 0 });
  });

  it('a dishonest trailer: decoded again by the streaming decoder, chunks still opened in one shot', () => {
    const { sealed } = sealMessage(Buffer.concat([frameOf(text), trailer(text.byteLength + 1, text)]));
    expect(() => open(sealed)).toThrow(expect.objectContaining({ kind: 'digest-mismatch' }));
    expect(built).toEqual({ decryptors: 0, decompressors: 1 });
  });

  it('a body of a full chunk and more: the streaming opener', () => {
    const plain = pseudoRandomBytes(2 ** 14 + 100, 2);
    expect(open(sealBuffer(plain, { tenantKey, context: CONTEXT, chunkSizeLog2: 14 })).equals(plain)).toBe(true);
    expect(built).toEqual({ decryptors: 1, decompressors: 1 });
  });
});

describe('openOnlyChunk', () => {
  const { keys, sealed } = sealMessage(Buffer.from('a short message'));
  const body = splitSealed(sealed).body;

  it('authenticates chunk 0 as the final chunk', () => {
    expect(openOnlyChunk(keys, body, 2 ** 14).toString()).toBe('a short message');
    const copy = Buffer.from(body);
    flip(copy, 3, 0x80);
    expect(() => openOnlyChunk(keys, copy, 2 ** 14)).toThrow(
      expect.objectContaining({ kind: 'authentication-failed', message: 'sealed chunk 0 failed authentication (final chunk)' }),
    );
    expect(() => openOnlyChunk(keys, body.subarray(0, 15), 2 ** 14)).toThrow(expect.objectContaining({ kind: 'truncated' }));
  });

  it('refuses a body holding a full chunk (that is never final)', () => {
    expect(() => openOnlyChunk(keys, Buffer.alloc(2 ** 14 + TAG_BYTES), 2 ** 14)).toThrow(RangeError);
  });
});

describe('decompressFrameInto', () => {
  const frame = frameOf(text);

  it('fills a buffer of exactly the output size', () => {
    const out = Buffer.alloc(text.byteLength);
    expect(decompressFrameInto(frame, out)).toBe(text.byteLength);
    expect(out.equals(text)).toBe(true);
    expect(decompressFrameInto(frameOf(Buffer.alloc(0)), Buffer.alloc(0))).toBe(0);
  });

  it('gives up (undefined) on anything but exactly one complete frame that fits', () => {
    expect(decompressFrameInto(frame, Buffer.alloc(text.byteLength - 1))).toBeUndefined();
    expect(decompressFrameInto(Buffer.concat([frame, Buffer.of(0)]), Buffer.alloc(text.byteLength + 10))).toBeUndefined();
    expect(decompressFrameInto(Buffer.concat([frame, frame]), Buffer.alloc(text.byteLength * 2))).toBeUndefined();
    expect(decompressFrameInto(frame.subarray(0, -1), Buffer.alloc(text.byteLength))).toBeUndefined();
    expect(decompressFrameInto(Buffer.from('not a frame at all'), Buffer.alloc(100))).toBeUndefined();
    expect(decompressFrameInto(Buffer.alloc(0), Buffer.alloc(100))).toBeUndefined();
    const wide = frameOf(text, (c) => c.setParameter(zstd.CParameter.windowLog, 24));
    expect(decompressFrameInto(wide, Buffer.alloc(text.byteLength))).toBeUndefined();
  });

  it('reused contexts are clean after a failed or partial frame', () => {
    for (let i = 0; i < 6; i++) decompressFrameInto(frame.subarray(0, 20), Buffer.alloc(text.byteLength));
    const out = Buffer.alloc(text.byteLength);
    expect(decompressFrameInto(frame, out)).toBe(text.byteLength);
    expect(out.equals(text)).toBe(true);
    // And the streaming compressor's frames decompress the same way.
    const parts: Buffer[] = [];
    const c = new StreamingCompressor(3);
    c.write(text, (b) => parts.push(Buffer.from(b)));
    c.end((b) => parts.push(Buffer.from(b)));
    expect(decompressFrameInto(Buffer.concat(parts), Buffer.alloc(text.byteLength))).toBe(text.byteLength);
  });
});
