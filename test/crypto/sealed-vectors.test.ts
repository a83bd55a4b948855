// test/vectors/sealed-v1.json: regenerated deterministically and compared byte for byte, and
// opened using only what the file says (as an implementation in another language would).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ChunkDecryptor } from '../../src/crypto/chunked-aead.js';
import {
  openBuffer,
  unwrapFileKeyForTenant,
  unwrapFileKeyX25519,
  x25519KeyPairFromPrivate,
  x25519PrivateKeyObject,
} from '../../src/crypto/index.js';
import { buildSealedV1Vectors } from '../vectors/generate-sealed-v1.js';

const file = JSON.parse(readFileSync(new URL('../vectors/sealed-v1.json', import.meta.url), 'utf8'));
const hex = (s: string) => Buffer.from(s, 'hex');

describe('sealed-v1 test vectors', () => {
  it('the generator reproduces the committed file exactly', () => {
    expect(JSON.parse(JSON.stringify(buildSealedV1Vectors()))).toEqual(file);
  });

  for (const v of file.vectors) {
    it(`${v.name}: opens from the published secrets`, () => {
      const sealed = Buffer.concat([hex(v.header), hex(v.body)]);
      let fileKey: Buffer;
      if (v.serverPrivateKey) {
        const pair = x25519KeyPairFromPrivate(x25519PrivateKeyObject(hex(v.serverPrivateKey)));
        expect(pair.keyId).toBe(v.serverKeyId);
        fileKey = unwrapFileKeyX25519(sealed, pair);
        expect(openBuffer(sealed, { x25519: pair }, { maxPlaintextBytes: 1 << 20, context: v.context }).toString('hex')).toBe(
          v.plaintext,
        );
      } else {
        const tenantKey = { keyId: v.tenantKeyId, key: hex(v.tenantKey) };
        fileKey = unwrapFileKeyForTenant(sealed, tenantKey, v.context);
        expect(
          openBuffer(sealed, { tenantKey, binding: v.context }, { maxPlaintextBytes: 1 << 20, context: v.context }).toString(
            'hex',
          ),
        ).toBe(v.plaintext);
      }
      expect(fileKey.toString('hex')).toBe(v.fileKey);
      // Raw chunk layer with the published aeadKey/baseNonce: message ends with the trailer.
      const dec = new ChunkDecryptor({ key: hex(v.aeadKey), baseNonce: hex(v.baseNonce) }, 2 ** v.chunkSizeLog2);
      const msg = Buffer.concat([...dec.push(hex(v.body)), dec.finish()]);
      const plaintext = hex(v.plaintext);
      expect(msg.subarray(-32).equals(createHash('sha256').update(plaintext).digest())).toBe(true);
      expect(Number(msg.readBigUInt64BE(msg.byteLength - 40))).toBe(plaintext.byteLength);
    });
  }
});
