import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from 'lmdb';
import { describe, expect, it } from 'vitest';
import { SearchIndex } from '../../src/index/index.js';
import type { Key, SegmentMeta, TenantStats } from '../../src/index/index-store.js';
import { NUM_FIELDS } from '../../src/index/postings-codec.js';
import { SegmentTermCursor } from '../../src/index/segment-format.js';
import { listSegments } from '../../src/index/segment-merger.js';
import { testCipher } from '../helpers/index-cipher.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// node --import tsx: one process, so SIGKILL hits the indexer itself (the tsx CLI would fork a child).
const nodeArgs = ['--import', 'tsx'];

interface Reported {
  committed: Set<number>;
  deleted: Set<string>;
  last: number;
  /** Batches in flight at a kill: they may have committed unreported, all or nothing. */
  maybe: Set<number>;
  /** Deletes announced but not reported done: the document may or may not be gone. */
  deleting: Set<string>;
}

/** Run the child until it has committed a few more batches, then kill -9 it after a random delay. */
async function runAndKill(dir: string, first: number, report: Reported, delayMs: number): Promise<void> {
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, path.join(here, 'crash-child.ts'), dir, String(first)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let buf = '';
  let stderr = '';
  let firstCommit: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    firstCommit = resolve;
  });
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const [kind, arg] = buf.slice(0, nl).split(' ');
      buf = buf.slice(nl + 1);
      if (kind === 'committed') {
        report.committed.add(Number(arg));
        report.last = Math.max(report.last, Number(arg));
        firstCommit();
      } else if (kind === 'deleting') report.deleting.add(arg!);
      else if (kind === 'deleted') report.deleted.add(arg!);
      nl = buf.indexOf('\n');
    }
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  // 'close', not 'exit': every line the child wrote before the kill has been read by then.
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await Promise.race([started, exited]);
  expect(child.exitCode, stderr).toBeNull();
  await new Promise((r) => setTimeout(r, delayMs));
  child.kill('SIGKILL');
  await exited;
}

/** The index must be exactly what the child reported, with no half-written segment visible. */
async function check(dir: string, report: Reported): Promise<void> {
  const root = open({ path: dir });
  try {
    const idx = new SearchIndex(root, { cipher: testCipher, autoMerge: false });
    const store = idx.store;
    await testCipher.ready('t');
    const segs = listSegments(store, 't');
    const stats = store.meta.get(['t', 'stats']) as TenantStats;
    let live = 0;
    for (const s of segs) {
      const norms = store.norms.getBinary(['t', s.id]);
      expect(norms?.length, `norms of segment ${s.id}`).toBe(s.docs * NUM_FIELDS);
      const recs = [...store.docs.getRange({ start: ['t', s.id], end: ['t', s.id + 1] })];
      expect(recs.length, `records of segment ${s.id}`).toBe(s.docs);
      let terms = 0;
      for (const c = new SegmentTermCursor(store, 't', s.id); c.next(); ) {
        expect(c.postingsTo - c.postingsFrom).toBeGreaterThan(0);
        terms++;
      }
      expect(terms).toBeGreaterThan(0);
      live += s.docs - s.deleted;
    }
    expect(stats.docs).toBe(live);
    // Every id points at a listed segment's record of the same document.
    const listed = new Set(segs.map((s) => s.id));
    let ids = 0;
    for (const { key, value } of store.ids.getRange({ start: ['t'], end: ['t', '\u{10FFFF}'] })) {
      const [seg, local] = value as [number, number];
      expect(listed.has(seg), `id ${String((key as Key)[1])} → segment ${seg}`).toBe(true);
      expect(store.doc('t', seg, local)?.id).toBe((key as Key)[1]);
      ids++;
    }
    expect(ids).toBe(live);
    // Every committed batch is searchable, minus its reported deletes; the batch in flight is all or nothing.
    for (let b = 0; b <= Math.max(report.last, ...report.maybe) + 1; b++) {
      const r = await idx.search('t', `batch${b}`, { limit: 100, snippets: false });
      const got = new Set(r.hits.map((h) => h.docId));
      for (const id of got) expect(report.deleted.has(id), `${id} was deleted`).toBe(false);
      if (!report.committed.has(b)) {
        if (b === report.last + 1 || report.maybe.has(b)) {
          // All or nothing — less what a later run deleted: a run whose first batch is a multiple of 3
          // deletes from the batch before it, which may be the unreported one in flight at the last kill.
          let removable = 0;
          for (let i = 0; i < 40; i++) if (report.deleted.has(`b${b}-${i}`) || report.deleting.has(`b${b}-${i}`)) removable++;
          if (got.size > 0) expect(got.size, `batch ${b} in flight`).toBeGreaterThanOrEqual(40 - removable);
          expect(got.size, `batch ${b} in flight`).toBeLessThanOrEqual(40);
        } else expect(got.size, `batch ${b} never started`).toBe(0);
        continue;
      }
      for (let i = 0; i < 40; i++) {
        const id = `b${b}-${i}`;
        if (!report.deleted.has(id) && !report.deleting.has(id)) expect(got.has(id), `${id} searchable`).toBe(true);
      }
    }
    // A merge afterwards works and changes no result.
    const before = (await idx.search('t', 'alpha beta', { limit: 10_000, snippets: false })).hits.map((h) => h.docId).sort();
    await idx.merge({ tenantId: 't', force: true });
    expect(listSegments(store, 't').length).toBe(1);
    const after = (await idx.search('t', 'alpha beta', { limit: 10_000, snippets: false })).hits.map((h) => h.docId).sort();
    expect(after).toEqual(before);
    // Nothing of crashed merges or merged-away segments is left.
    const only = listSegments(store, 't')[0] as SegmentMeta;
    for (const db of [store.terms, store.docs])
      for (const key of db.getKeys({ start: ['t'], end: ['t', '\u{10FFFF}'] })) expect((key as Key)[1]).toBe(only.id);
    await idx.close();
  } finally {
    await root.close();
  }
}

describe('crash consistency', () => {
  it('after kill -9 during segment writes and merges the index matches what was committed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archivar-crash-'));
    try {
      const report: Reported = { committed: new Set(), deleted: new Set(), last: -1, maybe: new Set(), deleting: new Set() };
      const delays = [900, 1700, 400, 2500, 1200];
      for (const delay of delays) {
        await runAndKill(dir, Math.max(report.last, ...report.maybe) + 1, report, delay);
        await check(dir, report);
        // The batch in flight may have committed unreported: the next run starts after it.
        report.maybe.add(report.last + 1);
      }
      expect(report.committed.size).toBeGreaterThan(delays.length);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
