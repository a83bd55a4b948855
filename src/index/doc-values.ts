/**
 * Per-document values beside the segments: what value fields (`tag:`, `date:`, `amount:` …), facets and the
 * date/title sort orders read. Durable in the sub-database `index-values` ([tenant, docId] → DocValues,
 * msgpack), written by the index's write hook in the same transaction as the segment (so a document and its
 * values appear and vanish together); tag changes rewrite only this record.
 *
 * Queries read a compact in-memory column store per tenant (typed arrays over a per-process ordinal per
 * document id, interned strings), loaded lazily from LMDB and updated in step by the same hooks, plus a
 * per-segment map local doc → ordinal (segments are immutable, so the map is cached by segment uid).
 */
import type { Database, RootDatabase, Transaction } from 'lmdb';
import { pack, unpack } from 'msgpackr';
import type { IndexStore, Key } from './index-store.js';
import { RANGE_END } from './index-store.js';
import type { DocFilter } from './query-ast.js';
import { remember } from './remember.js';
import type { MatchVisitor } from './search-index.js';
import type { IndexDoc } from './segment-writer.js';

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

const NONE = -1;
/** Years counted in a dense array by the facet collector (others, if any, in a map). */
const YEARS = 4096;

/** Facet values of one segment's documents by local doc (NONE: no value); see DocValuesStore.segmentFacets. */
export interface SegmentFacets {
  readonly type: Int32Array;
  readonly lang: Int32Array;
  readonly source: Int32Array;
  readonly year: Int32Array;
  /** Tags of local doc d: tagIds[tagStart[d] .. tagStart[d + 1]). */
  readonly tagStart: Int32Array;
  readonly tagIds: Int32Array;
  readonly tagVersion: number;
}

/** counts[values[docs[i]]]++ for every value that is not NONE. */
function countInto(counts: Int32Array, values: Int32Array, docs: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const k = values[docs[i]!]!;
    if (k !== NONE) counts[k]!++;
  }
}

/** `a`, or a zero-extended copy of length `n` if it is shorter. */
function atLeast(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  if (a.length >= n) return a;
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

/** One tenant's columns. Ordinals are per process and never reused for another id. */
export class TenantColumns {
  readonly ordOf = new Map<string, number>();
  ids: string[] = [];
  values: (DocValues | undefined)[] = [];
  dateMs = new Float64Array(1024);
  year = new Int32Array(1024);
  type = new Int32Array(1024);
  lang = new Int32Array(1024);
  source = new Int32Array(1024);
  tags: (Int32Array | undefined)[] = [];
  readonly types = new Interner();
  readonly langs = new Interner();
  readonly sources = new Interner();
  readonly tagNames = new Interner();
  /** Bumped when a document's tags change in place (setTags): per-segment facet tags are rebuilt then. */
  tagVersion = 0;

  ordinal(docId: string): number {
    let o = this.ordOf.get(docId);
    if (o === undefined) {
      o = this.ids.length;
      this.ids.push(docId);
      this.values.push(undefined);
      this.tags.push(undefined);
      if (o >= this.dateMs.length) this.#grow();
      this.type[o] = NONE;
      this.lang[o] = NONE;
      this.source[o] = NONE;
      this.year[o] = NONE;
      this.ordOf.set(docId, o);
    }
    return o;
  }

  set(docId: string, v: DocValues | undefined): void {
    const o = this.ordinal(docId);
    this.values[o] = v;
    if (v === undefined) {
      this.type[o] = this.lang[o] = this.source[o] = this.year[o] = NONE;
      this.tags[o] = undefined;
      return;
    }
    this.dateMs[o] = v.dateMs;
    this.year[o] = v.dateMs > 0 ? new Date(v.dateMs).getUTCFullYear() : NONE;
    this.type[o] = v.mediaType ? this.types.id(v.mediaType) : NONE;
    this.lang[o] = v.lang ? this.langs.id(v.lang) : NONE;
    this.source[o] = v.source ? this.sources.id(v.source) : NONE;
    this.tags[o] = v.tags.length > 0 ? Int32Array.from(v.tags, (t) => this.tagNames.id(t)) : undefined;
  }

  #grow(): void {
    const n = this.dateMs.length * 2;
    const g = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.dateMs = g(this.dateMs, (k) => new Float64Array(k));
    this.year = g(this.year, (k) => new Int32Array(k));
    this.type = g(this.type, (k) => new Int32Array(k));
    this.lang = g(this.lang, (k) => new Int32Array(k));
    this.source = g(this.source, (k) => new Int32Array(k));
  }
}

type Predicate = (cols: TenantColumns, ord: number) => boolean;

