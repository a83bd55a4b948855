/**
 * Per-document values stored with their segment: `index-values [t, segId, block]` holds, sealed, the ids and
 * values of the segment's local docs block·VALUES_BLOCK … (block + 1)·VALUES_BLOCK − 1. The index layer keeps
 * the values opaque (the engine's DocValues, doc-values.ts); it writes them with the segment, copies them in
 * merges and drops them with the segment.
 *
 * Why blocks by segment, not one sealed record per document id: loading a tenant's value columns after a
 * start then opens one record per 128 documents. At 1M documents the per-document records took 16–20 s
 * (one AES-GCM open each, ~9 s of it in the cipher's per-call setup) before the first faceted query or
 * Suggest could answer.
 *
 * A block is zstd(`u32 length of the ids | msgpack(ids) | msgpack(values)`), so a reader that needs only
 * the ids (a segment's local doc → ordinal map) does not decode the values. The values are msgpack records
 * (each block defines its own, so blocks read alone): keys once per block, not once per document. At 1M
 * benchmark documents that took the values from 244 MB as maps to 131 MB, and zstd to 65 MB, and decoding
 * them from 1.7–2.4 s to ~0.8 s (docs/performance.md).
 *
 * Values change in place only through `updateValue` (tags). A merge that read its sources in an older
 * snapshot carries such edits over at its swap (`valueEditsSince`), as it carries over tombstones; an edit
 * counts as in a snapshot only once its transaction has committed.
 */
import type { RootDatabase, Transaction } from 'lmdb';
import { Packr, pack, unpack } from 'msgpackr';
import { compress, decompress } from 'zstd-napi';
import type { IndexStore, Key } from './index-store.js';
import { RANGE_END } from './index-store.js';

/** Documents per values block. */
export const VALUES_BLOCK = 128;

export interface ValuesBlock {
  ids: string[];
  /** Null for a doc without values. */
  values: unknown[];
}

/** No shared structures: each block carries the record definitions it uses. */
const records = new Packr({ useRecords: true });

export function encodeValuesBlock(ids: readonly string[], values: readonly unknown[]): Buffer {
  const idBytes = pack(ids);
  const valueBytes = records.pack(values);
  const out = Buffer.allocUnsafe(4 + idBytes.length + valueBytes.length);
  out.writeUInt32LE(idBytes.length, 0);
  idBytes.copy(out, 4);
  valueBytes.copy(out, 4 + idBytes.length);
  return compress(out, { compressionLevel: 1 });
}

/** `stored` was sealed by us (authenticated before this), so its decompressed size is honest. */
export function decodeValuesBlock(stored: Uint8Array): ValuesBlock {
  const view = decompress(stored);
  const n = view.readUInt32LE(0);
  return { ids: unpack(view.subarray(4, 4 + n)) as string[], values: records.unpack(view.subarray(4 + n)) as unknown[] };
}

/** Only the ids of a block (its values are not decoded). */
export function decodeValuesBlockIds(stored: Uint8Array): string[] {
  const view = decompress(stored);
  return unpack(view.subarray(4, 4 + view.readUInt32LE(0))) as string[];
}

/** The blocks of a new segment's values, local docs 0 … ids.length − 1 (for a write transaction's puts). */
export function* valuesBlocks(
  tenantId: string,
  segmentId: number,
  ids: readonly string[],
  values: readonly unknown[],
): Generator<{ key: Key; plain: Buffer }> {
  for (let at = 0, block = 0; at < ids.length; at += VALUES_BLOCK, block++)
    yield {
      key: [tenantId, segmentId, block],
      plain: encodeValuesBlock(ids.slice(at, at + VALUES_BLOCK), values.slice(at, at + VALUES_BLOCK)),
    };
}

/** Writes a new segment's values (inside the write transaction that lists the segment). */
export function putSegmentValues(
  store: IndexStore,
  tenantId: string,
  segmentId: number,
  ids: readonly string[],
  values: readonly unknown[],
): void {
  for (const { key, plain } of valuesBlocks(tenantId, segmentId, ids, values)) store.putSealed('values', key, plain);
}

