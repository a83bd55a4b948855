/**
 * Time slices for the per-tenant caches built after a start (doc-values.ts, term-dictionary.ts,
 * word-list.ts, suggest.ts; engine.ts runs them). Built in one go, a tenant of 1M documents held the event
 * loop for 4–5 s on its first faceted query and again on its first Suggest: no health check, upload or other
 * tenant's query was answered meanwhile. Built in slices of a few ms with a turn of the loop between them,
 * the work is the same and nobody waits behind it.
 */

/** Runs `fn` when no write of the index is in flight (SearchIndex.exclusive): where a load takes its snapshot. */
export type Between = <T>(fn: () => T | Promise<T>) => Promise<T>;

/**
 * One load of a tenant's cache at a time: joins the one under way in `loads`, else installs `fresh`, runs it
 * and forgets it once it has ended.
 */
export function joinOrStart<L extends { promise: Promise<void> }>(
  loads: Map<string, L>,
  tenantId: string,
  fresh: L,
  run: (load: L) => Promise<void>,
): Promise<void> {
  const current = loads.get(tenantId);
  if (current !== undefined) return current.promise;
  loads.set(tenantId, fresh);
  fresh.promise = run(fresh).finally(() => {
    if (loads.get(tenantId) === fresh) loads.delete(tenantId);
  });
  return fresh.promise;
}

/** How long a slice may run before the loop gets a turn; time, not a count (blocks differ in size). */
export class Slicer {
  #from = performance.now();
  constructor(
    private readonly sliceMs: number,
    private readonly signal?: AbortSignal,
  ) {}

  /** This slice has had its time: `await next()` before going on. */
  get due(): boolean {
    return performance.now() - this.#from >= this.sliceMs;
  }

  /** A turn of the event loop (setImmediate: I/O and timers first), then a new slice; throws once stopped. */
  async next(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    this.signal?.throwIfAborted();
    this.#from = performance.now();
  }
}

/** Strings sorted in UTF-16 code unit order (as `Array.prototype.sort`) in slices: runs sorted, then merged. */
export async function sortInSlices(items: string[], slicer: Slicer): Promise<string[]> {
  const RUN = 4096;
  let runs: string[][] = [];
  for (let at = 0; at < items.length; at += RUN) {
    runs.push(items.slice(at, at + RUN).sort());
    if (slicer.due) await slicer.next();
  }
  while (runs.length > 1) {
    const next: string[][] = [];
    for (let r = 0; r < runs.length; r += 2) {
      const a = runs[r]!;
      const b = runs[r + 1];
      if (b === undefined) {
        next.push(a);
        continue;
      }
      const out = new Array<string>(a.length + b.length);
      let i = 0;
      let j = 0;
      let k = 0;
      while (i < a.length || j < b.length) {
        out[k++] = j >= b.length || (i < a.length && a[i]! <= b[j]!) ? a[i++]! : b[j++]!;
        if ((k & 4095) === 0 && slicer.due) await slicer.next();
      }
      next.push(out);
    }
    runs = next;
  }
  return runs[0] ?? [];
}
