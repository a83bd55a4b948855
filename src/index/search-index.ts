/**
 * SearchIndex: the durable, tenant-isolated, ranked full-text index on LMDB.
 *
 * Writes (add, delete, merge, drop) go through one queue and each is one LMDB write transaction, so a
 * document is searchable as soon as addDocuments resolves and a crash leaves the index as it was before or
 * after a write, never half-way. Searches read one LMDB snapshot (a read transaction) and never wait for
 * the writer.
 */
import type { RootDatabase, Transaction } from 'lmdb';
import type { RecordCipher } from '../crypto/record-cipher.js';
import type { AnalyserLanguage } from './analyser.js';
import { DEFAULT_COMPOUND_PART_WEIGHT, DEFAULT_FIELD_B, DEFAULT_FIELD_WEIGHTS } from './bm25f.js';
import { type CursorKey, decodeCursor, encodeCursor, type HitKey, isAfter, type ScoringStats } from './cursor.js';
import { isPartTerm, partTerm, wordOfTerm } from './decompound.js';
import {
  type BinaryGetter,
  emptyStats,
  IndexStore,
  type Key,
  type MetaDb,
  RANGE_END,
  reserveSegmentId,
  type SegmentMeta,
  type TenantStats,
  toBuffer,
} from './index-store.js';
import { phraseOccurrences } from './phrase-highlights.js';
import {
  BLOCK_SIZE,
  blockLength,
  decodeBlockDocs,
  decodeNorm,
  decodeSkipTable,
  FIELDS,
  type FieldName,
  MAX_FIELD_POSITION,
  NUM_FIELDS,
  readDf,
  type SkipTable,
} from './postings-codec.js';
import type { ParsedQuery } from './query-ast.js';
import { parseQuery } from './query-parser.js';
import {
  compileQuery,
  type HighlightQuery,
  highlightPlan,
  mapPrefixes,
  NO_HIGHLIGHTS,
  type Plan,
  planTerms,
  withPartTerms,
} from './query-plan.js';
import { BoundedCache, remember } from './remember.js';
import {
  AllDocsScorer,
  ConjunctionScorer,
  DisjunctionScorer,
  ExclusionScorer,
  FieldScorer,
  GroupScorer,
  mayCompete,
  NO_MORE_DOCS,
  PhraseScorer,
  POSITIONS_ONLY,
  type PositionalScorer,
  type PositionsLoader,
  type Scorer,
  type ScoringContext,
  TermScorer,
  TestedScorer,
} from './scorers.js';
import { positionsChunk, prefixTerms, segmentHasTerm, termPositionsReader, termPostings } from './segment-format.js';
import { DEFAULT_MERGE_POLICY, isDeleted, type MergePolicy, newSegmentUid, runMerges } from './segment-merger.js';
import {
  type BuiltSegment,
  buildInThread,
  type IndexDoc,
  SEGMENT_TASK_CHARS,
  type SegmentBuild,
  writeBuiltSegment,
} from './segment-writer.js';
import { makeSnippets, openingSnippet, type Snippet, type ValuePlaces, withValuePlaces } from './snippets.js';
import { type PageHits, spansAt } from './spans.js';
import type { TextStore } from './text-store.js';
import { allSteps, inSlices, type Slicer } from './warm-up.js';

export interface SearchIndexOptions {
  /**
   * Seals everything the index stores about a tenant's text (dictionary blocks, postings, positions,
   * words, per-document values) under the tenant's key; nothing of a document is kept in the clear.
   */
  cipher: RecordCipher;
  /** Where documents are analysed and their segment built (default: in this thread); the server uses the worker pool. */
  analyser?: SegmentBuild;
  /**
   * Segment builds run at once (default: no bound); the server gives its pool's threads. An add asked for
   * while they are all busy waits for one, and adds asked for after it, with no other write between, join it
   * (up to SEGMENT_TASK_CHARS of text): one segment instead of several, less CPU per document (each segment
   * pays for its terms once) and fewer segments to merge. They then commit together, or fail together.
   */
  buildsAtOnce?: number;
  /** Snippet text source; without one, hits carry no snippets. */
  textStore?: TextStore;
  /** Language for documents that do not name one. */
  defaultLanguage?: AnalyserLanguage;
  /** Language queries are analysed with (default 'deu+eng': a word matches either stem). */
  queryLanguage?: AnalyserLanguage;
  /** BM25 saturation. */
  k1?: number;
  /** BM25F field weights. */
  fieldWeights?: Partial<Record<FieldName, number>>;
  /** BM25F length normalisation per field. */
  fieldB?: Partial<Record<FieldName, number>>;
  /**
   * What one occurrence of a word inside a German compound counts for against one of the word itself
   * ("Kaution" in "Mietkaution"): its frequency's weight before BM25's saturation, in (0, 1]. Default
   * DEFAULT_COMPOUND_PART_WEIGHT.
   */
  compoundPartWeight?: number;
  mergePolicy?: Partial<MergePolicy>;
  /** Merge in the background after writes (default true). */
  autoMerge?: boolean;
  /**
   * Totals are exact up to this many matches, estimated beyond (pruning starts there). Default 1 000, as
   * Lucene's: counting 10 000 first cost a phrase of two frequent words at 1M documents ~20k position checks.
   */
  exactTotalUpTo?: number;
  maxPrefixExpansions?: number;
  /** Dictionary keys read per segment while expanding one prefix. */
  prefixScanLimit?: number;
  /** offset + limit may not exceed this. */
  maxResultWindow?: number;
  maxSnippets?: number;
  snippetChars?: number;
  onBackgroundError?: (err: unknown) => void;
  /** Called inside the write transactions (per-document values kept beside the segments; see doc-values.ts). */
  hooks?: IndexWriteHooks;
  /**
   * A segment's document ids held in memory (the engine's value columns, loaded before any query): undefined
   * when there are none, or for a doc it does not know. Picking a filter's page from its kept matches reads
   * every one's id, which from the document's record costs an LMDB read and an AES-GCM open.
   */
  segmentIds?: (
    tenantId: string,
    segment: SegmentRef,
    transaction: Transaction,
  ) => ((local: number) => string | undefined) | undefined;
}

/** A segment as the per-document value columns name it. */
export type SegmentRef = { segmentId: number; segmentUid: string; docs: number };

/** In-transaction write hooks: whatever they write commits or rolls back with the index write. */
export interface IndexWriteHooks {
  /**
   * `docs[i]` is the new segment's local doc i. `newWords`: [folded, as written] pairs the tenant's word list
   * did not have yet.
   */
  added?(tenantId: string, segmentId: number, docs: readonly IndexDoc[], newWords: readonly [string, string][]): void;
  deleted?(tenantId: string, docId: string): void;
  dropped?(tenantId: string): void;
}

/**
 * Sees every live match of a search: facets, other sort orders. Matches arrive per segment in batches of
 * ascending local doc ids (`docs[0..n)`, a buffer reused between calls). Scoring still prunes: a match whose
 * block cannot enter the top k is visited but not scored.
 */
export interface MatchVisitor {
  segment(tenantId: string, segment: SegmentMeta, transaction: Transaction): (docs: Int32Array, n: number) => void;
}

/** An add whose segment build has not started (SearchIndex.addDocuments). */
interface WaitingAdd {
  tenantId: string;
  /** Its documents by id, the last asked for winning; adds joining it add theirs. */
  byId: Map<string, IndexDoc>;
  chars: number;
  /** Starts its build (once). */
  start: () => void;
  /** Its write: the segment id, 0 when nothing was written. */
  done: Promise<{ segmentId: number }>;
}

/** UTF-16 code units of a document's text (its fields' strings). */
function docChars(d: IndexDoc): number {
  let n = 0;
  for (const v of Object.values(d.fields)) {
    if (typeof v === 'string') n += v.length;
    else if (Array.isArray(v)) for (const page of v) if (typeof page === 'string') n += page.length;
  }
  return n;
}

/** Matches handed to a MatchVisitor per call at most. */
const VISIT_BATCH = 2048;
/**
 * Postings kept by segment uid and term (#postingsCache): entries, and bytes (most are views of dictionary
 * blocks and large values the dictionary's own caches hold anyway).
 */
const POSTINGS_CACHE = 16_384;
const POSTINGS_CACHE_BYTES = 64 * 2 ** 20;
/** Chunks of positions kept by segment uid (#chunksCache): 2 048 of POSITIONS_CHUNK bytes, ~32 MiB at most. */
const CHUNKS_CACHE = 2048;
/**
 * Characters of a hit's text read for the places of the query's values: a bound on the recogniser's work per
 * hit (`amount:>100` over ten hits each read to it took ~1–2 ms more than without, docs/performance.md
 * "Snippets of value filters").
 */
const VALUE_SCAN_CHARS = 65_536;
/** Document ids of hits kept (#docId): 64k entries, a few MiB. */
const DOC_ID_CACHE = 65_536;

