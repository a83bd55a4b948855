/**
 * Keeps `value` under `key` in an in-memory cache of at most `max` entries; the oldest entry goes first
 * (a Map iterates in insertion order). For caches keyed by segment uid, whose values never change.
 */
export function remember<K, V>(cache: Map<K, V>, key: K, value: V, max: number): void {
  if (cache.size >= max) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}
