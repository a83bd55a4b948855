import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lmdbBreakdown } from '../../native-bench/harness/lmdb-stats.js';

describe('lmdbBreakdown (the soak’s pages per sub-database)', () => {
  let dir: string;
  let root: RootDatabase;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archivar-lmdb-stats-'));
    root = open({ path: path.join(dir, 'x.mdb'), maxDbs: 8, encoding: 'msgpack' });
  });
  afterEach(async () => {
    await root.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('counts entries and pages of every named sub-database, and the pages freed by deletes', async () => {
    const ledger = root.openDB({ name: 'ledger', encoding: 'msgpack' });
    const blobs = root.openDB({ name: 'blobs', encoding: 'binary' });
    await root.transaction(() => {
      for (let i = 0; i < 2000; i++) ledger.put(['t', i], { kind: 'bytes_stored', quantity: i });
      for (let i = 0; i < 200; i++) blobs.put(['t', i], Buffer.alloc(1500, i));
    });
    const full = lmdbBreakdown(root);
    expect(Object.keys(full.dbs).sort()).toEqual(['blobs', 'ledger']);
    expect(full.dbs.ledger?.entries).toBe(2000);
    expect(full.dbs.blobs?.entries).toBe(200);
    // 1500-byte values: two per 4 KiB leaf at most, so at least 100 pages.
    expect(full.dbs.blobs?.pages).toBeGreaterThanOrEqual(100);
    expect(full.dbs.ledger?.pages).toBeGreaterThan(10);
    // Every page up to the last is in a tree, on the freelist, or one of the 2 meta pages.
    const inTrees = (b: typeof full) =>
      2 + b.mainPages + b.freelistTreePages + Object.values(b.dbs).reduce((s, d) => s + d.pages, 0);
    expect(inTrees(full) + full.freePages).toBe(full.totalPages);

    await root.transaction(() => {
      for (let i = 0; i < 200; i++) blobs.remove(['t', i]);
    });
    // A later commit, so the pages freed above are on the freelist (not only pending in the last txn).
    await ledger.put(['t', 'x'], { kind: 'searches', quantity: 1 });
    const after = lmdbBreakdown(root);
    expect(after.dbs.blobs).toEqual({ entries: 0, pages: 0, overflowPages: 0 });
    expect(after.dbs.ledger?.entries).toBe(2001);
    expect(after.freePages).toBeGreaterThanOrEqual(full.dbs.blobs?.pages ?? 0);
    expect(inTrees(after) + after.freePages).toBe(after.totalPages);
  });
});
