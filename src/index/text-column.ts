/**
 * Strings by ordinal outside the JavaScript heap: a tenant's document ids and titles (doc-values.ts). Held
 * as JS strings, with a Map from id to ordinal, they were ~130 bytes and three heap objects per document:
 * at 1M documents the largest part of the heap, walked by every full garbage collection (whose pauses were
 * the p99 of Suggest). Here each is UTF-8 in one byte arena (ordinal-slices.ts), and the id index is an
 * open-addressing table of ordinals in an Int32Array.
 */
import { NONE, OrdinalSlices } from './ordinal-slices.js';
import { grow, hashRange } from './slice-table.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class TextColumn {
  readonly #runs = new OrdinalSlices((n) => new Uint8Array(n));

  get(o: number): string | undefined {
    const at = this.#runs.start(o);
    return at === NONE ? undefined : decoder.decode(this.#runs.arena.subarray(at, at + this.#runs.length(o)));
  }

  /** Sets (or, with undefined, clears) ordinal o's string. */
  set(o: number, s: string | undefined): void {
    if (s === undefined) {
      this.#runs.clear(o);
      return;
    }
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const at = this.#runs.reserve(o, s.length * 3);
    const { written } = encoder.encodeInto(s, this.#runs.arena.subarray(at));
    this.#runs.commit(o, at, written);
  }

  /** Bytes held (strings and garbage). */
  get used(): number {
    return this.#runs.used;
  }

  /** Room for ordinals below `ordinals` and `bytes` of strings (see OrdinalSlices.presize). */
  presize(ordinals: number, bytes: number): void {
    this.#runs.presize(ordinals, bytes);
  }

  /** Whether ordinal o holds exactly the bytes utf8[0 .. len). */
  holds(o: number, utf8: Uint8Array, len: number): boolean {
    const at = this.#runs.start(o);
    if (at === NONE || this.#runs.length(o) !== len) return false;
    const a = this.#runs.arena;
    for (let i = 0; i < len; i++) if (a[at + i] !== utf8[i]) return false;
    return true;
  }

  /** Every ordinal that holds a string, ascending. */
  *entries(): Generator<[number, string]> {
    for (let o = 0; o < this.#runs.extent; o++) {
      const s = this.get(o);
      if (s !== undefined) yield [o, s];
    }
  }
}

/**
 * Ordinals by id: the ids live in a TextColumn (an ordinal keeps its id for good), the table holds ordinal + 1
 * per slot (0: empty) at the id's hash, at a load of at most one half.
 */
export class TextIds {
  readonly ids = new TextColumn();
  #slots = new Int32Array(2048);
  #hashes = new Int32Array(1024);
  #count = 0;
  #scratch = new Uint8Array(256);

  /** Ordinals handed out so far: 0 .. size − 1. */
  get size(): number {
    return this.#count;
  }

  /** The ordinal of `id`, or -1. */
  find(id: string): number {
    const h = hashRange(id, 0, id.length);
    // Encoded only once a slot's hash matches: a new id (every first sighting) usually meets none.
    let len = -1;
    const mask = this.#slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const e = this.#slots[s]! - 1;
      if (e < 0) return -1;
      if (this.#hashes[e] !== h) continue;
      if (len < 0) len = this.#encode(id);
      if (this.ids.holds(e, this.#scratch, len)) return e;
    }
  }

  /** A table for `count` ordinals without a rehash (a bulk load that knows its size; `ids` is sized apart). */
  presize(count: number): void {
    if (count > this.#hashes.length) this.#hashes = grow(this.#hashes, count);
    let n = this.#slots.length;
    while (count * 2 > n) n *= 2;
    if (n > this.#slots.length) {
      this.#slots = new Int32Array(n);
      for (let e = 0; e < this.#count; e++) this.#place(e);
    }
  }

  /** The next ordinal, for an id `find` did not know. */
  add(id: string): number {
    const o = this.#count++;
    if (o >= this.#hashes.length) this.#hashes = grow(this.#hashes, this.#hashes.length * 2);
    this.#hashes[o] = hashRange(id, 0, id.length);
    this.ids.set(o, id);
    if (this.#count * 2 > this.#slots.length) {
      this.#slots = new Int32Array(this.#slots.length * 2);
      for (let e = 0; e < this.#count; e++) this.#place(e);
    } else this.#place(o);
    return o;
  }

  #place(e: number): void {
    const mask = this.#slots.length - 1;
    let s = this.#hashes[e]! & mask;
    while (this.#slots[s] !== 0) s = (s + 1) & mask;
    this.#slots[s] = e + 1;
  }

  #encode(id: string): number {
    if (this.#scratch.length < id.length * 3) this.#scratch = new Uint8Array(id.length * 3);
    return encoder.encodeInto(id, this.#scratch).written;
  }
}
