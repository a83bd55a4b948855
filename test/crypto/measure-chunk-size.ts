// Chunk-size measurement for docs/sealed-format.md §10: npx tsx test/crypto/measure-chunk-size.ts
import { randomBytes } from 'node:crypto';
import { generateX25519KeyPair, openStream, sealStream } from '../../src/crypto/index.js';

const server = generateX25519KeyPair();
const size = 64 << 20;
// Half text-like (compressible), half random: a mixed corpus.
const text = Buffer.from('Rechnung 2024-117 Müller GmbH Betrag 1.234,56 EUR IBAN DE89370400440532013000 '.repeat(1 << 14));
const data = Buffer.concat([
  randomBytes(size / 2),
  ...Array.from({ length: Math.ceil(size / 2 / text.length) }, () => text),
]).subarray(0, size);
async function run(log2: number) {
  const t0 = process.hrtime.bigint();
  const s = sealStream(
    (function* () {
      for (let i = 0; i < size; i += 65536) yield data.subarray(i, i + 65536);
    })(),
    { serverPublicKey: server.publicKey, chunkSizeLog2: log2 },
  );
  const body: Buffer[] = [];
  for await (const c of s.body) body.push(c);
  const t1 = process.hrtime.bigint();
  let n = 0;
  for await (const p of openStream(s.header, body, { x25519: server }, { maxPlaintextBytes: size })) n += p.byteLength;
  const t2 = process.hrtime.bigint();
  const sealMs = Number(t1 - t0) / 1e6,
    openMs = Number(t2 - t1) / 1e6;
  const bytes = body.reduce((a, b) => a + b.byteLength, 0);
  return {
    log2,
    sealMBs: (size / 2 ** 20 / (sealMs / 1000)).toFixed(0),
    openMBs: (size / 2 ** 20 / (openMs / 1000)).toFixed(0),
    sealed: bytes,
    chunks: body.length,
    n,
  };
}
for (const log2 of [16, 17, 18, 19, 20, 16, 17, 18, 19, 20]) console.log(JSON.stringify(await run(log2)));
