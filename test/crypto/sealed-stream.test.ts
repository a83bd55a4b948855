import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { u64be } from '../../src/crypto/bytes.js';
import { ChunkEncryptor, deriveChunkKeys, TAG_BYTES } from '../../src/crypto/chunked-aead.js';
import { wrapFileKeyToX25519 } from '../../src/crypto/file-key-wrap.js';
import {
  generateX25519KeyPair,
  type OpenKey,
  openBuffer,
  openStream,
  parseSealedHeader,
  rewrapHeaderForRecipient,
  rewrapHeaderForTenant,
  SealedFormatError,
  type SealedFormatErrorKind,
  sealBuffer,
  sealStream,
  splitSealed,
  unwrapFileKeyX25519,
  verifySealedChunks,
} from '../../src/crypto/index.js';
import {
  chunkContext,
  encodeSealedHeader,
  encodeStreamHeader,
  type SealContext,
  STREAM_HEADER_BYTES,
} from '../../src/crypto/sealed-format.js';
import { StreamingCompressor } from '../../src/crypto/zstd.js';
import { deterministicRandom, flip, pseudoRandomBytes } from './deterministic-random.js';

const server = generateX25519KeyPair();
const otherServer = generateX25519KeyPair();
const ORIGINAL: SealContext = { kind: 'original' };
const MAX = 1 << 30;
const CHUNK_LOG2 = 14; // 16 KiB chunks make multi-chunk cases cheap
const CHUNK = 2 ** CHUNK_LOG2;

function seal(plaintext: Uint8Array, extra: { chunkSizeLog2?: number; random?: (n: number) => Buffer } = {}): Buffer {
  return sealBuffer(plaintext, { serverPublicKey: server.publicKey, context: ORIGINAL, chunkSizeLog2: CHUNK_LOG2, ...extra });
}

function open(sealed: Uint8Array, key: OpenKey = { x25519: server }, context: SealContext = ORIGINAL, max = MAX): Buffer {
  return openBuffer(sealed, key, { maxPlaintextBytes: max, context });
}

function expectKind(fn: () => unknown, kind: SealedFormatErrorKind | SealedFormatErrorKind[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(SealedFormatError);
  const kinds = Array.isArray(kind) ? kind : [kind];
  expect(kinds).toContain((caught as SealedFormatError).kind);
}

/** Split a sealed object into header and its ciphertext chunks. */
function chunksOf(sealed: Buffer): { header: Buffer; chunks: Buffer[] } {
  const { headerBytes, body, header } = splitSealed(sealed);
  const full = header.stream.chunkSize + TAG_BYTES;
  const chunks: Buffer[] = [];
  for (let i = 0; i < body.byteLength; i += full) chunks.push(body.subarray(i, i + full));
  return { header: headerBytes, chunks };
}

async function collect(iterable: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of iterable) parts.push(p);
  return Buffer.concat(parts);
}

