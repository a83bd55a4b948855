/**
 * The words of a tenant's documents as first written ("Müller"), by their folded form ("muller"): what
 * as-you-type completion shows instead of index terms (stems). Durable in `index-words`: the words new to
 * a write sealed together as one value under [t, block number] (so no word is in a key or a plaintext
 * value; one seal per write instead of one seal, HMAC and read per word: the per-word values cost the index
 * writer's thread more than the rest of a segment write). Searched in memory: the tenant's folded forms as a
 * sorted array (prefixes are ranges, fuzzy.ts walks it), loaded by the warm-up (`load`, in slices) and kept
 * in step by the index's write hook. Words are never removed before a Reindex or erasure: Suggest checks a word against the live
 * term dictionary before offering it.
 */
import { randomBytes } from 'node:crypto';
import { pack, unpack } from 'msgpackr';
import { mergeSorted } from './fuzzy.js';
import { type IndexStore, type Key, RANGE_END } from './index-store.js';
import { remember } from './remember.js';
import { hashRange, ownSubstring, SliceTable, UnitSet } from './slice-table.js';
import { type Between, type Slicer, sortInSlices, TenantLoads } from './warm-up.js';

/**
 * Where a tenant's stored-word cache is anchored: a record in `index-words` written with the cache (key
 * [t, EPOCH]; block keys are numbers). dropTenant and erasure remove it with the words, so a cache whose
 * record is gone is stale.
 */
const EPOCH = '~epoch';

interface StoredWords {
  epoch: Buffer;
  /**
   * Every folded word in the blocks before `next`, found by a range of a segment's word pairs: a segment
   * brings ~25k words, nearly all known, and a Set lookup first cut each out as a string of its own; a
   * table of strings then cost four dependent loads a word, most of the writer's thread in a build.
   */
  known: UnitSet;
  /** The block the next write's new words go to. */
  next: number;
  /** Written in the last write transaction (as block `next`); known once that transaction is seen committed. */
  pending: string[];
  pendingKey: Key | undefined;
}

/** Per store and tenant: folded words known to be in `index-words`. */
const caches = new WeakMap<IndexStore, Map<string, StoredWords>>();

/** The [folded, word] pairs of one sealed block, in the order written. */
function openBlock(store: IndexStore, key: Key, sealed: Uint8Array): string[] {
  return unpack(store.open('words', key, sealed)) as string[];
}

function storedWords(store: IndexStore, tenantId: string): StoredWords {
  let byTenant = caches.get(store);
  if (byTenant === undefined) {
    byTenant = new Map();
    caches.set(store, byTenant);
  }
  const epochKey: Key = [tenantId, EPOCH];
  const onDisk = store.words.get(epochKey) as Buffer | undefined;
  let c = byTenant.get(tenantId);
  if (c === undefined || onDisk === undefined || !onDisk.equals(c.epoch)) {
    // No cache, or the words were dropped since: start over (and anchor the new cache).
    const epoch = onDisk ?? randomBytes(16);
    if (onDisk === undefined) store.words.put(epochKey, epoch);
    c = { epoch, known: new UnitSet(1 << 14), next: 0, pending: [], pendingKey: undefined };
    byTenant.set(tenantId, c);
  } else if (c.pendingKey !== undefined && store.words.doesExist(c.pendingKey)) {
    // The previous write committed: its block holds exactly the pending words.
    for (const f of c.pending) addKnown(c.known, f);
    c.next++;
  }
  c.pending = [];
  c.pendingKey = undefined;
  // Blocks not read yet: all of them for a new cache, else those another store on this LMDB wrote.
  for (;;) {
    const key: Key = [tenantId, c.next];
    const sealed = store.words.getBinary(key);
    if (sealed === undefined) break;
    const pairs = openBlock(store, key, sealed);
    for (let i = 0; i < pairs.length; i += 2) addKnown(c.known, pairs[i]!);
    c.next++;
  }
  return c;
}

function addKnown(known: UnitSet, folded: string): void {
  const h = hashRange(folded, 0, folded.length);
  if (!known.has(folded, 0, folded.length, h)) known.add(folded, 0, folded.length, h);
}

/**
 * Writes the words whose folded form is not stored yet (the first spelling stays) as one block; returns the
 * new ones. `pairs` is folded form and word as written alternating, each ended by '\n' (the last may not
 * be), and `hashes` each pair's hashRange of its folded form: BuiltSegment.words and wordHashes (hashed
 * where the segment was built, while its units were written). Must run inside a write transaction.
 */
export function addWords(store: IndexStore, tenantId: string, pairs: string, hashes: Int32Array): [string, string][] {
  const newWords: [string, string][] = [];
  if (pairs.length === 0) return newWords;
  const c = storedWords(store, tenantId);
  const known = c.known;
  // The new words of this write by folded form (a folded form may repeat; its first word counts).
  const fresh = new SliceTable(64);
  const flat: string[] = [];
  const n = pairs.length;
  let k = 0;
  for (let at = 0; at < n; k++) {
    let end = pairs.indexOf('\n', at);
    if (end < 0) end = n;
    let wordEnd = pairs.indexOf('\n', end + 1);
    if (wordEnd < 0) wordEnd = n;
    const h = hashes[k]!;
    if (end > at && !known.has(pairs, at, end, h) && fresh.find(pairs, at, end, h) < 0) {
      // Copies: Suggest's word list keeps them, and a slice would keep all of `pairs`.
      const folded = ownSubstring(pairs, at, end);
      const word = ownSubstring(pairs, end + 1, wordEnd);
      fresh.add(folded, h);
      flat.push(folded, word);
      newWords.push([folded, word]);
      c.pending.push(folded);
    }
    at = wordEnd + 1;
  }
  if (k !== hashes.length) throw new Error(`a segment's words came with ${hashes.length} hashes for ${k} words`);
  if (flat.length > 0) {
    const key: Key = [tenantId, c.next];
    store.putSealed('words', key, pack(flat));
    c.pendingKey = key;
  }
  return newWords;
}

