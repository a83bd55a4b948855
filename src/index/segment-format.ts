/**
 * The term dictionary of a segment as blocks (index-store.ts has the keys).
 *
 * One LMDB value per term made segment writes cost one put (and one key encoding) per term, and most terms
 * occur once. Here up to BLOCK_TERMS sorted terms share one value:
 *
 *   varint n, varint positionsStart, varint headerBytes,
 *   header: per term  varint sharedPrefixBytes, varint suffixBytes, suffix (UTF-8),
 *                     varint postingsBytes (0 = stored in index-large), varint positionsBytes
 *   the inline postings, concatenated in term order
 *
 * Positions of all terms, in term order, are one stream per segment cut into index-positions values of
 * POSITIONS_CHUNK bytes: a term's positions start at positionsStart of its block plus the positionsBytes
 * of the terms before it in the block, and may span chunks. Blocks are keyed by number, not by their first
 * term (values are sealed, keys are not): the segment's directory, the first term of every block
 * (front-coded, sealed, one value in index-dirs), is read once and cached, and a term is found by a binary
 * search over it and a scan of at most BLOCK_TERMS front-coded entries, compared as bytes (UTF-8 byte
 * order, compareTerms).
 *
 * Sizes are chosen for LMDB's pages: a value above ~2 KB takes whole overflow pages, so a value that ends
 * just past a page boundary wastes most of a page. Blocks close before they would cross BLOCK_VALUE_BYTES,
 * position chunks fill their pages exactly, and only postings above LARGE_BYTES get a value of their own;
 * cut by size alone, 60 of the 446 MB the postings took at 1M documents were such slack.
 */
import type { Transaction } from 'lmdb';
import { RECORD_OVERHEAD } from '../crypto/index.js';
import type { IndexStore, Key } from './index-store.js';
import { ByteWriter, compareTerms, readVarint } from './postings-codec.js';

export const BLOCK_TERMS = 128;
/**
 * LMDB's page size (the store's default) and what a value's overflow pages hold besides it: measured with
 * lmdb-js 3 (its LMDB's page header is larger than 0.9's 16 bytes), a value of n × 4096 − 24 bytes takes
 * n pages and one byte more takes n + 1 (test/index/segment-format.test.ts checks it).
 */
const PAGE_BYTES = 4096;
const OVERFLOW_HEADER = 24;
/** Plaintext that fills `pages` overflow pages exactly once sealed. */
const fillingPages = (pages: number) => pages * PAGE_BYTES - OVERFLOW_HEADER - RECORD_OVERHEAD;
/** A dictionary block is closed before a term would take it past this size. */
const BLOCK_VALUE_BYTES = fillingPages(8);
/** Postings larger than this get their own value (read without copying neighbours). */
export const LARGE_BYTES = 8192;
/** Bytes of the positions stream per index-positions value (the segment's last one shorter). */
export const POSITIONS_CHUNK = fillingPages(4);
/** A block's three leading varints and one term's header fields besides its suffix, at most. */
const BLOCK_LEAD_BYTES = 15;
const ENTRY_FIELDS_BYTES = 20;

/** Writes a plaintext value of a sealed sub-database (the PutFn seals it: IndexStore.seal). */
export type PutFn = (db: 'dirs' | 'terms' | 'positions' | 'large', key: Key, value: Uint8Array) => void;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** Streams terms, in compareTerms order, into dictionary blocks and the positions stream. */
export class DictionaryWriter {
  private readonly header = new ByteWriter(4096);
  private readonly postings = new ByteWriter(BLOCK_VALUE_BYTES);
  /** The positions stream not yet written as a chunk. */
  private readonly stream = new ByteWriter(POSITIONS_CHUNK * 2);
  private chunks = 0;
  private prev = new Uint8Array(256);
  private prevLen = 0;
  private cur = new Uint8Array(256);
  private count = 0;
  private firstTerm = '';
  private blockPositionsStart = 0;
  private readonly firstTerms: string[] = [];
  postingsBytes = 0;
  positionsBytes = 0;
  terms = 0;