describe('round trips', () => {
  const sizes: [string, Buffer][] = [
    ['0 bytes', Buffer.alloc(0)],
    ['1 byte', Buffer.of(0x42)],
    ['chunk size - 1 (incompressible)', pseudoRandomBytes(CHUNK - 1, 3)],
    ['exactly one chunk of plaintext (incompressible)', pseudoRandomBytes(CHUNK, 4)],
    ['many chunks (incompressible, 1 MiB)', pseudoRandomBytes(1 << 20, 5)],
    ['many chunks (compressible text)', Buffer.from('Lorem ipsum dolor sit amet, Müller straße 12. '.repeat(50_000))],
  ];
  it.each(sizes)('%s', async (_name, plaintext) => {
    const sealed = seal(plaintext);
    expect(open(sealed).equals(plaintext)).toBe(true);
    // Streaming, with odd framing of the body.
    const { header, body } = splitSealed(sealed);
    const pieces: Buffer[] = [];
    for (let i = 0; i < body.byteLength; i += 999) pieces.push(body.subarray(i, i + 999));
    const opened = openStream(header, pieces, { x25519: server }, { maxPlaintextBytes: MAX, context: ORIGINAL });
    expect((await collect(opened)).equals(plaintext)).toBe(true);
    const summary = await opened.summary;
    expect(summary.contentId).toBe(createHash('sha256').update(plaintext).digest('hex'));
    expect(summary.plaintextBytes).toBe(plaintext.byteLength);
  });

  it('a sealed message of exactly one full chunk ends with an empty final chunk', () => {
    // Build M with the chunk layer so its length is exactly one chunk.
    const random = deterministicRandom('exact chunk');
    const fileKey = random(32);
    const salt = random(24);
    const prefix = encodeStreamHeader(CHUNK_LOG2, Buffer.alloc(24), Buffer.alloc(32));
    const keys = deriveChunkKeys(fileKey, salt, chunkContext(prefix, ORIGINAL));
    const stream = encodeStreamHeader(CHUNK_LOG2, salt, keys.commitment);
    let frame = Buffer.alloc(0);
    let plaintext: Buffer = Buffer.alloc(0);
    // Incompressible data: grow until zstd frame + trailer is exactly CHUNK bytes.
    for (let n = CHUNK - 200; n < CHUNK; n++) {
      plaintext = pseudoRandomBytes(n, 9);
      const parts: Buffer[] = [];
      const c = new StreamingCompressor(3);
      c.write(plaintext, (b) => parts.push(Buffer.from(b)));
      c.end((b) => parts.push(Buffer.from(b)));
      frame = Buffer.concat(parts);
      if (frame.byteLength + 40 === CHUNK) break;
    }
    expect(frame.byteLength + 40).toBe(CHUNK);
    const enc = new ChunkEncryptor(keys, CHUNK);
    const msg = Buffer.concat([frame, u64be(plaintext.byteLength), createHash('sha256').update(plaintext).digest()]);
    const body = Buffer.concat([...enc.push(msg), enc.finish()]);
    expect(body.byteLength).toBe(CHUNK + TAG_BYTES + TAG_BYTES);
    const header = encodeSealedHeader(stream, wrapFileKeyToX25519(stream, fileKey, server.publicKey));
    expect(open(Buffer.concat([header, body])).equals(plaintext)).toBe(true);
    // Dropping the empty final chunk is truncation.
    expectKind(() => open(Buffer.concat([header, body.subarray(0, CHUNK + TAG_BYTES)])), 'truncated');
  });

  it('accepts Readable streams and string chunks', async () => {
    const s = sealStream(Readable.from(['hello ', 'world']), { serverPublicKey: server.publicKey, context: ORIGINAL });
    const body = await collect(s.body);
    expect((await s.summary).plaintextBytes).toBe(11);
    const out = await collect(openStream(s.header, [body], { x25519: server }, { maxPlaintextBytes: 100, context: ORIGINAL }));
    expect(out.toString()).toBe('hello world');
  });

  it('uses 256 KiB chunks by default and checks serverKeyId', () => {
    const sealed = sealBuffer(pseudoRandomBytes(600_000), { serverPublicKey: server.publicKey, serverKeyId: server.keyId });
    expect(parseSealedHeader(sealed).stream.chunkSize).toBe(256 * 1024);
    expect(open(sealed, { x25519: server }, {}).byteLength).toBe(600_000);
    expect(() => sealBuffer('x', { serverPublicKey: server.publicKey, serverKeyId: otherServer.keyId })).toThrow(TypeError);
  });
});

