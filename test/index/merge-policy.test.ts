import { describe, expect, it } from 'vitest';
import type { SegmentMeta } from '../../src/index/index-store.js';
import { DEFAULT_MERGE_POLICY, selectMerge } from '../../src/index/segment-merger.js';

const seg = (id: number, docs: number, deleted = 0): SegmentMeta => ({ id, uid: `u${id}`, docs, deleted });
const ids = (s: SegmentMeta[] | undefined) => s?.map((x) => x.id);

describe('the tiered merge policy', () => {
  it('merges segments below the floor together whatever their sizes, and larger ones by tier', () => {
    const policy = DEFAULT_MERGE_POLICY; // factor 10, floor 100
    // Nine small segments of mixed sizes: not yet ten.
    const small = [1, 1, 1, 12, 30, 1, 55, 1, 99].map((d, i) => seg(i + 1, d));
    expect(selectMerge(small, policy)).toBeUndefined();
    // A tenth below the floor: all ten merge (without the floor, 1-doc and 10–99-doc segments sat in two tiers).
    expect(ids(selectMerge([...small, seg(10, 1)], policy))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Segments at and above the floor keep their tiers: nine of 100–999 and one of 1000 do not merge.
    const big = [100, 200, 300, 400, 500, 600, 700, 800, 999, 1000].map((d, i) => seg(i + 1, d));
    expect(selectMerge(big, policy)).toBeUndefined();
    expect(ids(selectMerge([...big, seg(11, 150)], policy))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 11]);
    // Live documents count: a 150-document segment with 60 deleted is below the floor (and over the deleted ratio).
    expect(ids(selectMerge([seg(1, 150, 60)], policy))).toEqual([1]);
  });

  it('takes a burst of one-document segments in one merge, up to factor × floor documents', () => {
    const policy = DEFAULT_MERGE_POLICY; // factor 10, floor 100: up to 1 000 documents below the floor at once
    const burst = Array.from({ length: 1500 }, (_, i) => seg(i + 1, 1));
    expect(selectMerge(burst, policy)?.length).toBe(1000);
    expect(selectMerge(burst.slice(0, 600), policy)?.length).toBe(600);
    // Larger small segments: as many as hold 1 000 documents (ten of 99: an eleventh would pass it).
    const mixed = [...Array.from({ length: 12 }, (_, i) => seg(i + 1, 99)), seg(13, 10)];
    expect(ids(selectMerge(mixed, policy))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(
      selectMerge(
        Array.from({ length: 15 }, (_, i) => seg(i + 1, 99, 0)),
        policy,
      )?.length,
    ).toBe(10);
    // Above the floor nothing changed: at most twice the factor per merge.
    expect(
      selectMerge(
        Array.from({ length: 25 }, (_, i) => seg(i + 1, 150)),
        policy,
      )?.length,
    ).toBe(20);
  });
});