  constructor(
    private readonly tenantId: string,
    private readonly segmentId: number,
    private readonly put: PutFn,
  ) {}

  add(term: string, postings: Uint8Array, positions: Uint8Array): void {
    this.addParts(term, postings, postings.length, EMPTY, 0, positions, positions.length);
  }

  /**
   * add() with the postings in two parts (head ++ body, as encodePostingsTo writes them) and each buffer
   * with its length: the segment builder hands its writers' buffers over as they are, without a
   * concatenation and three views per term (~30k terms per segment). With `units`, the term's code units
   * are units[unitsFrom, unitsTo) (the builder's compact copy: reading each term's string was a cache miss).
   */
  addParts(
    term: string,
    head: Uint8Array,
    headLen: number,
    body: Uint8Array,
    bodyLen: number,
    positions: Uint8Array,
    positionsLen: number,
    units?: Uint16Array,
    unitsFrom = 0,
    unitsTo = 0,
  ): void {
    const len = units === undefined ? this.encodeTerm(term) : this.encodeUnits(term, units, unitsFrom, unitsTo);
    const postingsLen = headLen + bodyLen;
    const large = postingsLen > LARGE_BYTES;
    const inline = large ? 0 : postingsLen;
    if (
      this.count > 0 &&
      BLOCK_LEAD_BYTES + this.header.len + len + ENTRY_FIELDS_BYTES + this.postings.len + inline > BLOCK_VALUE_BYTES
    )
      this.flush();
    const cur = this.cur;
    if (this.count === 0) {
      this.firstTerm = term;
      this.blockPositionsStart = this.positionsBytes;
    }
    let shared = 0;
    const max = Math.min(len, this.prevLen);
    while (shared < max && cur[shared] === this.prev[shared]) shared++;
    const h = this.header;
    h.varint(this.count === 0 ? 0 : shared);
    const from = this.count === 0 ? 0 : shared;
    h.varint(len - from);
    h.bytesFrom(cur, from, len);
    h.varint(inline);
    h.varint(positionsLen);
    if (large) {
      const whole = new Uint8Array(postingsLen);
      whole.set(head.subarray(0, headLen));
      whole.set(body.subarray(0, bodyLen), headLen);
      this.put('large', [this.tenantId, this.segmentId, this.firstTerms.length, this.count, 0], whole);
    } else {
      this.postings.bytesFrom(head, 0, headLen);
      this.postings.bytesFrom(body, 0, bodyLen);
    }
    this.appendPositions(positions, positionsLen);
    this.postingsBytes += postingsLen;
    this.positionsBytes += positionsLen;
    this.terms++;
    // Swap buffers: cur becomes prev.
    this.cur = this.prev;
    this.prev = cur;
    this.prevLen = len;
    if (++this.count >= BLOCK_TERMS) this.flush();
  }

  /** The term's UTF-8 into this.cur; returns its length. ASCII (most terms) is copied as is. */
  private encodeTerm(term: string): number {
    const n = term.length;
    if (this.cur.length < n * 3) this.cur = new Uint8Array(n * 3);
    const cur = this.cur;
    for (let i = 0; i < n; i++) {
      const c = term.charCodeAt(i);
      if (c >= 128) return encoder.encodeInto(term, cur).written;
      cur[i] = c;
    }
    return n;
  }

  /** encodeTerm of `term` whose code units are units[from, to), read from there. */
  private encodeUnits(term: string, units: Uint16Array, from: number, to: number): number {
    const n = to - from;
    if (this.cur.length < n * 3) this.cur = new Uint8Array(n * 3);
    const cur = this.cur;
    for (let i = 0; i < n; i++) {
      const c = units[from + i]!;
      if (c >= 128) return encoder.encodeInto(term, cur).written;
      cur[i] = c;
    }
    return n;
  }