describe('tampering and misuse', () => {
  const plaintext = pseudoRandomBytes(3 * CHUNK + 1234, 11);
  const sealed = seal(plaintext);
  const { header, chunks } = chunksOf(sealed);

  it('has the expected shape: 4 chunks, short final', () => {
    expect(chunks.length).toBe(4);
    expect(chunks.at(-1)?.byteLength).toBeLessThan(CHUNK + TAG_BYTES);
  });

  it('a flipped bit anywhere fails (every header bit, body bits at a stride)', () => {
    const positions: number[] = [];
    for (let i = 0; i < header.byteLength; i++) positions.push(i);
    for (let i = header.byteLength; i < sealed.byteLength; i += 97) positions.push(i);
    positions.push(sealed.byteLength - 1);
    for (const pos of positions) {
      for (const bit of pos < header.byteLength ? [0, 1, 2, 3, 4, 5, 6, 7] : [pos % 8]) {
        const copy = Buffer.from(sealed);
        copy[pos] = (copy[pos] ?? 0) ^ (1 << bit);
        expectKind(
          () => open(copy),
          ['invalid-header', 'unsupported-version', 'wrong-key', 'authentication-failed', 'truncated'],
        );
      }
    }
  });

  it('body bit flips are authentication failures', () => {
    const copy = Buffer.from(sealed);
    flip(copy, header.byteLength + CHUNK + 100, 0x10);
    expectKind(() => open(copy), 'authentication-failed');
  });

  it('truncation: at a chunk boundary, mid-chunk, inside the tag, empty body', () => {
    expectKind(() => open(Buffer.concat([header, ...chunks.slice(0, 3)])), 'truncated');
    expectKind(
      () => open(Buffer.concat([header, ...chunks.slice(0, 2), (chunks[2] as Buffer).subarray(0, 5000)])),
      'authentication-failed',
    );
    expectKind(() => open(sealed.subarray(0, sealed.byteLength - 1)), 'authentication-failed');
    expectKind(() => open(Buffer.concat([header, ...chunks.slice(0, 3), (chunks[3] as Buffer).subarray(0, 10)])), 'truncated');
    expectKind(() => open(header), 'truncated');
  });

  it('dropped, reordered and duplicated chunks fail', () => {
    const [c0, c1, c2, c3] = chunks as [Buffer, Buffer, Buffer, Buffer];
    expectKind(() => open(Buffer.concat([header, c0, c2, c3])), 'authentication-failed');
    expectKind(() => open(Buffer.concat([header, c1, c0, c2, c3])), 'authentication-failed');
    expectKind(() => open(Buffer.concat([header, c0, c0, c1, c2, c3])), 'authentication-failed');
    expectKind(() => open(Buffer.concat([header, c0, c1, c2, c3, c3])), 'authentication-failed');
  });

  it('a chunk swapped in from another file fails, even with the same file key', () => {
    // Same randomness for the file key, different salt: same input key, different stream.
    const a = seal(plaintext, { random: deterministicRandom('same-key') });
    const r = deterministicRandom('same-key');
    const fileKey = r(32);
    let drew = 0;
    const sameKeyOtherSalt = (n: number) => (drew++ === 0 ? Buffer.from(fileKey) : randomBytes(n));
    const b = seal(plaintext, { random: sameKeyOtherSalt });
    const ca = chunksOf(a);
    const cb = chunksOf(b);
    expect(open(a).equals(plaintext)).toBe(true);
    expect(open(b).equals(plaintext)).toBe(true);
    expectKind(
      () => open(Buffer.concat([ca.header, ca.chunks[0] as Buffer, cb.chunks[1] as Buffer, ...ca.chunks.slice(2)])),
      'authentication-failed',
    );
    // Another file to the same server key: its header with our body fails too.
    expectKind(() => open(Buffer.concat([cb.header, ...ca.chunks])), 'authentication-failed');
  });

  it('wrong server key, wrong envelope key id, wrong context', () => {
    expectKind(() => open(sealed, { x25519: otherServer }), 'wrong-key');
    const forged = Buffer.from(sealed);
    Buffer.from(otherServer.keyId, 'hex').copy(forged, STREAM_HEADER_BYTES + 3);
    expectKind(() => open(forged, { x25519: otherServer }), 'wrong-key');
    expectKind(() => open(sealed, { x25519: server }, { kind: 'preview' }), 'wrong-key');
    expectKind(() => open(sealed, { fileKey: randomBytes(32) }), 'wrong-key');
  });

  it('unknown version, suite, compression, envelope type; bad magic and chunk size', () => {
    const mutate = (pos: number, value: number) => {
      const copy = Buffer.from(sealed);
      copy[pos] = value;
      return copy;
    };
    expectKind(() => open(mutate(4, 2)), 'unsupported-version');
    expectKind(() => open(mutate(5, 9)), 'unsupported-version');
    expectKind(() => open(mutate(6, 0)), 'unsupported-version');
    expectKind(() => open(mutate(STREAM_HEADER_BYTES + 2, 7)), 'unsupported-version');
    expectKind(() => open(mutate(0, 0x58)), 'invalid-header');
    expectKind(() => open(mutate(7, 30)), 'invalid-header');
    // A valid but different chunk size changes the derivation: the envelope no longer opens.
    expectKind(() => open(mutate(7, 15)), 'wrong-key');
  });

  it('header tampering with a directly supplied file key is caught by the commitment', () => {
    const random = deterministicRandom('direct');
    const fileKey = random(32);
    const s = seal(plaintext, { random: deterministicRandom('direct') });
    expect(open(s, { fileKey }).equals(plaintext)).toBe(true);
    for (const pos of [8, 20, 31, 32, 50, 63]) {
      const copy = Buffer.from(s);
      flip(copy, pos, 1);
      expectKind(() => open(copy, { fileKey }), 'wrong-key');
    }
  });

  it('digest mismatch: authentic chunks whose trailer disagrees with the plaintext', () => {
    const random = deterministicRandom('digest');
    const fileKey = random(32);
    const salt = random(24);
    const prefix = encodeStreamHeader(CHUNK_LOG2, Buffer.alloc(24), Buffer.alloc(32));
    const keys = deriveChunkKeys(fileKey, salt, chunkContext(prefix, ORIGINAL));
    const stream = encodeStreamHeader(CHUNK_LOG2, salt, keys.commitment);
    const header2 = encodeSealedHeader(stream, wrapFileKeyToX25519(stream, fileKey, server.publicKey));
    const parts: Buffer[] = [];
    const c = new StreamingCompressor(3);
    c.write(Buffer.from('real content'), (b) => parts.push(Buffer.from(b)));
    c.end((b) => parts.push(Buffer.from(b)));
    const build = (trailer: Buffer) => {
      const enc = new ChunkEncryptor(keys, CHUNK);
      return Buffer.concat([header2, ...enc.push(Buffer.concat([...parts, trailer])), enc.finish()]);
    };
    const good = Buffer.concat([u64be(12), createHash('sha256').update('real content').digest()]);
    expect(open(build(good)).toString()).toBe('real content');
    expectKind(
      () => open(build(Buffer.concat([u64be(12), createHash('sha256').update('fake content').digest()]))),
      'digest-mismatch',
    );
    expectKind(
      () => open(build(Buffer.concat([u64be(13), createHash('sha256').update('real content').digest()]))),
      'digest-mismatch',
    );
    // A trailer-less or garbage payload is authenticated but malformed.
    expectKind(() => open(build(Buffer.alloc(0))), ['invalid-payload', 'digest-mismatch']);
    expectKind(() => open(build(Buffer.concat([Buffer.from('junk'), good]))), 'invalid-payload');
  });

  it('maxPlaintextBytes: exact size passes, one less is too-large', () => {
    expect(open(sealed, { x25519: server }, ORIGINAL, plaintext.byteLength).byteLength).toBe(plaintext.byteLength);
    expectKind(() => open(sealed, { x25519: server }, ORIGINAL, plaintext.byteLength - 1), 'too-large');
  });

  it('decompression bomb: 1 GiB of zeros in a tiny sealed stream stops at the limit', () => {
    const random = deterministicRandom('bomb');
    const fileKey = random(32);
    const salt = random(24);
    const prefix = encodeStreamHeader(CHUNK_LOG2, Buffer.alloc(24), Buffer.alloc(32));
    const keys = deriveChunkKeys(fileKey, salt, chunkContext(prefix, ORIGINAL));
    const stream = encodeStreamHeader(CHUNK_LOG2, salt, keys.commitment);
    const enc = new ChunkEncryptor(keys, CHUNK);
    const body: Buffer[] = [];
    const comp = new StreamingCompressor(3);
    const zeros = Buffer.alloc(1 << 20);
    for (let i = 0; i < 1024; i++) comp.write(zeros, (b) => body.push(...enc.push(b)));
    comp.end((b) => body.push(...enc.push(b)));
    body.push(...enc.push(Buffer.alloc(40)), enc.finish());
    const bomb = Buffer.concat([encodeSealedHeader(stream, wrapFileKeyToX25519(stream, fileKey, server.publicKey)), ...body]);
    expect(bomb.byteLength).toBeLessThan(200_000);
    const before = process.memoryUsage().arrayBuffers;
    expectKind(() => open(bomb, { x25519: server }, ORIGINAL, 8 << 20), 'too-large');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
  });

  it('the stream opener keeps failing after an error', async () => {
    const copy = Buffer.from(sealed);
    flip(copy, header.byteLength + 10, 1);
    const { headerBytes, body } = splitSealed(copy);
    const opened = openStream(headerBytes, [body], { x25519: server }, { maxPlaintextBytes: MAX, context: ORIGINAL });
    await expect(collect(opened)).rejects.toMatchObject({ kind: 'authentication-failed' });
    await expect(opened.summary).rejects.toBeInstanceOf(SealedFormatError);
  });
});

