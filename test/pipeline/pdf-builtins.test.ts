import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { openPdf } from '../../src/pipeline/index.js';
import { germanPdf } from '../fixtures/pdfs.js';

const BuiltinDecompressionStream = globalThis.DecompressionStream;

// Captured before anything in this file has loaded pdf.js (each test file runs in its own fork).
const before = {
  push: Array.prototype.push,
  stringify: JSON.stringify,
  parse: JSON.parse,
  toString: Function.prototype.toString,
};

describe('pdf.js legacy build and the thread it runs in', () => {
  it("keeps V8's own push, JSON.stringify/parse and Function#toString after loading pdf.js", async () => {
    const r = await openPdf(await germanPdf());
    if (r.status !== 'ok') throw new Error(`unexpected ${r.status}`);
    try {
      // Text extraction still works with the built-ins put back.
      expect((await r.pdf.pageText(1)).text).toContain('Müller');
    } finally {
      await r.pdf.close();
    }
    expect(Array.prototype.push).toBe(before.push);
    expect(JSON.stringify).toBe(before.stringify);
    expect(JSON.parse).toBe(before.parse);
    expect(Function.prototype.toString).toBe(before.toString);
    // The polyfills that add what Node 20 lacks (pdf.js needs them) stay.
    expect(typeof (Promise as unknown as { withResolvers?: unknown }).withResolvers).toBe('function');
  });

  it('inflates deflate streams synchronously after loading pdf.js, with the built-in results and errors', async () => {
    const r = await openPdf(await germanPdf());
    if (r.status === 'ok') await r.pdf.close();
    const Stand = globalThis.DecompressionStream;
    expect(Stand).not.toBe(BuiltinDecompressionStream);
    // pdf.js's use: a writer (ready, write, close) and the readable iterated with for-await.
    const inflate = async (Ctor: typeof DecompressionStream, format: 'deflate' | 'gzip', bytes: Uint8Array) => {
      try {
        const { readable, writable } = new Ctor(format);
        const writer = writable.getWriter();
        await writer.ready;
        writer
          .write(bytes)
          .then(async () => {
            await writer.ready;
            await writer.close();
          })
          .catch(() => {});
        const out: Uint8Array[] = [];
        for await (const chunk of readable as unknown as AsyncIterable<Uint8Array>) out.push(chunk);
        return Buffer.concat(out).toString('latin1');
      } catch (err) {
        return `error: ${(err as Error).message}`;
      }
    };
    const plain = Buffer.from('BT /F1 12 Tf 72 712 Td (Müller) Tj ET\n'.repeat(500));
    const deflated = zlib.deflateSync(plain);
    const cases: [string, Uint8Array][] = [
      ['valid', deflated],
      ['truncated', deflated.subarray(0, deflated.length - 12)],
      ['junk after the end', Buffer.concat([deflated, Buffer.from('\r\nendstream')])],
      ['not zlib', Buffer.from('plain text')],
    ];
    for (const [, bytes] of cases) {
      expect(await inflate(Stand, 'deflate', bytes)).toBe(await inflate(BuiltinDecompressionStream, 'deflate', bytes));
    }
    expect(await inflate(Stand, 'deflate', deflated)).toBe(plain.toString('latin1'));
    // Other formats are the built-in's.
    const gz = zlib.gzipSync(plain);
    expect(await inflate(Stand, 'gzip', gz)).toBe(plain.toString('latin1'));
    // Above the size limit the built-in stream does the work.
    const big = Buffer.alloc(6 << 20);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
    const bigDeflated = zlib.deflateSync(big, { level: 0 });
    expect(bigDeflated.length).toBeGreaterThan(4 << 20);
    expect(await inflate(Stand, 'deflate', bigDeflated)).toBe(big.toString('latin1'));
  });
});
