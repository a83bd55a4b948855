// Probe: cost of fresh Buffers vs reused ones on this VM (page faults), 64 MiB per case, CPU time.
// node native-bench/probes/alloc-faults.mjs
import { createCipheriv, randomBytes } from 'node:crypto';
import { resourceUsage } from 'node:process';

const TOTAL = 64 * 2 ** 20;
const key = randomBytes(32);
const nonce = Buffer.alloc(12);
const src = randomBytes(256 * 1024);
function run(label, fn) {
  fn();
  let best = Infinity;
  let faults = 0;
  for (let i = 0; i < 3; i++) {
    const r0 = resourceUsage();
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    const r1 = resourceUsage();
    const s = (c.user + c.system) / 1e6;
    if (s < best) {
      best = s;
      faults = r1.minorPageFault - r0.minorPageFault;
    }
  }
  console.log(`${label.padEnd(52)} ${(TOTAL / 1e6 / best).toFixed(0).padStart(6)} MB/s cpu  ${faults} faults`);
}
const kept = [];
run('allocUnsafe(256K)+copy, dropped', () => {
  for (let i = 0; i < TOTAL / src.length; i++) Buffer.allocUnsafe(src.length).set(src);
});
run('allocUnsafe(256K)+copy, kept', () => {
  kept.length = 0;
  for (let i = 0; i < TOTAL / src.length; i++) {
    const b = Buffer.allocUnsafe(src.length);
    b.set(src);
    kept.push(b);
  }
});
kept.length = 0;
run('allocUnsafe(64K)+copy, dropped', () => {
  for (let i = 0; i < TOTAL / 65536; i++) Buffer.allocUnsafe(65536).set(src.subarray(0, 65536));
});
const reuse = Buffer.allocUnsafe(src.length);
run('reused 256K buffer copy', () => {
  for (let i = 0; i < TOTAL / src.length; i++) reuse.set(src);
});
run('gcm update(256K)+final+concat (as ChunkEncryptor)', () => {
  for (let i = 0; i < TOTAL / src.length; i++) {
    const c = createCipheriv('aes-256-gcm', key, nonce);
    Buffer.concat([c.update(src), c.final(), c.getAuthTag()]);
  }
});
run('gcm update(256K)+final, dropped', () => {
  for (let i = 0; i < TOTAL / src.length; i++) {
    const c = createCipheriv('aes-256-gcm', key, nonce);
    c.update(src);
    c.final();
  }
});
for (const slice of [16384, 32768, 65536]) {
  run(`gcm update(${slice / 1024}K slices) into one allocUnsafe out`, () => {
    for (let i = 0; i < TOTAL / src.length; i++) {
      const c = createCipheriv('aes-256-gcm', key, nonce);
      const out = Buffer.allocUnsafe(src.length + 16);
      for (let o = 0; o < src.length; o += slice) out.set(c.update(src.subarray(o, o + slice)), o);
      c.final();
      c.getAuthTag().copy(out, src.length);
    }
  });
  run(`gcm update(${slice / 1024}K slices) into reused out`, () => {
    for (let i = 0; i < TOTAL / src.length; i++) {
      const c = createCipheriv('aes-256-gcm', key, nonce);
      for (let o = 0; o < src.length; o += slice) reuse.set(c.update(src.subarray(o, o + slice)), o);
      c.final();
    }
  });
}