describe('verifySealedChunks', () => {
  it('checks every tag and reports the content id without decompressing', async () => {
    const plaintext = pseudoRandomBytes(100_000, 2);
    const sealed = seal(plaintext);
    const { headerBytes, body } = splitSealed(sealed);
    const v = await verifySealedChunks(
      headerBytes,
      [body.subarray(0, 5000), body.subarray(5000)],
      { x25519: server },
      { context: ORIGINAL },
    );
    expect(v.contentId).toBe(createHash('sha256').update(plaintext).digest('hex'));
    expect(v.plaintextBytes).toBe(plaintext.byteLength);
    expect(v.bodyBytes).toBe(body.byteLength);
    expect(v.chunkCount).toBe(Math.ceil(body.byteLength / (CHUNK + TAG_BYTES)));
    const bad = Buffer.from(body);
    flip(bad, bad.byteLength - 3, 4);
    await expect(verifySealedChunks(headerBytes, [bad], { x25519: server }, { context: ORIGINAL })).rejects.toMatchObject({
      kind: 'authentication-failed',
    });
    await expect(
      verifySealedChunks(headerBytes, [body.subarray(0, CHUNK + TAG_BYTES)], { x25519: server }, { context: ORIGINAL }),
    ).rejects.toMatchObject({ kind: 'truncated' });
    await expect(
      verifySealedChunks(headerBytes, [body], { x25519: server }, { context: ORIGINAL, maxBodyBytes: 1000 }),
    ).rejects.toMatchObject({ kind: 'too-large' });
  });

  it('finds the trailer wherever it falls, also across the last two chunks', async () => {
    // Incompressible data makes the message grow byte by byte, so the final chunk runs from empty to past
    // the 40-byte trailer, which then straddles the chunk before.
    const base = pseudoRandomBytes(2 * 65_536 + 16_384 + 200, 11);
    const seen = new Set<number>();
    const around = (m: number) => Array.from({ length: 180 }, (_, i) => m - 120 + i);
    for (const n of [...around(2 * 65_536), ...around(2 * 65_536 + 16_384)]) {
      const plaintext = base.subarray(0, n);
      const sealed = sealBuffer(plaintext, { serverPublicKey: server.publicKey, context: ORIGINAL, chunkSizeLog2: 16 });
      const { headerBytes, body } = splitSealed(sealed);
      const v = await verifySealedChunks(headerBytes, [body], { x25519: server }, { context: ORIGINAL });
      expect(v.plaintextBytes).toBe(n);
      expect(v.contentId).toBe(createHash('sha256').update(plaintext).digest('hex'));
      seen.add((body.byteLength - TAG_BYTES) % (65_536 + TAG_BYTES));
    }
    // Final chunks of every length from 0 to beyond the trailer were covered (twice: short and 16 KiB long).
    for (let last = 0; last <= 45; last++) {
      expect(seen.has(last)).toBe(true);
      expect(seen.has(16_384 + last)).toBe(true);
    }
    // A flipped byte anywhere in a chunk fails that chunk's tag.
    const { headerBytes, body } = splitSealed(
      sealBuffer(base, { serverPublicKey: server.publicKey, context: ORIGINAL, chunkSizeLog2: 16 }),
    );
    for (const at of [10, 20_000, 40_000, 65_540, 65_552 + 30_000, body.byteLength - 20]) {
      const bad = Buffer.from(body);
      flip(bad, at, 1);
      await expect(verifySealedChunks(headerBytes, [bad], { x25519: server }, { context: ORIGINAL })).rejects.toMatchObject({
        kind: 'authentication-failed',
      });
    }
  });
});

