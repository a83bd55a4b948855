/**
 * Probe: where the time of sealing and opening 64 MiB goes (text-like and incompressible), split into
 * the pipeline's parts, with CPU time next to wall time (the machine is shared, so CPU time is the
 * steadier of the two). Run it under the bench lock, optionally with a CPU profile:
 *
 *   flock /tmp/bench.lock node --import tsx --cpu-prof --cpu-prof-dir /tmp/seal-prof native-bench/probes/seal-profile.ts
 *   flock /tmp/bench.lock npx tsx native-bench/probes/seal-profile.ts [text|random] [reps]
 *
 * The CPU profile is summarised by native-bench/probes/cpuprofile-top.ts.
 */
import { createHash } from 'node:crypto';
import { ChunkDecryptor, ChunkEncryptor } from '../../src/crypto/chunked-aead.js';
import { generateX25519KeyPair, openStream, sealStream } from '../../src/crypto/index.js';
import { BoundedDecompressor, StreamingCompressor } from '../../src/crypto/zstd.js';
import { generate } from '../harness/data.js';

const SIZE = 64 * 2 ** 20;
const kinds = (process.argv[2] ? [process.argv[2]] : ['text', 'random']) as ('text' | 'random')[];
const REPS = Number(process.argv[3] ?? 3);
const key = generateX25519KeyPair();
const CONTEXT = { kind: 'original' } as const;
const KEYS = { key: Buffer.alloc(32, 7), baseNonce: Buffer.alloc(12, 9) };

async function measure(label: string, fn: () => unknown): Promise<void> {
  await fn(); // warm-up
  const walls: number[] = [];
  const cpus: number[] = [];
  const faults: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const f0 = process.resourceUsage().minorPageFault;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    walls.push(wall);
    cpus.push((c.user + c.system) / 1e6);
    faults.push(process.resourceUsage().minorPageFault - f0);
  }
  const best = (xs: number[]) => Math.min(...xs);
  const mb = (s: number) => (SIZE / 1e6 / s).toFixed(0).padStart(5);
  console.log(
    `${label.padEnd(46)} wall best ${best(walls).toFixed(3)} s (${mb(best(walls))} MB/s)  cpu best ${best(cpus).toFixed(3)} s (${mb(best(cpus))} MB/s)  page faults ${faults.join('/')}`,
  );
}

function slicesOf(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.byteLength; i += size) out.push(data.subarray(i, Math.min(data.byteLength, i + size)));
  return out;
}

for (const kind of kinds) {
  const data = generate(kind, SIZE, SIZE);
  console.log(`--- ${kind} 64 MiB (load average ${(await import('node:os')).loadavg()[0]?.toFixed(2)})`);

  let header: Buffer = Buffer.alloc(0);
  let chunks: Buffer[] = [];
  await measure('sealStream (as the bench)', async () => {
    const s = sealStream([data], { serverPublicKey: key.publicKey, context: CONTEXT });
    const out: Buffer[] = [];
    for await (const c of s.body) out.push(c);
    header = s.header;
    chunks = out;
  });
  await measure('sealStream, chunks dropped (like zstd > /dev/null)', async () => {
    const s = sealStream([data], { serverPublicKey: key.publicKey, context: CONTEXT });
    let n = 0;
    for await (const c of s.body) n += c.byteLength;
    if (n === 0) throw new Error('empty');
  });
  await measure('openStream (as the bench)', async () => {
    const o = openStream(header, chunks, { x25519: key }, { maxPlaintextBytes: SIZE, context: CONTEXT });
    let n = 0;
    for await (const p of o) n += p.byteLength;
    await o.summary;
    if (n !== SIZE) throw new Error('size');
  });

  // Parts.
  let compressed: Buffer[] = [];
  await measure('  StreamingCompressor L3, 1 MiB writes', () => {
    const c = new StreamingCompressor(3);
    const out: Buffer[] = [];
    for (const s of slicesOf(data, 2 ** 20)) c.write(s, (b) => out.push(Buffer.from(b)));
    c.end((b) => out.push(Buffer.from(b)));
    compressed = out;
  });
  const frame = Buffer.concat(compressed);
  console.log(`    (compressed ${frame.byteLength} bytes in ${compressed.length} pieces)`);
  await measure('  SHA-256 over 1 MiB slices', () => {
    const h = createHash('sha256');
    for (const s of slicesOf(data, 2 ** 20)) h.update(s);
    h.digest();
  });
  let sealedChunks: Buffer[] = [];
  await measure('  ChunkEncryptor over the frame (256 KiB)', () => {
    const e = new ChunkEncryptor(KEYS, 2 ** 18);
    const out: Buffer[] = [];
    for (const p of compressed) out.push(...e.push(p));
    out.push(e.finish());
    sealedChunks = out;
  });
  await measure('  ChunkDecryptor over those chunks', () => {
    const d = new ChunkDecryptor(KEYS, 2 ** 18);
    for (const c of sealedChunks) d.push(c);
    d.finish();
  });
  await measure('  BoundedDecompressor, 256 KiB writes', () => {
    const d = new BoundedDecompressor(SIZE);
    let n = 0;
    for (const s of slicesOf(frame, 2 ** 18)) for (const p of d.write(s)) n += p.byteLength;
    d.end();
    if (n !== SIZE) throw new Error('size');
  });
}
