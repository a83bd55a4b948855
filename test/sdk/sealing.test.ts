import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  generateX25519KeyPair,
  isSealedFormatError,
  rewrapHeaderForRecipient,
  verifySealedChunks,
} from '../../src/crypto/index.js';
import { open, seal } from '../../src/sdk/index.js';

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
}

describe('sdk seal/open', () => {
  const server = generateX25519KeyPair();

  it('round-trips a stream sealed to the server key, with the content id in the summary', async () => {
    const text = Buffer.from('Rechnung Nr. 2024-0815 über 1.234,56 EUR\n'.repeat(20_000));
    const plaintext = Buffer.concat([text, randomBytes(700_000)]);
    const sealed = seal(Readable.from([plaintext.subarray(0, 100_000), plaintext.subarray(100_000)]), server);
    const body = await collect(sealed.body);
    const summary = await sealed.summary;
    expect(summary.plaintextBytes).toBe(plaintext.byteLength);
    expect(summary.bodyBytes).toBe(body.byteLength);

    const opened = open(sealed.header, [body], server);
    expect((await collect(opened)).equals(plaintext)).toBe(true);
    expect((await opened.summary).contentId).toBe(summary.contentId);
    // What the server runs on read-back agrees.
    const verified = await verifySealedChunks(sealed.header, [body], { x25519: server }, { context: { kind: 'original' } });
    expect(verified.contentId).toBe(summary.contentId);
  });

  it('opens a header re-wrapped to a downloader key (the Download flow)', async () => {
    const sealed = seal(['hello ', 'world'], { publicKey: server.publicKey, keyId: server.keyId });
    const body = await collect(sealed.body);
    const downloader = generateX25519KeyPair();
    const header = rewrapHeaderForRecipient(sealed.header, { x25519: server }, downloader.publicKey);
    expect((await collect(open(header, [body], downloader))).toString()).toBe('hello world');
  });

  it('seals empty input', async () => {
    const sealed = seal([], server);
    const body = await collect(sealed.body);
    expect((await collect(open(sealed.header, [body], server))).byteLength).toBe(0);
    expect((await sealed.summary).contentId).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('rejects a key id that does not name the key, and a short key', () => {
    const other = generateX25519KeyPair();
    expect(() => seal([], { publicKey: server.publicKey, keyId: other.keyId })).toThrow(/does not name/);
    expect(() => seal([], { publicKey: Buffer.alloc(31) })).toThrow(/32 bytes/);
  });

  it('fails on the wrong key and on a flipped bit, never returning unauthenticated bytes as valid', async () => {
    const sealed = seal([randomBytes(50_000)], server);
    const body = await collect(sealed.body);
    expect(() => open(sealed.header, [body], generateX25519KeyPair())).toThrow(expect.objectContaining({ kind: 'wrong-key' }));
    const flipped = Buffer.from(body);
    flipped[100] = (flipped[100] ?? 0) ^ 1;
    const err = await collect(open(sealed.header, [flipped], server)).catch((e: unknown) => e);
    expect(isSealedFormatError(err) && err.kind).toBe('authentication-failed');
    // Wrong binding: an original opened as if it were a preview.
    expect(() => open(sealed.header, [body], server, { context: { kind: 'preview' } })).toThrow(
      expect.objectContaining({ kind: 'wrong-key' }),
    );
  });

  it('enforces the plaintext cap', async () => {
    const sealed = seal([Buffer.alloc(1_000_000)], server);
    const body = await collect(sealed.body);
    const err = await collect(open(sealed.header, [body], server, { maxPlaintextBytes: 100_000 })).catch((e: unknown) => e);
    expect(isSealedFormatError(err) && err.kind).toBe('too-large');
  });
});
