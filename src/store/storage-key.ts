import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { MasterKeyProvider } from '../crypto/index.js';

/**
 * The key that encrypts the LMDB file at rest (lmdb-js page encryption), kept next to it in
 * `storage.key`, wrapped by the master key: one base64 line per master key that can open it. Rotation
 * adds a line for the new master key before anything else changes and drops the old one at the end, so
 * whichever master key file survives a crash opens the store.
 */
const AAD = Buffer.from('archivar/storage-key/v1\0', 'latin1');
/**
 * lmdb-js takes the key as a 32-character string (a Buffer aborts the process natively): 24 random bytes
 * in base64url, 192 bits of entropy.
 */
const KEY_CHARS = 32;

function newKey(): string {
  return randomBytes(24).toString('base64url');
}

export class StorageKeyError extends Error {}

export function storageKeyFile(dataDir: string): string {
  return path.join(dataDir, 'storage.key');
}

/**
 * The storage key of `dataDir`, unwrapped with `master`; created on the first start (no database yet).
 * A database without a storage key predates at-rest encryption and is refused rather than opened.
 */
export async function openStorageKey(dataDir: string, master: MasterKeyProvider): Promise<string> {
  const file = storageKeyFile(dataDir);
  const lines = await readLines(file);
  if (lines === null) {
    const exists = await fs.stat(path.join(dataDir, 'archivar.mdb')).then(
      () => true,
      () => false,
    );
    if (exists)
      throw new StorageKeyError(
        `${dataDir} holds a database without a storage key (it predates encryption at rest); export its data and start with an empty directory`,
      );
    const key = newKey();
    await writeLines(file, [(await master.wrap(Buffer.from(key, 'latin1'), AAD)).toString('base64')]);
    return key;
  }
  for (const line of lines) {
    const key = await master.unwrap(Buffer.from(line, 'base64'), AAD).catch(() => null);
    if (key?.byteLength === KEY_CHARS) return key.toString('latin1');
  }
  throw new StorageKeyError(`the master key does not open ${file}: wrong master key for this data directory`);
}

/** Lets `next` open the storage key too (the first step of a master-key rotation). */
export async function addStorageKeyWrap(dataDir: string, current: MasterKeyProvider, next: MasterKeyProvider): Promise<void> {
  const file = storageKeyFile(dataDir);
  const lines = await readLines(file);
  if (lines === null) return; // a store opened without encryption (tests)
  const key = await openStorageKey(dataDir, current);
  await writeLines(file, [...lines, (await next.wrap(Buffer.from(key, 'latin1'), AAD)).toString('base64')]);
}

/** Keeps only the lines `master` opens (after a rotation, or at start after one was interrupted). */
export async function pruneStorageKeyWraps(dataDir: string, master: MasterKeyProvider): Promise<void> {
  const file = storageKeyFile(dataDir);
  const lines = await readLines(file);
  if (lines === null) return;
  const keep: string[] = [];
  for (const line of lines) {
    const key = await master.unwrap(Buffer.from(line, 'base64'), AAD).catch(() => null);
    if (key) {
      keep.push(line);
      key.fill(0);
    }
  }
  if (keep.length > 0 && keep.length < lines.length) await writeLines(file, keep);
}

async function readLines(file: string): Promise<string[] | null> {
  const text = await fs.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  return text === null ? null : text.split('\n').filter((l) => l.trim() !== '');
}

/** Atomic replace: a temp file (0600, fsync'd), renamed over the old one, directory fsync'd. */
async function writeLines(file: string, lines: string[]): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  const handle = await fs.open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(`${lines.join('\n')}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
  const d = await fs.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
