/** Ad-hoc probe: zstd-napi compression of 1 MiB text-like data, streaming vs one-shot, fresh vs reused context. */
import zstd from 'zstd-napi/binding.js';
import { StreamingCompressor } from '../../src/crypto/zstd.js';
import { textLike } from '../harness/data.js';

const files = Array.from({ length: 10 }, (_, i) => textLike(2 ** 20, i + 1));
const out = Buffer.allocUnsafe(zstd.cStreamOutSize());
const big = Buffer.allocUnsafe(2 ** 21);
function run(label: string, fn: (b: Buffer) => number): void {
  for (let i = 0; i < 10; i++) fn(files[i % 10] as Buffer);
  const N = 100;
  const c0 = process.cpuUsage();
  let size = 0;
  for (let i = 0; i < N; i++) size = fn(files[i % 10] as Buffer);
  const c = process.cpuUsage(c0);
  console.log(`${label.padEnd(44)} ${((c.user + c.system) / 1000 / N).toFixed(2)} ms cpu/MiB  -> ${size}`);
}
function stream(cctx: InstanceType<typeof zstd.CCtx>, b: Buffer, sliceBytes: number): number {
  let n = 0;
  for (let off = 0; off < b.byteLength; off += sliceBytes) {
    let rest = b.subarray(off, Math.min(b.byteLength, off + sliceBytes));
    while (rest.byteLength > 0) {
      const [, produced, consumed] = cctx.compressStream2(out, rest, zstd.EndDirective.continue);
      rest = rest.subarray(consumed);
      n += produced;
    }
  }
  for (;;) {
    const [remaining, produced] = cctx.compressStream2(out, Buffer.alloc(0), zstd.EndDirective.end);
    n += produced;
    if (remaining === 0) return n;
  }
}
for (const level of [3, 1]) {
  run(`L${level} fresh CCtx, streaming 256 KiB reads`, (b) => {
    const c = new zstd.CCtx();
    c.setParameter(zstd.CParameter.compressionLevel, level);
    return stream(c, b, 256 * 1024);
  });
  const reused = new zstd.CCtx();
  reused.setParameter(zstd.CParameter.compressionLevel, level);
  run(`L${level} reused CCtx, streaming`, (b) => {
    reused.reset(zstd.ResetDirective.sessionOnly);
    return stream(reused, b, 256 * 1024);
  });
  run(`L${level} reused CCtx, streaming, pledged size`, (b) => {
    reused.reset(zstd.ResetDirective.sessionOnly);
    reused.setPledgedSrcSize(b.byteLength);
    return stream(reused, b, 256 * 1024);
  });
  run(`L${level} one-shot compress2`, (b) => {
    reused.reset(zstd.ResetDirective.sessionOnly);
    return reused.compress2(big, b);
  });
}

// Eight streams at once, taking turns every 256 KiB (as concurrent uploads on one client thread did
// before file reads went to 1 MiB), against the same eight one after another; pooled contexts both times.
function turns(label: string, k: number): void {
  const rounds = 10;
  const c0 = process.cpuUsage();
  for (let r = 0; r < rounds; r++) {
    const streams = Array.from({ length: 8 }, () => new StreamingCompressor(3));
    if (k === 1) {
      streams.forEach((s, j) => {
        for (let off = 0; off < 2 ** 20; off += 256 * 1024)
          s.write((files[j] as Buffer).subarray(off, off + 256 * 1024), () => {});
        s.end(() => {});
      });
    } else {
      for (let off = 0; off < 2 ** 20; off += 256 * 1024)
        for (const [j, s] of streams.entries()) s.write((files[j] as Buffer).subarray(off, off + 256 * 1024), () => {});
      for (const s of streams) s.end(() => {});
    }
  }
  const c = process.cpuUsage(c0);
  console.log(`${label.padEnd(44)} ${((c.user + c.system) / 1000 / (rounds * 8)).toFixed(2)} ms cpu/MiB`);
}
for (let rep = 0; rep < 2; rep++) {
  turns('L3 8 streams one after another', 1);
  turns('L3 8 streams taking turns every 256 KiB', 8);
}
