import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  createTenantKey,
  createWrappedServerKey,
  LocalMasterKeyProvider,
  loadMasterKey,
  type MasterKeyProvider,
  openBuffer,
  RecordCipher,
  rewrapServerKey,
  rewrapTenantKey,
  type SealContext,
  sealBuffer,
  type TenantKey,
  unwrapServerKey,
  unwrapTenantKey,
  withWrapKey,
  type X25519KeyPair,
} from '../crypto/index.js';
import type { Logger } from '../server/logger.js';
import type { Store } from './database.js';

const SERVER_KEY = 'server-key';

export interface KeyringOptions {
  /** Base64 master key from the environment; wins over the file and makes rotation impossible here. */
  masterKey: string | null;
  masterKeyFile: string;
  /** Largest plaintext `openForTenant` will return (secrets, previews, extracted text). */
  maxSealedObjectBytes?: number;
}

/**
 * The key hierarchy at run time: master key (file or env) → the server's X25519 key and one key per
 * tenant, both stored wrapped in LMDB. Unwrapped tenant keys are cached in memory only.
 */
export class Keyring {
  readonly #store: Store;
  readonly #log: Logger;
  #master: MasterKeyProvider;
  readonly #options: KeyringOptions;
  #server: X25519KeyPair;
  readonly #tenantKeys = new Map<string, TenantKey>();
  /** Tenants shredded by this process: their key is never created again (late work of an erased tenant fails). */
  readonly #shredded = new Set<string>();
  /** Seals the records LMDB reads synchronously (index, document records) under keys derived per tenant. */
  readonly records: RecordCipher = new RecordCipher((tenantId) => this.tenantKey(tenantId));
  /** Told as a tenant's key is shredded: what it holds of the tenant in memory (opened texts) goes with it. */
  onShredded: ((tenantId: string) => void) | undefined;

  private constructor(store: Store, log: Logger, master: MasterKeyProvider, server: X25519KeyPair, options: KeyringOptions) {
    this.#store = store;
    this.#log = log;
    this.#master = master;
    this.#server = server;
    this.#options = options;
  }

  /** Loads (or on first start creates) the master key and the server key pair. */
  static async open(store: Store, log: Logger, options: KeyringOptions): Promise<Keyring> {
    await finishInterruptedRotation(store, options);
    const loaded = await loadMasterKey({ envValue: options.masterKey ?? undefined, filePath: options.masterKeyFile });
    if (loaded.generated) {
      log.warn(
        { file: options.masterKeyFile },
        'GENERATED A NEW MASTER KEY. Every stored document depends on it: back this file up and keep it secret, or set ARCHIVAR_MASTER_KEY / a KMS.',
      );
    }
    if (loaded.insecureFileMode)
      log.warn({ file: options.masterKeyFile }, 'the master key file is readable by group or others; chmod 600 it');
    const meta = store.db<Buffer>('keys');
    let stored = meta.get(SERVER_KEY);
    if (stored === undefined) {
      const created = await createWrappedServerKey(loaded.provider);
      await meta.ifNoExists(SERVER_KEY, () => meta.put(SERVER_KEY, created.stored));
      await store.flushed();
      stored = meta.get(SERVER_KEY);
    }
    const server = await unwrapServerKey(loaded.provider, stored as Buffer);
    return new Keyring(store, log, loaded.provider, server, options);
  }

  get serverKeyPair(): X25519KeyPair {
    return this.#server;
  }

  get masterKeyId(): string {
    return this.#master.keyId;
  }