export interface SearchOptions {
  limit?: number;
  /** From a previous result's nextCursor. */
  cursor?: string;
  /** Score every match (no pruning); for tests and diagnostics. */
  exhaustive?: boolean;
  exactTotalUpTo?: number;
  language?: AnalyserLanguage;
  snippets?: boolean;
  /** Snippets per hit at most (default: the index's maxSnippets). */
  maxSnippets?: number;
  visitor?: MatchVisitor;
  /** Where the values the query filters by are written: shown and highlighted in the hits' snippets too. */
  values?: ValuePlaces;
  /**
   * The words the tenant's index holds as compound part terms, or a superset (the engine's term dictionary):
   * a query word or prefix without any then reads no part term, sparing a dictionary lookup per segment for
   * each. Absent: every word's part terms are looked up.
   */
  partWords?: PartWords;
}

/** Which words are held as compound part terms (decompound.ts partTerm), by word or by prefix. */
export interface PartWords {
  has(word: string): boolean;
  anyStartsWith(prefix: string): boolean;
}

export interface SearchHit {
  docId: string;
  score: number;
  snippets: Snippet[];
  /** The hit's pages as opened for its snippets (those with highlights; the others empty), when it has any. */
  pages?: readonly string[];
}

export interface SearchResult {
  total: number;
  totalExact: boolean;
  hits: SearchHit[];
  nextCursor?: string;
  tookMicros: number;
  /** Index terms the query matched (after prefix/fuzzy expansion) and its phrases: what snippets highlight. */
  highlight?: HighlightQuery;
}

interface SegmentView {
  meta: SegmentMeta;
  rank: number;
  norms: Uint8Array;
  deletes: Uint8Array | undefined;
}

/** A segment's scoring contexts: they differ only in their BM25F factors, a whole word's and a part term's. */
interface SegmentScoring {
  word: ScoringContext;
  part: ScoringContext;
}

export class SearchIndex {
  readonly store: IndexStore;
  readonly #opts: Required<
    Omit<
      SearchIndexOptions,
      | 'cipher'
      | 'analyser'
      | 'buildsAtOnce'
      | 'textStore'
      | 'onBackgroundError'
      | 'fieldWeights'
      | 'fieldB'
      | 'compoundPartWeight'
      | 'mergePolicy'
      | 'hooks'
      | 'segmentIds'
    >
  >;
  readonly #weights: Float64Array;
  readonly #b: Float64Array;
  readonly #partWeight: number;
  #lastInvK: { key: string; table: BM25FTables } | undefined;
  readonly #policy: MergePolicy;
  readonly #textStore: TextStore | undefined;
  readonly #onError: (err: unknown) => void;
  readonly #hooks: IndexWriteHooks | undefined;
  readonly #segmentIds: SearchIndexOptions['segmentIds'];
  #queue: Promise<unknown> = Promise.resolve();
  /** The tombstone batch last in the write queue, not started yet: deletes asked for meanwhile join it. */
  #pendingDeletes: { tenantId: string; ids: Set<string>; done: Promise<Set<string>> } | undefined;
  #merges: Promise<unknown> = Promise.resolve();
  #mergeScheduled = false;
  #closed = false;
  readonly #dirtyTenants = new Set<string>();
  readonly #buildSegment: SegmentBuild;
  readonly #buildsAtOnce: number;
  #building = 0;
  /** Adds whose build waits for a free slot, oldest first. */
  readonly #waitingAdds: WaitingAdd[] = [];
  /** The add last in the write queue, its build not started yet: adds asked for meanwhile join it. */
  #joinable: WaitingAdd | undefined;
  /** Norms by segment uid: segments are immutable, so cached norms never go stale. */
  readonly #normsCache = new Map<string, Uint8Array>();
  /** `${segment uid}/${local doc}` → document id, for hits (#docId). */
  readonly #docIds = new Map<string, string>();
  /**
   * A query's postings by `${segment uid}\0${term}` (undefined: the segment lacks the term), oldest first,
   * bounded in entries and bytes. Segments are immutable, so an entry never goes stale. The dictionary's
   * caches check each lookup against LMDB (a read of the block directory, the block and a large value per
   * term and segment): after another process's work evicted the CPU caches, those reads cost a phrase of
   * two words ~0.2 ms of ~3 at 1M documents.
   */
  readonly #postingsCache = new BoundedCache<Uint8Array | undefined>(POSTINGS_CACHE, POSTINGS_CACHE_BYTES);
  /**
   * Chunks of positions by `${segment uid}\0${chunk no}`, oldest first, as #postingsCache keeps postings: the
   * opened chunks' cache checks each read against LMDB, ~25 reads of ~6 µs each for a phrase of two words at
   * 1M documents once another process's work has evicted the CPU caches.
   */
  readonly #chunksCache = new BoundedCache<Uint8Array | undefined>(CHUNKS_CACHE);

