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
