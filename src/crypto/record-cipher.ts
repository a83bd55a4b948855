import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  type KeyObject,
  randomBytes,
  randomFillSync,
} from 'node:crypto';
import { SealedFormatError } from './errors.js';
import type { TenantKey } from './file-key-wrap.js';
import { hkdfExpand } from './hkdf.js';

/**
 * Sealing of the small records that LMDB holds beside the sealed blobs and that must be read inside a
 * synchronous LMDB transaction: index dictionary blocks and postings, Suggest's words, per-document values
 * and document records. (Blobs, previews and extracted text use the streaming format of seal.ts; these
 * records are read thousands of times per query, so they get the cheapest sound construction.)
 *
 *   value = 0x01 | nonce (12 random bytes) | AES-256-GCM ciphertext | tag (16)
 *
 * The key is HKDF-SHA256-Expand(tenant key, "archivar record v1 " + purpose): one key per tenant and per
 * purpose, so deleting the tenant key (crypto-shredding) makes every record unreadable too. The caller's
 * `aad` (usually the record's own LMDB key) is authenticated, so a value moved to another key fails.
 * Random 96-bit nonces are safe far beyond the 2^32 records per key that GCM's bound allows for.
 *
 * Keys are derived once per tenant (`ready`, async because unwrapping may go to a KMS) and kept in memory
 * only; `seal`/`open` are synchronous and refuse a tenant whose key is not loaded.
 */
const VERSION = 0x01;
const NONCE = 12;
const TAG = 16;
export const RECORD_OVERHEAD = 1 + NONCE + TAG;

/** 'imap': the IMAP importer's ledger keys and status (src/imap/ledger.ts). */
export type RecordPurpose = 'index-block' | 'index-word' | 'document' | 'imap';

const PURPOSES: readonly RecordPurpose[] = ['index-block', 'index-word', 'document', 'imap'];

interface TenantRecordKeys {
  aead: Map<RecordPurpose, KeyObject>;
  /** For blindKey: deterministic lookup keys that reveal no text. */
  mac: Buffer;
}

export class RecordCipher {
  readonly #loadTenantKey: (tenantId: string) => Promise<TenantKey>;
  readonly #keys = new Map<string, TenantRecordKeys>();
  readonly #loading = new Map<string, Promise<void>>();
  readonly #nonces = new NoncePool();

  constructor(loadTenantKey: (tenantId: string) => Promise<TenantKey>) {
    this.#loadTenantKey = loadTenantKey;
  }

