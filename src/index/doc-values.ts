/**
 * Per-document values: what value fields (`tag:`, `date:`, `amount:` …), facets and the date/title sort
 * orders read. Durable with their segment (segment-values.ts: sealed blocks of 128 documents in
 * `index-values`), written by the index's write hook in the same transaction as the segment (so a document
 * and its values appear and vanish together), copied by merges; tag changes rewrite the document's block.
 *
 * Queries read a compact in-memory column store per tenant (typed arrays over a per-process ordinal per
 * document id, interned strings), loaded from LMDB in time slices by the warm-up after a start (`load`;
 * engine.ts awaits it before a tenant's first query) and updated in step by the same hooks, plus a
 * per-segment map local doc → ordinal (segments are immutable, so the map is cached by segment uid).
 */
import type { RootDatabase, Transaction } from 'lmdb';
import { tagKey } from '../store/tags.js';
import type { BinaryGetter, IndexStore } from './index-store.js';
import { NONE, OrdinalSlices } from './ordinal-slices.js';
import type { DocFilter } from './query-ast.js';
import { remember } from './remember.js';
import type { MatchVisitor } from './search-index.js';
import { isDeleted, listSegments } from './segment-merger.js';
import {
  committedEdit,
  decodeValuesBlock,
  decodeValuesBlockIds,
  putSegmentValues,
  segmentValueBlocks,
  updateValue,
  VALUES_BLOCK,
  type ValueEdit,
} from './segment-values.js';
import type { IndexDoc } from './segment-writer.js';
import { TextColumn, TextIds } from './text-column.js';
import { type Between, type Slicer, TenantLoads } from './warm-up.js';

export interface DocValues {
  title: string;
  fileName: string;
  subject: string;
  from: string;
  to: string[];
  /** The document's own date (metadata or recognised), else its upload time; ms UTC. */
  dateMs: number;
  /** Upload time, ms UTC. */
  createdMs: number;
  mediaType: string;
  /** deu | eng | deu+eng | ''. */
  lang: string;
  /** upload | imap | attachment | archive-member | ''. */
  source: string;
  tags: string[];
  /** Dates recognised in the text, ms UTC (midnight). */
  dates: number[];
  amounts: number[];
  /** Upper case, no spaces. */
  ibans: string[];
  /** Invoice and customer numbers, upper case. */
  invoices: string[];
}

/** An IndexDoc that carries its values (the adapters attach them; plain IndexDocs get derived ones). */
export interface ValuedIndexDoc extends IndexDoc {
  values?: DocValues;
  /** Read inside the index write transaction: tags changed after `values` was made are not lost. */
  freshTags?: () => readonly string[] | undefined;
}

export function valuesFromIndexDoc(d: IndexDoc): DocValues {
  return {
    title: d.fields.title ?? '',
    fileName: d.fields.fileName ?? '',
    subject: d.fields.subject ?? '',
    from: d.fields.sender ?? '',
    to: [],
    dateMs: d.createdMs ?? 0,
    createdMs: d.createdMs ?? 0,
    mediaType: d.mediaType ?? '',
    lang: d.language ?? '',
    source: '',
    tags: [],
    dates: [],
    amounts: [],
    ibans: [],
    invoices: [],
  };
}

/** What a document is shown as: its title, else its file name. */
export function titleOf(v: { title: string; fileName: string }): string {
  return v.title || v.fileName;
}

export const FACET_FIELDS = ['type', 'year', 'tag', 'source', 'lang'] as const;
export type FacetField = (typeof FACET_FIELDS)[number];
export interface FacetResult {
  field: FacetField;
  buckets: { value: string; count: number }[];
}

/** Strings to small ints, per tenant. */
class Interner {
  readonly names: string[] = [];
  readonly #ids = new Map<string, number>();
  id(s: string): number {
    let i = this.#ids.get(s);
    if (i === undefined) {
      i = this.names.length;
      this.names.push(s);
      this.#ids.set(s, i);
    }
    return i;
  }
}

/** Years counted in a dense array by the facet collector (others, if any, in a map). */
const YEARS = 4096;

/**
 * Facet values of one segment's documents; see DocValuesStore.segmentFacets. The few distinct (type, language,
 * source, year) combinations of a segment are numbered, and so are its distinct tag sets: counting a match is
 * a read and an increment for each (the counts are spread over the facets once per segment), not one pass
 * per facet and a loop over each document's tags.
 */
export interface SegmentFacets {
  /** Combination c is type, lang, source, year = combos[4c .. 4c + 3] (NONE: no value). */
  readonly combos: Int32Array;
  /** Local doc d → its combination (NONE: no live document). */
  readonly group: Int32Array;
  /** Local doc d → its tag set (0: no tags); set s is tagSetIds[tagSetStart[s] .. tagSetStart[s + 1]). */
  readonly tagSet: Int32Array;
  readonly tagSetStart: Int32Array;
  readonly tagSetIds: Int32Array;
  readonly tagVersion: number;
}