  finish(): void {
    this.flush();
    if (this.stream.len > 0)
      this.put('positions', [this.tenantId, this.segmentId, this.chunks++], this.stream.buf.subarray(0, this.stream.len));
    this.stream.len = 0;
    if (this.firstTerms.length > 0) this.put('dirs', [this.tenantId, this.segmentId], encodeDirectory(this.firstTerms));
  }

  /** Appends to the positions stream and writes every chunk it fills. */
  private appendPositions(positions: Uint8Array, n: number): void {
    const s = this.stream;
    s.bytesFrom(positions, 0, n);
    let at = 0;
    for (; s.len - at >= POSITIONS_CHUNK; at += POSITIONS_CHUNK)
      this.put('positions', [this.tenantId, this.segmentId, this.chunks++], s.buf.subarray(at, at + POSITIONS_CHUNK));
    if (at === 0) return;
    s.buf.copyWithin(0, at, s.len);
    s.len -= at;
  }

  private flush(): void {
    if (this.count === 0) return;
    const out = new ByteWriter(this.header.len + this.postings.len + BLOCK_LEAD_BYTES);
    out.varint(this.count);
    out.varint(this.blockPositionsStart);
    out.varint(this.header.len);
    out.bytes(this.header.buf.subarray(0, this.header.len));
    out.bytes(this.postings.buf.subarray(0, this.postings.len));
    const key: Key = [this.tenantId, this.segmentId, this.firstTerms.length];
    this.firstTerms.push(this.firstTerm);
    this.put('terms', key, out.buf.subarray(0, out.len));
    this.header.len = 0;
    this.postings.len = 0;
    this.count = 0;
    this.prevLen = 0;
  }
}

/** One decoded dictionary entry. */
export interface TermEntry {
  term: string;
  /** Postings (a view into the block or a large value). */
  postings: Uint8Array;
  /** Positions, read on demand (only phrases need them). */
  positions: () => Uint8Array | undefined;
}

type Opt = { transaction?: Transaction };

/** The directory value: varint n, then per first term varint shared prefix bytes, varint suffix bytes, suffix. */
function encodeDirectory(firstTerms: readonly string[]): Uint8Array {
  const w = new ByteWriter(firstTerms.length * 8 + 16);
  w.varint(firstTerms.length);
  let prev = new Uint8Array(0);
  for (const t of firstTerms) {
    const cur = encoder.encode(t);
    let shared = 0;
    const max = Math.min(cur.length, prev.length);
    while (shared < max && cur[shared] === prev[shared]) shared++;
    w.varint(shared);
    w.varint(cur.length - shared);
    w.bytes(cur.subarray(shared));
    prev = cur;
  }
  return w.buf.subarray(0, w.len);
}

function decodeDirectory(bytes: Uint8Array): string[] {
  const st = { off: 0 };
  const n = readVarint(bytes, st);
  const out: string[] = new Array(n);
  let cur = new Uint8Array(256);
  for (let i = 0; i < n; i++) {
    const shared = readVarint(bytes, st);
    const suffix = readVarint(bytes, st);
    if (cur.length < shared + suffix) {
      const next = new Uint8Array((shared + suffix) * 2);
      next.set(cur.subarray(0, shared));
      cur = next;
    }
    cur.set(bytes.subarray(st.off, st.off + suffix), shared);
    st.off += suffix;
    out[i] = decoder.decode(cur.subarray(0, shared + suffix));
  }
  return out;
}

type FastGetter = { getBinaryFast(key: Key, options?: Opt): Uint8Array | undefined };

/**
 * Opened (decrypted and decoded) sealed values of one sub-database, keyed by their LMDB key and the sealed
 * value's random nonce: a key reused after dropTenant, or a rewritten value, has another nonce, so a stale
 * entry is never hit. Least recently used dropped first beyond `budget` (in units of `cost`). Plaintext
 * stays in memory only.
 */