/** The numeric columns a range clause reads (date, created and amount; value-fields.ts `valueRange`). */
export type RangeColumn = 'date' | 'created' | 'amount';

/** A document's numbers of a column: its own date and the dates in its text; upload time; amounts in cents. */
export function columnValues(column: RangeColumn, v: DocValues): readonly number[] {
  switch (column) {
    case 'date':
      return v.dateMs > 0 ? [v.dateMs, ...v.dates] : v.dates;
    case 'created':
      return [v.createdMs];
    case 'amount':
      return v.amounts.map((a) => Math.round(a * 100));
  }
}

/** Entries of each per-segment cache of values (the oldest goes first). */
const SEGMENT_CACHE = 4096;

/** Doc d's numbers (none: undefined) end to end: doc d's are values[start[d] .. start[d + 1]). */
function flatten<A extends Int32Array | Float64Array>(
  n: number,
  listOf: (d: number) => ArrayLike<number> | undefined,
  make: (size: number) => A,
): { start: Int32Array; values: A } {
  const start = new Int32Array(n + 1);
  let values = make(n);
  let k = 0;
  for (let d = 0; d < n; d++) {
    const list = listOf(d);
    if (list !== undefined && list.length > 0) {
      if (k + list.length > values.length) {
        const next = make(Math.max(values.length * 2, k + list.length));
        next.set(values);
        values = next;
      }
      values.set(list, k);
      k += list.length;
    }
    start[d + 1] = k;
  }
  return { start, values: values.slice(0, k) as A };
}

/** One range column of a segment: doc d's numbers are values[start[d] .. start[d + 1]). */
export interface SegmentNumbers {
  start: Int32Array;
  values: Float64Array;
}

export class DocValuesStore {
  /** [tenant, docId] → DocValues, msgpack, sealed with the tenant's record key (they hold titles, IBANs …). */
  readonly db: Database<Buffer, Key>;
  readonly #tenants = new Map<string, TenantColumns>();
  /** Segment uid → local doc → ordinal. */
  readonly #segOrds = new Map<string, Int32Array>();
  /** Segment uid → facet values in local doc order. */
  readonly #segFacets = new Map<string, SegmentFacets>();
  /** `${segment uid}/${column}` → that range column's numbers in local doc order. */
  readonly #segNumbers = new Map<string, SegmentNumbers>();
  readonly root: RootDatabase;

  constructor(private readonly store: IndexStore) {
    this.root = store.root;
    this.db = store.root.openDB({ name: 'index-values', encoding: 'binary' });
  }

