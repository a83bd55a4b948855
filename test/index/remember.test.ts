import { describe, expect, it } from 'vitest';
import { BoundedCache } from '../../src/index/remember.js';

describe('BoundedCache', () => {
  it('reads a key once, keeps undefined as an answer, and drops the oldest past its entries or bytes', () => {
    const reads: string[] = [];
    const cache = new BoundedCache<Uint8Array | undefined>(3, 10);
    const get = (key: string, size?: number) =>
      cache.get(key, () => {
        reads.push(key);
        return size === undefined ? undefined : new Uint8Array(size);
      });
    expect(get('none')).toBeUndefined();
    expect(get('none')).toBeUndefined();
    expect(get('a', 4)?.byteLength).toBe(4);
    expect(get('a', 4)?.byteLength).toBe(4);
    expect(reads).toEqual(['none', 'a']);
    get('b', 4); // 3 entries, 8 bytes
    get('c', 1); // 4 entries: 'none', the oldest, goes
    get('none');
    expect(reads).toEqual(['none', 'a', 'b', 'c', 'none']); // and 'a' went for it
    get('d', 6); // 'b' 4 + 'c' 1 + 'none' 0 + 6 bytes: past 10, 'b' then goes
    get('c');
    get('b', 4);
    expect(reads).toEqual(['none', 'a', 'b', 'c', 'none', 'd', 'b']);
  });
});
