import { describe, expect, it } from 'vitest';
import { extractZip, listZip, resolveLimits } from '../../src/pipeline/index.js';
import { pipelineError } from '../fixtures/pipeline-error.js';
import { makeZip } from '../fixtures/zip-writer.js';

describe('zip', () => {
  it('lists and extracts stored and deflated members, skipping directories and encrypted ones', async () => {
    const zip = makeZip([
      { name: 'docs/', data: Buffer.alloc(0), method: 0 },
      { name: 'docs/rechnung.txt', data: Buffer.from('Rechnung Nr. 42 über 10 €') },
      { name: '../../etc/passwd', data: Buffer.from('stored'), method: 0 },
      { name: 'secret.txt', data: Buffer.from('x'), method: 0, encrypted: true },
    ]);
    expect(listZip(zip).map((e) => e.name)).toEqual(['docs/rechnung.txt', 'etc/passwd', 'secret.txt']);
    const { members, skipped } = await extractZip(zip);
    expect(members.map((m) => [m.fileName, m.bytes.toString()])).toEqual([
      ['docs/rechnung.txt', 'Rechnung Nr. 42 über 10 €'],
      ['etc/passwd', 'stored'],
    ]);
    expect(skipped).toEqual([{ name: 'secret.txt', reason: 'encrypted' }]);
    expect(members[0]?.modified?.toISOString()).toBe('2024-01-01T00:00:00.000Z');
  });

  it('rejects a zip bomb by its compression ratio before inflating', async () => {
    const t0 = performance.now();
    const zip = makeZip([{ name: 'zeros.bin', data: Buffer.alloc(50 * 1024 * 1024) }]);
    expect(zip.length).toBeLessThan(100_000);
    const err = await pipelineError(extractZip(zip));
    expect(err.kind).toBe('limit');
    expect(err.message).toMatch(/zip bomb/);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('caps inflation at the declared size when the header lies', async () => {
    const zip = makeZip([{ name: 'liar.bin', data: Buffer.alloc(4 * 1024 * 1024), declaredSize: 1000 }]);
    const err = await pipelineError(extractZip(zip));
    expect(err.kind).toBe('limit');
  });

  it('enforces member count and total size limits', async () => {
    const many = makeZip(Array.from({ length: 20 }, (_, i) => ({ name: `f${i}.txt`, data: Buffer.from(`file ${i}`) })));
    expect((await pipelineError(() => listZip(many, resolveLimits({ maxZipMembers: 10 })))).kind).toBe('limit');
    const big = makeZip([
      { name: 'a', data: Buffer.from('a'.repeat(5000)) },
      { name: 'b', data: Buffer.from('b'.repeat(5000)) },
    ]);
    expect((await pipelineError(() => listZip(big, resolveLimits({ maxDecompressedBytes: 8000 })))).kind).toBe('limit');
  });

  it('rejects overlapping members and garbage as typed errors', async () => {
    const zip = makeZip([
      { name: 'a.txt', data: Buffer.from('hello hello hello') },
      { name: 'b.txt', data: Buffer.from('x') },
    ]);
    // Point the second central entry at the first member's local header.
    const cd = zip.readUInt32LE(zip.length - 6);
    const secondCen = cd + 46 + 'a.txt'.length;
    zip.writeUInt32LE(0, secondCen + 42);
    expect((await pipelineError(() => listZip(zip))).kind).toBe('limit');
    expect((await pipelineError(() => listZip(Buffer.from('PK\x03\x04 not really a zip')))).kind).toBe('corrupt');
    const bad = makeZip([{ name: 'a.txt', data: Buffer.from('hello') }]);
    bad.writeUInt8((bad[35] ?? 0) ^ 0xff, 35); // flip a byte of the compressed data
    expect((await pipelineError(extractZip(bad))).kind).toBe('corrupt');
  });

  it('checks the abort signal between members', async () => {
    const zip = makeZip([
      { name: 'a', data: Buffer.from('1') },
      { name: 'b', data: Buffer.from('2') },
    ]);
    const ac = new AbortController();
    ac.abort();
    expect((await pipelineError(extractZip(zip, { signal: ac.signal }))).kind).toBe('aborted');
  });
});