describe('re-wrapping: client → server → tenant at rest → download recipient', () => {
  const tenantKey = { keyId: randomBytes(16).toString('hex'), key: randomBytes(32) };
  const otherTenantKey = { keyId: randomBytes(16).toString('hex'), key: randomBytes(32) };
  const binding = { tenantId: 't1', documentId: 'd1', kind: 'original' };

  it('keeps the body byte-for-byte and rebinds the file key', async () => {
    const plaintext = Buffer.from('invoice body '.repeat(5000));
    const s = sealStream([plaintext], { serverPublicKey: server.publicKey, serverKeyId: server.keyId, context: ORIGINAL });
    const body = await collect(s.body);
    const atRest = rewrapHeaderForTenant(s.header, server, tenantKey, binding);
    expect(atRest.subarray(0, STREAM_HEADER_BYTES).equals(s.header.subarray(0, STREAM_HEADER_BYTES))).toBe(true);
    const opts = { maxPlaintextBytes: MAX, context: ORIGINAL };
    expect((await collect(openStream(atRest, [body], { tenantKey, binding }, opts))).equals(plaintext)).toBe(true);
    // The server key no longer opens the stored header; other tenant/document/kind bindings fail.
    expect(() => openStream(atRest, [body], { x25519: server }, opts)).toThrow(SealedFormatError);
    for (const b of [
      { ...binding, documentId: 'd2' },
      { ...binding, tenantId: 't2' },
      { ...binding, kind: 'preview' },
    ]) {
      expectKind(() => openStream(atRest, [body], { tenantKey, binding: b }, opts), 'wrong-key');
    }
    expectKind(() => openStream(atRest, [body], { tenantKey: otherTenantKey, binding }, opts), 'wrong-key');
    expectKind(() => rewrapHeaderForTenant(s.header, otherServer, tenantKey, binding), 'wrong-key');

    // Download: re-wrap to a caller's X25519 key; only that key opens it.
    const caller = generateX25519KeyPair();
    const forCaller = rewrapHeaderForRecipient(atRest, { tenantKey, binding }, caller.publicKey);
    expect(unwrapFileKeyX25519(forCaller, caller).byteLength).toBe(32);
    expect((await collect(openStream(forCaller, [body], { x25519: caller }, opts))).equals(plaintext)).toBe(true);
    expectKind(() => openStream(forCaller, [body], { x25519: server }, opts), 'wrong-key');
  });

  it('server-sealed previews and secrets bind tenant, document and kind in the stream itself', () => {
    const ctx = { tenantId: 't1', documentId: 'd1', kind: 'preview' };
    const sealed = sealBuffer(Buffer.from('png bytes'), { tenantKey, context: ctx });
    expect(openBuffer(sealed, { tenantKey, binding: ctx }, { maxPlaintextBytes: 100, context: ctx }).toString()).toBe(
      'png bytes',
    );
    // Swapping the object to another document: both the envelope and the stream context disagree.
    const other = { ...ctx, documentId: 'd2' };
    expectKind(() => openBuffer(sealed, { tenantKey, binding: other }, { maxPlaintextBytes: 100, context: other }), 'wrong-key');
    expect(() => sealBuffer('x', { tenantKey, context: { kind: 'text' } })).toThrow(TypeError);
  });
});

