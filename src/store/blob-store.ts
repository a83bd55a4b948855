import { isStorageFailure, removeTenantRangeSync, type Store } from './database.js';

/**
 * Sealed bytes in LMDB, as pieces under [tenantId, objectId, kind, seq]. Pieces are stored exactly as
 * received (no re-encoding); the sealed header lives with the object's record, not here.
 */
export class BlobStore {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  #db() {
    return this.#store.db<Buffer>('blobs');
  }

  /** Queues one piece for the next commit; resolves when committed (not yet on disk: see Store.flushed). */
  put(tenantId: string, objectId: string, kind: string, seq: number, bytes: Uint8Array): Promise<boolean> {
    const written = this.#db().put(
      [tenantId, objectId, kind, seq],
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    );
    // A failed commit also rejects a side promise of lmdb-js; mark it handled here, where it is born.
    written.catch(isStorageFailure);
    return written;
  }

  /** Writes one piece inside a surrounding transaction. */
  putSync(tenantId: string, objectId: string, kind: string, seq: number, bytes: Uint8Array): void {
    this.#db().putSync([tenantId, objectId, kind, seq], Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  /** The pieces in order, each copied out of the read transaction (safe to keep). */
  *read(tenantId: string, objectId: string, kind: string): Generator<Buffer> {
    for (const { value } of this.#db().getRange({
      start: [tenantId, objectId, kind, 0],
      end: [tenantId, objectId, kind, Number.MAX_SAFE_INTEGER],
    })) {
      yield Buffer.from(value);
    }
  }

  /** A copy of the object's first `bytes` (at most its first piece's), or undefined when it has none. */
  head(tenantId: string, objectId: string, kind: string, bytes: number): Buffer | undefined {
    for (const { value } of this.#db().getRange({
      start: [tenantId, objectId, kind, 0],
      end: [tenantId, objectId, kind, Number.MAX_SAFE_INTEGER],
      limit: 1,
    })) {
      return Buffer.from(value.subarray(0, bytes));
    }
    return undefined;
  }

  /** Total stored bytes of an object. */
  size(tenantId: string, objectId: string, kind: string): number {
    let n = 0;
    for (const piece of this.read(tenantId, objectId, kind)) n += piece.byteLength;
    return n;
  }

  /** Removes up to `max` pieces of a tenant, of any object (erasure); inside a transaction. Returns how many. */
  removeTenantSync(tenantId: string, max: number): number {
    return removeTenantRangeSync(this.#db(), tenantId, max);
  }

  /** Removes every piece of `kind` (or of every kind) of an object; call inside a transaction or alone. */
  removeSync(tenantId: string, objectId: string, kind?: string): number {
    const db = this.#db();
    const range =
      kind === undefined
        ? { start: [tenantId, objectId], end: [tenantId, objectId, '\uffff'] }
        : { start: [tenantId, objectId, kind, 0], end: [tenantId, objectId, kind, Number.MAX_SAFE_INTEGER] };
    let n = 0;
    for (const key of db.getKeys(range)) {
      db.removeSync(key);
      n++;
    }
    return n;
  }
}