  #seal(tenantId: string, docId: string, v: DocValues): Buffer {
    return this.store.cipher.seal(tenantId, 'index-values', pack(v), docId);
  }

  #open(tenantId: string, docId: string, sealed: Uint8Array): DocValues {
    return unpack(this.store.cipher.open(tenantId, 'index-values', sealed, docId)) as DocValues;
  }

  // ------------------------------------------------------------ writes (inside index write transactions)

  putSync(tenantId: string, docId: string, v: DocValues): void {
    this.db.put([tenantId, docId], this.#seal(tenantId, docId, v));
    this.#tenants.get(tenantId)?.set(docId, v);
  }

  removeSync(tenantId: string, docId: string): void {
    this.db.remove([tenantId, docId]);
    this.#tenants.get(tenantId)?.set(docId, undefined);
  }

  dropSync(tenantId: string): void {
    for (const k of [...this.db.getKeys({ start: [tenantId], end: [tenantId, RANGE_END] })]) this.db.remove(k as Key);
    this.#tenants.delete(tenantId);
  }

  /** Tags changed on the record: rewrite them here (no text re-analysis). False if the doc is not indexed. */
  async setTags(
    tenantId: string,
    docId: string,
    tags: readonly string[] | (() => readonly string[] | undefined),
  ): Promise<boolean> {
    return this.root.childTransaction(() => {
      const v = this.get(tenantId, docId);
      const now = typeof tags === 'function' ? tags() : tags;
      if (v === undefined || now === undefined) return false;
      this.putSync(tenantId, docId, { ...v, tags: [...now] });
      const cols = this.#tenants.get(tenantId);
      if (cols !== undefined) cols.tagVersion++;
      return true;
    });
  }

  get(tenantId: string, docId: string): DocValues | undefined {
    const sealed = this.db.get([tenantId, docId]);
    return sealed === undefined ? undefined : this.#open(tenantId, docId, sealed);
  }

  // ------------------------------------------------------------ reads

  columns(tenantId: string): TenantColumns {
    let c = this.#tenants.get(tenantId);
    if (c === undefined) {
      c = new TenantColumns();
      for (const { key, value } of this.db.getRange({ start: [tenantId], end: [tenantId, RANGE_END] }))
        c.set((key as Key)[1] as string, this.#open(tenantId, (key as Key)[1] as string, value));
      this.#tenants.set(tenantId, c);
    }
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
      const cols = this.columns(tenantId);
      m = new Int32Array(seg.docs).fill(NONE);
      for (const { key, value } of this.store.docs.getRange({
        start: [tenantId, seg.segmentId],
        end: [tenantId, seg.segmentId, RANGE_END],
        transaction,
      })) {
        const local = (key as Key)[2] as number;
        if (local < seg.docs) m[local] = cols.ordinal(this.store.docOf(key as Key, value).id);
      }
      remember(this.#segOrds, seg.segmentUid, m, SEGMENT_CACHE);
    }
    return m;
  }

  /**
   * The facet values of one segment's documents in local doc order, so counting a segment's matches reads
   * these arrays front to back instead of jumping through ordinals (a cache miss per document and column at
   * 1M documents). Type, language, source and year of a live (segment, local doc) never change: a document
   * re-indexed goes to a new segment and is deleted in the old one, in one transaction. Tags change in place
   * (setTags), so they are rebuilt when the tenant's tagVersion moved.
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
    const n = ords.length;
    if (f === undefined) {
      const type = new Int32Array(n);
      const lang = new Int32Array(n);
      const source = new Int32Array(n);
      const year = new Int32Array(n);
      for (let d = 0; d < n; d++) {
        const o = ords[d]!;
        const live = o !== NONE;
        type[d] = live ? cols.type[o]! : NONE;
        lang[d] = live ? cols.lang[o]! : NONE;
        source[d] = live ? cols.source[o]! : NONE;
        year[d] = live ? cols.year[o]! : NONE;
      }
      f = { type, lang, source, year, tagStart: new Int32Array(0), tagIds: new Int32Array(0), tagVersion: -1 };
    }
    const tags = flatten(
      n,
      (d) => (ords[d] === NONE ? undefined : cols.tags[ords[d]!]),
      (k) => new Int32Array(k),
    );
    f = { ...f, tagStart: tags.start, tagIds: tags.values, tagVersion: cols.tagVersion };
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
      c = flatten(
        ords.length,
        (d) => {
          const v = ords[d] === NONE ? undefined : cols.values[ords[d]!];
          return v === undefined ? undefined : columnValues(column, v);
        },
        (k) => new Float64Array(k),
      );
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

  /** A filter over this tenant's values: a scan of each segment's ordinals through typed arrays. */
  filter(tenantId: string, test: Predicate): DocFilter {
    const passes = (ords: Int32Array) => {
      const c = this.columns(tenantId);
      return (d: number) => {
        const o = ords[d]!;
        return o !== NONE && c.values[o] !== undefined && test(c, o);
      };
    };
    return {
      segmentTest: (seg, transaction) => passes(this.segmentOrdinals(tenantId, seg, transaction as Transaction)),
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
    const visitor: MatchVisitor = {
      segment: (_t, meta, transaction) => {
        const seg = { segmentId: meta.id, segmentUid: meta.uid, docs: meta.docs };
        const ords = this.segmentOrdinals(tenantId, seg, transaction);
        const f = counting ? this.segmentFacets(tenantId, seg, transaction) : undefined;
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
          // One facet at a time: each pass reads one column of the segment in ascending doc order.
          if (doType) countInto(type, f.type, docs, count);
          if (doLang) countInto(lang, f.lang, docs, count);
          if (doSource) countInto(source, f.source, docs, count);
          if (doYear) {
            const fy = f.year;
            for (let i = 0; i < count; i++) {
              const y = fy[docs[i]!]!;
              if (y >= 0 && y < YEARS) year[y]!++;
              else if (y !== NONE) otherYears.set(y, (otherYears.get(y) ?? 0) + 1);
            }
          }
          if (doTag) {
            const { tagStart, tagIds } = f;
            for (let i = 0; i < count; i++) {
              const d = docs[i]!;
              for (let j = tagStart[d]!, end = tagStart[d + 1]!; j < end; j++) tag[tagIds[j]!]!++;
            }
          }
        };
      },
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
      facets: () =>
        facets.map((field) => ({
          field,
          buckets: counted(field)
            .map(([k, count]) => ({ value: name(field, k), count }))
            // Years newest first; everything else by count, then name.
            .sort((a, b) =>
              field === 'year' ? Number(b.value) - Number(a.value) : b.count - a.count || (a.value < b.value ? -1 : 1),
            ),
        })),
      ordinals: () => collected.subarray(0, n),
    };
  }
}