  /** Loads the tenant's record keys (creating the tenant key on first use). */
  ready(tenantId: string): Promise<void> {
    if (this.#keys.has(tenantId)) return Promise.resolve();
    let p = this.#loading.get(tenantId);
    if (p === undefined) {
      p = this.#loadTenantKey(tenantId)
        .then((tk) => {
          const aead = new Map<RecordPurpose, KeyObject>();
          for (const purpose of PURPOSES) aead.set(purpose, createSecretKey(derive(tk.key, purpose)));
          this.#keys.set(tenantId, { aead, mac: derive(tk.key, 'blind-key') });
        })
        .finally(() => this.#loading.delete(tenantId));
      this.#loading.set(tenantId, p);
    }
    return p;
  }

  isReady(tenantId: string): boolean {
    return this.#keys.has(tenantId);
  }

  /** Drops the tenant's keys from memory (after crypto-shredding). */
  forget(tenantId: string): void {
    this.#keys.get(tenantId)?.mac.fill(0);
    this.#keys.delete(tenantId);
  }

  seal(tenantId: string, purpose: RecordPurpose, plaintext: Uint8Array, aad: string): Buffer {
    const out = Buffer.allocUnsafe(RECORD_OVERHEAD + plaintext.byteLength);
    this.#nonces.take(out, 1);
    sealAt(this.#aead(tenantId, purpose), out, 0, plaintext, aad);
    return out;
  }

  /**
   * The tenant's record key for `purpose` as raw bytes (a copy), for a worker thread of this process that
   * seals records the same way (RecordSealer): index segments are sealed where they are built. The bytes
   * stay in memory, like the KeyObject they come from; never log, store or send them elsewhere.
   */
  recordKey(tenantId: string, purpose: RecordPurpose): Uint8Array {
    const exported = this.#aead(tenantId, purpose).export();
    // Its own ArrayBuffer, so it can be moved to a thread (not a slice of a shared pool).
    const key = new Uint8Array(exported);
    exported.fill(0);
    return key;
  }

  open(tenantId: string, purpose: RecordPurpose, sealed: Uint8Array, aad: string): Buffer {
    const key = this.#aead(tenantId, purpose);
    if (sealed.byteLength < RECORD_OVERHEAD || sealed[0] !== VERSION)
      throw new SealedFormatError('invalid-header', 'a stored record is not sealed in a known format');
    const nonce = sealed.subarray(1, 1 + NONCE);
    const body = sealed.subarray(1 + NONCE, sealed.byteLength - TAG);
    const d = createDecipheriv('aes-256-gcm', key, nonce);
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(sealed.subarray(sealed.byteLength - TAG));
    const head = d.update(body);
    try {
      const tail = d.final();
      return tail.byteLength === 0 ? head : Buffer.concat([head, tail]);
    } catch (cause) {
      throw new SealedFormatError('authentication-failed', 'a stored record failed authentication', { cause });
    }
  }

  /**
   * A deterministic, opaque lookup key for `text` (HMAC-SHA256, 128 bits, base64url): equality lookups
   * without storing the text. It reveals only whether two records share the text.
   */
  blindKey(tenantId: string, purpose: RecordPurpose, text: string): string {
    const keys = this.#tenant(tenantId);
    return createHmac('sha256', keys.mac)
      .update(purpose)
      .update('\0')
      .update(text)
      .digest()
      .subarray(0, 16)
      .toString('base64url');
  }

  #tenant(tenantId: string): TenantRecordKeys {
    const keys = this.#keys.get(tenantId);
    if (keys === undefined) throw new Error(`record keys of tenant ${tenantId} are not loaded (call ready() first)`);
    return keys;
  }

  #aead(tenantId: string, purpose: RecordPurpose): KeyObject {
    return this.#tenant(tenantId).aead.get(purpose) as KeyObject;
  }
}

/**
 * Seals records with one record key (RecordCipher.recordKey) in the same format as RecordCipher.seal, in
 * whichever thread holds it; values go straight into a caller's buffer so many can be laid end to end.
 */
export class RecordSealer {
  readonly #key: KeyObject;
  readonly #nonces = new NoncePool();

  constructor(key: Uint8Array) {
    this.#key = createSecretKey(key);
  }

  /** Seals `plaintext` into `out` at `at` (RECORD_OVERHEAD + its length bytes); returns where it ends. */
  sealInto(out: Buffer, at: number, plaintext: Uint8Array, aad: string): number {
    this.#nonces.take(out, at + 1);
    return sealAt(this.#key, out, at, plaintext, aad);
  }
}

/** Random nonces, their bytes drawn 4 KiB at a time: one CSPRNG call per 341 nonces instead of one each (it showed in profiles). */
class NoncePool {
  readonly #pool = Buffer.alloc(NONCE * 341);
  #at = this.#pool.length;

  /** Writes a fresh random nonce into `out` at `at`. */
  take(out: Buffer, at: number): void {
    if (this.#at + NONCE > this.#pool.length) {
      randomFillSync(this.#pool);
      this.#at = 0;
    }
    this.#pool.copy(out, at, this.#at, this.#at + NONCE);
    this.#at += NONCE;
  }
}

/** Writes version, (the nonce already at at + 1), ciphertext and tag; returns the end. */
function sealAt(key: KeyObject, out: Buffer, at: number, plaintext: Uint8Array, aad: string): number {
  out[at] = VERSION;
  const c = createCipheriv('aes-256-gcm', key, out.subarray(at + 1, at + 1 + NONCE));
  c.setAAD(Buffer.from(aad, 'utf8'));
  let n = at + 1 + NONCE;
  n += c.update(plaintext).copy(out, n);
  n += c.final().copy(out, n);
  return n + c.getAuthTag().copy(out, n);
}

function derive(tenantKey: Uint8Array, purpose: string): Buffer {
  return hkdfExpand('sha256', tenantKey, Buffer.from(`archivar record v1 ${purpose}`, 'utf8'), 32);
}

/**
 * A cipher whose tenant keys are derived from one secret, for tests, tools and benchmarks that run the
 * index without a keyring (the same secret reopens what an earlier process wrote). Random by default.
 */
export function recordCipherFromSecret(secret: Uint8Array = randomBytes(32)): RecordCipher {
  return new RecordCipher(
    async (tenantId) =>
      ({
        keyId: 'derived',
        key: createHmac('sha256', secret).update(tenantId).digest(),
      }) as unknown as TenantKey,
  );
}