/**
 * Builds a segment's SegmentFacets over ranges of its local docs, so the warm-up can do it in slices: the
 * distinct (type, lang, source, year) of its live docs, and its distinct tag lists (set 0 is the empty one).
 */
class FacetsBuilder {
  readonly group: Int32Array;
  readonly tagSet: Int32Array;
  readonly #combos = new Map<string, number>();
  readonly #parts: number[] = [];
  readonly #sets = new Map<string, number>([['', 0]]);
  readonly #start: number[] = [0, 0];
  readonly #members: number[] = [];

  /** ords: local doc → ordinal (NONE: no live document); `combos` false: only the tag sets are built. */
  constructor(
    private readonly ords: Int32Array,
    private readonly cols: TenantColumns,
    private readonly combos: boolean,
  ) {
    this.group = new Int32Array(combos ? ords.length : 0);
    this.tagSet = new Int32Array(ords.length);
  }

  /** Local docs from .. to − 1. */
  run(from: number, to: number): void {
    const { ords, cols } = this;
    for (let d = from; d < to; d++) {
      const o = ords[d]!;
      if (o === NONE) {
        if (this.combos) this.group[d] = NONE;
        continue;
      }
      if (this.combos) {
        const t = cols.type[o]!;
        const l = cols.lang[o]!;
        const src = cols.source[o]!;
        const y = cols.year[o]!;
        const key = `${t},${l},${src},${y}`;
        let id = this.#combos.get(key);
        if (id === undefined) {
          id = this.#combos.size;
          this.#combos.set(key, id);
          this.#parts.push(t, l, src, y);
        }
        this.group[d] = id;
      }
      const tags = cols.tagIds(o);
      if (tags === undefined || tags.length === 0) continue;
      const sorted = Array.from(tags).sort((x, y) => x - y);
      const key = sorted.join(',');
      let id = this.#sets.get(key);
      if (id === undefined) {
        id = this.#sets.size;
        this.#sets.set(key, id);
        this.#members.push(...sorted);
        this.#start.push(this.#members.length);
      }
      this.tagSet[d] = id;
    }
  }

