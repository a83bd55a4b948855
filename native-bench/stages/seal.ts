import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ChunkEncryptor, TAG_BYTES } from '../../src/crypto/chunked-aead.js';
import { generateX25519KeyPair, openStream, sealStream, type X25519KeyPair } from '../../src/crypto/index.js';
import { type DataKind, generate, sizeLabel } from '../harness/data.js';
import { hasCommand, runNative } from '../harness/native.js';
import { alternate, mbPerSecond, seconds } from '../harness/stats.js';
import type { BenchContext, Benchmark } from '../harness/types.js';

/**
 * Seal (zstd -3 → AES-256-GCM chunks → SHA-256) and open, against the zstd CLI on the same bytes and
 * `openssl speed` for AES-GCM alone. The ARCHITECTURE bar: seal and open ≥ 0.8 × zstd -3 alone.
 */

const CONTEXT = { kind: 'original' } as const;
const SEAL_BAR = { text: '≥ 0.8 × zstd alone', ratioAtLeast: 0.8 };

interface Sealed {
  header: Buffer;
  chunks: Buffer[];
}

async function seal(data: Buffer, key: X25519KeyPair): Promise<Sealed> {
  // A one-item iterable: the sealer slices it itself, as it does for a file stream.
  const sealed = sealStream([data], { serverPublicKey: key.publicKey, context: CONTEXT });
  const chunks: Buffer[] = [];
  for await (const c of sealed.body) chunks.push(c);
  return { header: sealed.header, chunks };
}

/**
 * The timed seal: the sealed bytes are counted and dropped, as the zstd CLI next to it writes to
 * /dev/null. (Keeping all of them, as `seal` does for the open half, makes every run write its whole
 * output to fresh memory; on this VM each fresh page costs a page fault of ~18 µs of CPU, which the
 * reference does not pay.) Returns the sealed size.
 */
async function sealDropped(data: Buffer, key: X25519KeyPair): Promise<number> {
  const sealed = sealStream([data], { serverPublicKey: key.publicKey, context: CONTEXT });
  let n = sealed.header.byteLength;
  for await (const c of sealed.body) n += c.byteLength;
  await sealed.summary;
  return n;
}

async function open(sealed: Sealed, key: X25519KeyPair, size: number): Promise<number> {
  const opened = openStream(sealed.header, sealed.chunks, { x25519: key }, { maxPlaintextBytes: size, context: CONTEXT });
  let n = 0;
  for await (const piece of opened) n += piece.byteLength;
  await opened.summary;
  return n;
}

/** Repetitions by input size: small inputs are noisy, big ones are slow. */
function reps(size: number): { warmup: number; repetitions: number } {
  if (size <= 2 ** 20) return { warmup: 3, repetitions: 9 };
  if (size <= 64 * 2 ** 20) return { warmup: 1, repetitions: 5 };
  return { warmup: 1, repetitions: 3 };
}

/** zstd's own in-memory benchmark (`-b`): compression and decompression MB/s without process or file cost. */
async function zstdInMemory(file: string, seconds: number): Promise<{ c: number; d: number } | undefined> {
  const run = await runNative('zstd', ['-b3', '-T1', `-i${seconds}`, file]);
  const all = [...(run.stdout + run.stderr).matchAll(/\(x[\d.]+\),\s*([\d.]+) MB\/s,\s*([\d.]+) MB\/s/g)];
  const last = all.at(-1);
  return last ? { c: Number(last[1]), d: Number(last[2]) } : undefined;
}

