import { describe, expect, it } from 'vitest';
import { ByteWriter, unpack } from '../../src/index/postings-codec.js';
import { rng } from '../helpers/rng.js';

describe('bit packing', () => {
  it('unpacks what ByteWriter.packed wrote, at every width, offset and distance from the end of the buffer', () => {
    const next = rng(11);
    for (let bits = 0; bits <= 31; bits++)
      for (const n of [1, 2, 3, 7, 31, 128, 130])
        for (let tail = 0; tail <= 4; tail++) {
          const values = Int32Array.from({ length: n }, () => Math.floor(next() * 2 ** bits));
          const pad = Math.floor(next() * 5);
          const w = new ByteWriter(8);
          for (let i = 0; i < pad; i++) w.u8(0xff);
          w.packed(values, 0, n, bits);
          // Bytes after the packed values (another field's, or none: the window then meets the end).
          for (let i = 0; i < tail; i++) w.u8(0xff);
          const src = w.buf.slice(0, w.len);
          const out = new Int32Array(n + 3).fill(-7);
          const end = unpack(src, pad, n, bits, out);
          const label = `bits ${bits}, n ${n}, tail ${tail}`;
          expect(end, label).toBe(pad + ((n * bits + 7) >>> 3));
          expect(Array.from(out.subarray(0, n)), label).toEqual(Array.from(values));
          expect(Array.from(out.subarray(n)), label).toEqual([-7, -7, -7]);
        }
  });
});