  /** The tenant's key, created on first use; TenantErasedError for a tenant this process has shredded. */
  async tenantKey(tenantId: string): Promise<TenantKey> {
    const cached = this.#tenantKeys.get(tenantId);
    if (cached) return cached;
    if (this.#shredded.has(tenantId)) throw new TenantErasedError(tenantId);
    const db = this.#store.db<Buffer>('tenantKeys');
    let wrapped = db.get(tenantId);
    if (wrapped === undefined) {
      const created = await createTenantKey(this.#master);
      await db.ifNoExists(tenantId, () => db.put(tenantId, created.wrapped));
      wrapped = db.get(tenantId) as Buffer;
    }
    const unwrapped = await unwrapTenantKey(this.#master, wrapped);
    if (this.#shredded.has(tenantId)) {
      unwrapped.key.fill(0);
      throw new TenantErasedError(tenantId);
    }
    // A concurrent call got here first: keep one copy, the one shredTenant will zero.
    const raced = this.#tenantKeys.get(tenantId);
    if (raced) {
      unwrapped.key.fill(0);
      return raced;
    }
    // Its file-key wrapping subkey is derived once here and zeroed with it (shredTenant).
    const key = withWrapKey(unwrapped);
    this.#tenantKeys.set(tenantId, key);
    return key;
  }

  /**
   * For work that iterates stored data (job runner, admin paths): loads the tenant's record keys and returns
   * true, or returns false when the tenant has no key — it was erased (crypto-shredded), so whatever is left
   * of it cannot be opened. Never creates a key.
   */
  async recordsReady(tenantId: string): Promise<boolean> {
    if (this.records.isReady(tenantId)) return true;
    if (this.#shredded.has(tenantId) || !this.hasTenantKey(tenantId)) return false;
    await this.records.ready(tenantId);
    return true;
  }

  async ensureTenantKey(tenantId: string): Promise<void> {
    await this.tenantKey(tenantId);
  }

  /** True while the tenant has a key (false after crypto-shredding). */
  hasTenantKey(tenantId: string): boolean {
    return this.#store.db('tenantKeys').doesExist(tenantId);
  }

  /** Seals a small server-side object (secret, preview, text) bound to tenant, object id and kind. */
  async sealForTenant(tenantId: string, plaintext: Uint8Array, context: { kind: string; id: string }): Promise<Buffer> {
    const tenantKey = await this.tenantKey(tenantId);
    return sealBuffer(plaintext, { tenantKey, context: binding(tenantId, context) });
  }

  async openForTenant(tenantId: string, sealed: Uint8Array, context: { kind: string; id: string }): Promise<Buffer> {
    const tenantKey = await this.tenantKey(tenantId);
    const b = binding(tenantId, context);
    return openBuffer(
      sealed,
      { tenantKey, binding: b },
      { maxPlaintextBytes: this.#options.maxSealedObjectBytes ?? 256 * 2 ** 20, context: b },
    );
  }

  /** Crypto-shredding: after this nothing sealed for the tenant can be opened again. */
  async shredTenant(tenantId: string): Promise<void> {
    this.#shredded.add(tenantId);
    const key = this.#tenantKeys.get(tenantId);
    key?.key.fill(0);
    key?.wrapKey?.fill(0);
    this.#tenantKeys.delete(tenantId);
    this.records.forget(tenantId);
    this.onShredded?.(tenantId);
    await this.#store.db('tenantKeys').remove(tenantId);
    await this.#store.flushed();
  }

  /**
   * Replaces the master key: every tenant key and the server key are re-wrapped in one transaction;
   * no blob is touched. The new key is written next to the old file first, so a crash at any point
   * leaves a key that opens what LMDB holds (see finishInterruptedRotation).
   */
  async rotateMasterKey(): Promise<{ keyId: string; tenantsRewrapped: number }> {
    if (this.#options.masterKey !== null) {
      throw new RotationUnavailableError('the master key comes from ARCHIVAR_MASTER_KEY; rotate it where it is kept');
    }
    const file = this.#options.masterKeyFile;
    const raw = randomBytes(32);
    const next = new LocalMasterKeyProvider(raw);
    await writeSecretFile(`${file}.next`, `${raw.toString('base64')}\n`);
    const tenants = this.#store.db<Buffer>('tenantKeys');
    const keys = this.#store.db<Buffer>('keys');
    const rewrapped: Array<[string, Buffer]> = [];
    for (const { key, value } of tenants.getRange()) {
      rewrapped.push([key as string, (await rewrapTenantKey(this.#master, next, value)).wrapped]);
    }
    const server = await rewrapServerKey(this.#master, next, keys.get(SERVER_KEY) as Buffer);
    await this.#store.atomic(() => {
      for (const [tenantId, wrapped] of rewrapped) tenants.put(tenantId, wrapped);
      keys.put(SERVER_KEY, server.stored);
    });
    await this.#store.flushed();
    await fs.rename(`${file}.next`, file);
    await fsyncDir(path.dirname(file));
    this.#master = next;
    this.#log.warn({ keyId: next.keyId }, 'master key rotated; back up the new key file');
    return { keyId: next.keyId, tenantsRewrapped: rewrapped.length };
  }
}

export class RotationUnavailableError extends Error {}

/** Work for a tenant whose key was deleted (crypto-shredded) while it ran. */
export class TenantErasedError extends Error {
  override name = 'TenantErasedError';
  constructor(readonly tenantId: string) {
    super('the tenant was erased');
  }
}

function binding(tenantId: string, context: { kind: string; id: string }): SealContext {
  return { tenantId, documentId: context.id, kind: context.kind };
}

/** A rotation that crashed: keep whichever key file opens the stored server key. */
async function finishInterruptedRotation(store: Store, options: KeyringOptions): Promise<void> {
  const nextFile = `${options.masterKeyFile}.next`;
  const nextText = await fs.readFile(nextFile, 'utf8').catch(() => null);
  if (nextText === null || options.masterKey !== null) return;
  const stored = store.db<Buffer>('keys').get(SERVER_KEY);
  const next = new LocalMasterKeyProvider(Buffer.from(nextText.trim(), 'base64'));
  const committed =
    stored !== undefined &&
    (await unwrapServerKey(next, stored).then(
      () => true,
      () => false,
    ));
  if (committed) {
    await fs.rename(nextFile, options.masterKeyFile);
    await fsyncDir(path.dirname(options.masterKeyFile));
  } else {
    await fs.rm(nextFile, { force: true });
  }
}

async function writeSecretFile(file: string, text: string): Promise<void> {
  const handle = await fs.open(file, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsyncDir(path.dirname(file));
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
