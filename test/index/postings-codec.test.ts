import { describe, expect, it } from 'vitest';
import { ByteWriter, unpack } from '../../src/index/postings-codec.js';
import { rng } from '../helpers/rng.js';

describe('bit packing', () => {
  it('unpacks what ByteWriter.packed wrote, at every width, offset, distance from the end of the buffer and place in the output', () => {
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
          // Into a row of a larger array (a block's frequencies are unpacked straight into their field's row).
          const at = Math.floor(next() * 3);
          const out = new Int32Array(at + n + 3).fill(-7);
          const end = unpack(src, pad, n, bits, out, at);
          const label = `bits ${bits}, n ${n}, tail ${tail}, at ${at}`;
          expect(end, label).toBe(pad + ((n * bits + 7) >>> 3));
          expect(Array.from(out.subarray(at, at + n)), label).toEqual(Array.from(values));
          expect(Array.from(out.subarray(0, at)), label).toEqual(new Array(at).fill(-7));
          expect(Array.from(out.subarray(at + n)), label).toEqual([-7, -7, -7]);
        }
  });
});
