/**
 * Deterministic generator of test/vectors/sealed-v1.json (run: npx tsx test/vectors/generate-sealed-v1.ts).
 * test/crypto/sealed-vectors.test.ts re-runs it and compares byte for byte, and opens every
 * vector using only the secrets written in the file, as another implementation would.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deriveChunkKeys } from '../../src/crypto/chunked-aead.js';
import { chunkContext, encodeBinding, parseSealedHeader, splitSealed } from '../../src/crypto/sealed-format.js';
import type { SealContext } from '../../src/crypto/sealed-format.js';
import { sealBuffer } from '../../src/crypto/seal.js';
import { generateX25519KeyPair, rawPrivateKey } from '../../src/crypto/x25519.js';
import { deterministicRandom, pseudoRandomBytes } from '../crypto/deterministic-random.js';

interface VectorInput {
  name: string;
  description: string;
  plaintext: Buffer;
  recipient: 'server' | 'tenant';
  context: SealContext;
  chunkSizeLog2: number;
}

const inputs: VectorInput[] = [
  {
    name: 'empty-to-server',
    description: 'Empty plaintext sealed by a client to the server X25519 key, context {kind: original}.',
    plaintext: Buffer.alloc(0),
    recipient: 'server',
    context: { kind: 'original' },
    chunkSizeLog2: 18,
  },
  {
    name: 'text-to-server',
    description: 'Short UTF-8 text sealed to the server X25519 key, context {kind: original}.',
    plaintext: Buffer.from('Rechnung Nr. 2024-117 — Müller GmbH, IBAN DE89 3704 0044 0532 0130 00\n'.repeat(20)),
    recipient: 'server',
    context: { kind: 'original' },
    chunkSizeLog2: 18,
  },
  {
    name: 'preview-at-rest',
    description: 'Server-sealed object under a tenant key, bound to tenant, document and kind preview.',
    plaintext: Buffer.from('{"page":1,"text":"Hello, sealed world"}'),
    recipient: 'tenant',
    context: { tenantId: 't_01HZX', documentId: 'd_01HZY', kind: 'preview' },
    chunkSizeLog2: 18,
  },
  {
    name: 'multi-chunk-16k',
    description: 'Incompressible 40000 bytes with 16 KiB chunks (n = 14): three chunks, short final.',
    plaintext: pseudoRandomBytes(40_000, 7),
    recipient: 'server',
    context: { kind: 'original' },
    chunkSizeLog2: 14,
  },
];

export function buildSealedV1Vectors() {
  const vectors = inputs.map((input) => {
    const random = deterministicRandom(`archivar sealed-v1 vector ${input.name}`);
    const server = generateX25519KeyPair(deterministicRandom(`archivar sealed-v1 server key ${input.name}`));
    const tenantKey = { keyId: deterministicRandom(`tenant key id ${input.name}`)(16).toString('hex'), key: deterministicRandom(`tenant key ${input.name}`)(32) };
    // Mirror Sealer's draw order to publish the intermediate secrets: file key, salt, envelope.
    const mirror = deterministicRandom(`archivar sealed-v1 vector ${input.name}`);
    const fileKey = mirror(32);
    const salt = mirror(24);
    const envelopeRandom = mirror(input.recipient === 'server' ? 32 : 12);
    const sealed =
      input.recipient === 'server'
        ? sealBuffer(input.plaintext, { serverPublicKey: server.publicKey, context: input.context, chunkSizeLog2: input.chunkSizeLog2, random })
        : sealBuffer(input.plaintext, { tenantKey, context: input.context, chunkSizeLog2: input.chunkSizeLog2, random });
    const { header, headerBytes, body } = splitSealed(sealed);
    const keys = deriveChunkKeys(fileKey, salt, chunkContext(header.stream.bytes, input.context));
    parseSealedHeader(headerBytes);
    return {
      name: input.name,
      description: input.description,
      plaintext: input.plaintext.toString('hex'),
      context: input.context,
      contextBindingHex: encodeBinding(input.context).toString('hex'),
      chunkContextHex: chunkContext(header.stream.bytes, input.context).toString('hex'),
      ...(input.recipient === 'server'
        ? {
            serverPrivateKey: rawPrivateKey(server.privateKey).toString('hex'),
            serverPublicKey: server.publicKey.toString('hex'),
            serverKeyId: server.keyId,
            ephemeralPrivateKey: envelopeRandom.toString('hex'),
          }
        : { tenantKeyId: tenantKey.keyId, tenantKey: tenantKey.key.toString('hex'), tenantWrapNonce: envelopeRandom.toString('hex') }),
      fileKey: fileKey.toString('hex'),
      salt: salt.toString('hex'),
      aeadKey: keys.key.toString('hex'),
      baseNonce: keys.baseNonce.toString('hex'),
      commitment: keys.commitment.toString('hex'),
      chunkSizeLog2: input.chunkSizeLog2,
      header: headerBytes.toString('hex'),
      body: body.toString('hex'),
    };
  });
  return {
    format: 'archivar sealed stream v1',
    spec: 'docs/sealed-format.md',
    note: 'All secrets are test values derived from fixed seeds. The zstd frame inside the body is what zstd 1.5.7 level 3 produced; readers must not depend on the compressor output, only on decrypting, decompressing and checking the trailer.',
    vectors,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = new URL('./sealed-v1.json', import.meta.url);
  writeFileSync(out, `${JSON.stringify(buildSealedV1Vectors(), null, 2)}\n`);
  console.log(`wrote ${fileURLToPath(out)}`);
}