async function sealCase(ctx: BenchContext, kind: DataKind, size: number, key: X25519KeyPair): Promise<void> {
  const label = `${kind}.${sizeLabel(size)}`;
  ctx.log(`seal/open ${label}: generating input`);
  const data = generate(kind, size, size);
  const file = path.join(ctx.tmp, `${label}.bin`);
  const zst = `${file}.zst`;
  fs.writeFileSync(file, data);
  await runNative('zstd', ['-3', '-T1', '-q', '-f', file, '-o', zst]);
  const r = reps(size);

  const sealed = await seal(data, key); // untimed: the input of the open half
  const sealedBytes = sealed.chunks.reduce((n, c) => n + c.byteLength, sealed.header.byteLength);
  const zstdC = async () => (await runNative('zstd', ['-3', '-T1', '-q', '-c', file], { stdoutFile: '/dev/null' })).seconds;
  const s = await alternate(
    r,
    () =>
      seconds(async () => {
        const n = await sealDropped(data, key);
        if (n !== sealedBytes) throw new Error(`seal produced ${n} bytes, expected ${sealedBytes}`);
      }),
    zstdC,
  );
  const note = `sealed ${(sealedBytes / size).toFixed(3)} of input, counted and dropped; zstd CLI timed as a process on a cached file, output to /dev/null`;
  ctx.record({
    name: `seal.${label}`,
    unit: 'MB/s',
    higherIsBetter: true,
    ours: mbPerSecond(size, s.ours),
    reference: { label: 'zstd -3 -T1 (CLI)', values: mbPerSecond(size, s.reference) },
    bar: SEAL_BAR,
    note,
  });

  const done = sealed;
  const zstdD = async () => (await runNative('zstd', ['-d', '-q', '-c', zst], { stdoutFile: '/dev/null' })).seconds;
  const o = await alternate(
    r,
    () =>
      seconds(async () => {
        const n = await open(done, key, size);
        if (n !== size) throw new Error(`open returned ${n} bytes, expected ${size}`);
      }),
    zstdD,
  );
  ctx.record({
    name: `open.${label}`,
    unit: 'MB/s',
    higherIsBetter: true,
    ours: mbPerSecond(size, o.ours),
    reference: { label: 'zstd -d (CLI)', values: mbPerSecond(size, o.reference) },
    bar: SEAL_BAR,
  });
  const sealSecs = s.ours;
  const openSecs = o.ours;

  // Process start-up dominates the CLI at 1 MiB; zstd's in-memory bench is the stricter "zstd alone".
  const mem = await zstdInMemory(file, size >= 2 ** 30 ? 1 : 2);
  if (mem) {
    ctx.record({
      name: `seal.${label}.vs-inmemory`,
      unit: 'MB/s',
      higherIsBetter: true,
      ours: mbPerSecond(size, sealSecs),
      reference: { label: 'zstd -b3 -T1 (in memory)', values: [mem.c] },
    });
    ctx.record({
      name: `open.${label}.vs-inmemory`,
      unit: 'MB/s',
      higherIsBetter: true,
      ours: mbPerSecond(size, openSecs),
      reference: { label: 'zstd -b3 -T1 decompress (in memory)', values: [mem.d] },
    });
  }
  fs.rmSync(file);
  fs.rmSync(zst);
}

/**
 * AES-256-GCM alone, as the sealed format uses it: the chunk layer's ChunkEncryptor (one cipher per
 * 256 KiB chunk) over 256 MiB pushed in 1 MiB pieces, chunks dropped, vs openssl speed.
 */
async function aesCase(ctx: BenchContext): Promise<void> {
  const chunk = 256 * 1024;
  const total = 256 * 2 ** 20;
  const keys = { key: randomBytes(32), baseNonce: randomBytes(12) };
  const piece = randomBytes(2 ** 20);
  const aes = () =>
    seconds(() => {
      const enc = new ChunkEncryptor(keys, chunk);
      let n = 0;
      for (let i = 0; i < total / piece.byteLength; i++) for (const c of enc.push(piece)) n += c.byteLength;
      n += enc.finish().byteLength;
      if (n !== total + (total / chunk + 1) * TAG_BYTES) throw new Error(`aes produced ${n} bytes`);
    });
  await aes();
  const secs: number[] = [];
  const ref: number[] = [];
  // Alternating, like every other pair here, so both sides see the same background load.
  for (let i = 0; i < 3; i++) {
    secs.push(await aes());
    const run = await runNative('openssl', ['speed', '-evp', 'aes-256-gcm', '-bytes', String(chunk), '-seconds', '1', '-mr']);
    const m = /\+F:\d+:AES-256-GCM:([\d.]+)/.exec(run.stdout + run.stderr);
    if (m) ref.push(Number(m[1]) / 1e6);
  }
  ctx.record({
    name: 'aes-256-gcm.256KiB-chunks',
    unit: 'MB/s',
    higherIsBetter: true,
    ours: mbPerSecond(total, secs),
    ...(ref.length > 0 ? { reference: { label: 'openssl speed -evp aes-256-gcm -bytes 262144', values: ref } } : {}),
    note: 'ChunkEncryptor (createCipheriv per 256 KiB chunk, as sealing does), chunks dropped, one thread; openssl speed counts CPU time',
  });
}

async function run(ctx: BenchContext, sizes: readonly number[]): Promise<void> {
  const key = generateX25519KeyPair();
  await aesCase(ctx);
  for (const size of sizes) {
    for (const kind of ['text', 'random'] as const) await sealCase(ctx, kind, size, key);
  }
}

export const sealBenchmark: Benchmark = {
  name: 'seal',
  description: 'seal/open throughput vs zstd -3 CLI and openssl speed aes-256-gcm',
  async available() {
    for (const cmd of ['zstd', 'openssl']) if (!hasCommand(cmd)) return `${cmd} missing (npm run bench:setup)`;
    return undefined;
  },
  quick: (ctx) => run(ctx, [2 ** 20, 64 * 2 ** 20]),
  full: (ctx) => run(ctx, [2 ** 20, 64 * 2 ** 20, 2 ** 30]),
};
