/**
 * Keeps `value` under `key` in an in-memory cache of at most `max` entries; the oldest entry goes first
 * (a Map iterates in insertion order). For caches keyed by segment uid, whose values never change.
 */
export function remember<K, V>(cache: Map<K, V>, key: K, value: V, max: number): void {
  if (cache.size >= max) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}

/**
 * A cache of at most `maxEntries` values, and of at most `maxBytes` in all when values are byte arrays
 * (undefined counts 0), the oldest going first; `undefined` is kept as an answer too (a segment without the
 * term). For values read by segment uid, which never change.
 */
export class BoundedCache<V extends Uint8Array | undefined> {
  readonly #map = new Map<string, V>();
  #bytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {}

  /** The value under `key`, read with `read` and kept when not cached. */
  get(key: string, read: () => V): V {
    const map = this.#map;
    const hit = map.get(key);
    if (hit !== undefined || map.has(key)) return hit as V;
    const value = read();
    map.set(key, value);
    this.#bytes += value?.byteLength ?? 0;
    while (map.size > this.maxEntries || this.#bytes > this.maxBytes) {
      const [oldest, old] = map.entries().next().value as [string, V];
      map.delete(oldest);
      this.#bytes -= old?.byteLength ?? 0;
    }
    return value;
  }
}