class OpenedCache<T> {
  readonly #entries = new Map<string, { value: T; cost: number }>();
  #used = 0;

  constructor(
    private readonly db: 'dirs' | 'terms' | 'positions' | 'large',
    private readonly budget: number,
    private readonly decode: (plain: Buffer) => T,
    private readonly cost: (value: T) => number,
  ) {}

  get(store: IndexStore, key: Key, opt: Opt): T | undefined {
    // A view of lmdb-js's shared read buffer, valid until the next read, whose `length` is patched to the
    // value's size (its byteLength is the whole buffer): only the nonce is read before the cache decides,
    // and a miss copies exactly `length` bytes.
    const raw = (store[this.db] as unknown as FastGetter).getBinaryFast(key, opt);
    if (raw === undefined) return undefined;
    const id = `${key.join('\0')}\0${Buffer.from(raw.buffer, raw.byteOffset + 1, 12).toString('base64')}`;
    let entry = this.#entries.get(id);
    if (entry === undefined) {
      const value = this.decode(store.open(this.db, key, Uint8Array.prototype.slice.call(raw, 0, raw.length)));
      entry = { value, cost: this.cost(value) };
      this.#used += entry.cost;
      while (this.#used > this.budget && this.#entries.size > 0) {
        const [oldest, e] = this.#entries.entries().next().value as [string, { cost: number }];
        this.#entries.delete(oldest);
        this.#used -= e.cost;
      }
    } else this.#entries.delete(id); // re-inserted below: most recently used last
    this.#entries.set(id, entry);
    return entry.value;
  }
}

/** Opened block directories (512 of them at most). */
const directories = new OpenedCache<readonly string[]>('dirs', 512, decodeDirectory, () => 1);

/**
 * Opened dictionary blocks for term lookups (64 MiB of plaintext at most). Without them every query term
 * paid one AES-GCM open per segment (a server fed one document at a time has many small segments): 95–114
 * ms per 15-word Cranfield query at 400 documents (probes/api-search-cost.ts).
 */
const blocks = new OpenedCache<Buffer>(
  'terms',
  64 * 2 ** 20,
  (plain) => plain,
  (b) => b.byteLength,
);

/**
 * Opened positions chunks for phrase queries (32 MiB of plaintext at most): a frequent word's positions
 * span many chunks, which the next phrase with it reads again.
 */
const positionChunks = new OpenedCache<Buffer>(
  'positions',
  32 * 2 ** 20,
  (plain) => plain,
  (b) => b.byteLength,
);

/** Reads chunk `no` of a segment's positions stream. */
type ChunkReader = (no: number) => Uint8Array | undefined;

/** Chunk `no` of a segment's positions stream through the opened chunks' cache (a query's read). */
export function positionsChunk(
  store: IndexStore,
  tenantId: string,
  segmentId: number,
  no: number,
  transaction?: Transaction,
): Uint8Array | undefined {
  return positionChunks.get(store, [tenantId, segmentId, no], transaction ? { transaction } : {});
}

/** Chunks for a query, through the cache. */
function cachedChunks(store: IndexStore, tenantId: string, segmentId: number, opt: Opt): ChunkReader {
  return (no) => positionChunks.get(store, [tenantId, segmentId, no], opt);
}

/** Bytes [off, off + len) of a positions stream (a view when they lie in one chunk). */
function readPositions(chunk: ChunkReader, off: number, len: number): Uint8Array | undefined {
  if (len === 0) return EMPTY;
  const first = Math.floor(off / POSITIONS_CHUNK);
  const last = Math.floor((off + len - 1) / POSITIONS_CHUNK);
  const at = off - first * POSITIONS_CHUNK;
  const c = chunk(first);
  if (c === undefined) return undefined;
  if (first === last) return c.subarray(at, at + len);
  const out = new Uint8Array(len);
  out.set(c.subarray(at));
  let n = c.length - at;
  for (let no = first + 1; no <= last; no++) {
    const next = chunk(no);
    if (next === undefined) return undefined;
    const take = Math.min(next.length, len - n);
    out.set(next.subarray(0, take), n);
    n += take;
  }
  return out;
}