  /** The facets; `f`: the segment's earlier facets whose combinations are kept (built without them). */
  facets(tagVersion: number, f?: SegmentFacets): SegmentFacets {
    return {
      combos: f?.combos ?? Int32Array.from(this.#parts),
      group: f?.group ?? this.group,
      tagSet: this.tagSet,
      tagSetStart: Int32Array.from(this.#start),
      tagSetIds: Int32Array.from(this.#members),
      tagVersion,
    };
  }
}

/** `a`, or a zero-extended copy of length `n` if it is shorter. */
function atLeast<A extends Int32Array<ArrayBuffer> | Uint8Array<ArrayBuffer>>(a: A, n: number): A {
  if (a.length >= n) return a;
  const b = new (a.constructor as new (size: number) => A)(n);
  b.set(a);
  return b;
}

/** The numeric columns a range clause reads (date, created and amount; value-fields.ts `valueClause`). */
export type RangeColumn = 'date' | 'created' | 'amount';
/** The interned name columns and the per-document string lists that the other clauses test. */
export type NameColumn = 'type' | 'lang' | 'source' | 'tag';
export type StringList = 'ibans' | 'invoices' | 'to';

/** A document's codes and addresses, held only for the documents that have any (few do). */
interface DocStrings {
  to: readonly string[];
  ibans: readonly string[];
  invoices: readonly string[];
}

/** An amount as the amount column keeps it, and as amount clauses compare it: whole cents. */
export function toCents(amount: number): number {
  return Math.round(amount * 100);
}

/**
 * One tenant's columns. Ordinals are per process and never reused for another id. Nothing here is a JS object
 * per document but the rare DocStrings (ids and titles are UTF-8 and lists are runs of numbers in typed
 * arenas, ordinal-slices.ts): at 1M documents whole DocValues objects held ~1 GB of heap, whose collections
 * were the p99 tails of every query.
 */
export class TenantColumns {
  /** Ordinals by document id, and each ordinal's id (the `ids` column). */
  readonly #byId = new TextIds();
  /** titleOf(values) by ordinal (Suggest, title sort); undefined when not indexed. */
  readonly titles = new TextColumn();
  live = new Uint8Array(1024);
  dateMs = new Float64Array(1024);
  createdMs = new Float64Array(1024);
  year = new Int32Array(1024);
  type = new Int32Array(1024);
  lang = new Int32Array(1024);
  source = new Int32Array(1024);
  /**
   * Ordinal o's recognised dates, amounts (cents) and tag ids, as [dates, amounts, tags, ...dates,
   * ...amounts, ...tags]: one typed arena for all documents.
   */
  readonly #lists = new OrdinalSlices((n) => new Float64Array(n));
  readonly strings = new Map<number, DocStrings>();
  readonly types = new Interner();
  readonly langs = new Interner();
  readonly sources = new Interner();
  readonly tagNames = new Interner();
  /** Bumped when a document's tags change in place (setTags): per-segment facet tags are rebuilt then. */
  tagVersion = 0;

  /** Each ordinal's document id. */
  get ids(): TextColumn {
    return this.#byId.ids;
  }

  /** Ordinals handed out (documents seen by this process, deleted ones included). */
  get size(): number {
    return this.#byId.size;
  }

  ordinal(docId: string): number {
    let o = this.#byId.find(docId);
    if (o < 0) {
      o = this.#byId.add(docId);
      if (o >= this.dateMs.length) this.#grow();
      this.#clear(o);
    }
    return o;
  }

  /** Sets (or with undefined clears) a document's values; returns its ordinal. */
  set(docId: string, v: DocValues | undefined): number {
    const o = this.ordinal(docId);
    this.#clear(o);
    if (v === undefined) return o;
    this.live[o] = 1;
    this.titles.set(o, titleOf(v));
    this.dateMs[o] = v.dateMs;
    this.createdMs[o] = v.createdMs;
    this.year[o] = v.dateMs > 0 ? new Date(v.dateMs).getUTCFullYear() : NONE;
    this.type[o] = v.mediaType ? this.types.id(v.mediaType) : NONE;
    this.lang[o] = v.lang ? this.langs.id(v.lang) : NONE;
    this.source[o] = v.source ? this.sources.id(v.source) : NONE;
    if (v.dates.length + v.amounts.length + v.tags.length > 0) this.#append(o, v);
    if (v.to.length + v.ibans.length + v.invoices.length > 0)
      this.strings.set(o, { to: v.to, ibans: v.ibans, invoices: v.invoices });
    return o;
  }

  /**
   * Ordinal o's numbers of a range column: its own date and the dates in its text; upload time; amounts.
   * Undefined for a document without values. The one reading of the columns is numbersOf's.
   */
  numbers(column: RangeColumn, o: number): ArrayLike<number> | undefined {
    if (this.live[o] === 0) return undefined;
    return this.numbersOf(column, Int32Array.of(o)).values;
  }

  /**
   * The numbers of `column` (own date and the dates in the text; upload time; amounts) of each ordinal of
   * `ords` (NONE: none), end to end: doc d's are values[start[d] .. start[d + 1]) (DocValuesStore.
   * segmentNumbers; numbers() of one ordinal). One loop over the typed columns, writing in place: built
   * from a closure returning a fresh array per document (an Array or a view of the arena), the result missed
   * the numbers of ~7 % of a 361 000-document segment in about one fresh process of twenty, though
   * `numbers` gave them right before and after (docs/performance.md, "A filter that lost matches").
   */
  numbersOf(column: RangeColumn, ords: Int32Array): SegmentNumbers {
    const n = ords.length;
    const start = new Int32Array(n + 1);
    let values = new Float64Array(n);
    let k = 0;
    const { live, dateMs, createdMs } = this;
    const lists = this.#lists;
    const a = lists.arena;
    for (let d = 0; d < n; d++) {
      const o = ords[d]!;
      if (o !== NONE && live[o] !== 0) {
        // As numbers(): the upload time always, the document's own date when it has one.
        let hasOwn = column === 'created';
        let own = column === 'created' ? createdMs[o]! : 0;
        let from = 0;
        let count = 0;
        if (column !== 'created') {
          if (column === 'date' && dateMs[o]! > 0) {
            hasOwn = true;
            own = dateMs[o]!;
          }
          const at = lists.start(o);
          if (at !== NONE) {
            const dates = a[at]!;
            from = column === 'date' ? at + 3 : at + 3 + dates;
            count = column === 'date' ? dates : a[at + 1]!;
          }
        }
        const need = k + (hasOwn ? 1 : 0) + count;
        if (need > values.length) {
          const next = new Float64Array(Math.max(values.length * 2, need));
          next.set(values);
          values = next;
        }
        if (hasOwn) values[k++] = own;
        for (let i = 0; i < count; i++) values[k++] = a[from + i]!;
      }
      start[d + 1] = k;
    }
    return { start, values: values.slice(0, k) };
  }

  /** Ordinal o's tag ids (interned in tagNames). */
  tagIds(o: number): ArrayLike<number> | undefined {
    const at = this.#lists.start(o);
    const a = this.#lists.arena;
    if (at === NONE || a[at + 2] === 0) return undefined;
    const from = at + 3 + a[at]! + a[at + 1]!;
    return a.subarray(from, from + a[at + 2]!);
  }

  /** Ordinal o's names of a name column or string list (what a `names` value clause tests). */
  names(column: NameColumn | StringList, o: number): readonly string[] {
    switch (column) {
      case 'type':
        return this.type[o] === NONE ? [] : [this.types.names[this.type[o]!]!];
      case 'lang':
        return this.lang[o] === NONE ? [] : [this.langs.names[this.lang[o]!]!];
      case 'source':
        return this.source[o] === NONE ? [] : [this.sources.names[this.source[o]!]!];
      case 'tag':
        return Array.from(this.tagIds(o) ?? [], (t) => this.tagNames.names[t]!);
      default:
        return this.strings.get(o)?.[column] ?? [];
    }
  }

  #clear(o: number): void {
    this.live[o] = 0;
    this.titles.set(o, undefined);
    this.type[o] = this.lang[o] = this.source[o] = this.year[o] = NONE;
    this.strings.delete(o);
    this.#lists.clear(o);
  }

  #append(o: number, v: DocValues): void {
    const size = 3 + v.dates.length + v.amounts.length + v.tags.length;
    let k = this.#lists.reserve(o, size);
    const at = k;
    const a = this.#lists.arena;
    a[k++] = v.dates.length;
    a[k++] = v.amounts.length;
    a[k++] = v.tags.length;
    for (const d of v.dates) a[k++] = d;
    for (const x of v.amounts) a[k++] = toCents(x);
    for (const t of v.tags) a[k++] = this.tagNames.id(t);
    this.#lists.commit(o, at, size);
  }

  /**
   * Makes room for `n` documents in one copy of each column, table and arena (the warm-up's load, which
   * knows the count from its segments): grown by doubling, each copy at 512k documents held the event loop
   * for 30–150 ms. The arenas are sized from what the documents so far took, with an eighth to spare. One
   * structure per step (still 5–20 ms each at 1M): the caller may give the event loop a turn in between.
   */
  *presize(n: number): Generator<void> {
    const scale = this.size > 0 ? (n / this.size) * 1.125 : 0;
    const bytes = (used: number) => Math.ceil(used * scale);
    this.ids.presize(n, bytes(this.ids.used));
    yield;
    this.#byId.presize(n);
    yield;
    this.titles.presize(n, bytes(this.titles.used));
    yield;
    this.#lists.presize(n, bytes(this.#lists.used));
    yield;
    if (n > this.dateMs.length) this.#grow(n);
  }

  #grow(n = this.dateMs.length * 2): void {
    const g = <T extends Float64Array | Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.live = g(this.live, (k) => new Uint8Array(k));
    this.dateMs = g(this.dateMs, (k) => new Float64Array(k));
    this.createdMs = g(this.createdMs, (k) => new Float64Array(k));
    this.year = g(this.year, (k) => new Int32Array(k));
    this.type = g(this.type, (k) => new Int32Array(k));
    this.lang = g(this.lang, (k) => new Int32Array(k));
    this.source = g(this.source, (k) => new Int32Array(k));
  }
}

