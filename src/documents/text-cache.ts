import { LRUCache } from 'lru-cache';

/**
 * The sealed header's first bytes: magic, version, suite, the random 24-byte salt and the key commitment.
 * A text sealed again (reprocessing) has another salt, so these name one sealing of one text.
 */
export const IDENTITY_BYTES = 64;

/** One opened text: its plaintext (UTF-8, form feed between pages) and the pages decoded so far. */
interface OpenedText {
  readonly identity: Buffer;
  readonly plain: Buffer;
  readonly pages: (string | undefined)[];
  /** Byte offset of each page's start in `plain`, and one past the last page's end. */
  readonly bounds: readonly number[];
}

/**
 * Recently opened texts of search hits, in memory only and bounded in bytes: the same documents come back
 * page after page, query after query (search as you type, paging, another sort), and opening one (unwrap,
 * key derivation, AES-GCM, zstd, SHA-256, UTF-8) costs more than the rest of its snippet. An entry is used
 * only while the stored text is the sealing it was opened from; its plaintext bytes are zeroed when it
 * leaves (its decoded page strings are left to the garbage collector).
 */
export class TextCache {
  readonly #lru: LRUCache<string, OpenedText> | undefined;
  readonly #maxBytes: number;
  /** Bumped by every delete, dropTenant and clear: a text whose opening spanned one is not kept. */
  #generation = 0;

  /** `maxBytes` 0 keeps nothing. */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
    this.#lru =
      maxBytes > 0
        ? new LRUCache<string, OpenedText>({ maxSize: maxBytes, sizeCalculation: entrySize, dispose: (t) => t.plain.fill(0) })
        : undefined;
  }

  /**
   * The pages of the tenant's document whose stored text begins with `identity` (its first IDENTITY_BYTES):
   * from the cache when that sealing was opened before, otherwise `open()`ed (the stored text's identity
   * and plaintext) and kept. Only the pages in `wanted` (0-based) are decoded, the others are empty
   * strings; every page without `wanted`.
   */
  async pages(
    tenantId: string,
    docId: string,
    identity: Uint8Array,
    open: () => Promise<{ identity: Uint8Array; plain: Buffer }>,
    wanted?: ReadonlySet<number>,
  ): Promise<string[]> {
    const key = `${tenantId}\0${docId}`;
    let text = this.#lru?.get(key);
    if (text !== undefined && !text.identity.equals(identity.subarray(0, IDENTITY_BYTES))) {
      this.#lru?.delete(key);
      text = undefined;
    }
    if (text === undefined) {
      const generation = this.#generation;
      const opened = await open();
      const plain = ownMemory(opened.plain);
      if (plain.buffer !== opened.plain.buffer) opened.plain.fill(0);
      text = { identity: ownMemory(opened.identity.subarray(0, IDENTITY_BYTES)), plain, pages: [], bounds: pageBounds(plain) };
      // Not kept: no cache; a delete or an erasure came while it was opened; or it alone is over the bound
      // (lru-cache refuses such an entry without disposing of it).
      if (!this.#lru || generation !== this.#generation || entrySize(text) > this.#maxBytes)
        return decodePages(text, wanted, true);
      this.#lru.set(key, text);
    }
    return decodePages(text, wanted, false);
  }

  /** Forget a document's text (deleted). */
  delete(tenantId: string, docId: string): void {
    this.#generation++;
    this.#lru?.delete(`${tenantId}\0${docId}`);
  }

  /** Forget every text of a tenant (erased, or its index dropped). */
  dropTenant(tenantId: string): void {
    this.#generation++;
    if (!this.#lru) return;
    const prefix = `${tenantId}\0`;
    for (const key of [...this.#lru.keys()]) if (key.startsWith(prefix)) this.#lru.delete(key);
  }

  /** Forget everything (shutdown). */
  clear(): void {
    this.#generation++;
    this.#lru?.clear();
  }

  /** Whether the tenant's document has an opened text here. */
  has(tenantId: string, docId: string): boolean {
    return this.#lru?.has(`${tenantId}\0${docId}`) ?? false;
  }

  get size(): number {
    return this.#lru?.size ?? 0;
  }
}

/** What an entry counts: its plaintext, at most that again twice over as UTF-16 pages, and its bookkeeping. */
function entrySize(t: OpenedText): number {
  return t.plain.byteLength * 3 + ENTRY_OVERHEAD_BYTES;
}
const ENTRY_OVERHEAD_BYTES = 512;

/**
 * `b` in memory of its own: a small Buffer is often a view on Node's shared 8 KiB pool, and a cached view
 * would keep the whole slab alive.
 */
function ownMemory(b: Uint8Array): Buffer {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength)
    return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, 0, b.byteLength);
  const out = Buffer.allocUnsafeSlow(b.byteLength);
  out.set(b);
  return out;
}

/** Page starts (a form feed byte is never part of a longer UTF-8 sequence, so pages are cut on bytes). */
function pageBounds(plain: Buffer): number[] {
  const bounds = [0];
  for (let ff = plain.indexOf(0x0c); ff >= 0; ff = plain.indexOf(0x0c, ff + 1)) bounds.push(ff + 1);
  bounds.push(plain.byteLength + 1);
  return bounds;
}

function decodePages(text: OpenedText, wanted: ReadonlySet<number> | undefined, wipe: boolean): string[] {
  const count = text.bounds.length - 1;
  const out: string[] = [];
  for (let p = 0; p < count; p++) {
    if (wanted !== undefined && !wanted.has(p)) {
      out.push('');
      continue;
    }
    let page = text.pages[p];
    if (page === undefined) {
      page = text.plain.toString('utf8', text.bounds[p]!, text.bounds[p + 1]! - 1);
      if (!wipe) text.pages[p] = page;
    }
    out.push(page);
  }
  if (wipe) text.plain.fill(0);
  return out;
}
