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
 * only while the stored text is the sealing it was opened from; plaintext is zeroed when it leaves.
 */
export class TextCache {
  readonly #lru: LRUCache<string, OpenedText> | undefined;

  /** `maxBytes` 0 keeps nothing. */
  constructor(maxBytes: number) {
    this.#lru =
      maxBytes > 0
        ? new LRUCache<string, OpenedText>({
            maxSize: maxBytes,
            // The plaintext and, at most, its pages decoded to UTF-16.
            sizeCalculation: (t) => Math.max(1, t.plain.byteLength * 3),
            dispose: (t) => t.plain.fill(0),
          })
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
      const opened = await open();
      const plain = opened.plain;
      text = { identity: Buffer.from(opened.identity.subarray(0, IDENTITY_BYTES)), plain, pages: [], bounds: pageBounds(plain) };
      if (this.#lru) this.#lru.set(key, text);
      else return decodePages(text, wanted, true);
    }
    return decodePages(text, wanted, false);
  }

  /** Forget a document's text (deleted). */
  delete(tenantId: string, docId: string): void {
    this.#lru?.delete(`${tenantId}\0${docId}`);
  }

  /** Forget every text of a tenant (erased, or its index dropped). */
  dropTenant(tenantId: string): void {
    if (!this.#lru) return;
    const prefix = `${tenantId}\0`;
    for (const key of [...this.#lru.keys()]) if (key.startsWith(prefix)) this.#lru.delete(key);
  }

  /** Forget everything (shutdown). */
  clear(): void {
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