/**
 * Opened postings of large terms for queries (128 MiB of plaintext at most), in memory only.
 * A frequent term's postings are the biggest value a query reads: at 100k documents, opening them (and
 * decoding their skip table, cached beside by identity in search-index.ts) cost more than scoring.
 */
const largeValues = new OpenedCache<Buffer>(
  'large',
  128 * 2 ** 20,
  (plain) => plain,
  (b) => b.byteLength,
);

/** First term of each dictionary block of a segment (empty for a segment without terms). */
export function blockDirectory(store: IndexStore, tenantId: string, segmentId: number, opt: Opt = {}): readonly string[] {
  return directories.get(store, [tenantId, segmentId], opt) ?? [];
}

/** Index of the last block whose first term is <= term, or -1. */
function blockOf(dir: readonly string[], term: string): number {
  let lo = 0;
  let hi = dir.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (compareTerms(dir[mid]!, term) <= 0) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

function compareBytes(a: Uint8Array, aLen: number, b: Uint8Array): number {
  const n = Math.min(aLen, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return aLen - b.length;
}

/**
 * Walks the front-coded entries of an opened dictionary block in order: after next(), the entry's term is
 * bytes[0, len), its inline postings block[postOff, postOff + postingsBytes) (0 bytes: stored in
 * index-large) and its positions [posOff, posOff + positionsBytes) of the segment's positions stream.
 */
class BlockEntries {
  readonly n: number;
  bytes: Uint8Array;
  len = 0;
  postOff: number;
  postingsBytes = 0;
  posOff = 0;
  positionsBytes = 0;
  private readonly st = { off: 0 };

  constructor(
    private readonly block: Uint8Array,
    bytes: Uint8Array,
  ) {
    this.bytes = bytes;
    this.n = readVarint(block, this.st);
    this.posOff = readVarint(block, this.st);
    const headerBytes = readVarint(block, this.st);
    this.postOff = this.st.off + headerBytes;
  }

  next(): void {
    const { block, st } = this;
    this.postOff += this.postingsBytes;
    this.posOff += this.positionsBytes;
    const shared = readVarint(block, st);
    const suffix = readVarint(block, st);
    if (this.bytes.length < shared + suffix) {
      const grown = new Uint8Array((shared + suffix) * 2);
      grown.set(this.bytes.subarray(0, this.len));
      this.bytes = grown;
    }
    // Byte by byte: a `subarray` view per entry scanned was most of what a term lookup allocated.
    const bytes = this.bytes;
    for (let k = 0, p = st.off; k < suffix; k++) bytes[shared + k] = block[p + k]!;
    st.off += suffix;
    this.len = shared + suffix;
    this.postingsBytes = readVarint(block, st);
    this.positionsBytes = readVarint(block, st);
  }
}

/** Term bytes of lookups and prefix scans (one query at a time on this thread). */
let scratch: Uint8Array = new Uint8Array(1024);

/** The postings of `term` in a segment, or undefined. */
export function lookupTerm(
  store: IndexStore,
  tenantId: string,
  segmentId: number,
  term: string,
  transaction?: Transaction,
): TermEntry | undefined {
  const opt: Opt = transaction ? { transaction } : {};
  const f = findTerm(store, tenantId, segmentId, term, opt);
  return f && entryOf(store, f.blockKey, f.entry, term, f.block, f.e, opt, cachedChunks(store, tenantId, segmentId, opt));
}

/** Whether the segment's dictionary holds `term` (its postings are not read). */
export function segmentHasTerm(
  store: IndexStore,
  tenantId: string,
  segmentId: number,
  term: string,
  transaction?: Transaction,
): boolean {
  return findTerm(store, tenantId, segmentId, term, transaction ? { transaction } : {}) !== undefined;
}

/** The dictionary entry of `term` in its (cached) block, positioned on it. */
function findTerm(
  store: IndexStore,
  tenantId: string,
  segmentId: number,
  term: string,
  opt: Opt,
): { blockKey: Key; block: Uint8Array; e: BlockEntries; entry: number } | undefined {
  const blockNo = blockOf(blockDirectory(store, tenantId, segmentId, opt), term);
  if (blockNo < 0) return undefined;
  const blockKey: Key = [tenantId, segmentId, blockNo];
  const block = blocks.get(store, blockKey, opt);
  if (block === undefined) return undefined;
  const target = encoder.encode(term);
  const e = new BlockEntries(block, scratch);
  for (let i = 0; i < e.n; i++) {
    e.next();
    const c = compareBytes(e.bytes, e.len, target);
    if (c > 0) break;
    if (c === 0) {
      scratch = e.bytes;
      return { blockKey, block, e, entry: i };
    }
  }
  scratch = e.bytes;
  return undefined;
}

/**
 * Views of the inline postings of cached blocks, one per entry: a term's lookups get the same view while its
 * block stays cached, so what is cached by identity (skip tables and block bounds in search-index.ts and
 * scorers.ts, positionsAt) serves inline terms as it serves large ones.
 */
const inlineViews = new WeakMap<Uint8Array, Map<number, Uint8Array>>();

function inlineView(block: Uint8Array, off: number, len: number): Uint8Array {
  let views = inlineViews.get(block);
  if (views === undefined) inlineViews.set(block, (views = new Map()));
  let v = views.get(off);
  if (v === undefined) views.set(off, (v = block.subarray(off, off + len)));
  return v;
}

/** Where the positions of postings handed out by lookupTerm lie (keyed by the postings view itself). */
const positionsAt = new WeakMap<
  Uint8Array,
  { store: IndexStore; tenantId: string; segmentId: number; off: number; len: number }
>();

/** The entry `e` stands on (entry number `entry` of the block). */
function entryOf(
  store: IndexStore,
  blockKey: Key,
  entry: number,
  term: string,
  block: Uint8Array,
  e: BlockEntries,
  opt: Opt,
  chunks: ChunkReader,
): TermEntry {
  const { postOff, postingsBytes, posOff, positionsBytes } = e;
  const positions = () => readPositions(chunks, posOff, positionsBytes);
  const key = [...blockKey, entry, 0];
  const postings = postingsBytes > 0 ? inlineView(block, postOff, postingsBytes) : largeValues.get(store, key, opt);
  if (postings === undefined) return { term, postings: EMPTY, positions };
  if (!positionsAt.has(postings)) {
    const [tenantId, segmentId] = blockKey as [string, number];
    positionsAt.set(postings, { store, tenantId, segmentId, off: posOff, len: positionsBytes });
  }
  return { term, postings, positions };
}

/** The terms of one (opened) block. */
function decodeDictionaryBlock(block: Uint8Array): string[] {
  const out: string[] = [];
  const e = new BlockEntries(block, new Uint8Array(256));
  for (let i = 0; i < e.n; i++) {
    e.next();
    out.push(decoder.decode(e.bytes.subarray(0, e.len)));
  }
  return out;
}

/**
 * Terms of a segment in order, from `from` (inclusive) to `to` (exclusive; default: the end), at most
 * `limit` of them. This reads only dictionary blocks (a merge reads postings with SegmentTermCursor).
 */
export function* segmentTerms(
  store: IndexStore,
  tenantId: string,
  segmentId: number,
  options: { from?: string; to?: string; limit?: number; transaction?: Transaction } = {},
): Generator<string> {
  const opt: Opt = options.transaction ? { transaction: options.transaction } : {};
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const dir = blockDirectory(store, tenantId, segmentId, opt);
  let count = 0;
  for (let b = options.from === undefined ? 0 : Math.max(0, blockOf(dir, options.from)); b < dir.length; b++) {
    if (options.to !== undefined && compareTerms(dir[b]!, options.to) >= 0) return;
    const block = store.get('terms', [tenantId, segmentId, b], options.transaction);
    if (block === undefined) return;
    for (const term of decodeDictionaryBlock(block)) {
      if (options.from !== undefined && compareTerms(term, options.from) < 0) continue;
      if (options.to !== undefined && compareTerms(term, options.to) >= 0) return;
      yield term;
      if (++count >= limit) return;
    }
  }
}

/**
 * A merge's walk over every term of a segment in order, with nothing allocated per term: a merge reads
 * each term of each source (~620k for twenty segments of 1000 documents, two thirds of them in one
 * document), and an entry object, its positions closure and two views per term were much of its cost.
 * After next() returns true the term is bytes[0, len) (UTF-8, compared as bytes: compareTerms order), its
 * postings postings[postingsFrom, postingsTo) and its positions positions[positionsFrom, positionsTo).
 * Large values and positions chunks are opened once each, without the query caches (a merge would only
 * evict what queries use).
 */
export class SegmentTermCursor {
  bytes: Uint8Array = new Uint8Array(256);
  len = 0;
  postings: Uint8Array = EMPTY;
  postingsFrom = 0;
  postingsTo = 0;
  positions: Uint8Array = EMPTY;
  positionsFrom = 0;
  positionsTo = 0;
  private readonly blockCount: number;
  private blockNo = -1;
  private block: Uint8Array = EMPTY;
  private entries: BlockEntries | undefined;
  private entry = 0;
  private chunkNo = -1;
  private chunk: Uint8Array | undefined;
  /** A term's positions that span chunks, copied together. */
  private spanning: Uint8Array = EMPTY;

  constructor(
    private readonly store: IndexStore,
    private readonly tenantId: string,
    private readonly segmentId: number,
    private readonly transaction?: Transaction,
  ) {
    this.blockCount = blockDirectory(store, tenantId, segmentId, transaction ? { transaction } : {}).length;
  }

  /** Moves to the next term; false at the end. */
  next(): boolean {
    while (this.entries === undefined || this.entry >= this.entries.n) {
      if (++this.blockNo >= this.blockCount) return false;
      const block = this.store.get('terms', [this.tenantId, this.segmentId, this.blockNo], this.transaction);
      if (block === undefined) return false;
      this.block = block;
      this.entries = new BlockEntries(block, this.bytes);
      this.entry = 0;
    }
    const e = this.entries;
    e.next();
    this.bytes = e.bytes;
    this.len = e.len;
    if (e.postingsBytes > 0) {
      this.postings = this.block;
      this.postingsFrom = e.postOff;
      this.postingsTo = e.postOff + e.postingsBytes;
    } else {
      const key: Key = [this.tenantId, this.segmentId, this.blockNo, this.entry, 0];
      this.postings = this.store.get('large', key, this.transaction) ?? EMPTY;
      this.postingsFrom = 0;
      this.postingsTo = this.postings.length;
    }
    this.entry++;
    this.readPositions(e.posOff, e.positionsBytes);
    return true;
  }

  /** The term as a string. */
  term(): string {
    return decoder.decode(this.bytes.subarray(0, this.len));
  }

  private readChunk(no: number): Uint8Array | undefined {
    if (no !== this.chunkNo) {
      this.chunk = this.store.get('positions', [this.tenantId, this.segmentId, no], this.transaction);
      this.chunkNo = no;
    }
    return this.chunk;
  }

  /** Positions [off, off + len) of the stream: in place when in one chunk (most terms). */
  private readPositions(off: number, len: number): void {
    const first = Math.floor(off / POSITIONS_CHUNK);
    const last = Math.floor((off + len - 1) / POSITIONS_CHUNK);
    const at = off - first * POSITIONS_CHUNK;
    const c = len === 0 ? undefined : this.readChunk(first);
    if (c === undefined || first === last) {
      this.positions = c ?? EMPTY;
      this.positionsFrom = c === undefined ? 0 : at;
      this.positionsTo = c === undefined ? 0 : at + len;
      return;
    }
    if (this.spanning.length < len) this.spanning = new Uint8Array(len * 2);
    const out = this.spanning;
    out.set(c.subarray(at));
    let n = c.length - at;
    for (let no = first + 1; no <= last; no++) {
      const next = this.readChunk(no);
      if (next === undefined) {
        this.positions = EMPTY;
        this.positionsFrom = 0;
        this.positionsTo = 0;
        return;
      }
      const take = Math.min(next.length, len - n);
      out.set(next.subarray(0, take), n);
      n += take;
    }
    this.positions = out;
    this.positionsFrom = 0;
    this.positionsTo = n;
  }
}

/** The postings of `term` in a segment, or undefined; termPositionsReader(postings, …) then reads its positions. */
export function termPostings(
  store: IndexStore,
  tenantId: string,
  segmentId: number,
  term: string,
  transaction?: Transaction,
): Uint8Array | undefined {
  return lookupTerm(store, tenantId, segmentId, term, transaction)?.postings;
}

/**
 * Reads bytes [from, from + len) of the positions of postings returned by termPostings, in the query's
 * snapshot: a phrase reads one block's at a time, a view of one cached chunk unless it spans two. The chunk
 * last read is kept: a word's blocks are read in order and several share a chunk, which then costs no
 * LMDB lookup and no cache key. `chunkOf` reads a chunk of the postings' segment in place of the opened
 * chunks' cache (a caller that keeps chunks by segment uid: search-index.ts).
 */
export function termPositionsReader(
  postings: Uint8Array,
  transaction?: Transaction,
  chunkOf?: (no: number) => Uint8Array | undefined,
): (from: number, len: number) => Uint8Array | undefined {
  const at = positionsAt.get(postings);
  if (at === undefined) return () => undefined;
  const cached = chunkOf ?? cachedChunks(at.store, at.tenantId, at.segmentId, transaction ? { transaction } : {});
  let lastNo = -1;
  let last: Uint8Array | undefined;
  const chunk: ChunkReader = (no) => {
    if (no !== lastNo) {
      last = cached(no);
      lastNo = no;
    }
    return last;
  };
  return (from, len) => readPositions(chunk, at.off + from, Math.max(0, Math.min(len, at.len - from)));
}

/**
 * Terms starting with `prefix` in each segment (at most `scanLimit` per segment), for a query: blocks come
 * through the opened-block cache and only matching terms are decoded to strings.
 */
export function prefixTerms(
  store: IndexStore,
  tenantId: string,
  segmentIds: readonly number[],
  prefix: string,
  scanLimit: number,
  transaction?: Transaction,
): Set<string> {
  const opt: Opt = transaction ? { transaction } : {};
  const want = encoder.encode(prefix);
  const found = new Set<string>();
  for (const id of segmentIds) {
    const dir = blockDirectory(store, tenantId, id, opt);
    const first = Math.max(0, blockOf(dir, prefix));
    let seen = 0;
    scan: for (let b = first; b < dir.length; b++) {
      // Every term of a later block sorts after its first term: past the range once that one is.
      if (b > first && !dir[b]!.startsWith(prefix)) break;
      const block = blocks.get(store, [tenantId, id, b], opt);
      if (block === undefined) break;
      const e = new BlockEntries(block, scratch);
      for (let i = 0; i < e.n; i++) {
        e.next();
        const cur = e.bytes;
        const curLen = e.len;
        let p = 0;
        while (p < want.length && p < curLen && cur[p] === want[p]) p++;
        if (p === want.length) {
          found.add(decoder.decode(cur.subarray(0, curLen)));
          if (++seen >= scanLimit) break scan;
        } else if (p < curLen && cur[p]! > want[p]!) break scan;
      }
    }
  }
  return found;
}
