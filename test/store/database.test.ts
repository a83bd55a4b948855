import { afterEach, describe, expect, it } from 'vitest';
import { tenantKey, tenantRange } from '../../src/store/index.js';
import { openTestStore } from '../helpers/test-store.js';

describe('store', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('keeps each tenant in its own key range of a named sub-database', async () => {
    const t = openTestStore();
    close = t.close;
    const db = t.store.db<string>('meta');
    await db.put(tenantKey('tenant-a', 'doc', 'x1'), 'a1');
    await db.put(tenantKey('tenant-a', 'doc', 'x2'), 'a2');
    await db.put(tenantKey('tenant-ab', 'doc', 'x1'), 'ab1');
    await db.put(tenantKey('tenant-b', 'doc', 'x1'), 'b1');
    const { start, end } = tenantRange('tenant-a', 'doc');
    expect([...db.getRange({ start, end })].map((e) => e.value)).toEqual(['a1', 'a2']);
    expect(t.store.db('meta')).toBe(db);
    await t.store.flushed();
    expect(() => tenantKey('')).toThrow('tenant id');
  });

  it('commits all of an atomic write or nothing, where a plain lmdb-js transaction keeps half', async () => {
    const t = openTestStore();
    close = t.close;
    const db = t.store.db<string>('meta');
    const failing = (key: string) => (): never => {
      db.putSync(key, 'written');
      throw new Error('the second write fails');
    };
    await expect(t.store.atomic(failing('atomic-1'))).rejects.toThrow('the second write fails');
    expect(db.get('atomic-1')).toBeUndefined();
    // Why Store.atomic exists: lmdb-js's transaction() commits the writes made before the throw.
    await expect(t.store.root.transaction(failing('plain-1'))).rejects.toThrow('the second write fails');
    expect(db.get('plain-1')).toBe('written');
    // The callback's value comes back, and its writes are committed.
    expect(
      await t.store.atomic(() => {
        db.putSync('atomic-2', 'ok');
        return 42;
      }),
    ).toBe(42);
    expect(db.get('atomic-2')).toBe('ok');
  });

  it('survives close and reopen', async () => {
    const t = openTestStore();
    await t.store.db('meta').put('k', { v: 1 });
    await t.store.flushed();
    await t.store.close();
    const { Store } = await import('../../src/store/index.js');
    const again = Store.open(t.dir, { mapSize: 2 ** 30 });
    expect(again.db('meta').get('k')).toEqual({ v: 1 });
    await again.close();
    (await import('node:fs')).rmSync(t.dir, { recursive: true, force: true });
  });
});
