/**
 * The chunk layer's buffer handling (docs/performance.md, "Seal and open"): the encryptor writes each
 * chunk into one output buffer in CRYPT_SLICE pieces, the decryptor's pushViews/finishView decrypt
 * into one reused buffer. Bytes must equal plain one-shot AES-256-GCM, views must not leak into what
 * callers keep, and a stopped pushViews must not leave a half-fed decryptor usable.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ChunkDecryptor,
  ChunkEncryptor,
  CRYPT_SLICE,
  chunkNonce,
  deriveChunkKeys,
  TAG_BYTES,
} from '../../src/crypto/chunked-aead.js';
import {
  generateX25519KeyPair,
  openBuffer,
  openStream,
  SealedFormatError,
  sealBuffer,
  splitSealed,
  verifySealedChunks,
} from '../../src/crypto/index.js';
import { pseudoRandomBytes } from './deterministic-random.js';

const keys = deriveChunkKeys(Buffer.alloc(32, 1), Buffer.alloc(24, 2), Buffer.from('ctx'));

/** Reference: each chunk as one update + final + tag, as the encryptor did before. */
function reference(message: Buffer, chunkSize: number): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  for (let off = 0; ; off += chunkSize, i++) {
    const piece = message.subarray(off, Math.min(message.byteLength, off + chunkSize));
    const c = createCipheriv('aes-256-gcm', keys.key, chunkNonce(keys.baseNonce, i));
    out.push(c.update(piece), c.final(), c.getAuthTag());
    if (piece.byteLength < chunkSize) break; // the final chunk is always short (maybe empty)
  }
  return Buffer.concat(out);
}

/** No two of `parts` share bytes (small ones may come from the same Buffer pool slab). */
function disjoint(parts: Buffer[]): boolean {
  const ranges = parts.map((p) => ({ b: p.buffer, from: p.byteOffset, to: p.byteOffset + p.byteLength }));
  return ranges.every((r, i) => ranges.every((q, j) => i === j || q.b !== r.b || q.to <= r.from || r.to <= q.from));
}

function encrypt(message: Buffer, chunkSize: number, pieceSize: number): Buffer[] {
  const enc = new ChunkEncryptor(keys, chunkSize);
  const out: Buffer[] = [];
  for (let i = 0; i < message.byteLength; i += pieceSize) out.push(...enc.push(message.subarray(i, i + pieceSize)));
  out.push(enc.finish());
  return out;
}