/** Entries of each per-segment cache of values (the oldest goes first). */
const SEGMENT_CACHE = 4096;
/** Documents a load reads before it sizes the columns for all (their arenas by these documents' sizes). */
const PRESIZE_AFTER = 1024;
/** Local docs a facets slice takes between looks at the clock. */
const FACETS_SLICE = 1024;

/** One range column of a segment: doc d's numbers are values[start[d] .. start[d + 1]). */
export interface SegmentNumbers {
  start: Int32Array;
  values: Float64Array;
}

/** A tenant's columns being loaded (DocValuesStore.load). */
interface Loading {
  /** The hooks' changes since the load began, replayed in order on the loaded columns. */
  readonly log: ((c: TenantColumns) => void)[];
  cancelled: boolean;
}

export class DocValuesStore {
  readonly #loading = new TenantLoads<Loading, TenantColumns>();
  readonly #tenants = this.#loading.loaded;
  /** setTags transactions not ended yet (a load's snapshot is taken once those begun before it have). */
  readonly #tagWrites = new Set<Promise<unknown>>();
  /** Segment uid → local doc → ordinal. */
  readonly #segOrds = new Map<string, Int32Array>();
  /** Segment uid → facet values in local doc order. */
  readonly #segFacets = new Map<string, SegmentFacets>();
  /** `${segment uid}/${column}` → that range column's numbers in local doc order. */
  readonly #segNumbers = new Map<string, SegmentNumbers>();
  readonly root: RootDatabase;

  constructor(private readonly store: IndexStore) {
    this.root = store.root;
  }

  // ------------------------------------------------------------ writes (inside index write transactions)

