/**
 * Tiered merging. Segments fall into tiers by size (tier = ⌊log_mergeFactor(docs)⌋, every segment below
 * floorDocs in the lowest); when a tier holds mergeFactor segments they are merged into one, which lands a
 * tier higher (the lowest tier's merge takes as many as hold mergeFactor × floorDocs documents). The floor
 * matters for a server fed one document at a time: without it tiers 0 and 1 kept up to 18 segments below 100
 * documents, and every query term is looked up in every segment. A segment whose tombstones exceed
 * maxDeletedRatio is rewritten on its own to purge them.
 *
 * A merge must not stall the event loop (queries and gRPC share it) nor the writer (freshness), so it runs
 * in three steps:
 *   1. reserve: one short write transaction takes a segment id and records [t, 'pending', id];
 *   2. build: reads the sources from one read snapshot in time slices (setImmediate between them) and
 *      writes the new segment under the pending id in chunked write transactions — invisible to readers,
 *      since only [t, 'seg', id] entries are searched;
 *   3. swap: one short write transaction checks the sources are unchanged, carries over tombstones added
 *      since the snapshot, points the ids at the new segment, lists it and unlists the sources, which are
 *      marked [t, 'garbage', id] and removed afterwards in chunks.
 * A crash leaves either the sources or the new segment listed, never a mix; leftover pending or garbage
 * data is invisible and is removed by the next merge (collectGarbage).
 */
import { randomBytes } from 'node:crypto';
import type { RootDatabase, Transaction } from 'lmdb';
import { pack } from 'msgpackr';
import {
  type BinaryGetter,
  type DocRecord,
  emptyStats,
  type IndexStore,
  type Key,
  type MetaDb,
  RANGE_END,
  reserveSegmentId,
  type SegmentMeta,
  type TenantStats,
  toBuffer,
} from './index-store.js';
import { BLOCK_SIZE, docPositions, NUM_FIELDS, readPositionDeltas, readVarint, SequentialPostings } from './postings-codec.js';
import { type PutFn, SegmentTermCursor } from './segment-format.js';
import {
  decodeValuesBlock,
  encodeValuesBlock,
  readValue,
  segmentValueBlocks,
  VALUES_BLOCK,
  valueEditsSince,
  valuesBlocks,
  watchValueEdits,
} from './segment-values.js';
import { SegmentTermEncoder } from './segment-writer.js';

export interface MergePolicy {
  mergeFactor: number;
  maxDeletedRatio: number;
  /** Segments with fewer live documents share the lowest tier (rewriting them again is cheap). */
  floorDocs: number;
}

export const DEFAULT_MERGE_POLICY: MergePolicy = { mergeFactor: 10, maxDeletedRatio: 0.3, floorDocs: 100 };

const live = (seg: SegmentMeta): number => Math.max(1, seg.docs - seg.deleted);

function tierOf(seg: SegmentMeta, policy: MergePolicy): number {
  const n = live(seg);
  if (n < policy.floorDocs) return 0;
  return Math.floor(Math.log(n) / Math.log(policy.mergeFactor) + 1e-9);
}

/** The next merge to run for a tenant's segments, or undefined. */
export function selectMerge(segments: readonly SegmentMeta[], policy: MergePolicy): SegmentMeta[] | undefined {
  const tiers = new Map<number, SegmentMeta[]>();
  for (const s of segments) {
    const t = tierOf(s, policy);
    const list = tiers.get(t) ?? [];
    list.push(s);
    tiers.set(t, list);
  }
  for (const t of [...tiers.keys()].sort((a, b) => a - b)) {
    const list = tiers.get(t)!;
    if (list.length < policy.mergeFactor) continue;
    if (t > 0) return list.slice(0, policy.mergeFactor * 2);
    // Below the floor: as many as hold up to mergeFactor × floorDocs live documents (at least mergeFactor).
    // Each processed upload is a segment of its own, and merges run one at a time: taken twenty at a time, a
    // burst of 1 400 uploads left 648 segments when processing ended, and queries over them took 25× longer.
    let n = 0;
    let docs = 0;
    while (n < list.length && (n < policy.mergeFactor || docs + live(list[n]!) <= policy.mergeFactor * policy.floorDocs))
      docs += live(list[n++]!);
    return list.slice(0, n);
  }
  for (const s of segments) if (s.docs > 0 && s.deleted / s.docs > policy.maxDeletedRatio) return [s];
  return undefined;
}