/** Every values block of a segment, in order (in the snapshot given), opened but not decoded. */
export function* segmentValueBlocks(
  store: IndexStore,
  tenantId: string,
  segmentId: number,
  transaction: Transaction | undefined,
): Generator<{ block: number; stored: Buffer }> {
  for (const { key, value } of store.values.getRange({
    start: [tenantId, segmentId],
    end: [tenantId, segmentId, RANGE_END],
    ...(transaction ? { transaction } : {}),
  }))
    yield { block: (key as Key)[2] as number, stored: store.open('values', key as Key, value) };
}

/** One local doc's values, or undefined (read in the current write transaction: the merge's swap). */
export function readValue(store: IndexStore, tenantId: string, segmentId: number, local: number): unknown {
  const plain = store.get('values', [tenantId, segmentId, Math.floor(local / VALUES_BLOCK)]);
  if (plain === undefined) return undefined;
  return decodeValuesBlock(plain).values[local % VALUES_BLOCK] ?? undefined;
}

/**
 * Replaces one live document's values in its segment (inside a write transaction); undefined when the
 * document is not indexed. `change` gets the current values and returns the new ones, or undefined to leave
 * them. Hand the returned edit to `committedEdit` once the transaction has ended.
 */
export function updateValue(
  store: IndexStore,
  tenantId: string,
  docId: string,
  change: (current: unknown) => unknown,
): ValueEdit | undefined {
  const at = store.ids.get([tenantId, docId]);
  if (at === undefined) return undefined;
  const [segmentId, local] = at;
  const key: Key = [tenantId, segmentId, Math.floor(local / VALUES_BLOCK)];
  const plain = store.get('values', key);
  if (plain === undefined) return undefined;
  const { ids, values } = decodeValuesBlock(plain);
  const current = values[local % VALUES_BLOCK];
  if (current === undefined || current === null) return undefined;
  const next = change(current);
  if (next === undefined) return undefined;
  values[local % VALUES_BLOCK] = next;
  store.putSealed('values', key, encodeValuesBlock(ids, values));
  return noteEdit(store.root, tenantId, segmentId, local);
}

// ------------------------------------------------------------ edits a running merge must carry over

/** An edit in place, logged until it is committed and no merge that may have missed it is running. */
export interface ValueEdit {
  tenantId: string;
  segmentId: number;
  local: number;
  /** Set by the editor once its write transaction has ended (`committedEdit`). */
  committed: boolean;
}

/**
 * Per environment: the edits not yet known to be in every running merge's snapshot, and how many merges
 * run. An edit is logged whatever runs: its transaction may commit only after a merge that starts now has
 * taken its snapshot, and that merge must carry it over.
 */
const edits = new WeakMap<RootDatabase, { log: ValueEdit[]; readers: number }>();

function editsOf(root: RootDatabase): { log: ValueEdit[]; readers: number } {
  let e = edits.get(root);
  if (e === undefined) {
    e = { log: [], readers: 0 };
    edits.set(root, e);
  }
  return e;
}

function noteEdit(root: RootDatabase, tenantId: string, segmentId: number, local: number): ValueEdit {
  const e = editsOf(root);
  // Committed edits are in every later snapshot: with no merge reading an older one, they can go.
  if (e.readers === 0 && e.log.length > 0) e.log = e.log.filter((x) => !x.committed);
  const edit = { tenantId, segmentId, local, committed: false };
  e.log.push(edit);
  return edit;
}

/** The write transaction of an edit that updateValue returned has ended (committed or not). */
export function committedEdit(edit: ValueEdit): void {
  edit.committed = true;
}

/**
 * A merge about to take its snapshot: it must carry over the edits not committed now and those made later.
 * Returns where they start in the log; call `done` when the merge ends (swapped or not).
 */
export function watchValueEdits(root: RootDatabase): { from: number; done: () => void } {
  const e = editsOf(root);
  e.readers++;
  let open = true;
  let from = 0;
  while (from < e.log.length && e.log[from]!.committed) from++;
  return {
    from,
    done: () => {
      if (!open) return;
      open = false;
      if (--e.readers === 0) e.log = e.log.filter((x) => !x.committed);
    },
  };
}

/** The edits logged since `from` (see watchValueEdits). */
export function valueEditsSince(root: RootDatabase, from: number): readonly ValueEdit[] {
  return editsOf(root).log.slice(from);
}
