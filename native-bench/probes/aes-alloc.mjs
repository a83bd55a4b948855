// Probe: node:crypto AES-256-GCM over 256 KiB updates, as the sealed format does. Each update returns a
// fresh 256 KiB Buffer; above glibc's mmap threshold (128 KiB) every one is an mmap/munmap with page
// faults. Run it plain and with GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432 to see the cost.
import { createCipheriv, randomBytes } from 'node:crypto';

const key = randomBytes(32);
const nonce = Buffer.alloc(12);
for (const size of [256 * 1024, 16 * 1024]) {
  const data = randomBytes(size);
  const n = (256 * 2 ** 20) / size;
  const t0 = performance.now();
  const c = createCipheriv('aes-256-gcm', key, nonce);
  for (let i = 0; i < n; i++) c.update(data);
  c.final();
  console.log(`updates of ${size / 1024} KiB: ${(256 / ((performance.now() - t0) / 1000)).toFixed(0)} MiB/s`);
}