describe('hostile input never crashes', () => {
  it('random and mutated bytes only ever raise SealedFormatError', () => {
    const valid = seal(pseudoRandomBytes(20_000, 1));
    const rand = deterministicRandom('fuzz');
    let failures = 0;
    for (let i = 0; i < 3000; i++) {
      let input: Buffer;
      const r = rand(8);
      const mode = (r[0] ?? 0) % 4;
      if (mode === 0) input = rand((r[1] ?? 0) * 4);
      else if (mode === 1) {
        input = Buffer.from(valid);
        for (let k = 0; k < 1 + ((r[2] ?? 0) % 8); k++) {
          const pos = rand(4).readUInt32LE() % input.byteLength;
          input[pos] = rand(1)[0] ?? 0;
        }
      } else if (mode === 2) input = valid.subarray(0, rand(4).readUInt32LE() % valid.byteLength);
      else input = Buffer.concat([valid.subarray(0, 70 + ((r[3] ?? 0) % 100)), rand((r[4] ?? 0) * 8)]);
      try {
        parseSealedHeader(input);
        open(input);
      } catch (err) {
        if (!(err instanceof SealedFormatError)) throw err;
        failures++;
      }
    }
    expect(failures).toBeGreaterThan(2900);
  });
});

describe('bounded memory while streaming', () => {
  it('a highly compressible chunk is decompressed lazily, not all at once', async () => {
    const total = 256 << 20;
    async function* zeros() {
      const z = Buffer.alloc(1 << 20);
      for (let i = 0; i < total; i += z.byteLength) yield z;
    }
    const s = sealStream(zeros(), { serverPublicKey: server.publicKey, context: ORIGINAL });
    const body = await collect(s.body);
    expect(body.byteLength).toBeLessThan(64 << 10); // all of it fits in one chunk
    const opened = openStream(s.header, [body], { x25519: server }, { maxPlaintextBytes: total, context: ORIGINAL });
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    let n = 0;
    for await (const p of opened) {
      n += p.byteLength;
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
      if (peak > 200 << 20) break;
    }
    expect(n).toBe(total);
    expect(peak).toBeLessThan(200 << 20);
  });

  it('seals and opens 128 MiB without holding it', async () => {
    const total = 128 << 20;
    const piece = 64 * 1024;
    // Fresh random pieces (incompressible: ~512 chunks of 256 KiB), hashed as they are produced.
    const expected = createHash('sha256');
    async function* plaintext() {
      for (let off = 0; off < total; off += piece) {
        const p = randomBytes(piece);
        expected.update(p);
        yield p;
      }
    }
    // Measure live memory, not garbage the collector has not reached yet.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const base = process.memoryUsage();
    let peakRss = 0;
    let peakAb = 0;
    let samples = 0;
    const sample = () => {
      if (samples++ % 8 !== 0) return;
      gc();
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss - base.rss);
      peakAb = Math.max(peakAb, m.arrayBuffers - base.arrayBuffers);
    };
    const sealed = sealStream(plaintext(), { serverPublicKey: server.publicKey, context: ORIGINAL });
    async function* tap() {
      for await (const c of sealed.body) {
        sample();
        yield c;
      }
    }
    const opened = openStream(sealed.header, tap(), { x25519: server }, { maxPlaintextBytes: total, context: ORIGINAL });
    const got = createHash('sha256');
    let n = 0;
    for await (const p of opened) {
      got.update(p);
      n += p.byteLength;
    }
    expect(n).toBe(total);
    const expectedId = expected.digest('hex');
    expect(got.digest('hex')).toBe(expectedId);
    expect((await opened.summary).contentId).toBe(expectedId);
    expect((await sealed.summary).contentId).toBe(expectedId);
    // Live memory after GC stays far below the 128 MiB that went through.
    expect(samples).toBeGreaterThan(500);
    console.log(
      `streaming 128 MiB: peak live arrayBuffers +${(peakAb / 2 ** 20).toFixed(1)} MiB, rss +${(peakRss / 2 ** 20).toFixed(1)} MiB`,
    );
    expect(peakAb).toBeLessThan(16 << 20);
    expect(peakRss).toBeLessThan(64 << 20);
  });
});
