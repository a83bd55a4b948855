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
 * The loads under way of one per-tenant cache, at most one per tenant: a load is joined while it runs and
 * forgotten once it has ended; a drop of the tenant cancels it (the load looks at `cancelled` after each
 * slice and then installs nothing).
 */
export class TenantLoads<L extends { cancelled: boolean }, T = unknown> {
  /** Each tenant's cache once loaded (a load ends by setting it): a load of a tenant here does nothing. */
  readonly loaded = new Map<string, T>();
  readonly #loads = new Map<string, { load: L; promise: Promise<void> }>();

  /** The tenant's load under way, if any (the hooks keep their changes in it). */
  get(tenantId: string): L | undefined {
    return this.#loads.get(tenantId)?.load;
  }

  /** Unless the tenant is loaded: joins its load under way, else runs `run` on a new one, `make()`. */
  start(tenantId: string, make: () => L, run: (load: L) => Promise<void>): Promise<void> {
    if (this.loaded.has(tenantId)) return Promise.resolve();
    const current = this.#loads.get(tenantId);
    if (current !== undefined) return current.promise;
    const entry = { load: make(), promise: Promise.resolve() };
    this.#loads.set(tenantId, entry);
    entry.promise = run(entry.load).finally(() => {
      if (this.#loads.get(tenantId) === entry) this.#loads.delete(tenantId);
    });
    return entry.promise;
  }

  /** Cancels the tenant's load under way; whether there was one. */
  cancel(tenantId: string): boolean {
    const current = this.#loads.get(tenantId);
    if (current === undefined) return false;
    current.load.cancelled = true;
    this.#loads.delete(tenantId);
    return true;
  }

  /**
   * The tenant was dropped: its load under way is cancelled, and a tenant loaded or being loaded has
   * `empty()` from now on (nothing of its old data; later writes reach it as any loaded tenant's do).
   */
  dropped(tenantId: string, empty: () => T): void {
    if (this.cancel(tenantId) || this.loaded.has(tenantId)) this.loaded.set(tenantId, empty());
  }
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

/** Runs `steps` (a generator that yields where it may pause) to its end at once, with no pause; its result. */
export function allSteps<T>(steps: Generator<void, T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Runs `steps` (a generator that yields where it may pause) in the slicer's slices; its result. */
export async function inSlices<T>(steps: Generator<void, T>, slicer: Slicer): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (slicer.due) await slicer.next();
  }
}

/** Strings sorted in UTF-16 code unit order (as `Array.prototype.sort`) in slices: runs sorted, then merged. */
export function sortInSlices(items: string[], slicer: Slicer): Promise<string[]> {
  return inSlices(sortInSteps(items), slicer);
}

/**
 * `items` sorted by `compare` (none: as `Array.prototype.sort` sorts strings), in steps of a few thousand
 * items: runs sorted, then merged (stable). One sort of 100k+ items held the event loop for tens of ms.
 */
export function* sortInSteps<T>(items: readonly T[], compare?: (a: T, b: T) => number): Generator<void, T[]> {
  const RUN = 4096;
  const inOrder = compare === undefined ? (a: T, b: T) => a <= b : (a: T, b: T) => compare(a, b) <= 0;
  let runs: T[][] = [];
  for (let at = 0; at < items.length; at += RUN) {
    runs.push(items.slice(at, at + RUN).sort(compare));
    yield;
  }
  while (runs.length > 1) {
    const next: T[][] = [];
    for (let r = 0; r < runs.length; r += 2) {
      const a = runs[r]!;
      const b = runs[r + 1];
      if (b === undefined) {
        next.push(a);
        continue;
      }
      const out = new Array<T>(a.length + b.length);
      let i = 0;
      let j = 0;
      let k = 0;
      while (i < a.length || j < b.length) {
        out[k++] = j >= b.length || (i < a.length && inOrder(a[i]!, b[j]!)) ? a[i++]! : b[j++]!;
        if ((k & 4095) === 0) yield;
      }
      next.push(out);
    }
    runs = next;
  }
  return runs[0] ?? [];
}
