import { createHash } from 'node:crypto';
import type { RandomSource } from '../../src/crypto/random.js';

/** SHA-256 in counter mode over a seed: reproducible "randomness" for tests and vectors only. */
export function deterministicRandom(seed: string): RandomSource {
  let counter = 0;
  return (size: number) => {
    const out = Buffer.alloc(size);
    for (let off = 0; off < size; off += 32) {
      const block = createHash('sha256').update(`${seed}/${counter++}`).digest();
      block.copy(out, off, 0, Math.min(32, size - off));
    }
    return out;
  };
}

/** Fast pseudo-random bytes (not crypto) for large test inputs. */
export function pseudoRandomBytes(size: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  for (let i = size - (size % 4); i < size; i++) out[i] = i & 0xff;
  return out;
}

/** XOR one byte in place (test helper that keeps noUncheckedIndexedAccess happy). */
export function flip(buf: Buffer, pos: number, mask = 1): void {
  buf[pos] = (buf[pos] ?? 0) ^ mask;
}