const FOLD_AT = 4096;

interface TenantWords {
  main: string[];
  delta: string[] | undefined;
  fresh: Set<string>;
  written: Map<string, string>;
  /** Results computed from these words (derived), each valid while `written` has the size it had. */
  derived?: Map<string, { size: number; value: unknown }>;
}

/** Results kept per tenant by `derived` (prefix stems of recent queries). */
const DERIVED_LIMIT = 1024;

/** A tenant's words being loaded: the words writes added since the load began, in order. */
interface Loading {
  readonly added: (readonly [string, string])[];
  cancelled: boolean;
}

export class WordList {
  readonly #loading = new TenantLoads<Loading, TenantWords>();
  readonly #tenants = this.#loading.loaded;
  constructor(private readonly store: IndexStore) {}

  /** The tenant's folded words as sorted lists (search each: a small delta is not merged per query). */
  lists(tenantId: string): (readonly string[])[] {
    const t = this.#tenant(tenantId);
    if (t.fresh.size === 0) return [t.main];
    t.delta ??= [...t.fresh].sort();
    if (t.fresh.size < FOLD_AT) return [t.main, t.delta];
    t.main = mergeSorted(t.main, t.delta);
    t.fresh.clear();
    t.delta = undefined;
    return [t.main];
  }

  /** The word as first written, for a folded form in `lists`. */
  written(tenantId: string, folded: string): string | undefined {
    return this.#tenant(tenantId).written.get(folded);
  }

  /**
   * `compute()` for `key`, computed again once a word was added (words are only ever added until the tenant
   * is dropped, which starts a new set): what a query derives from the words, such as a prefix's stems.
   */
  derived<T>(tenantId: string, key: string, compute: () => T): T {
    const t = this.#tenant(tenantId);
    t.derived ??= new Map();
    const hit = t.derived.get(key);
    if (hit !== undefined && hit.size === t.written.size) return hit.value as T;
    const value = compute();
    t.derived.delete(key);
    remember(t.derived, key, { size: t.written.size, value }, DERIVED_LIMIT);
    return value;
  }

  /** Words a write added (called in its transaction); kept for a load under way, else a no-op until loaded. */
  added(tenantId: string, words: readonly (readonly [string, string])[]): void {
    const t = this.#tenants.get(tenantId);
    if (t === undefined) {
      const loading = this.#loading.get(tenantId);
      if (loading !== undefined) for (const w of words) loading.added.push(w);
      return;
    }
    for (const [folded, word] of words) {
      if (t.written.has(folded)) continue;
      t.written.set(folded, word);
      t.fresh.add(folded);
      t.delta = undefined;
    }
  }

  /** The tenant was dropped: loaded or being loaded, its words are none now (see DocValuesStore.dropped). */
  dropped(tenantId: string): void {
    this.#loading.dropped(tenantId, () => ({ main: [], delta: undefined, fresh: new Set(), written: new Map() }));
  }

  /** Whether the tenant's words are loaded (`lists` answers). */
  loaded(tenantId: string): boolean {
    return this.#tenants.has(tenantId);
  }

  /**
   * Loads the tenant's words in one snapshot, in slices; joins a load under way. As in DocValuesStore.load:
   * the snapshot is taken between index writes after the load began, so each write's words are in it or
   * kept by `added` (in both, the first spelling still wins: the snapshot's are older).
   */
  load(tenantId: string, slicer: Slicer, between: Between): Promise<void> {
    return this.#loading.start(
      tenantId,
      () => ({ added: [], cancelled: false }),
      (loading) => this.#load(tenantId, loading, slicer, between),
    );
  }

  async #load(tenantId: string, loading: Loading, slicer: Slicer, between: Between): Promise<void> {
    const written = new Map<string, string>();
    const transaction = await between(() => this.store.root.useReadTransaction());
    try {
      // The title index's end may have used this slice; the first block is the largest (22k words at 1M).
      if (slicer.due) {
        await slicer.next();
        if (loading.cancelled) return;
      }
      for (const { key, value } of this.store.words.getRange({ start: [tenantId], end: [tenantId, RANGE_END], transaction })) {
        if (typeof (key as Key)[1] !== 'number') continue; // the cache anchor
        const pairs = openBlock(this.store, key as Key, value);
        for (let i = 0; i < pairs.length; i += 2) {
          if (!written.has(pairs[i]!)) written.set(pairs[i]!, pairs[i + 1]!);
          // A tenant's first write holds most of its words (22k in one block at 1M documents).
          if ((i & 4095) === 4094 && slicer.due) {
            await slicer.next();
            if (loading.cancelled) return;
          }
        }
        if (slicer.due) {
          await slicer.next();
          if (loading.cancelled) return;
        }
      }
    } finally {
      transaction.done();
    }
    const main = await sortInSlices([...written.keys()], slicer);
    if (loading.cancelled) return;
    const t: TenantWords = { main, delta: undefined, fresh: new Set(), written };
    this.#tenants.set(tenantId, t);
    this.added(tenantId, loading.added);
  }

  #tenant(tenantId: string): TenantWords {
    const t = this.#tenants.get(tenantId);
    if (t === undefined) throw new Error(`the words of tenant ${tenantId} are not loaded (await the engine's warm-up)`);
    return t;
  }
}
