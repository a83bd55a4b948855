import { describe, expect, it } from 'vitest';
import { inSlices, Slicer, sortInSteps, TenantLoads } from '../../src/index/warm-up.js';

interface Load {
  n: number;
  cancelled: boolean;
}

/** A load that runs until `finish` is called. */
function held(): { promise: Promise<void>; finish: () => void } {
  let finish!: () => void;
  const promise = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return { promise, finish };
}

describe('TenantLoads', () => {
  it('joins a load under way, and forgets it once it has ended: the next start is a fresh load', async () => {
    const loads = new TenantLoads<Load>();
    let made = 0;
    const make = () => ({ n: ++made, cancelled: false });
    const first = held();
    const a = loads.start('t', make, () => first.promise);
    expect(
      loads.start('t', make, () => Promise.reject(new Error('not run: joined'))),
      'joined',
    ).toBe(a);
    expect(loads.get('t')?.n).toBe(1);
    first.finish();
    await a;
    expect(loads.get('t'), 'forgotten once ended').toBeUndefined();
    // A tenant whose caches were reset after that load (a drop, a Reindex) gets a load of its own, not the old one.
    let ran = 0;
    await loads.start('t', make, async () => {
      ran++;
    });
    expect(ran).toBe(1);
    expect(made).toBe(2);
    expect(loads.cancel('t'), 'nothing under way to cancel').toBe(false);
  });

  it('forgets a failed load, so the next start tries again', async () => {
    const loads = new TenantLoads<Load>();
    const make = () => ({ n: 0, cancelled: false });
    await expect(loads.start('t', make, () => Promise.reject(new Error('LMDB said no')))).rejects.toThrow('LMDB said no');
    expect(loads.get('t')).toBeUndefined();
    await expect(loads.start('t', make, async () => {})).resolves.toBeUndefined();
  });

  it('keeps the load begun after a cancel when the cancelled one ends later', async () => {
    const loads = new TenantLoads<Load>();
    let made = 0;
    const make = () => ({ n: ++made, cancelled: false });
    const old = held();
    const oldDone = loads.start('t', make, () => old.promise);
    const oldLoad = loads.get('t')!;
    // The tenant is dropped: the old load is cancelled (it still runs to its next slice), a new one begins.
    expect(loads.cancel('t')).toBe(true);
    expect(oldLoad.cancelled).toBe(true);
    const fresh = held();
    const freshDone = loads.start('t', make, () => fresh.promise);
    old.finish();
    await oldDone;
    // The old load's end must not forget the new one: the hooks hand their changes to it, and a query joins it.
    expect(loads.get('t')?.n, 'the new load is still the one under way').toBe(2);
    expect(loads.start('t', make, () => Promise.reject(new Error('not run: joined')))).toBe(freshDone);
    fresh.finish();
    await freshDone;
    expect(loads.get('t')).toBeUndefined();
    expect(made).toBe(2);
  });
});

describe('sortInSteps', () => {
  it('sorts as Array.prototype.sort does, stably with a comparator, across runs and merges', async () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    // Over three runs of 4096, so the merges are exercised; few distinct keys, so ties are many.
    const words = Array.from({ length: 10_000 }, () => String.fromCharCode(0x61 + rnd(26), 0xe0 + rnd(4), 0x61 + rnd(3)));
    expect(await inSlices(sortInSteps(words), new Slicer(0))).toEqual([...words].sort());
    const items = words.map((w, i) => ({ w, i }));
    const byWord = (a: { w: string }, b: { w: string }) => (a.w < b.w ? -1 : a.w > b.w ? 1 : 0);
    let steps = 0;
    const sorting = sortInSteps(items, byWord);
    let step = sorting.next();
    for (; !step.done; step = sorting.next()) steps++;
    expect(step.value).toEqual([...items].sort(byWord));
    expect(steps, 'yields every few thousand items').toBeGreaterThan(5);
    expect(await inSlices(sortInSteps([]), new Slicer(0))).toEqual([]);
  });
});
