/**
 * Tiered merging. Segments fall into tiers by size (tier = ⌊log_mergeFactor(docs)⌋); when a tier holds
 * mergeFactor segments they are merged into one, which lands a tier higher. A segment whose tombstones
 * exceed maxDeletedRatio is rewritten on its own to purge them. Each merge is one write transaction: a crash
 * leaves either the old segments or the new one, never a mix.
 */
import { randomBytes } from 'node:crypto';
import type { DocRecord, IndexStore, Key, SegmentMeta, TenantStats } from './index-store.js';
import { BLOCK_SIZE, decodeBlock, decodeSkipTable, NUM_FIELDS } from './postings-codec.js';
import { type TermPostingsInput, writeSegment } from './segment-writer.js';

export interface MergePolicy {
  mergeFactor: number;
  maxDeletedRatio: number;
}

export const DEFAULT_MERGE_POLICY: MergePolicy = { mergeFactor: 10, maxDeletedRatio: 0.3 };

function tierOf(seg: SegmentMeta, factor: number): number {
  const live = Math.max(1, seg.docs - seg.deleted);
  return Math.floor(Math.log(live) / Math.log(factor) + 1e-9);
}

/** The next merge to run for a tenant's segments, or undefined. */
export function selectMerge(segments: readonly SegmentMeta[], policy: MergePolicy): SegmentMeta[] | undefined {
  const tiers = new Map<number, SegmentMeta[]>();
  for (const s of segments) {
    const t = tierOf(s, policy.mergeFactor);
    const list = tiers.get(t) ?? [];
    list.push(s);
    tiers.set(t, list);
  }
  for (const t of [...tiers.keys()].sort((a, b) => a - b)) {
    const list = tiers.get(t)!;
    if (list.length >= policy.mergeFactor) return list.slice(0, policy.mergeFactor * 2);
  }
  for (const s of segments) if (s.docs > 0 && s.deleted / s.docs > policy.maxDeletedRatio) return [s];
  return undefined;
}

export function isDeleted(bits: Uint8Array | undefined, doc: number): boolean {
  return bits !== undefined && (bits[doc >>> 3]! & (1 << (doc & 7))) !== 0;
}

/**
 * Merge `sources` into a new segment. Must run inside a write transaction. Returns the new segment's meta,
 * or undefined when no live document is left (then the sources are simply removed).
 */
export function mergeSegments(
  store: IndexStore,
  tenantId: string,
  stats: TenantStats,
  sources: readonly SegmentMeta[],
): SegmentMeta | undefined {
  const newId = stats.nextSegmentId++;
  const remap: Int32Array[] = [];
  const records: DocRecord[] = [];
  const normParts: Uint8Array[] = [];
  for (const seg of sources) {
    const dels = store.deletes.getBinary([tenantId, seg.id]);
    const norms = store.norms.getBinary([tenantId, seg.id]) ?? new Uint8Array(seg.docs * NUM_FIELDS);
    const map = new Int32Array(seg.docs).fill(-1);
    for (const { key, value } of store.docs.getRange({ start: [tenantId, seg.id], end: [tenantId, seg.id + 1] })) {
      const local = (key as Key)[2] as number;
      if (isDeleted(dels, local)) continue;
      map[local] = records.length;
      records.push(value);
      normParts.push(norms.subarray(local * NUM_FIELDS, (local + 1) * NUM_FIELDS));
    }
    remap.push(map);
  }
  const termSet = new Set<string>();
  for (const seg of sources) {
    for (const key of store.terms.getKeys({ start: [tenantId, seg.id], end: [tenantId, seg.id + 1] }))
      termSet.add((key as Key)[2] as string);
  }
  const norms = new Uint8Array(records.length * NUM_FIELDS);
  normParts.forEach((p, i) => norms.set(p, i * NUM_FIELDS));

  const terms = function* (): Generator<[string, TermPostingsInput]> {
    const docsBuf = new Int32Array(BLOCK_SIZE);
    const tfsBuf = new Int32Array(BLOCK_SIZE * NUM_FIELDS);
    for (const term of [...termSet].sort()) {
      const docs: number[] = [];
      const tfsDocMajor: number[] = [];
      const positions: number[] = [];
      sources.forEach((seg, s) => {
        const key: Key = [tenantId, seg.id, term];
        const postings = store.terms.getBinary(key);
        if (postings === undefined) return;
        const pos = store.positions.getBinary(key);
        const skip = decodeSkipTable(postings);
        const map = remap[s]!;
        let off = 0;
        for (let b = 0; b < skip.blockCount; b++) {
          const n = decodeBlock(postings, skip, b, docsBuf, tfsBuf);
          for (let i = 0; i < n; i++) {
            let count = 0;
            for (let f = 0; f < NUM_FIELDS; f++) count += tfsBuf[f * BLOCK_SIZE + i]!;
            const target = map[docsBuf[i]!]!;
            let p = 0;
            for (let c = 0; c < count; c++) {
              let byte = pos![off++]!;
              let v = byte & 0x7f;
              let shift = 7;
              while (byte & 0x80) {
                byte = pos![off++]!;
                v |= (byte & 0x7f) << shift;
                shift += 7;
              }
              p += v;
              if (target >= 0) positions.push(p);
            }
            if (target < 0) continue;
            docs.push(target);
            for (let f = 0; f < NUM_FIELDS; f++) tfsDocMajor.push(tfsBuf[f * BLOCK_SIZE + i]!);
          }
        }
      });
      const df = docs.length;
      if (df === 0) continue;
      const tfs = new Uint32Array(df * NUM_FIELDS);
      for (let i = 0; i < df; i++) for (let f = 0; f < NUM_FIELDS; f++) tfs[f * df + i] = tfsDocMajor[i * NUM_FIELDS + f]!;
      yield [term, { docs, tfs, positions }];
    }
  };

  // Write the new segment first (the generator reads the sources), then remove the sources.
  let meta: SegmentMeta | undefined;
  if (records.length > 0) {
    writeSegment(store, tenantId, newId, terms(), norms, records);
    meta = { id: newId, uid: newSegmentUid(), docs: records.length, deleted: 0 };
  }
  for (const seg of sources) removeSegment(store, tenantId, seg);
  if (meta) store.meta.put([tenantId, 'seg', newId], meta);
  return meta;
}

/** Remove every record of a segment (inside a write transaction). */
export function removeSegment(store: IndexStore, tenantId: string, seg: SegmentMeta): void {
  for (const db of [store.terms, store.positions, store.docs]) {
    const keys = [...db.getKeys({ start: [tenantId, seg.id], end: [tenantId, seg.id + 1] })];
    for (const key of keys) db.remove(key as Key);
  }
  store.norms.remove([tenantId, seg.id]);
  store.deletes.remove([tenantId, seg.id]);
  store.meta.remove([tenantId, 'seg', seg.id]);
}

export function newSegmentUid(): string {
  return randomBytes(8).toString('hex');
}

