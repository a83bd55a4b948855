/**
 * A variable-length run of numbers per ordinal, all in one typed arena: a document's title words (Suggest's
 * title index), its dates, amounts and tags (doc-values.ts), its id and title as UTF-8 (text-column.ts).
 * One array per document instead cost a heap object each, which at 1M documents the garbage collector
 * walked on every full collection. A rewritten or cleared run becomes garbage, copied away (in ordinal
 * order) once it is more than `slack` entries and half of the arena.
 */
import { grow } from './slice-table.js';

export const NONE = -1;

type Arena = Uint8Array<ArrayBuffer> | Int32Array<ArrayBuffer> | Float64Array<ArrayBuffer>;

export class OrdinalSlices<A extends Arena> {
  #start = new Int32Array(1024).fill(NONE);
  #length = new Int32Array(1024);
  #arena: A;
  #used = 0;
  #garbage = 0;
  /** Ordinals below this may hold a run. */
  #extent = 0;

  constructor(
    private readonly make: (size: number) => A,
    private readonly slack = 1 << 16,
  ) {
    this.#arena = make(4096);
  }

  /** The arena: ordinal o's run is arena[start(o) .. start(o) + length(o)). Replaced as it grows. */
  get arena(): A {
    return this.#arena;
  }
  /** Where o's run starts, or NONE. */
  start(o: number): number {
    return o < this.#extent ? this.#start[o]! : NONE;
  }
  length(o: number): number {
    return o < this.#extent ? this.#length[o]! : 0;
  }
  /** Ordinals below this may hold a run. */
  get extent(): number {
    return this.#extent;
  }

  clear(o: number): void {
    if (o >= this.#extent || this.#start[o] === NONE) return;
    this.#garbage += this.#length[o]!;
    this.#start[o] = NONE;
  }

  /**
   * Clears o and makes room for a run of up to `max` entries: write it at the returned offset of `arena`,
   * then `commit` how many were written.
   */
  reserve(o: number, max: number): number {
    this.clear(o);
    if (o >= this.#start.length) {
      const size = Math.max(this.#start.length * 2, o + 1);
      const old = this.#start.length;
      this.#start = grow(this.#start, size);
      this.#start.fill(NONE, old);
      this.#length = grow(this.#length, size);
    }
    if (o >= this.#extent) this.#extent = o + 1;
    if (this.#garbage > this.slack && this.#garbage * 2 > this.#used) this.#compact();
    if (this.#used + max > this.#arena.length) {
      const next = this.make(Math.max(this.#arena.length * 2, this.#used + max));
      next.set(this.#arena.subarray(0, this.#used));
      this.#arena = next;
    }
    return this.#used;
  }

  /** Ordinal o's run is the `length` entries written at `at` (the offset reserve returned). */
  commit(o: number, at: number, length: number): void {
    this.#start[o] = at;
    this.#length[o] = length;
    this.#used = at + length;
  }

  /** Entries the arena holds (runs and garbage). */
  get used(): number {
    return this.#used;
  }

  /**
   * Makes room for ordinals below `ordinals` and an arena of `entries`, in one copy each (a bulk load that
   * knows its size): grown by doubling, the copies at a million ordinals held the event loop for tens of ms.
   */
  presize(ordinals: number, entries: number): void {
    if (ordinals > this.#start.length) {
      const old = this.#start.length;
      this.#start = grow(this.#start, ordinals);
      this.#start.fill(NONE, old);
      this.#length = grow(this.#length, ordinals);
    }
    if (entries > this.#arena.length) {
      const next = this.make(entries);
      next.set(this.#arena.subarray(0, this.#used));
      this.#arena = next;
    }
  }

  /** Drops the arena's unused tail, keeping an eighth for runs still to come (after a bulk load). */
  trim(): void {
    const keep = Math.max(4096, this.#used + (this.#used >> 3));
    if (this.#arena.length > keep) this.#arena = this.#arena.slice(0, keep) as A;
  }

  #compact(): void {
    const next = this.make(Math.max(4096, (this.#used - this.#garbage) * 2));
    let k = 0;
    for (let o = 0; o < this.#extent; o++) {
      const at = this.#start[o]!;
      if (at === NONE) continue;
      const len = this.#length[o]!;
      next.set(this.#arena.subarray(at, at + len), k);
      this.#start[o] = k;
      k += len;
    }
    this.#arena = next;
    this.#used = k;
    this.#garbage = 0;
  }
}