describe('chunk buffers', () => {
  it('encrypts exactly like one-shot AES-256-GCM per chunk, whatever the chunk and slice sizes', () => {
    // Chunk sizes below, at, between and above multiples of CRYPT_SLICE; messages ending mid-slice.
    for (const chunkSize of [1024, CRYPT_SLICE, CRYPT_SLICE + 1000, 3 * CRYPT_SLICE + 7, 2 ** 18]) {
      for (const length of [0, 1, chunkSize - 1, chunkSize, 2 * chunkSize + CRYPT_SLICE + 3]) {
        const message = pseudoRandomBytes(length, chunkSize + length);
        const chunks = encrypt(message, chunkSize, 5000);
        expect(Buffer.concat(chunks).equals(reference(message, chunkSize))).toBe(true);
        // Every chunk but the last is full: plaintext + tag, each its own buffer.
        for (const c of chunks.slice(0, -1)) expect(c.byteLength).toBe(chunkSize + TAG_BYTES);
        expect(disjoint(chunks)).toBe(true);
      }
    }
  });

  it('pushViews yields the same plaintext as push from one reused buffer; push results are independent', () => {
    const chunkSize = CRYPT_SLICE + 1000;
    const message = pseudoRandomBytes(5 * chunkSize + 123, 7);
    const body = Buffer.concat(encrypt(message, chunkSize, 9999));

    const viaViews: Buffer[] = [];
    const backing = new Set<ArrayBufferLike>();
    const views = new ChunkDecryptor(keys, chunkSize);
    // The whole body in one call: several chunks complete inside one pushViews.
    for (const v of views.pushViews(body)) {
      backing.add(v.buffer);
      viaViews.push(Buffer.from(v));
    }
    const last = views.finishView();
    backing.add(last.buffer);
    viaViews.push(Buffer.from(last));
    expect(backing.size).toBe(1);
    expect(Buffer.concat(viaViews).equals(message)).toBe(true);

    const kept = new ChunkDecryptor(keys, chunkSize);
    const parts = [...kept.push(body), kept.finish()];
    expect(Buffer.concat(parts).equals(message)).toBe(true);
    expect(disjoint(parts)).toBe(true);
  });

  it('a full chunk is authenticated where it lies but released only when more input follows', () => {
    const chunkSize = 1024;
    const message = pseudoRandomBytes(3 * chunkSize + 5, 11);
    const chunks = encrypt(message, chunkSize, 4096);
    const full = chunkSize + TAG_BYTES;
    // Chunk-aligned pieces, and pieces that hold several chunks or straddle them.
    for (const framing of [
      chunks,
      [Buffer.concat(chunks)],
      [Buffer.concat(chunks).subarray(0, full + 7), Buffer.concat(chunks).subarray(full + 7)],
    ]) {
      const dec = new ChunkDecryptor(keys, chunkSize);
      const released: Buffer[] = [];
      for (const piece of framing) for (const v of dec.pushViews(piece)) released.push(Buffer.from(v));
      released.push(Buffer.from(dec.finishView()));
      expect(Buffer.concat(released).equals(message)).toBe(true);
    }
    // Exactly one full chunk: nothing is released yet; one more byte releases it.
    const dec = new ChunkDecryptor(keys, chunkSize);
    expect([...dec.pushViews(chunks[0] as Buffer)]).toHaveLength(0);
    const next = dec.pushViews((chunks[1] as Buffer).subarray(0, 1));
    expect(Buffer.from(next.next().value as Buffer).equals(message.subarray(0, chunkSize))).toBe(true);
    // Input that ends with a full chunk is truncated, and the held plaintext is wiped.
    const cut = new ChunkDecryptor(keys, chunkSize);
    expect([...cut.pushViews(Buffer.concat(chunks.slice(0, 2)))]).toHaveLength(1);
    let err: unknown;
    try {
      cut.finishView();
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ kind: 'truncated' });
  });

  it('a pushViews stopped early leaves the decryptor unusable', () => {
    const chunkSize = 1024;
    const body = Buffer.concat(encrypt(pseudoRandomBytes(4 * chunkSize, 3), chunkSize, 4096));
    const dec = new ChunkDecryptor(keys, chunkSize);
    for (const _ of dec.pushViews(body)) break;
    expect(() => dec.finishView()).toThrow(/unfinished pushViews/);
    expect(() => [...dec.pushViews(Buffer.alloc(1))]).toThrow(/unfinished pushViews/);
  });

  it('a tampered chunk fails and the reused buffer holds no unauthenticated plaintext', () => {
    const chunkSize = CRYPT_SLICE;
    const message = Buffer.alloc(3 * chunkSize + 10, 0x41);
    const body = Buffer.concat(encrypt(message, chunkSize, 65536));
    const at = chunkSize + TAG_BYTES + 5; // inside chunk 1
    body.writeUInt8(body.readUInt8(at) ^ 1, at);
    const dec = new ChunkDecryptor(keys, chunkSize);
    const seen: Buffer[] = [];
    let view: Buffer | undefined;
    expect(() => {
      for (const v of dec.pushViews(body)) {
        view = v;
        seen.push(Buffer.from(v));
      }
    }).toThrow(SealedFormatError);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.equals(message.subarray(0, chunkSize))).toBe(true);
    // The buffer the views pointed into was wiped when chunk 1 failed.
    expect(view && Buffer.from(view.buffer, view.byteOffset, chunkSize).every((b) => b === 0)).toBe(true);
    expect(() => dec.finishView()).toThrow(SealedFormatError);
  });

  it('opening keeps every plaintext piece intact when the body arrives in one buffer (views never leak)', async () => {
    const server = generateX25519KeyPair();
    const context = { kind: 'original' } as const;
    // Incompressible, so the message spans many chunks and plaintext pieces come from several of them.
    const plaintext = randomBytes(600_000);
    const sealed = sealBuffer(plaintext, { serverPublicKey: server.publicKey, context, chunkSizeLog2: 14 });
    const { header, body } = splitSealed(sealed);

    const opened = openStream(header, [body], { x25519: server }, { maxPlaintextBytes: 1 << 20, context });
    const kept: Buffer[] = [];
    for await (const piece of opened) kept.push(piece);
    expect(Buffer.concat(kept).equals(plaintext)).toBe(true);
    expect((await opened.summary).plaintextBytes).toBe(plaintext.byteLength);

    expect(openBuffer(sealed, { x25519: server }, { maxPlaintextBytes: 1 << 20, context }).equals(plaintext)).toBe(true);

    // The trailer's 40 bytes straddle the reused buffer's refills in every framing.
    for (const piece of [1, 39, 40, 41, 16_400, 1 << 20]) {
      const framed: Buffer[] = [];
      for (let i = 0; i < body.byteLength; i += piece) framed.push(body.subarray(i, i + piece));
      const v = await verifySealedChunks(header, framed, { x25519: server }, { context });
      expect(v.plaintextBytes).toBe(plaintext.byteLength);
      expect(v.bodyBytes).toBe(body.byteLength);
    }
  });
});
