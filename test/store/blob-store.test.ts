import { afterEach, describe, expect, it } from 'vitest';
import { BlobStore } from '../../src/store/blob-store.js';
import { openTestStore } from '../helpers/test-store.js';

describe('BlobStore', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('reads an object piece by piece, and its head from the first piece only, per tenant and kind', async () => {
    const t = openTestStore();
    close = t.close;
    const blobs = new BlobStore(t.store);
    await blobs.put('t1', 'd1', 'text', 0, Buffer.from('0123456789'));
    await blobs.put('t1', 'd1', 'text', 1, Buffer.from('abcdef'));
    await blobs.put('t1', 'd1', 'original', 0, Buffer.from('ORIGINAL'));
    await blobs.put('t2', 'd1', 'text', 0, Buffer.from('other tenant'));
    expect(Buffer.concat([...blobs.read('t1', 'd1', 'text')]).toString()).toBe('0123456789abcdef');
    expect(blobs.head('t1', 'd1', 'text', 4)?.toString()).toBe('0123');
    expect(blobs.head('t1', 'd1', 'text', 64)?.toString()).toBe('0123456789');
    expect(blobs.head('t2', 'd1', 'text', 5)?.toString()).toBe('other');
    expect(blobs.head('t1', 'd2', 'text', 4)).toBeUndefined();
    expect(blobs.head('t1', 'd1', 'words', 4)).toBeUndefined();
    // A copy: it stays as it was after the read transaction is gone and the object is rewritten.
    const head = blobs.head('t1', 'd1', 'original', 8)!;
    await blobs.put('t1', 'd1', 'original', 0, Buffer.from('REPLACED'));
    expect(head.toString()).toBe('ORIGINAL');
    expect(blobs.size('t1', 'd1', 'text')).toBe(16);
  });
});