  /** A new segment's documents, local doc i = ids[i]: stored with the segment, and in the columns if loaded. */
  addSegment(tenantId: string, segmentId: number, ids: readonly string[], values: readonly DocValues[]): void {
    putSegmentValues(this.store, tenantId, segmentId, ids, values);
    this.#change(tenantId, (cols) => {
      for (let i = 0; i < ids.length; i++) cols.set(ids[i]!, values[i]);
    });
  }

  /** A document was deleted (its values go with its segment's next merge). */
  removed(tenantId: string, docId: string): void {
    this.#change(tenantId, (cols) => cols.set(docId, undefined));
  }

  /**
   * The tenant's index was dropped (with it every values block): loaded or being loaded, its columns are
   * empty now (a load under way is abandoned), so queries racing the drop or a reindex still find columns.
   */
  dropped(tenantId: string): void {
    this.#loading.dropped(tenantId, () => new TenantColumns());
  }

  /** Applies a hook's change to the tenant's columns, or logs it for the load under way (none: no-op). */
  #change(tenantId: string, change: (cols: TenantColumns) => void): void {
    const cols = this.#tenants.get(tenantId);
    if (cols !== undefined) change(cols);
    else this.#loading.get(tenantId)?.log.push(change);
  }

  /**
   * Tags changed on the record: rewrite them here (no text re-analysis). False if the doc is not indexed.
   * `within` runs inside the write transaction either way (the caller's own write that must commit with it:
   * Documents clears its pending-tags note there).
   */
  async setTags(
    tenantId: string,
    docId: string,
    tags: readonly string[] | (() => readonly string[] | undefined),
    within?: () => void,
  ): Promise<boolean> {
    let edit: ValueEdit | undefined;
    const write = this.root.childTransaction(() => {
      let next: DocValues | undefined;
      edit = updateValue(this.store, tenantId, docId, (current) => {
        const now = typeof tags === 'function' ? tags() : tags;
        if (now !== undefined) next = { ...(current as DocValues), tags: [...now] };
        return next;
      });
      within?.();
      if (next === undefined) return false;
      const changed = next;
      this.#change(tenantId, (cols) => {
        cols.set(docId, changed);
        cols.tagVersion++;
      });
      return true;
    });
    this.#tagWrites.add(write);
    try {
      return await write;
    } finally {
      this.#tagWrites.delete(write);
      if (edit !== undefined) committedEdit(edit);
    }
  }

  // ------------------------------------------------------------ loading (the warm-up, engine.ts)

  /** Whether the tenant's columns are loaded (`columns` answers). */
  loaded(tenantId: string): boolean {
    return this.#tenants.has(tenantId);
  }

  /**
   * Loads the tenant's columns from every listed segment's values blocks, in slices, and fills each
   * segment's local doc → ordinal map on the way; joins a load under way. Resolves without columns when the
   * tenant was dropped meanwhile.
   *
   * Nothing is lost between the snapshot and the hooks: the hooks' changes are logged from the moment the
   * load begins, and the snapshot is taken (`between`) once no index write is in flight and every setTags
   * transaction begun earlier has ended. So each write whose hook ran before the log began is in the
   * snapshot, each later one is in the log, and replaying the log in order after the snapshot gives what the
   * hooks would have made of loaded columns (a logged write that is in the snapshot too is set again, in
   * its place in the order). A write whose hook ran before the load but which commits after its snapshot
   * (the race the merger's edit log handles) cannot happen.
   */
  load(tenantId: string, slicer: Slicer, between: Between): Promise<void> {
    return this.#loading.start(
      tenantId,
      () => ({ log: [], cancelled: false }),
      (loading) => this.#load(tenantId, loading, slicer, between),
    );
  }

  async #load(tenantId: string, loading: Loading, slicer: Slicer, between: Between): Promise<void> {
    const transaction = await between(async () => {
      await Promise.allSettled([...this.#tagWrites]);
      return this.root.useReadTransaction();
    });
    const c = new TenantColumns();
    try {
      const segments = listSegments(this.store, tenantId, transaction);
      let docs = 0;
      for (const seg of segments) docs += seg.docs;
      for (const seg of segments) {
        const dels = (this.store.deletes as unknown as BinaryGetter).getBinary([tenantId, seg.id], { transaction });
        const ords = new Int32Array(seg.docs).fill(NONE);
        for (const { block, stored } of segmentValueBlocks(this.store, tenantId, seg.id, transaction)) {
          const { ids, values } = decodeValuesBlock(stored);
          for (let i = 0, local = block * VALUES_BLOCK; i < ids.length && local < seg.docs; i++, local++) {
            const v = values[i] as DocValues | null;
            if (v !== null && !isDeleted(dels, local)) ords[local] = c.set(ids[i]!, v);
          }
          // Sized once for every document listed (deleted ones too: a bound), from the sizes of the first ones;
          // a turn of the loop before each step whatever the clock says (each allocates megabytes).
          if (c.size >= PRESIZE_AFTER && c.dateMs.length < docs) {
            await slicer.next();
            for (const _ of c.presize(docs)) await slicer.next();
            if (loading.cancelled) return;
          }
          if (slicer.due) await slicer.next();
          if (loading.cancelled) return;
        }
        remember(this.#segOrds, seg.uid, ords, SEGMENT_CACHE);
      }
    } finally {
      transaction.done();
    }
    if (loading.cancelled) return;
    // Replayed and installed in one go: no hook runs in between.
    for (const change of loading.log) change(c);
    this.#tenants.set(tenantId, c);
  }

  /** Builds the facet values of each listed segment of a loaded tenant not built yet (see segmentFacets), in slices. */
  async warmFacets(tenantId: string, slicer: Slicer): Promise<void> {
    const cols = this.#tenants.get(tenantId);
    if (cols === undefined) return;
    const transaction = this.root.useReadTransaction();
    try {
      for (const seg of listSegments(this.store, tenantId, transaction)) {
        const at = { segmentId: seg.id, segmentUid: seg.uid, docs: seg.docs };
        if (this.#segFacets.get(seg.uid)?.tagVersion === cols.tagVersion) continue;
        const ords = this.segmentOrdinals(tenantId, at, transaction);
        const version = cols.tagVersion;
        const b = new FacetsBuilder(ords, cols, true);
        for (let d = 0; d < ords.length; d += FACETS_SLICE) {
          b.run(d, Math.min(ords.length, d + FACETS_SLICE));
          if (slicer.due) await slicer.next();
          if (this.#tenants.get(tenantId) !== cols) return; // dropped meanwhile
        }
        // Tags edited while this was built are in it or not: under the old version it is rebuilt on use.
        remember(this.#segFacets, seg.uid, b.facets(version), SEGMENT_CACHE);
      }
    } finally {
      transaction.done();
    }
  }

  // ------------------------------------------------------------ reads

  /** The tenant's columns; they must be loaded (`load`: the engine awaits it before any read). */
  columns(tenantId: string): TenantColumns {
    const c = this.#tenants.get(tenantId);
    if (c === undefined) throw new Error(`the values of tenant ${tenantId} are not loaded (await the engine's warm-up)`);
    return c;
  }

  /** Local doc → ordinal for one segment (read in the search's snapshot; cached, segments never change). */
  segmentOrdinals(
    tenantId: string,
    seg: { segmentId: number; segmentUid: string; docs: number },
    transaction: Transaction,
  ): Int32Array {
    let m = this.#segOrds.get(seg.segmentUid);
    if (m === undefined) {
      // A segment written or merged after the columns were loaded: the ids of its values blocks.
      const cols = this.columns(tenantId);
      m = new Int32Array(seg.docs).fill(NONE);
      const dels = (this.store.deletes as unknown as BinaryGetter).getBinary([tenantId, seg.segmentId], { transaction });
      for (const { block, stored } of segmentValueBlocks(this.store, tenantId, seg.segmentId, transaction)) {
        const ids = decodeValuesBlockIds(stored);
        for (let i = 0, local = block * VALUES_BLOCK; i < ids.length && local < seg.docs; i++, local++)
          if (!isDeleted(dels, local)) m[local] = cols.ordinal(ids[i]!);
      }
      remember(this.#segOrds, seg.segmentUid, m, SEGMENT_CACHE);
    }
    return m;
  }

  /**
   * The facet values of one segment's documents in local doc order, so counting a segment's matches reads
   * one array front to back instead of jumping through ordinals (a cache miss per document and column at
   * 1M documents). Type, language, source and year of a live (segment, local doc) never change: a document
   * re-indexed goes to a new segment and is deleted in the old one, in one transaction. Tags change in place
   * (setTags), so the tag sets are rebuilt when the tenant's tagVersion moved.
   */
  segmentFacets(
    tenantId: string,
    seg: { segmentId: number; segmentUid: string; docs: number },
    transaction: Transaction,
  ): SegmentFacets {
    const cols = this.columns(tenantId);
    let f = this.#segFacets.get(seg.segmentUid);
    if (f !== undefined && f.tagVersion === cols.tagVersion) return f;
    const ords = this.segmentOrdinals(tenantId, seg, transaction);
    // Combinations are built once: tags are the one value that changes in place.
    const b = new FacetsBuilder(ords, cols, f === undefined);
    b.run(0, ords.length);
    f = b.facets(cols.tagVersion, f);
    remember(this.#segFacets, seg.segmentUid, f, SEGMENT_CACHE);
    return f;
  }

  /**
   * A segment's numbers of one range column in local doc order (values[start[d] .. start[d + 1]) for doc d;
   * none for a gone doc). Built once per segment: the dates and amounts of a live (segment, doc) never
   * change, and a range then scans typed arrays front to back instead of a JS object per document.
   */
  segmentNumbers(
    tenantId: string,
    seg: { segmentId: number; segmentUid: string; docs: number },
    column: RangeColumn,
    transaction: Transaction,
  ): SegmentNumbers {
    const key = `${seg.segmentUid}/${column}`;
    let c = this.#segNumbers.get(key);
    if (c === undefined) {
      const ords = this.segmentOrdinals(tenantId, seg, transaction);
      const cols = this.columns(tenantId);
      c = cols.numbersOf(column, ords);
      remember(this.#segNumbers, key, c, SEGMENT_CACHE);
    }
    return c;
  }

  /** Documents with a number of `column` in [from, to) (date, created and amount clauses). */
  rangeFilter(tenantId: string, column: RangeColumn, from: number, to: number): DocFilter {
    const inRange = ({ start, values }: SegmentNumbers, d: number) => {
      for (let k = start[d]!, end = start[d + 1]!; k < end; k++) {
        const x = values[k]!;
        if (x >= from && x < to) return true;
      }
      return false;
    };
    return {
      segmentTest: (seg, transaction) => {
        const col = this.segmentNumbers(tenantId, seg, column, transaction as Transaction);
        return (d) => inRange(col, d);
      },
    };
  }

  /**
   * Documents with a name of `column` that `accepts` takes (type, lang, source, tag, to, iban, invoice
   * clauses). Interned names are asked once each (memo by id); the string lists only exist for few documents.
   */
  namesFilter(tenantId: string, column: NameColumn | StringList, accepts: (name: string) => boolean): DocFilter {
    const c = this.columns(tenantId);
    const interner = column === 'type' ? c.types : column === 'lang' ? c.langs : column === 'source' ? c.sources : c.tagNames;
    /** By interned id: 0 not asked yet, 1 accepted, 2 not. */
    let memo = new Uint8Array(0);
    const takes = (id: number): boolean => {
      if (id >= memo.length) memo = atLeast(memo, interner.names.length);
      if (memo[id] === 0) memo[id] = accepts(interner.names[id]!) ? 1 : 2;
      return memo[id] === 1;
    };
    const one = (id: number) => id !== NONE && takes(id);
    // The columns are read per call, not captured: they are replaced when they grow.
    const passes = (o: number): boolean => {
      if (c.live[o] === 0) return false;
      switch (column) {
        case 'type':
          return one(c.type[o]!);
        case 'lang':
          return one(c.lang[o]!);
        case 'source':
          return one(c.source[o]!);
        case 'tag': {
          const tags = c.tagIds(o);
          for (let i = 0; tags !== undefined && i < tags.length; i++) if (takes(tags[i]!)) return true;
          return false;
        }
        default:
          return c.names(column, o).some(accepts);
      }
    };
    return {
      segmentTest: (seg, transaction) => {
        const ords = this.segmentOrdinals(tenantId, seg, transaction as Transaction);
        return (d) => {
          const o = ords[d]!;
          return o !== NONE && passes(o);
        };
      },
    };
  }

  /**
   * Visits every match: counts facets and/or collects ordinals (for date/title sorting). Counts are kept in
   * typed arrays indexed by interned value (years by year), sized when a segment starts (the columns do not
   * change while a search reads its snapshot) and grown if a later segment brings new values.
   */
  collector(
    tenantId: string,
    facets: readonly FacetField[],
    collect: boolean,
  ): { visitor: MatchVisitor; facets(): FacetResult[]; ordinals(): Int32Array } {
    const cols = this.columns(tenantId);
    const want = new Set(facets);
    const counting = want.size > 0;
    const doType = want.has('type');
    const doYear = want.has('year');
    const doTag = want.has('tag');
    const doSource = want.has('source');
    const doLang = want.has('lang');
    let type = new Int32Array(0);
    let lang = new Int32Array(0);
    let source = new Int32Array(0);
    let tag = new Int32Array(0);
    /** Years 0..YEARS-1 densely; any other year (a date far out) in a map. */
    const year = new Int32Array(doYear ? YEARS : 0);
    const otherYears = new Map<number, number>();
    let collected = new Int32Array(collect ? 1024 : 0);
    let n = 0;
    /** The segment being visited, its counts per combination and per tag set (see SegmentFacets). */
    let segment: SegmentFacets | undefined;
    let segmentCounts = new Int32Array(0);
    let tagSetCounts = new Int32Array(0);
    const visitor: MatchVisitor = {
      segment: (_t, meta, transaction) => {
        const seg = { segmentId: meta.id, segmentUid: meta.uid, docs: meta.docs };
        const ords = this.segmentOrdinals(tenantId, seg, transaction);
        const f = counting ? this.segmentFacets(tenantId, seg, transaction) : undefined;
        fold();
        if (f !== undefined) {
          segment = f;
          segmentCounts = new Int32Array(f.combos.length / 4);
          tagSetCounts = new Int32Array(doTag ? f.tagSetStart.length - 1 : 0);
        }
        if (doType) type = atLeast(type, cols.types.names.length);
        if (doLang) lang = atLeast(lang, cols.langs.names.length);
        if (doSource) source = atLeast(source, cols.sources.names.length);
        if (doTag) tag = atLeast(tag, cols.tagNames.names.length);
        return (docs, count) => {
          if (collect) {
            if (n + count > collected.length) {
              const next = new Int32Array(Math.max(collected.length * 2, n + count));
              next.set(collected.subarray(0, n));
              collected = next;
            }
            for (let i = 0; i < count; i++) {
              const o = ords[docs[i]!]!;
              if (o !== NONE) collected[n++] = o;
            }
          }
          if (f === undefined) return;
          const { group, tagSet } = f;
          const counts = segmentCounts;
          const perSet = tagSetCounts;
          for (let i = 0; i < count; i++) {
            const d = docs[i]!;
            const g = group[d]!;
            if (g === NONE) continue;
            counts[g]!++;
            if (doTag) perSet[tagSet[d]!]!++;
          }
        };
      },
    };
    /** Spreads a segment's counts per combination over the facets (once per segment, not per match). */
    const fold = (): void => {
      if (segment === undefined) return;
      const { combos } = segment;
      for (let g = 0; g < segmentCounts.length; g++) {
        const c = segmentCounts[g]!;
        if (c === 0) continue;
        const at = g * 4;
        const t = combos[at]!;
        const l = combos[at + 1]!;
        const src = combos[at + 2]!;
        const y = combos[at + 3]!;
        if (doType && t !== NONE) type[t]! += c;
        if (doLang && l !== NONE) lang[l]! += c;
        if (doSource && src !== NONE) source[src]! += c;
        if (doYear && y !== NONE) {
          if (y >= 0 && y < YEARS) year[y]! += c;
          else otherYears.set(y, (otherYears.get(y) ?? 0) + c);
        }
      }
      const { tagSetStart, tagSetIds } = segment;
      for (let set = 1; set < tagSetCounts.length; set++) {
        const c = tagSetCounts[set]!;
        if (c > 0) for (let j = tagSetStart[set]!; j < tagSetStart[set + 1]!; j++) tag[tagSetIds[j]!]! += c;
      }
      segment = undefined;
    };
    const counted = (f: FacetField): [number, number][] => {
      const out: [number, number][] = [];
      const dense = f === 'type' ? type : f === 'lang' ? lang : f === 'source' ? source : f === 'tag' ? tag : year;
      for (let k = 0; k < dense.length; k++) if (dense[k]! > 0) out.push([k, dense[k]!]);
      if (f === 'year') for (const e of otherYears) out.push(e);
      return out;
    };
    const name = (f: FacetField, k: number): string => {
      switch (f) {
        case 'type':
          return cols.types.names[k]!;
        case 'lang':
          return cols.langs.names[k]!;
        case 'source':
          return cols.sources.names[k]!;
        case 'tag':
          return cols.tagNames.names[k]!;
        case 'year':
          return String(k);
      }
    };
    return {
      visitor,
      facets: () => {
        fold();
        return facets.map((field) => {
          const buckets = counted(field).map(([k, count]) => ({ value: name(field, k), count }));
          return {
            field,
            // Years newest first; everything else by count, then name.
            buckets: (field === 'tag' ? caseless(buckets) : buckets).sort((a, b) =>
              field === 'year' ? Number(b.value) - Number(a.value) : b.count - a.count || (a.value < b.value ? -1 : 1),
            ),
          };
        });
      },
      ordinals: () => collected.subarray(0, n),
    };
  }
}

/**
 * Tag buckets as `tag:` matches them, whatever the case: spellings of one tag counted together under the
 * most used one (a document carries a tag once in any case, Documents.tag).
 */
function caseless(buckets: readonly { value: string; count: number }[]): { value: string; count: number }[] {
  const byKey = new Map<string, { value: string; count: number; best: number }>();
  for (const b of buckets) {
    const key = tagKey(b.value);
    const m = byKey.get(key);
    if (m === undefined) byKey.set(key, { value: b.value, count: b.count, best: b.count });
    else {
      m.count += b.count;
      if (b.count > m.best) {
        m.best = b.count;
        m.value = b.value;
      }
    }
  }
  return [...byKey.values()].map(({ value, count }) => ({ value, count }));
}