export function isDeleted(bits: Uint8Array | undefined, doc: number): boolean {
  return bits !== undefined && (bits[doc >>> 3]! & (1 << (doc & 7))) !== 0;
}

export function newSegmentUid(): string {
  return randomBytes(8).toString('hex');
}

export interface MergeOptions {
  /** Work done between two yields to the event loop (ms). */
  sliceMs?: number;
  /** Bytes of the new segment buffered before a write transaction takes them. */
  chunkBytes?: number;
}

type Marker = { uid: string };
/** Pending merge outputs of this process, per environment: their data is not garbage. */
const activePending = new WeakMap<RootDatabase, Set<string>>();

function active(root: RootDatabase): Set<string> {
  let s = activePending.get(root);
  if (s === undefined) {
    s = new Set();
    activePending.set(root, s);
  }
  return s;
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The tenant's listed segments (in a snapshot when given). */
export function listSegments(store: IndexStore, tenantId: string, transaction?: Transaction): SegmentMeta[] {
  const out: SegmentMeta[] = [];
  for (const { value } of store.meta.getRange({
    start: [tenantId, 'seg'],
    end: [tenantId, 'seg', RANGE_END],
    ...(transaction ? { transaction } : {}),
  }))
    out.push(value as SegmentMeta);
  return out;
}

/**
 * Run merges for the tenants: what the tiered policy asks for, or with `force` all of a tenant's segments
 * into one (purging every tombstone). Returns the number of merges done.
 */
export async function runMerges(
  store: IndexStore,
  tenants: readonly string[],
  options: { force?: boolean; policy: MergePolicy } & MergeOptions,
): Promise<number> {
  let merges = 0;
  for (const t of tenants) {
    await collectGarbage(store, t);
    let stale = 0;
    for (;;) {
      const segs = listSegments(store, t);
      const pick = options.force
        ? segs.length > 1 || segs.some((s) => s.deleted > 0)
          ? segs
          : undefined
        : selectMerge(segs, options.policy);
      if (pick === undefined || pick.length === 0) break;
      const r = await mergeSegments(store, t, pick, options);
      if (r === 'stale') {
        // A concurrent drop or merge changed the inputs: pick again, a few times at most.
        if (++stale >= 3) break;
        continue;
      }
      merges++;
      await collectGarbage(store, t);
      if (options.force) break;
    }
  }
  return merges;
}

/**
 * Merge `sources` into a new segment without blocking the event loop or the writer for long. Returns the
 * new segment's meta (undefined when no live document was left), or 'stale' when the sources changed (a
 * concurrent drop) — nothing is then changed.
 */
export async function mergeSegments(
  store: IndexStore,
  tenantId: string,
  sources: readonly SegmentMeta[],
  options: MergeOptions = {},
): Promise<SegmentMeta | undefined | 'stale'> {
  const root = store.root;
  const meta = store.meta as unknown as MetaDb;
  const sliceMs = options.sliceMs ?? 8;
  const chunkBytes = options.chunkBytes ?? 4 * 2 ** 20;
  const uid = newSegmentUid();
  const sourcesUnchanged = (txn?: Transaction) =>
    sources.every(
      (s) =>
        (meta.get([tenantId, 'seg', s.id], txn ? { transaction: txn } : undefined) as SegmentMeta | undefined)?.uid === s.uid,
    );

  // 1. Reserve the new segment id.
  const newId = await root.childTransaction(() => {
    if (!sourcesUnchanged()) return undefined;
    const stats = (meta.get([tenantId, 'stats']) as TenantStats | undefined) ?? emptyStats();
    const id = reserveSegmentId(root, tenantId, stats.nextSegmentId);
    meta.put([tenantId, 'stats'], { ...stats, nextSegmentId: id + 1 });
    meta.put([tenantId, 'pending', id], { uid } satisfies Marker);
    return id;
  });
  if (newId === undefined) return 'stale';
  const activeKey = `${tenantId}\0${newId}`;
  active(root).add(activeKey);
  // Before the snapshot: values edited in place after it are carried over at the swap.
  const edits = watchValueEdits(root);
  const snapshot = root.useReadTransaction();
  try {
    const topt = { transaction: snapshot };
    if (!sourcesUnchanged(snapshot)) return await abandon(store, tenantId, newId, uid);

    // 2a. Live documents of the sources, renumbered in source order.
    const remap: Int32Array[] = [];
    const snapDeletes: (Uint8Array | undefined)[] = [];
    const records: DocRecord[] = [];
    const normParts: Uint8Array[] = [];
    for (const seg of sources) {
      const dels = (store.deletes as unknown as BinaryGetter).getBinary([tenantId, seg.id], topt);
      snapDeletes.push(dels);
      const norms =
        (store.norms as unknown as BinaryGetter).getBinary([tenantId, seg.id], topt) ?? new Uint8Array(seg.docs * NUM_FIELDS);
      const map = new Int32Array(seg.docs).fill(-1);
      let read = 0;
      for (const { key, value } of store.docs.getRange({ start: [tenantId, seg.id], end: [tenantId, seg.id + 1], ...topt })) {
        if (++read % 2000 === 0) await yieldToLoop();
        const local = (key as Key)[2] as number;
        if (isDeleted(dels, local)) continue;
        map[local] = records.length;
        records.push(store.docOf(key as Key, value));
        normParts.push(norms.subarray(local * NUM_FIELDS, (local + 1) * NUM_FIELDS));
      }
      remap.push(map);
    }
    const norms = new Uint8Array(records.length * NUM_FIELDS);
    for (const [i, p] of normParts.entries()) norms.set(p, i * NUM_FIELDS);
    // The live documents' values (segment-values.ts), under their new numbers.
    const values = new Array<unknown>(records.length).fill(null);
    let valuesSlice = performance.now();
    for (const [s, seg] of sources.entries()) {
      const map = remap[s]!;
      for (const { block, stored } of segmentValueBlocks(store, tenantId, seg.id, snapshot)) {
        const from = block * VALUES_BLOCK;
        decodeValuesBlock(stored).values.forEach((v, i) => {
          const target = map[from + i] ?? -1;
          if (target >= 0) values[target] = v;
        });
        if (performance.now() - valuesSlice >= sliceMs) {
          await yieldToLoop();
          valuesSlice = performance.now();
        }
      }
    }

    // Buffered writes of the new segment, flushed in chunks while the pending marker is ours.
    // Values are sealed as they are buffered (sealing copies them out of the encoder's scratch buffers).
    let ops: { db: 'dirs' | 'terms' | 'positions' | 'large' | 'docs' | 'norms' | 'values'; key: Key; value: Buffer }[] = [];
    let buffered = 0;
    const put: PutFn = (db, key, value) => {
      ops.push({ db, key, value: store.seal(db, key, value) });
      buffered += value.length + 32;
    };
    const flush = async (): Promise<boolean> => {
      const batch = ops;
      ops = [];
      buffered = 0;
      return root.childTransaction(() => {
        if ((meta.get([tenantId, 'pending', newId]) as Marker | undefined)?.uid !== uid) return false;
        for (const op of batch) (store[op.db] as unknown as MetaDb).put(op.key, op.value);
        return true;
      });
    };

    if (records.length > 0) {
      // 2b. Terms: a k-way merge of the sources' dictionaries, in time slices.
      const enc = new SegmentTermEncoder(tenantId, newId, put, norms);
      const heads = new TermHeap(sources.map((s) => new SegmentTermCursor(store, tenantId, s.id, snapshot)));
      const group: number[] = [];
      const out = new MergedTerm();
      let sliceStart = performance.now();
      while (heads.size > 0) {
        // The sources holding the smallest term, in source order (the heap breaks ties by it).
        group.length = 0;
        group.push(heads.pop());
        while (heads.size > 0 && heads.sameTerm(heads.top(), group[0]!)) group.push(heads.pop());
        let upper = 0;
        for (const s of group) {
          const c = heads.cursors[s]!;
          dfState.off = c.postingsFrom;
          upper += readVarint(c.postings, dfState);
        }
        out.begin(upper);
        for (const s of group) appendPostings(heads.cursors[s]!, remap[s]!, out);
        if (out.df > 0) {
          out.end();
          enc.addRange(heads.cursors[group[0]!]!.term(), out.docs, out.df, out.tfs, out.positions, 0);
        }
        for (const s of group) heads.advance(s);
        if (buffered >= chunkBytes && !(await flush())) return await abandon(store, tenantId, newId, uid);
        if (performance.now() - sliceStart >= sliceMs) {
          await yieldToLoop();
          sliceStart = performance.now();
        }
      }
      enc.finish();
      ops.push({ db: 'norms', key: [tenantId, newId], value: Buffer.from(norms) });
      for (let i = 0; i < records.length; i++) {
        const key: Key = [tenantId, newId, i];
        ops.push({ db: 'docs', key, value: store.seal('docs', key, pack(records[i]!)) });
        buffered += 256;
        if (buffered >= chunkBytes && !(await flush())) return await abandon(store, tenantId, newId, uid);
      }
      for (const { key, plain } of valuesBlocks(
        tenantId,
        newId,
        records.map((r) => r.id),
        values,
      )) {
        ops.push({ db: 'values', key, value: store.seal('values', key, plain) });
        buffered += plain.length + 32;
        if (buffered >= chunkBytes && !(await flush())) return await abandon(store, tenantId, newId, uid);
        if (performance.now() - sliceStart >= sliceMs) {
          await yieldToLoop();
          sliceStart = performance.now();
        }
      }
      if (ops.length > 0 && !(await flush())) return await abandon(store, tenantId, newId, uid);
    }

    // 3. Swap, in one short write transaction.
    const result = await root.childTransaction((): SegmentMeta | undefined | 'stale' => {
      if ((meta.get([tenantId, 'pending', newId]) as Marker | undefined)?.uid !== uid || !sourcesUnchanged()) return 'stale';
      const bits = new Uint8Array(Math.ceil(records.length / 8));
      let deleted = 0;
      sources.forEach((seg, s) => {
        const now = store.deletes.getBinary([tenantId, seg.id]);
        const before = snapDeletes[s];
        const map = remap[s]!;
        for (let local = 0; local < seg.docs; local++) {
          const target = map[local]!;
          if (target < 0) continue;
          if (isDeleted(now, local) && !isDeleted(before, local)) {
            // Deleted since the snapshot: the tombstone carries over (ids and stats were updated then).
            bits[target >>> 3]! |= 1 << (target & 7);
            deleted++;
          } else {
            store.ids.put([tenantId, records[target]!.id], [newId, target]);
          }
        }
        meta.remove([tenantId, 'seg', seg.id]);
        meta.put([tenantId, 'garbage', seg.id], { uid: seg.uid } satisfies Marker);
      });
      carryValueEdits(store, tenantId, newId, sources, remap, valueEditsSince(root, edits.from));
      meta.remove([tenantId, 'pending', newId]);
      let created: SegmentMeta | undefined;
      if (records.length > 0) {
        created = { id: newId, uid, docs: records.length, deleted };
        meta.put([tenantId, 'seg', newId], created);
        if (deleted > 0) store.deletes.put([tenantId, newId], toBuffer(bits));
      }
      return created;
    });
    if (result === 'stale') return await abandon(store, tenantId, newId, uid);
    return result;
  } finally {
    snapshot.done();
    edits.done();
    active(root).delete(activeKey);
  }
}

/**
 * Values edited in place (tags) since the merge's snapshot: copy the sources' current ones into the new
 * segment (inside the swap transaction; such edits are few).
 */
function carryValueEdits(
  store: IndexStore,
  tenantId: string,
  newId: number,
  sources: readonly SegmentMeta[],
  remap: readonly Int32Array[],
  edits: readonly { tenantId: string; segmentId: number; local: number }[],
): void {
  for (const e of edits) {
    if (e.tenantId !== tenantId) continue;
    const s = sources.findIndex((seg) => seg.id === e.segmentId);
    const target = s < 0 ? -1 : (remap[s]![e.local] ?? -1);
    if (target < 0) continue;
    const key: Key = [tenantId, newId, Math.floor(target / VALUES_BLOCK)];
    const plain = store.get('values', key);
    if (plain === undefined) continue;
    const { ids, values } = decodeValuesBlock(plain);
    values[target % VALUES_BLOCK] = readValue(store, tenantId, e.segmentId, e.local) ?? null;
    store.putSealed('values', key, encodeValuesBlock(ids, values));
  }
}

/** Drop a pending output that will not be swapped in (only while its marker is still ours). */
async function abandon(store: IndexStore, tenantId: string, id: number, uid: string): Promise<'stale'> {
  await removeSegmentsData(store, tenantId, 'pending', [[id, uid]]);
  return 'stale';
}

/**
 * The sources' term cursors in a binary heap, smallest term first and ties in source order: finding the
 * smallest head among k sources took k term comparisons per output term, this takes ~log2 k.
 */
class TermHeap {
  /** Source indices whose cursors stand on a term. */
  private readonly heap: number[] = [];

  constructor(readonly cursors: readonly SegmentTermCursor[]) {
    for (let s = 0; s < cursors.length; s++) this.advance(s);
  }

  get size(): number {
    return this.heap.length;
  }

  top(): number {
    return this.heap[0]!;
  }

  /** Moves source s's cursor to its next term and puts it back in the heap (unless at its end). */
  advance(s: number): void {
    if (!this.cursors[s]!.next()) return;
    const heap = this.heap;
    let i = heap.length;
    heap.push(s);
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if (!this.less(s, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = s;
  }

  /** Removes and returns the source with the smallest term. */
  pop(): number {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    const n = heap.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.less(heap[child + 1]!, heap[child]!)) child++;
      if (!this.less(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  }

  sameTerm(a: number, b: number): boolean {
    const x = this.cursors[a]!;
    const y = this.cursors[b]!;
    if (x.len !== y.len) return false;
    const xb = x.bytes;
    const yb = y.bytes;
    for (let i = 0; i < x.len; i++) if (xb[i] !== yb[i]) return false;
    return true;
  }

  /** Source a's term sorts before b's (UTF-8 bytes: compareTerms order), or the same term and a < b. */
  private less(a: number, b: number): boolean {
    const x = this.cursors[a]!;
    const y = this.cursors[b]!;
    const xb = x.bytes;
    const yb = y.bytes;
    const n = Math.min(x.len, y.len);
    for (let i = 0; i < n; i++) if (xb[i] !== yb[i]) return xb[i]! < yb[i]!;
    return x.len !== y.len ? x.len < y.len : a < b;
  }
}

/**
 * One output term's postings as its sources' live docs are appended (arrays reused for every term, grown
 * as needed): frequencies field-major with a stride of the sources' summed df, closed up by end().
 */
class MergedTerm {
  docs = new Int32Array(1024);
  tfs = new Uint32Array(1024 * NUM_FIELDS);
  positions = new Int32Array(4096);
  df = 0;
  positionCount = 0;
  stride = 0;

  /** Starts a term whose sources hold `upper` docs in all. */
  begin(upper: number): void {
    if (this.docs.length < upper) {
      this.docs = new Int32Array(upper * 2);
      this.tfs = new Uint32Array(upper * 2 * NUM_FIELDS);
    }
    this.stride = upper;
    this.df = 0;
    this.positionCount = 0;
  }

  ensurePositions(extra: number): void {
    if (this.positionCount + extra <= this.positions.length) return;
    const next = new Int32Array(Math.max(this.positions.length * 2, this.positionCount + extra));
    next.set(this.positions.subarray(0, this.positionCount));
    this.positions = next;
  }

  /** Frequencies as the encoder reads them: tfs[f * df + i] (deleted docs left gaps). */
  end(): void {
    const { df, stride } = this;
    if (df < stride) for (let f = 1; f < NUM_FIELDS; f++) this.tfs.copyWithin(f * df, f * stride, f * stride + df);
  }
}

const dfState = { off: 0 };
const walk = new SequentialPostings();
const posState = { off: 0, k: 0 };
const docsBuf = new Int32Array(BLOCK_SIZE);
const tfsBuf = new Int32Array(BLOCK_SIZE * NUM_FIELDS);
/** One block's position deltas (grown as needed). */
let blockDeltas: Int32Array = new Int32Array(1024);

/** Decode one source term's postings and positions, appending its live docs under their new numbers. */
function appendPostings(c: SegmentTermCursor, map: Int32Array, out: MergedTerm): void {
  walk.start(c.postings, c.postingsFrom);
  const pos = c.positions;
  posState.off = c.positionsFrom;
  const stride = out.stride;
  for (let b = 0; b < walk.blockCount; b++) {
    const n = walk.nextBlock(docsBuf, tfsBuf);
    let blockCount = 0;
    for (let f = 0; f < NUM_FIELDS; f++) for (let i = 0; i < n; i++) blockCount += tfsBuf[f * BLOCK_SIZE + i]!;
    if (blockDeltas.length < blockCount) blockDeltas = new Int32Array(blockCount * 2);
    posState.k = 0;
    readPositionDeltas(pos, posState, blockCount, 0, blockCount, blockDeltas);
    out.ensurePositions(blockCount);
    const { docs, tfs, positions } = out;
    let np = out.positionCount;
    let d = out.df;
    let k = 0;
    for (let i = 0; i < n; i++) {
      const target = map[docsBuf[i]!]!;
      if (target < 0) {
        for (let f = 0; f < NUM_FIELDS; f++) k += tfsBuf[f * BLOCK_SIZE + i]!;
        continue;
      }
      docs[d] = target;
      let count = 0;
      for (let f = 0; f < NUM_FIELDS; f++) {
        const tf = tfsBuf[f * BLOCK_SIZE + i]!;
        tfs[f * stride + d] = tf;
        count += tf;
      }
      k = docPositions(blockDeltas, k, tfsBuf, i, positions, np);
      np += count;
      d++;
    }
    out.df = d;
    out.positionCount = np;
  }
}

/** Keys removed per write transaction: each transaction runs on the main thread. */
const GC_CHUNK = 2000;

/**
 * Removes the records of `segments` (id and marker uid) in bounded write transactions, each checking that a
 * segment's marker ([t, kind, id] with this uid) still stands — after a dropTenant the id may belong to a new
 * segment. Up to GC_CHUNK keys per transaction across segments: a merge of hundreds of one-document segments
 * leaves as many garbage segments, and a transaction per sub-database and segment (seven awaited commits
 * each) took 3–18 s after such a merge, during which no other merge ran.
 */
async function removeSegmentsData(
  store: IndexStore,
  tenantId: string,
  kind: 'pending' | 'garbage',
  segments: readonly (readonly [number, string])[],
): Promise<void> {
  const meta = store.meta as unknown as MetaDb;
  const dbs = [store.dirs, store.terms, store.positions, store.large, store.docs, store.values];
  let next = 0;
  while (next < segments.length) {
    next = await store.root.childTransaction(() => {
      let budget = GC_CHUNK;
      let i = next;
      for (; i < segments.length; i++) {
        const [id, uid] = segments[i]!;
        if ((meta.get([tenantId, kind, id]) as Marker | undefined)?.uid !== uid) continue;
        for (const db of dbs) {
          for (const key of db.getKeys({ start: [tenantId, id], end: [tenantId, id + 1], limit: budget })) {
            db.remove(key as Key);
            budget--;
          }
          if (budget === 0) return i; // this segment may have keys left: the next transaction goes on with it
        }
        store.norms.remove([tenantId, id]);
        store.deletes.remove([tenantId, id]);
        meta.remove([tenantId, kind, id]);
      }
      return i;
    });
    if (next < segments.length) await yieldToLoop();
  }
}

/**
 * Remove merged-away segments and pending outputs no merge of this process owns (left by a crash). Both
 * are invisible to searches, so this only reclaims space.
 */
export async function collectGarbage(store: IndexStore, tenantId: string): Promise<void> {
  const mine = active(store.root);
  for (const kind of ['garbage', 'pending'] as const) {
    const found: [number, string][] = [];
    for (const { key, value } of store.meta.getRange({ start: [tenantId, kind], end: [tenantId, kind, RANGE_END] })) {
      const id = (key as Key)[2] as number;
      if (kind === 'pending' && mine.has(`${tenantId}\0${id}`)) continue;
      found.push([id, (value as unknown as Marker).uid]);
    }
    await removeSegmentsData(store, tenantId, kind, found);
  }
}