  constructor(root: RootDatabase, options: SearchIndexOptions) {
    this.store = new IndexStore(root, options.cipher);
    this.#buildSegment = options.analyser ?? buildInThread;
    this.#buildsAtOnce = options.buildsAtOnce ?? Number.POSITIVE_INFINITY;
    this.#textStore = options.textStore;
    this.#onError = options.onBackgroundError ?? (() => {});
    this.#hooks = options.hooks;
    this.#segmentIds = options.segmentIds;
    this.#opts = {
      defaultLanguage: options.defaultLanguage ?? 'deu+eng',
      queryLanguage: options.queryLanguage ?? 'deu+eng',
      k1: options.k1 ?? 1.2,
      autoMerge: options.autoMerge ?? true,
      exactTotalUpTo: options.exactTotalUpTo ?? 1_000,
      maxPrefixExpansions: options.maxPrefixExpansions ?? 64,
      prefixScanLimit: options.prefixScanLimit ?? 10_000,
      maxResultWindow: options.maxResultWindow ?? 10_000,
      maxSnippets: options.maxSnippets ?? 2,
      snippetChars: options.snippetChars ?? 200,
    };
    this.#weights = Float64Array.from(FIELDS, (f) => options.fieldWeights?.[f] ?? DEFAULT_FIELD_WEIGHTS[f]);
    this.#b = Float64Array.from(FIELDS, (f) => options.fieldB?.[f] ?? DEFAULT_FIELD_B[f]);
    const partWeight = options.compoundPartWeight ?? DEFAULT_COMPOUND_PART_WEIGHT;
    if (!(partWeight > 0 && partWeight <= 1)) throw new Error(`compoundPartWeight must be in (0, 1], not ${partWeight}`);
    this.#partWeight = partWeight;
    this.#policy = { ...DEFAULT_MERGE_POLICY, ...options.mergePolicy };
  }

  // ---------------------------------------------------------------- writes

  /** Run `fn` after every earlier write: one writer. */
  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('SearchIndex is closed'));
    // A write queued behind the pending tombstone batch (or add): a delete joining the batch now would jump
    // it, as would an add joining the add.
    this.#pendingDeletes = undefined;
    this.#joinable = undefined;
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Run `fn` in the write queue: no add, delete or drop is in flight meanwhile (warm-up snapshots, warm-up.ts). */
  exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    return this.#enqueue(async () => fn());
  }

  /**
   * Index documents as one new segment (or with the add before them, see `buildsAtOnce`); a document whose
   * id exists replaces it (delete + add). Resolves when they are searchable, with their segment and how many
   * of these documents it took.
   */
  addDocuments(tenantId: string, docs: readonly IndexDoc[]): Promise<{ segmentId: number; docs: number }> {
    checkTenant(tenantId);
    // Last one wins within a batch.
    const byId = new Map<string, IndexDoc>();
    let chars = 0;
    for (const d of docs) {
      if (typeof d.docId !== 'string' || d.docId.length === 0) throw new Error('every document needs a docId');
      byId.delete(d.docId);
      byId.set(d.docId, d);
      chars += docChars(d);
    }
    // This add's own count: a later add joining it adds to its map.
    const count = byId.size;
    const own = (r: { segmentId: number }) => ({ segmentId: r.segmentId, docs: r.segmentId === 0 ? 0 : count });
    const joined = this.#joinable;
    if (joined !== undefined && joined.tenantId === tenantId && joined.chars + chars <= SEGMENT_TASK_CHARS) {
      // After the documents already there: the last one wins across the adds as within one.
      for (const [id, d] of byId) {
        joined.byId.delete(id);
        joined.byId.set(id, d);
      }
      joined.chars += chars;
      return joined.done.then(own);
    }
    const add: WaitingAdd = {
      tenantId,
      byId,
      chars,
      start: () => {},
      done: Promise.resolve({ segmentId: 0 }),
    };
    // Analysis, the segment's layout and its sealing run beside the writer (in the pool when the server gives
    // an analyser), for a segment id taken when they start; the write keeps its place in the queue, so a
    // later delete of the same document still comes after it.
    let segmentId = 0;
    const built = new Promise<BuiltSegment>((resolve, reject) => {
      add.start = () => {
        this.#building++;
        segmentId = reserveSegmentId(this.store.root, tenantId, this.#stats(tenantId).nextSegmentId);
        let key: Uint8Array | undefined;
        this.store.cipher
          .ready(tenantId)
          .then(() => {
            key = this.store.cipher.recordKey(tenantId, 'index-block');
            return this.#buildSegment([...add.byId.values()], this.#opts.defaultLanguage, { tenantId, segmentId, key });
          })
          .finally(() => {
            // The key's copy is not needed once the segment is built (or failed); the slot is free.
            key?.fill(0);
            this.#building--;
            this.#startWaitingAdd();
          })
          .then(resolve, reject);
      };
    });
    built.catch(() => {}); // awaited below; not an unhandled rejection while the queue is busy
    add.done = this.#enqueue(async () => {
      await this.store.cipher.ready(tenantId);
      const segment = await built;
      const numDocs = segment.records.length;
      if (this.#textStore?.put)
        for (const d of add.byId.values()) await this.#textStore.put(tenantId, d.docId, d.fields.body ?? []);
      if (numDocs === 0) return { segmentId: 0 };
      await this.store.root.childTransaction(() => {
        const stats = this.#stats(tenantId);
        for (const id of add.byId.keys()) this.#tombstone(tenantId, id, stats);
        if (this.store.meta.get([tenantId, 'seg', segmentId]) !== undefined)
          throw new Error(`segment ${segmentId} of tenant ${tenantId} exists already`);
        stats.nextSegmentId = Math.max(stats.nextSegmentId, segmentId + 1);
        const written = writeBuiltSegment(this.store, tenantId, segmentId, segment);
        this.#hooks?.added?.(tenantId, segmentId, [...add.byId.values()], written.newWords);
        const meta: SegmentMeta = { id: segmentId, uid: newSegmentUid(), docs: numDocs, deleted: 0 };
        this.store.meta.put([tenantId, 'seg', segmentId], meta);
        stats.docs += numDocs;
        for (const r of segment.records) for (let f = 0; f < NUM_FIELDS; f++) stats.lengthSum[f]! += r.lengths[f]!;
        this.store.meta.put([tenantId, 'stats'], stats);
      });
      this.#afterWrite(tenantId);
      return { segmentId };
    });
    if (this.#building < this.#buildsAtOnce) add.start();
    else {
      this.#waitingAdds.push(add);
      this.#joinable = add;
    }
    return add.done.then(own);
  }

  /** A build slot is free: the oldest waiting add starts (and takes no more documents). */
  #startWaitingAdd(): void {
    const next = this.#waitingAdds.shift();
    if (next === undefined) return;
    if (this.#joinable === next) this.#joinable = undefined;
    next.start();
  }

  /** Delete a document; it disappears from results when this resolves. Returns false if unknown. */
  deleteDocument(tenantId: string, docId: string): Promise<boolean> {
    return this.#deleteBatch(tenantId, [docId]).then((found) => found.has(docId));
  }

  /** Delete documents in one write transaction; they disappear from results when this resolves. Returns how many were known. */
  deleteDocuments(tenantId: string, docIds: readonly string[]): Promise<number> {
    return this.#deleteBatch(tenantId, docIds).then((found) => [...new Set(docIds)].filter((id) => found.has(id)).length);
  }

  /**
   * Queues the tombstones of `docIds`, or adds them to the batch still waiting last in the queue (as if queued
   * right after it). A Delete asks for a document and each of its descendants separately but at once (the
   * indexer's remove per document): 10 000 archive members were 10 000 write transactions, ~4 ms each, and
   * every other tenant's Delete and Tag waited behind them.
   */
  #deleteBatch(tenantId: string, docIds: readonly string[]): Promise<Set<string>> {
    checkTenant(tenantId);
    let batch = this.#pendingDeletes;
    if (batch?.tenantId !== tenantId) {
      const ids = new Set<string>();
      const done = this.#enqueue(async () => {
        if (this.#pendingDeletes?.ids === ids) this.#pendingDeletes = undefined;
        await this.store.cipher.ready(tenantId);
        const found = await this.store.root.childTransaction(() => {
          const stats = this.#stats(tenantId);
          const hits = new Set<string>();
          for (const id of ids) {
            if (!this.#tombstone(tenantId, id, stats)) continue;
            hits.add(id);
            this.#hooks?.deleted?.(tenantId, id);
          }
          if (hits.size > 0) this.store.meta.put([tenantId, 'stats'], stats);
          return hits;
        });
        for (const id of found) await this.#textStore?.delete?.(tenantId, id);
        if (found.size > 0) this.#afterWrite(tenantId);
        return found;
      });
      batch = { tenantId, ids, done };
      this.#pendingDeletes = batch;
    }
    for (const id of docIds) batch.ids.add(id);
    return batch.done;
  }

  /**
   * Tenants whose index must be rebuilt from the stored documents: every tenant when the index on disk was
   * written in another layout (their old data is dropped here, at once, so no query reads it), and any whose
   * rebuild was interrupted. Each stays listed until `rebuilt(tenant)`, so a crash mid-rebuild resumes it.
   */
  async prepareFormat(): Promise<string[]> {
    const meta = this.store.meta as unknown as MetaDb;
    const stored = meta.get(FORMAT_KEY);
    if (stored !== INDEX_FORMAT) {
      // Each drop lists its tenant for rebuild in the same write; the layout is recorded once all are dropped.
      for (const t of this.tenants()) await this.dropTenant(t, { rebuild: true });
      await this.#enqueue(async () => {
        await meta.put(FORMAT_KEY, INDEX_FORMAT);
      });
    }
    return this.rebuildsPending();
  }

  /** Tenants listed for rebuild (by `prepareFormat` or `dropTenant(t, { rebuild: true })`) and not yet `rebuilt`. */
  rebuildsPending(): string[] {
    const pending: string[] = [];
    for (const key of this.store.meta.getKeys({ start: REBUILD_KEY, end: [...REBUILD_KEY, RANGE_END] }))
      pending.push((key as Key)[2] as string);
    return pending;
  }

  /** A tenant listed by `prepareFormat` has been rebuilt. */
  rebuilt(tenantId: string): Promise<void> {
    return this.#enqueue(async () => {
      await (this.store.meta as unknown as MetaDb).remove([...REBUILD_KEY, tenantId]);
    });
  }

  /**
   * Remove every trace of a tenant from the index (before a reindex, or on erasure). With `rebuild` the
   * tenant is listed for rebuild in the same write (`prepareFormat` lists it until `rebuilt(tenant)`), so a
   * reindex cut short by a shutdown or a kill resumes at the next start instead of leaving it half indexed.
   */
  dropTenant(tenantId: string, options: { rebuild?: boolean } = {}): Promise<void> {
    checkTenant(tenantId);
    return this.#enqueue(async () => {
      await this.store.root.childTransaction(() => {
        for (const db of this.store.all()) {
          const keys = [...db.getKeys({ start: [tenantId], end: [tenantId, RANGE_END] })];
          for (const k of keys) db.remove(k as Key);
        }
        if (options.rebuild) (this.store.meta as unknown as MetaDb).put([...REBUILD_KEY, tenantId], true);
        this.#hooks?.dropped?.(tenantId);
      });
      this.#dirtyTenants.delete(tenantId);
      await this.#textStore?.dropTenant?.(tenantId);
    });
  }

  /**
   * Run merges: by default what the tiered policy asks for, for every tenant; `force` merges each tenant's
   * segments into one (and purges all tombstones).
   */
  merge(options: { tenantId?: string; force?: boolean } = {}): Promise<number> {
    if (this.#closed) return Promise.reject(new Error('SearchIndex is closed'));
    // Merges run beside the write queue (adds stay fresh meanwhile), one at a time; see segment-merger.ts.
    const run = this.#merges.then(async () => {
      const tenants = options.tenantId !== undefined ? [options.tenantId] : this.tenants();
      for (const t of tenants) await this.store.cipher.ready(t);
      const merges = await runMerges(this.store, tenants, { force: options.force ?? false, policy: this.#policy });
      for (const t of tenants) this.#dirtyTenants.delete(t);
      return merges;
    });
    this.#merges = run.catch(() => {});
    return run;
  }

  /** Wait for pending writes and merges, then refuse new ones. The RootDatabase stays the caller's. */
  async close(): Promise<void> {
    await this.#queue;
    await this.#merges;
    this.#closed = true;
  }

  #afterWrite(tenantId: string): void {
    if (!this.#opts.autoMerge) return;
    this.#dirtyTenants.add(tenantId);
    if (this.#mergeScheduled) return;
    this.#mergeScheduled = true;
    setImmediate(() => {
      this.#mergeScheduled = false;
      if (this.#closed) return;
      const tenants = [...this.#dirtyTenants];
      for (const t of tenants) this.merge({ tenantId: t }).catch(this.#onError);
    });
  }

  #stats(tenantId: string, txn?: Transaction): TenantStats {
    const s = this.store.meta.get([tenantId, 'stats'], txn ? { transaction: txn } : undefined) as TenantStats | undefined;
    return s ? { ...s, lengthSum: [...s.lengthSum] } : emptyStats();
  }

  /** termPostings through #postingsCache. */
  #termPostings(tenantId: string, seg: SegmentMeta, term: string, transaction: Transaction): Uint8Array | undefined {
    return this.#postingsCache.get(`${seg.uid}\0${term}`, () => termPostings(this.store, tenantId, seg.id, term, transaction));
  }

  /** Chunk `no` of a segment's positions through #chunksCache. */
  #positionsChunk(tenantId: string, seg: SegmentMeta, no: number, transaction: Transaction): Uint8Array | undefined {
    return this.#chunksCache.get(`${seg.uid}\0${no}`, () => positionsChunk(this.store, tenantId, seg.id, no, transaction));
  }

  #segments(tenantId: string, txn?: Transaction): SegmentMeta[] {
    const out: SegmentMeta[] = [];
    for (const { value } of this.store.meta.getRange({
      start: [tenantId, 'seg'],
      end: [tenantId, 'seg', RANGE_END],
      ...(txn ? { transaction: txn } : {}),
    }))
      out.push(value as SegmentMeta);
    return out;
  }

  /**
   * Asks, for one snapshot of the tenant's segments, whether a live document still holds a term: the
   * in-memory term dictionary keeps a deleted document's terms until its next load, and the segments keep
   * them until a merge purges the document (Suggest asks before it offers a word). A term's doc ids are read
   * only up to the first live one, so a frequent term stops in its first block; its postings come through
   * the searches' cache (#termPostings). Call `done` when finished.
   */
  liveTerms(tenantId: string): { holds(term: string): boolean; done(): void } {
    const transaction = this.store.root.useReadTransaction();
    const segments = this.#segments(tenantId, transaction).map((meta) => ({
      meta,
      deletes:
        meta.deleted > 0
          ? (this.store.deletes as unknown as BinaryGetter).getBinary([tenantId, meta.id], { transaction })
          : undefined,
    }));
    const docs = new Int32Array(BLOCK_SIZE);
    const holds = (term: string): boolean => {
      for (const { meta, deletes } of segments) {
        // Without tombstones the dictionary entry is enough (a frequent term's postings are not loaded).
        if (deletes === undefined) {
          if (segmentHasTerm(this.store, tenantId, meta.id, term, transaction)) return true;
          continue;
        }
        const postings = this.#termPostings(tenantId, meta, term, transaction);
        if (postings === undefined) continue;
        const skip = skipTableOf(postings);
        for (let b = 0; b < skip.blockCount; b++) {
          decodeBlockDocs(postings, skip, b, docs);
          for (let i = 0, n = blockLength(skip, b); i < n; i++) if (!isDeleted(deletes, docs[i]!)) return true;
        }
      }
      return false;
    };
    return {
      // A word found only inside compounds is live by its part term (decompound.ts).
      holds: (term) => holds(term) || (!isPartTerm(term) && holds(partTerm(term))),
      done: () => transaction.done(),
    };
  }

  /** Every tenant with an index (a stats record). */
  tenants(): string[] {
    const out: string[] = [];
    for (const key of this.store.meta.getKeys()) {
      const k = key as Key;
      if (k[1] === 'stats') out.push(k[0] as string);
    }
    return out;
  }

  /** Mark a document deleted (inside a write transaction). */
  #tombstone(tenantId: string, docId: string, stats: TenantStats): boolean {
    const where = this.store.ids.get([tenantId, docId]);
    if (where === undefined) return false;
    const [segId, local] = where;
    const meta = this.store.meta.get([tenantId, 'seg', segId]) as SegmentMeta | undefined;
    const rec = this.store.doc(tenantId, segId, local);
    this.store.ids.remove([tenantId, docId]);
    this.store.spans.remove([tenantId, docId]);
    if (meta === undefined || rec === undefined) return true;
    const bits = new Uint8Array(Math.ceil(meta.docs / 8));
    const old = this.store.deletes.getBinary([tenantId, segId]);
    if (old) bits.set(old.subarray(0, bits.length));
    bits[local >>> 3]! |= 1 << (local & 7);
    this.store.deletes.put([tenantId, segId], toBuffer(bits));
    this.store.meta.put([tenantId, 'seg', segId], { ...meta, deleted: meta.deleted + 1 });
    stats.docs -= 1;
    for (let f = 0; f < NUM_FIELDS; f++) stats.lengthSum[f]! -= rec.lengths[f] ?? 0;
    return true;
  }

  // ---------------------------------------------------------------- search

  /** Search a tenant. Throws QuerySyntaxError for a malformed query string. */
  async search(tenantId: string, query: string | ParsedQuery, options: SearchOptions = {}): Promise<SearchResult> {
    const t0 = process.hrtime.bigint();
    checkTenant(tenantId);
    await this.store.cipher.ready(tenantId);
    const ast = typeof query === 'string' ? parseQuery(query) : query.ast;
    const limit = Math.max(0, Math.min(options.limit ?? 10, this.#opts.maxResultWindow));
    const cursor = decodeCursor(options.cursor);
    const offset = cursor.offset;
    const k = Math.min(offset + limit, this.#opts.maxResultWindow);
    const language = options.language ?? this.#opts.queryLanguage;
    const compiled = compileQuery(ast, language);
    let core: Snapshot = {
      total: 0,
      totalExact: true,
      hits: [],
      highlight: NO_HIGHLIGHTS,
    };
    const withSnippets = this.#textStore !== undefined && options.snippets !== false;
    let highlights: Map<number, PageHits>[] = [];
    if (compiled !== undefined && k > offset) {
      const txn = this.store.root.useReadTransaction();
      try {
        core = this.#searchSnapshot(tenantId, compiled, k, options, txn, cursor.after);
        if (withSnippets)
          highlights = this.#highlightsIn(
            tenantId,
            core.hits.slice(offset, k) as Located[],
            core.highlight,
            txn,
            core.postingsOf,
          );
      } finally {
        txn.done();
      }
    }
    const page = core.hits.slice(offset, k);
    const hits: SearchHit[] = [];
    for (const [i, h] of page.entries())
      hits.push(await this.hitWithSnippets(tenantId, h.docId, h.score, highlights[i], options.maxSnippets, options.values));
    const result: SearchResult = {
      total: core.total,
      totalExact: core.totalExact,
      hits,
      tookMicros: Number((process.hrtime.bigint() - t0) / 1000n),
      highlight: core.highlight,
    };
    if (core.more && k < this.#opts.maxResultWindow) result.nextCursor = encodeCursor(k, page[page.length - 1], core.scoredWith);
    return result;
  }

  /**
   * A hit and its snippets: the densest windows (snippets.ts), at most `max` (default maxSnippets), of the
   * pages its highlights (by page index) are on, those pages' text opened for them and kept in
   * SearchHit.pages. With `values` (the query filters by values), every page is opened and the places
   * where such a value is written are highlighted too (withValuePlaces). A hit with no highlight in its body
   * (a title match, a filter by a value not written in it) gets the opening of its first page. No
   * highlights asked for (`undefined`), or no text store, give a hit without snippets.
   */
  async hitWithSnippets(
    tenantId: string,
    docId: string,
    score: number,
    highlights: ReadonlyMap<number, PageHits> | undefined,
    max = this.#opts.maxSnippets,
    values?: ValuePlaces,
  ): Promise<SearchHit> {
    const hit: SearchHit = { docId, score, snippets: [] };
    if (this.#textStore === undefined || highlights === undefined) return hit;
    const wanted = values !== undefined ? undefined : new Set(highlights.size > 0 ? highlights.keys() : [0]);
    const pages = await this.#textStore.get(tenantId, docId, wanted);
    if (pages === undefined) return hit;
    const found = values !== undefined ? withValuePlaces(pages, highlights, values, max, VALUE_SCAN_CHARS) : highlights;
    if (found.size === 0) {
      const opening = openingSnippet(pages[0], this.#opts.snippetChars);
      if (opening !== undefined) {
        hit.snippets = [opening];
        hit.pages = pages;
      }
      return hit;
    }
    hit.snippets = makeSnippets(pages, found, { maxSnippets: max, windowChars: this.#opts.snippetChars });
    hit.pages = pages;
    return hit;
  }

  /**
   * Where the terms a query matched (`query`, from a SearchResult) occur in the body of each of the tenant's
   * documents `docIds`, by page index; an empty map for a document not in the index. For hits found
   * elsewhere than `search` (the date and title orders, engine.ts).
   */
  async highlights(tenantId: string, docIds: readonly string[], query: HighlightQuery): Promise<Map<number, PageHits>[]> {
    checkTenant(tenantId);
    await this.store.cipher.ready(tenantId);
    const txn = this.store.root.useReadTransaction();
    try {
      const located: Located[] = [];
      const at: number[] = [];
      for (const [i, docId] of docIds.entries()) {
        const where = this.store.ids.get([tenantId, docId], { transaction: txn });
        if (where === undefined) continue;
        located.push({ docId, at: where });
        at.push(i);
      }
      const found = this.#highlightsIn(tenantId, located, query, txn);
      const out = docIds.map(() => new Map<number, PageHits>());
      for (const [j, i] of at.entries()) out[i] = found[j]!;
      return out;
    } finally {
      txn.done();
    }
  }

  /**
   * Each hit's highlights in the snapshot `transaction`: the body positions of the query's terms in it, read
   * from the postings (the term numbered by its index in `terms`), those of words only asked for in phrases
   * kept where a phrase matches, mapped to page characters by the document's stored spans (spans.ts). No
   * page is re-analysed.
   */
  #highlightsIn(
    tenantId: string,
    hits: readonly Located[],
    query: HighlightQuery,
    transaction: Transaction,
    postingsOf: (term: string, segmentId: number) => Uint8Array | undefined = (term, segmentId) =>
      termPostings(this.store, tenantId, segmentId, term, transaction),
  ): Map<number, PageHits>[] {
    const { terms } = query;
    const positions: number[][] = hits.map(() => []);
    const termOf: number[][] = hits.map(() => []);
    // Per segment its hits in doc order, so each term's postings are walked forward once.
    const bySegment = new Map<number, number[]>();
    for (const [i, h] of hits.entries()) {
      const list = bySegment.get(h.at[0]);
      if (list === undefined) bySegment.set(h.at[0], [i]);
      else list.push(i);
    }
    for (const [segmentId, list] of bySegment) {
      list.sort((a, b) => hits[a]!.at[1] - hits[b]!.at[1]);
      for (const [t, term] of terms.entries()) {
        const p = postingsOf(term, segmentId);
        if (p === undefined) continue;
        const walk = new TermScorer(p, skipTableOf(p), POSITIONS_ONLY, 0, termPositionsReader(p, transaction));
        for (const i of list) {
          const doc = hits[i]!.at[1];
          if (walk.doc > doc || walk.advance(doc) !== doc) continue;
          // Field-based positions, the body's (field 0) first; the last one a field can hold also stands for
          // every position past it (fieldPosition), so it names no word.
          const found = walk.positions();
          const n = Math.min(found.length, HIGHLIGHT_POSITIONS);
          for (let j = 0; j < n; j++) {
            const q = found[j]!;
            if (q >= MAX_FIELD_POSITION) break;
            positions[i]!.push(q);
            termOf[i]!.push(t);
          }
        }
      }
    }
    return hits.map((h, i) => {
      let pos = positions[i]!;
      if (query.phrases.length > 0) {
        const keep = phraseOccurrences(pos, termOf[i]!, terms, query.phrases, query.loose);
        termOf[i] = termOf[i]!.filter((_, k) => keep[k]);
        pos = pos.filter((_, k) => keep[k]);
      }
      if (pos.length === 0) return new Map();
      const spans = this.store.get('spans', [tenantId, h.docId], transaction);
      if (spans === undefined) return new Map();
      // In position order (terms' lists are each ascending); at one position, in term order.
      const order = pos.map((_, k) => k).sort((a, b) => pos[a]! - pos[b]! || termOf[i]![a]! - termOf[i]![b]!);
      return spansAt(
        spans,
        order.map((k) => pos[k]!),
        order.map((k) => termOf[i]![k]!),
      );
    });
  }

  #searchSnapshot(
    tenantId: string,
    compiled: Plan,
    k: number,
    options: SearchOptions,
    transaction: Transaction,
    after?: CursorKey,
  ): Snapshot {
    const topt = { transaction };
    const current = this.#stats(tenantId, transaction);
    // Later pages are scored with the first page's statistics (cursor.ts), which the cursor carries.
    const pinned = after?.st;
    const stats: TenantStats = pinned ? { ...current, docs: pinned.n, lengthSum: [...pinned.ls] } : current;
    const segments = this.#segments(tenantId, transaction);
    const empty = { total: 0, totalExact: true, hits: [], highlight: NO_HIGHLIGHTS };
    if (segments.length === 0) return empty;
    const parts = options.partWords;
    const plan = withPartTerms(
      mapPrefixes(compiled, (prefix) => this.#expandPrefix(tenantId, segments, prefix, transaction, parts)),
      parts && ((t) => parts.has(t)),
    );
    const terms = planTerms(plan);
    // Postings of every term in every segment, and tenant-wide document frequencies.
    const postings = new Map<string, (Uint8Array | undefined)[]>();
    const idfk1 = new Map<string, number>();
    const k1 = this.#opts.k1;
    const scoredWith: ScoringStats = { n: stats.docs, ls: [...stats.lengthSum], df: {} };
    for (const term of terms) {
      const perSeg = segments.map((s) => this.#termPostings(tenantId, s, term, transaction));
      let df = pinned && Object.hasOwn(pinned.df, term) ? pinned.df[term]! : -1;
      if (df < 0) {
        df = 0;
        for (const p of perSeg) if (p) df += readDf(p);
      }
      scoredWith.df[term] = df;
      postings.set(term, perSeg);
      const n = Math.max(stats.docs, df);
      idfk1.set(term, Math.log(1 + (n - df + 0.5) / (df + 0.5)) * (k1 + 1));
    }
    const { invK, partInvK } = this.#invK(stats);
    const views: SegmentView[] = segments.map((meta, rank) => ({
      meta,
      rank,
      norms: this.#norms(tenantId, meta, transaction),
      deletes:
        meta.deleted > 0 ? (this.store.deletes as unknown as BinaryGetter).getBinary([tenantId, meta.id], topt) : undefined,
    }));
    const exactUpTo =
      options.exhaustive || options.visitor ? Number.POSITIVE_INFINITY : (options.exactTotalUpTo ?? this.#opts.exactTotalUpTo);
    // With a visitor every match is counted and visited; only scoring is pruned (by block bounds).
    const boundPrune = options.visitor !== undefined && !options.exhaustive;
    const batch = options.visitor ? new Int32Array(VISIT_BATCH) : undefined;
    // A segment's scorer of the plan: its words' and their compound parts' BM25F factors (#invK).
    const build = (view: SegmentView) =>
      this.#build(
        plan,
        view,
        postings,
        idfk1,
        {
          word: { norms: view.norms, segmentDocs: view.meta.docs, invK, k1 },
          part: { norms: view.norms, segmentDocs: view.meta.docs, invK: partInvK, k1 },
        },
        tenantId,
        transaction,
      );
    if (after?.d !== undefined) {
      // Re-score the cursor's document where it is now: writes since the last page shift scores.
      const at = this.store.ids.get([tenantId, after.d], topt);
      const view = at && views.find((v) => v.meta.id === at[0]);
      const scorer = at && view && !isDeleted(view.deletes, at[1]) ? build(view) : undefined;
      if (at && scorer && scorer.advance(at[1]) === at[1]) after = { ...after, s: scorer.score(), g: at[0], l: at[1] };
    }
    // Equal scores rank by document id (TopK), read only for a tie.
    const heap = new TopK(k, (rank, doc) => this.#docId(tenantId, views[rank]!.meta, doc, transaction));
    let total = 0;
    let pruningFrom = -1;
    // Whether matches were passed over unseen (pruning): then some may follow the page.
    let pruned = false;
    // The documents of the segments that can match (a scorer there): a segment without the query's terms
    // holds none, so the estimate beyond the exact count extrapolates over these only.
    let spaceBefore = 0;
    let totalSpace = 0;
    // Nothing the scorer can still find beats the heap, nor ties with it (a tie may still enter by its id).
    const done = (scorer: Scorer) => scorer.exactMax() && scorer.maxScore() < heap.minScore();
    // Value filters alone: every match scores 0, so the order is the ids' alone. The segments are walked to
    // count (up to the bound, as before) and to keep the matches; the page then comes from those when all of
    // them were kept, or else from a walk of the ids in order (#zeroScoreWalk). Past the bound a sparse
    // filter is scanned to its end, keeping every match, when that costs less than the walk (ZeroMatches).
    const zero = scoresZero(plan)
      ? new ZeroMatches(
          k + 1,
          views.reduce((n, v) => n + v.meta.docs, 0),
        )
      : undefined;
    for (const view of views) {
      const scorer = build(view);
      if (scorer === undefined) continue;
      totalSpace += view.meta.docs;
      const visit = options.visitor?.segment(tenantId, view.meta, transaction);
      if (visit !== undefined && batch !== undefined) {
        const idOf = (d: number) => this.#docId(tenantId, view.meta, d, transaction);
        total += this.#visitAll(scorer, view, visit, batch, heap, boundPrune, after, idOf, zero);
      } else if (zero !== undefined) {
        // Past the bound, matches are only kept (not counted), and only while the scan goes on.
        if (total <= exactUpTo || zero.whole)
          for (let d = scorer.nextDoc(); d < NO_MORE_DOCS; d = scorer.nextDoc()) {
            if (isDeleted(view.deletes, d)) continue;
            zero.add(view.rank, d);
            if (total > exactUpTo) {
              if (!zero.whole) break;
            } else if (++total > exactUpTo) {
              pruningFrom = spaceBefore + d + 1;
              if (!zero.scanOn(total, pruningFrom)) break;
            }
          }
      } else if (total > exactUpTo && heap.full() && done(scorer)) {
        pruned = true;
      } else {
        if (total > exactUpTo && heap.full()) {
          scorer.setMinCompetitiveScore(heap.minScore());
          pruned = true;
        }
        for (let d = scorer.nextDoc(); d < NO_MORE_DOCS; d = scorer.nextDoc()) {
          if (isDeleted(view.deletes, d)) continue;
          total++;
          // Counting stops at the match past the bound, so a list of exactly the bound's length is exact.
          if (pruningFrom < 0 && total > exactUpTo) pruningFrom = spaceBefore + d + 1;
          const score = scorer.score();
          let id: string | undefined;
          if (after !== undefined && score >= after.s) {
            const idOf = () => (id ??= this.#docId(tenantId, view.meta, d, transaction));
            if (!isAfter(after, score, idOf, view.meta.id, d)) continue;
          }
          const entered = heap.offer(score, view.rank, d, id);
          if (total > exactUpTo && heap.full() && (entered || total === exactUpTo + 1)) {
            scorer.setMinCompetitiveScore(heap.minScore());
            pruned = true;
            if (done(scorer)) break;
          }
        }
      }
      spaceBefore += view.meta.docs;
    }
    let more = heap.overflowed || pruned;
    if (zero !== undefined) {
      if (zero.whole) {
        // Every match is kept: the page is the first of them by id after the cursor. Each one's id is read,
        // from memory where the value columns have it.
        const inMemory = views.map((v) =>
          this.#segmentIds?.(tenantId, { segmentId: v.meta.id, segmentUid: v.meta.uid, docs: v.meta.docs }, transaction),
        );
        for (let i = 0; i < zero.docs.length; i++) {
          const view = views[zero.ranks[i]!]!;
          const d = zero.docs[i]!;
          const id = inMemory[view.rank]?.(d) ?? this.#docId(tenantId, view.meta, d, transaction);
          if (after !== undefined && !isAfter(after, 0, () => id, view.meta.id, d)) continue;
          heap.offer(0, view.rank, d, id);
        }
      } else this.#zeroScoreWalk(tenantId, views, build, heap, k, after, transaction);
      more = heap.overflowed;
    }
    const totalExact = pruningFrom < 0;
    const estimate = totalExact ? total : Math.max(total, Math.round(((exactUpTo + 1) * totalSpace) / Math.max(1, pruningFrom)));
    const hits = heap.sorted().map(({ score, rank, doc, id }) => {
      const seg = views[rank]!.meta;
      return { docId: id, score, at: [seg.id, doc] as const };
    });
    const rank = new Map(segments.map((seg, r) => [seg.id, r]));
    // The query's postings, for the hits' highlights in the same snapshot.
    const postingsOf = (term: string, segmentId: number): Uint8Array | undefined => {
      const per = postings.get(term);
      const r = rank.get(segmentId);
      return per !== undefined && r !== undefined ? per[r] : termPostings(this.store, tenantId, segmentId, term, transaction);
    };
    // A match after the page exists when one missed the top k, or may when matches were passed over unseen
    // (beyond the exact-count bound: then the last page of a long list can lead to an empty one).
    return { total: estimate, totalExact, hits, highlight: highlightPlan(plan), postingsOf, scoredWith, more };
  }

  /**
   * Every live match of one segment to the visitor (in batches); each is scored unless the scorer's block
   * bound says it cannot enter the top k (then its score is below the heap's minimum, so skipping it changes
   * nothing: the heap takes only higher scores, or ties). Returns the number of live matches.
   */
  #visitAll(
    scorer: Scorer,
    view: SegmentView,
    visit: (docs: Int32Array, n: number) => void,
    batch: Int32Array,
    heap: TopK,
    boundPrune: boolean,
    after: CursorKey | undefined,
    docId: (doc: number) => string,
    keep?: ZeroMatches,
  ): number {
    const deletes = view.deletes;
    const cap = batch.length;
    let n = 0;
    let live = 0;
    // The bound holds for docs up to boundTo, computed against the heap minimum boundMin.
    let boundTo = -1;
    let boundMin = Number.NaN;
    let competitive = true;
    for (let d = scorer.nextDoc(); d < NO_MORE_DOCS; d = scorer.nextDoc()) {
      if (deletes !== undefined && (deletes[d >>> 3]! & (1 << (d & 7))) !== 0) continue;
      live++;
      batch[n++] = d;
      if (n === cap) {
        visit(batch, n);
        n = 0;
      }
      if (keep !== undefined) {
        keep.add(view.rank, d);
        continue;
      }
      if (boundPrune && heap.full()) {
        const min = heap.minScore();
        if (d > boundTo || min !== boundMin) {
          boundTo = scorer.advanceShallow(d);
          boundMin = min;
          competitive = mayCompete(scorer.maxScoreUpTo(boundTo), min);
        }
        if (!competitive) {
          heap.overflowed = true; // a match below the page, passed over unscored
          continue;
        }
      }
      const score = scorer.score();
      let id: string | undefined;
      if (after !== undefined && score >= after.s) {
        const idOf = () => (id ??= docId(d));
        if (!isAfter(after, score, idOf, view.meta.id, d)) continue;
      }
      heap.offer(score, view.rank, d, id);
    }
    if (n > 0) visit(batch, n);
    return live;
  }

  /**
   * The page of a query whose matches all score 0 (value filters alone) when it has too many matches to keep:
   * the tenant's ids in order from the cursor's (LMDB `index-ids`, keyed by id), in growing chunks, each
   * chunk's documents tested segment by segment in local order with a fresh scorer, until one match more
   * than the page is found (the heap overflows) or the ids end. A broad filter reads a few ids per hit; a
   * sparse one gets here only when its matches seemed many where the count stopped (ZeroMatches.scanOn).
   */
  #zeroScoreWalk(
    tenantId: string,
    views: readonly SegmentView[],
    build: (view: SegmentView) => Scorer | undefined,
    heap: TopK,
    k: number,
    after: CursorKey | undefined,
    transaction: Transaction,
  ): void {
    const bySegment = new Map(views.map((v) => [v.meta.id, v]));
    let from = after?.d;
    // A broad filter finds its page in the first few ids; the chunks grow for a sparse one.
    let chunk = Math.min(4 * (k + 1), 1024);
    const ids: string[] = [];
    const at: number[] = [];
    for (;;) {
      ids.length = 0;
      at.length = 0;
      let read = 0;
      for (const { key, value } of this.store.ids.getRange({
        start: [tenantId, from ?? ''],
        end: [tenantId, RANGE_END],
        limit: chunk + 1,
        transaction,
      })) {
        read++;
        const id = (key as Key)[1] as string;
        if (from !== undefined && id <= from) continue;
        const [segmentId, local] = value as [number, number];
        const view = bySegment.get(segmentId);
        if (view === undefined || isDeleted(view.deletes, local)) continue;
        ids.push(id);
        at.push(view.rank * 2 ** 31 + local);
      }
      if (ids.length === 0) return;
      // Test the chunk's documents segment by segment, each in local order (scorers only move forward).
      const order = at.map((_, i) => i).sort((a, b) => at[a]! - at[b]!);
      const matches = new Uint8Array(ids.length);
      let scorer: Scorer | undefined;
      let rank = -1;
      for (const i of order) {
        const r = Math.floor(at[i]! / 2 ** 31);
        const local = at[i]! % 2 ** 31;
        if (r !== rank) {
          rank = r;
          scorer = build(views[r]!);
        }
        if (scorer !== undefined && scorer.doc <= local && scorer.advance(local) === local) matches[i] = 1;
      }
      for (let i = 0; i < ids.length; i++) {
        if (matches[i] === 0) continue;
        const r = Math.floor(at[i]! / 2 ** 31);
        heap.offer(0, r, at[i]! % 2 ** 31, ids[i]!);
        if (heap.overflowed) return;
      }
      if (read <= chunk) return;
      from = ids[ids.length - 1]!;
      chunk = Math.min(chunk * 4, 65_536);
    }
  }

  #build(
    plan: Plan,
    view: SegmentView,
    postings: Map<string, (Uint8Array | undefined)[]>,
    idfk1: Map<string, number>,
    /** The segment's scoring: for whole words, and with the BM25F factors of compound part terms (#invK). */
    ctx: SegmentScoring,
    tenantId: string,
    transaction: Transaction,
  ): Scorer | undefined {
    const termGroup = (
      terms: readonly string[],
      boosts?: readonly number[],
      fieldMask = -1,
      idfEach = false,
    ): PositionalScorer | undefined => {
      // One word's alternatives (its German and English stems, a typo's expansions) share the idf of the
      // most frequent of them, as Lucene's SynonymQuery takes the largest document frequency: with an idf
      // each, the spelling only a few documents hold ("mueller", English, beside the German "mull") ranked a
      // passing mention above documents that say the word more often. A prefix's expansions keep their own
      // (`idfEach`, query-plan.ts). A compound's part terms (withPartTerms) are members too, their
      // frequencies weighted below a whole word's by their own BM25F factors (ctx.part): the group takes a
      // document's best member, so one saying "Kaution" ranks above one saying "Mietkaution" as often.
      let idf = Number.POSITIVE_INFINITY;
      if (!idfEach) for (const term of terms) idf = Math.min(idf, idfk1.get(term)!);
      const members: TermScorer[] = [];
      for (const [i, term] of terms.entries()) {
        const p = postings.get(term)?.[view.rank];
        if (p === undefined) continue;
        const load: PositionsLoader = termPositionsReader(p, transaction, (no) =>
          this.#positionsChunk(tenantId, view.meta, no, transaction),
        );
        const own = idfEach ? idfk1.get(term)! : idf;
        const c = isPartTerm(term) ? ctx.part : ctx.word;
        members.push(new TermScorer(p, skipTableOf(p), c, own * (boosts?.[i] ?? 1), load, fieldMask));
      }
      if (members.length === 0) return undefined;
      return members.length === 1 ? members[0]! : new GroupScorer(members, fieldMask);
    };
    // The segment as value filters see it.
    const segment = { tenantId, segmentId: view.meta.id, segmentUid: view.meta.uid, docs: view.meta.docs };
    switch (plan.kind) {
      case 'terms': {
        const g = termGroup(plan.terms, plan.boosts, plan.fieldMask, plan.idfEach);
        return g !== undefined && plan.fieldMask !== undefined ? new FieldScorer(g, plan.fieldMask) : g;
      }
      case 'prefix':
        return undefined;
      case 'filter':
        return new TestedScorer(new AllDocsScorer(view.meta.docs), [plan.filter.segmentTest(segment, transaction)]);
      case 'phrase': {
        const words: PositionalScorer[] = [];
        for (const w of plan.words) {
          const s = termGroup(w, undefined, plan.fieldMask);
          if (s === undefined) return undefined;
          words.push(s);
        }
        return new PhraseScorer(words, plan.slop ?? 0, plan.fieldMask ?? -1);
      }
      case 'and': {
        const must: Scorer[] = [];
        const tests: ((doc: number) => boolean)[] = [];
        // Value filters beside something that matches by postings test its documents only.
        const testable = plan.must.some((p) => p.kind !== 'filter');
        for (const p of plan.must) {
          if (testable && p.kind === 'filter') {
            tests.push(p.filter.segmentTest(segment, transaction));
            continue;
          }
          const s = this.#build(p, view, postings, idfk1, ctx, tenantId, transaction);
          if (s === undefined) return undefined;
          must.push(s);
        }
        const not = plan.not
          .map((p) => this.#build(p, view, postings, idfk1, ctx, tenantId, transaction))
          .filter((s): s is Scorer => s !== undefined);
        let req = must.length === 1 ? must[0]! : new ConjunctionScorer(must);
        if (tests.length > 0) req = new TestedScorer(req, tests);
        return not.length > 0 ? new ExclusionScorer(req, not) : req;
      }
      case 'or': {
        const should = plan.should
          .map((p) => this.#build(p, view, postings, idfk1, ctx, tenantId, transaction))
          .filter((s): s is Scorer => s !== undefined);
        if (should.length === 0) return undefined;
        return should.length === 1 ? should[0]! : new DisjunctionScorer(should);
      }
    }
  }

  /**
   * The id of a segment's local doc. A segment never changes its records (deletes are tombstones), so the
   * ids of recent hits are kept by segment uid (in memory only): a hit then costs no AES-GCM open and
   * unpack of its record, which was a third of a rare word's query at 1M.
   */
  #docId(tenantId: string, seg: SegmentMeta, doc: number, transaction: Transaction): string {
    const key = `${seg.uid}/${doc}`;
    let id = this.#docIds.get(key);
    if (id === undefined) {
      id = this.store.doc(tenantId, seg.id, doc, transaction)?.id ?? '';
      remember(this.#docIds, key, id, DOC_ID_CACHE);
    }
    return id;
  }

  /**
   * BM25F per-field factors for every norm byte: weight / (1 − b + b · len / avgLen); and the same times the
   * compound part weight, for part terms: a frequency times a factor is what BM25F sums before saturating,
   * so this weights a part's frequencies (as Lucene's SynonymQuery weights a term's), not its score.
   */
  #invK(stats: TenantStats): BM25FTables {
    // The tables change only when the tenant's lengths do: the last ones are kept (1 280 divisions a query,
    // and the same tables keep the block bounds memoised by them, scorers.ts boundsMemo).
    const key = `${stats.docs}/${stats.lengthSum.join('/')}`;
    if (this.#lastInvK?.key === key) return this.#lastInvK.table;
    const invK = new Float64Array(NUM_FIELDS * 256);
    for (let f = 0; f < NUM_FIELDS; f++) {
      const avg = stats.docs > 0 ? stats.lengthSum[f]! / stats.docs : 0;
      const w = this.#weights[f]!;
      const b = this.#b[f]!;
      for (let n = 0; n < 256; n++) invK[f * 256 + n] = avg > 0 ? w / (1 - b + (b * decodeNorm(n)) / avg) : w;
    }
    const partInvK = invK.map((v) => v * this.#partWeight);
    const table = { invK, partInvK };
    this.#lastInvK = { key, table };
    return table;
  }

  /**
   * A segment's norms field by field (ScoringContext.norms), transposed from the stored doc-by-doc layout:
   * scoring a block of a term found only in the body then reads the body's bytes alone, a fifth of the
   * cache lines, which at 1M documents is 1 MB per segment rather than 5.
   */
  #norms(tenantId: string, meta: SegmentMeta, transaction: Transaction): Uint8Array {
    return this.#normsCache.get(meta.uid) ?? allSteps(this.#buildNorms(tenantId, meta, transaction));
  }

  /** #norms built and cached, in steps of 64k documents. */
  *#buildNorms(tenantId: string, meta: SegmentMeta, transaction: Transaction): Generator<void, Uint8Array> {
    const stored = (this.store.norms as unknown as BinaryGetter).getBinary([tenantId, meta.id], { transaction });
    const n = new Uint8Array(meta.docs * NUM_FIELDS); // own memory: the cache outlives the snapshot
    if (stored !== undefined)
      for (let from = 0; from < meta.docs; from += 1 << 16) {
        for (let d = from, to = Math.min(meta.docs, from + (1 << 16)); d < to; d++)
          for (let f = 0; f < NUM_FIELDS; f++) n[f * meta.docs + d] = stored[d * NUM_FIELDS + f]!;
        yield;
      }
    remember(this.#normsCache, meta.uid, n, 512);
    return n;
  }

  /**
   * Builds the norms of the tenant's segments not cached yet, in the warm-up's slices: the first query after
   * a start then finds them (at 1M documents, transposing them was the largest part of its work).
   */
  async warmNorms(tenantId: string, slicer: Slicer): Promise<void> {
    const transaction = this.store.root.useReadTransaction();
    try {
      for (const meta of this.#segments(tenantId, transaction))
        if (!this.#normsCache.has(meta.uid)) await inSlices(this.#buildNorms(tenantId, meta, transaction), slicer);
    } finally {
      transaction.done();
    }
  }

  /**
   * Terms starting with `prefix`, shortest first, capped; the scan per segment is bounded too. Compound part
   * terms starting with it count as well (`erkl*` finds "Datenschutzerklärung"): the cap counts words, each
   * read as a word and as a part where the index holds it so.
   */
  #expandPrefix(
    tenantId: string,
    segments: readonly SegmentMeta[],
    prefix: string,
    transaction: Transaction,
    partWords: PartWords | undefined,
  ): string[] {
    const ids = segments.map((s) => s.id);
    const scan = (p: string) => prefixTerms(this.store, tenantId, ids, p, this.#opts.prefixScanLimit, transaction);
    const whole = scan(prefix);
    const parts = partWords === undefined || partWords.anyStartsWith(prefix) ? scan(partTerm(prefix)) : new Set<string>();
    const words = new Set(whole);
    for (const t of parts) words.add(wordOfTerm(t));
    const kept = [...words]
      .sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, this.#opts.maxPrefixExpansions);
    const out = kept.filter((w) => whole.has(w));
    for (const w of kept) if (parts.has(partTerm(w))) out.push(partTerm(w));
    return out;
  }
}

/**
 * Skip tables of postings by identity (a lookup hands out the same postings value or view while its block
 * or large value stays cached: segment-format.ts): a frequent term's table has a header per block of 128
 * documents, decoded once, not per query. Single-block terms decode in no time and are not kept.
 */
const skipTables = new WeakMap<Uint8Array, SkipTable>();
function skipTableOf(postings: Uint8Array): SkipTable {
  let t = skipTables.get(postings);
  if (t === undefined) {
    t = decodeSkipTable(postings);
    if (postings.byteLength > 512) skipTables.set(postings, t);
  }
  return t;
}

/**
 * Version of the stored layout (postings and impacts, dictionary blocks, records; postings-codec.ts,
 * segment-format.ts): bump it with every change, and a server's first start on an older index rebuilds it
 * (`prepareFormat`). 2: block impacts became (tf, norm) frontiers; 3: grouped by the fields holding the term;
 * 4: Suggest's words sealed in one value per write (word-list.ts) instead of one per word; 5: positions
 * without their field (known from the frequencies) in one chunked stream per segment, blocks cut to LMDB's
 * pages; 6: a block's position deltas bit-packed in runs of 128; 7: per-document values in blocks by segment
 * (segment-values.ts) instead of one record per document id; 8: each document's word spans (spans.ts) for
 * snippets without re-analysis; 9: full-width and small forms of the joiners join codes (analyser.ts
 * WIDE_JOINERS) and invisible characters join words (IGNORABLES), so documents holding them are analysed
 * afresh; 10: codes with letters also indexed with their pieces joined, German possessive 's also without
 * it, 24 more compound parts (analyser.ts, decompound.ts): documents indexed before would miss those queries;
 * 11: compound parts indexed as part terms of their own (decompound.ts partTerm), not as the words they
 * spell: queries read both, and an index before would rank compounds as the word itself.
 */
export const INDEX_FORMAT = 11;
/** The BM25F factor tables of a query: for word terms and for compound part terms. */
interface BM25FTables {
  invK: Float64Array;
  partInvK: Float64Array;
}

/** Outside every tenant's key range (tenant ids are never empty). */
const FORMAT_KEY: Key = ['', 'format'];
const REBUILD_KEY: Key = ['', 'rebuild'];

/** What a query found in one snapshot; `postingsOf` reads its terms' postings there (a query with hits). */
type Snapshot = {
  total: number;
  totalExact: boolean;
  hits: { docId: string; score: number; at?: HitKey }[];
  highlight: HighlightQuery;
  postingsOf?: (term: string, segmentId: number) => Uint8Array | undefined;
  /** The statistics the hits were scored with (the next page's cursor carries them). */
  scoredWith?: ScoringStats;
  /** Whether matches may follow the hits (a cursor then). */
  more?: boolean;
};

/**
 * A hit's first occurrences of each term that its snippets are chosen from: a word that occurs thousands of
 * times in a long document would otherwise cost a span and a sort entry each (the windows then come from
 * its first pages, as Elasticsearch's highlighter stops at max_analyzed_offset).
 */
const HIGHLIGHT_POSITIONS = 1000;

/** Matches of a query of value filters alone always kept while counting (their page is picked from them by id). */
const ZERO_KEPT = 1000;

/**
 * What the page of a query of value filters alone costs, in tests of one document by the filter: reading a
 * kept match's id to pick the page (a cached lookup, as a tie's), and one step of the walk of the ids in
 * order (an LMDB entry read, decoded and tested). Measured at 1M documents (docs/performance.md, "Value
 * filters alone just past the bound").
 */
const KEPT_ID_COST = 20;
const WALK_ID_COST = 60;

/**
 * The matches of a query of value filters alone (all scoring 0), kept while its segments are walked so that
 * its page can be picked from them by id; past what that is worth, the page comes from the walk of the ids
 * in order instead (SearchIndex #zeroScoreWalk), which reads about N / M ids per hit for M matches among N
 * documents. So a broad filter walks (a few ids per hit) and a sparse one keeps all its matches: one of
 * 1 137 matches at 1M walked ~N / 1 000 ids per hit before, 13.5 ms, and takes 9.2 now.
 */
class ZeroMatches {
  readonly ranks: number[] = [];
  readonly docs: number[] = [];
  /** Whether every match seen so far is kept. */
  whole = true;
  /** Beyond this many matches, reading their ids costs more than walking the ids for the page. */
  readonly #cap: number;

  /** `hits`: the hits the page needs (one more than shown: whether more follow); `space`: the documents. */
  constructor(
    private readonly hits: number,
    private readonly space: number,
  ) {
    this.#cap = Math.max(ZERO_KEPT, Math.sqrt((hits * space * WALK_ID_COST) / KEPT_ID_COST));
  }

  add(rank: number, doc: number): void {
    if (!this.whole) return;
    if (this.docs.length >= this.#cap) {
      this.whole = false;
      this.ranks.length = 0;
      this.docs.length = 0;
      return;
    }
    this.ranks.push(rank);
    this.docs.push(doc);
  }

  /**
   * At the exact-count bound, `counted` matches in the first `at` documents: whether to scan on to the end
   * and keep every match (when testing the rest and reading the estimated matches' ids costs less than the
   * walk), or to stop and walk the ids.
   */
  scanOn(counted: number, at: number): boolean {
    const matches = (counted * this.space) / at;
    const scan = this.space - at + matches * KEPT_ID_COST;
    const walk = ((this.hits * at) / counted) * WALK_ID_COST;
    if (!(matches <= this.#cap && scan < walk)) this.whole = false;
    return this.whole;
  }
}

/** Whether every match of the plan scores 0: value filters alone, in any combination, with any exclusions. */
function scoresZero(plan: Plan): boolean {
  switch (plan.kind) {
    case 'filter':
      return true;
    case 'and':
      return plan.must.length > 0 && plan.must.every(scoresZero);
    case 'or':
      return plan.should.length > 0 && plan.should.every(scoresZero);
    default:
      return false;
  }
}

/** A document and where it lies in the index ([segment id, local doc]). */
type Located = { docId: string; at: HitKey };

function checkTenant(tenantId: string): void {
  if (typeof tenantId !== 'string' || tenantId.length === 0) throw new Error('a tenant id is required');
}

/**
 * Bounded top-k by (score desc, document id asc): equal scores in id order, which no merge or reindex
 * changes (segment order did). Scores are compared first; a document's id (`idOf`: a cached lookup) is read
 * only for a tie, in the heap or at its minimum, and kept with its entry.
 */
class TopK {
  private readonly scores: Float64Array;
  private readonly ranks: Int32Array;
  private readonly docs: Int32Array;
  private readonly ids: (string | undefined)[];
  private size = 0;
  constructor(
    private readonly k: number,
    private readonly idOf: (rank: number, doc: number) => string,
  ) {
    this.scores = new Float64Array(k);
    this.ranks = new Int32Array(k);
    this.docs = new Int32Array(k);
    this.ids = new Array<string | undefined>(k).fill(undefined);
  }
  full(): boolean {
    return this.size >= this.k;
  }
  minScore(): number {
    return this.size > 0 ? this.scores[0]! : 0;
  }
  private idAt(i: number): string {
    let id = this.ids[i];
    if (id === undefined) {
      id = this.idOf(this.ranks[i]!, this.docs[i]!);
      this.ids[i] = id;
    }
    return id;
  }
  /** Worse = lower score, or equal score and a greater id. */
  private worse(i: number, j: number): boolean {
    const si = this.scores[i]!;
    const sj = this.scores[j]!;
    if (si !== sj) return si < sj;
    return this.idAt(i) > this.idAt(j);
  }
  private swap(i: number, j: number): void {
    const s = this.scores[i]!;
    this.scores[i] = this.scores[j]!;
    this.scores[j] = s;
    const r = this.ranks[i]!;
    this.ranks[i] = this.ranks[j]!;
    this.ranks[j] = r;
    const d = this.docs[i]!;
    this.docs[i] = this.docs[j]!;
    this.docs[j] = d;
    const id = this.ids[i];
    this.ids[i] = this.ids[j];
    this.ids[j] = id;
  }
  /** Whether a doc was offered to the full heap (so more than k were offered), or passed over below it. */
  overflowed = false;
  /** Returns true when the doc entered the top k; `id` is the doc's id when the caller has it. */
  offer(score: number, rank: number, doc: number, id?: string): boolean {
    if (this.k === 0) return false;
    if (this.size < this.k) {
      let i = this.size++;
      this.scores[i] = score;
      this.ranks[i] = rank;
      this.docs[i] = doc;
      this.ids[i] = id;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this.worse(i, p)) break;
        this.swap(i, p);
        i = p;
      }
      return true;
    }
    this.overflowed = true;
    const min = this.scores[0]!;
    if (score < min) return false;
    if (score === min) {
      // A tie with the minimum: the smaller id ranks first.
      id ??= this.idOf(rank, doc);
      if (!(id < this.idAt(0))) return false;
    } else if (!(score > min)) return false; // NaN
    this.scores[0] = score;
    this.ranks[0] = rank;
    this.docs[0] = doc;
    this.ids[0] = id;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.size && this.worse(l, m)) m = l;
      if (r < this.size && this.worse(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return true;
  }
  /** Best first, with each entry's id. */
  sorted(): { score: number; rank: number; doc: number; id: string }[] {
    const out: { score: number; rank: number; doc: number; id: string }[] = [];
    for (let i = 0; i < this.size; i++)
      out.push({ score: this.scores[i]!, rank: this.ranks[i]!, doc: this.docs[i]!, id: this.idAt(i) });
    return out.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}
