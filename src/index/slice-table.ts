/**
 * An open-addressing set of strings (id = insertion order) looked up by a range of another string, so a
 * word or term met again costs neither a substring nor a Map lookup: the analyser's word cache and the
 * segment builder's term table.
 */

export const FNV_BASIS = 0x811c9dc5;
export const FNV_PRIME = 0x01000193;

/** FNV-1a over the UTF-16 code units of text[start, end). */
export function hashRange(text: string, start: number, end: number): number {
  let h = FNV_BASIS;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h;
}

/**
 * text[start, end) as a string of its own: V8 makes a substring of 13 or more code units a slice that keeps
 * the whole of `text` alive, so a word kept in a long-lived table would hold its document or segment.
 */
export function ownSubstring(text: string, start: number, end: number): string {
  const s = text.slice(start, end);
  return s.length < 13 ? s : ` ${s}`.slice(1);
}

export class SliceTable {
  readonly keys: string[] = [];
  private hashes: Int32Array;
  private slots: Int32Array;
  private mask: number;

  /** Sized for `capacity` keys at a load of one half; grows (rehashing) beyond. */
  constructor(capacity = 1024) {
    let n = 2;
    while (n < capacity * 2) n *= 2;
    this.slots = new Int32Array(n);
    this.hashes = new Int32Array(Math.max(1, capacity));
    this.mask = n - 1;
  }

  get size(): number {
    return this.keys.length;
  }

  /** Id of text[start, end) (hash h = hashRange of it), or -1. */
  find(text: string, start: number, end: number, h: number): number {
    const len = end - start;
    const slots = this.slots;
    const mask = this.mask;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const e = slots[s]! - 1;
      if (e < 0) return -1;
      if (this.hashes[e] !== h) continue;
      const key = this.keys[e]!;
      if (key.length !== len) continue;
      let i = 0;
      while (i < len && key.charCodeAt(i) === text.charCodeAt(start + i)) i++;
      if (i === len) return e;
    }
  }

  /** The hash key `e` was added with. */
  hashOf(e: number): number {
    return this.hashes[e]!;
  }

  /** Adds a key known to be absent; returns its id. */
  add(key: string, h: number): number {
    const e = this.keys.length;
    if (e === this.hashes.length) this.hashes = grow(this.hashes, e * 2);
    this.keys.push(key);
    this.hashes[e] = h;
    if ((e + 1) * 2 > this.slots.length) {
      // Keep the load at most one half: rehash into twice the slots.
      this.slots = new Int32Array(this.slots.length * 2);
      this.mask = this.slots.length - 1;
      for (let j = 0; j <= e; j++) this.place(j);
    } else this.place(e);
    return e;
  }

  private place(e: number): void {
    let s = this.hashes[e]! & this.mask;
    while (this.slots[s] !== 0) s = (s + 1) & this.mask;
    this.slots[s] = e + 1;
  }
}

export function grow(a: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const next = new Int32Array(size);
  next.set(a);
  return next;
}

/**
 * A set of strings kept as code units in one array (each: its length, then its units), found by FNV hash
 * and units: a lookup touches its slot and the units, where a table of strings (SliceTable) also loads the
 * key's hash and its string object from wherever the heap put it. For large sets looked up far more often
 * than added to (the folded words a tenant has stored).
 */
export class UnitSet {
  /** Per slot: the hash, then the entry's offset in `units` + 1 (0: empty). */
  private slots: Int32Array;
  private mask: number;
  private units = new Uint16Array(1 << 16);
  private unitsLen = 0;
  size = 0;

  constructor(capacity = 1024) {
    let n = 2;
    while (n < capacity * 2) n *= 2;
    this.slots = new Int32Array(2 * n);
    this.mask = n - 1;
  }

  /** Whether text[start, end) (hash h = hashRange of it) is in the set. */
  has(text: string, start: number, end: number, h: number): boolean {
    const len = end - start;
    const slots = this.slots;
    const units = this.units;
    const mask = this.mask;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const o = slots[2 * s + 1]! - 1;
      if (o < 0) return false;
      if (slots[2 * s] !== h || units[o] !== len) continue;
      let i = 0;
      while (i < len && units[o + 1 + i] === text.charCodeAt(start + i)) i++;
      if (i === len) return true;
    }
  }

  /** Adds text[start, end) (hash h), known to be absent; at most 65 535 code units (its length takes one). */
  add(text: string, start: number, end: number, h: number): void {
    const len = end - start;
    if (len > 0xffff) throw new RangeError(`a UnitSet string holds at most 65535 code units, not ${len}`);
    if ((this.size + 1) * 2 > this.slots.length / 2) this.rehash();
    const o = this.unitsLen;
    if (o + 1 + len > this.units.length) {
      const next = new Uint16Array(Math.max(this.units.length * 2, o + 1 + len));
      next.set(this.units.subarray(0, o));
      this.units = next;
    }
    const units = this.units;
    units[o] = len;
    for (let i = 0; i < len; i++) units[o + 1 + i] = text.charCodeAt(start + i);
    this.unitsLen = o + 1 + len;
    this.place(h, o);
    this.size++;
  }

  private place(h: number, o: number): void {
    const slots = this.slots;
    let s = h & this.mask;
    while (slots[2 * s + 1] !== 0) s = (s + 1) & this.mask;
    slots[2 * s] = h;
    slots[2 * s + 1] = o + 1;
  }

  /** Twice the slots, keeping the load at most one half. */
  private rehash(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    this.mask = this.slots.length / 2 - 1;
    for (let s = 0; s < old.length; s += 2) if (old[s + 1] !== 0) this.place(old[s]!, old[s + 1]! - 1);
  }
}
