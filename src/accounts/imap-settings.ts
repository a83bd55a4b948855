import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { invalidArgument, notFound } from '../server/errors.js';
import type { Clock } from './clock.js';
import type { AccountRecords, StoredImap } from './records.js';
import { validateText } from './validation.js';

export type ImapTls = 'implicit' | 'starttls' | 'none';

/** The IMAP account of a tenant, without its password (that is never handed out by an RPC). */
export interface ImapConfig {
  host: string;
  port: number;
  tls: ImapTls;
  user: string;
  caPem: string;
  folders: string[];
  autoImport: boolean;
  intervalMinutes: number;
  filterFrom: string;
  filterSubjectContains: string;
  filterHasAttachment: boolean;
}

const HOST = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const MAX_FOLDERS = 100;

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Checks and normalises settings; throws INVALID_ARGUMENT naming the field. */
export function validateImapConfig(c: ImapConfig): ImapConfig {
  const host = c.host.trim().toLowerCase();
  // An IP address as net.isIP reads it (IPv6 also in brackets): hex digits alone are not one.
  if (!HOST.test(host) && isIP(host.replace(/^\[(.*)\]$/, '$1')) === 0) {
    throw invalidArgument('settings.host must be a host name or IP address');
  }
  if (!Number.isInteger(c.port) || c.port < 1 || c.port > 65535) throw invalidArgument('settings.port must be 1..65535');
  if (c.tls === 'none' && !isLoopbackHost(host)) {
    throw invalidArgument('settings.tls NONE is only accepted for loopback hosts; use IMPLICIT or STARTTLS');
  }
  const user = validateText(c.user, 'settings.user', 256, false);
  if (Buffer.byteLength(c.caPem) > 64 * 1024) throw invalidArgument('settings.ca_pem must be at most 64 KiB');
  if (c.caPem !== '' && !/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/.test(c.caPem.trim())) {
    throw invalidArgument('settings.ca_pem must be PEM certificates');
  }
  // TLS silently skips a CA it cannot parse, and the user would only see "self-signed certificate" later.
  for (const [i, pem] of (c.caPem.match(PEM_CERTIFICATE) ?? []).entries()) {
    try {
      new X509Certificate(pem);
    } catch {
      throw invalidArgument(`settings.ca_pem: certificate ${i + 1} is not a readable X.509 certificate`);
    }
  }
  if (c.folders.length > MAX_FOLDERS) throw invalidArgument(`settings.folders may name at most ${MAX_FOLDERS} folders`);
  const folders = c.folders.map((f, i) => validateText(f, `settings.folders[${i}]`, 256, false));
  if (!Number.isInteger(c.intervalMinutes) || c.intervalMinutes < 0 || c.intervalMinutes > 1440) {
    throw invalidArgument('settings.interval_minutes must be 0..1440');
  }
  return {
    host,
    port: c.port,
    tls: c.tls,
    user,
    caPem: c.caPem,
    folders,
    autoImport: c.autoImport,
    intervalMinutes: c.intervalMinutes === 0 ? 15 : c.intervalMinutes,
    filterFrom: validateText(c.filterFrom, 'settings.filter_from', 256, true),
    filterSubjectContains: validateText(c.filterSubjectContains, 'settings.filter_subject_contains', 256, true),
    filterHasAttachment: c.filterHasAttachment,
  };
}

/**
 * Stores a tenant's IMAP account. Settings and password are sealed separately with the tenant key, so
 * reading the settings never decrypts the password; only the IMAP importer asks for `credentials`.
 */
export class ImapSettingsStore {
  constructor(
    private readonly records: AccountRecords,
    private readonly clock: Clock,
  ) {}

  async set(tenantId: string, config: ImapConfig, password: string): Promise<ImapConfig> {
    const valid = validateImapConfig(config);
    if (Buffer.byteLength(password) > 1024) throw invalidArgument('password must be at most 1024 bytes');
    if (/[\r\n\0]/.test(password)) throw invalidArgument('password must not contain line breaks or NUL');
    const { keyring } = this.records;
    const existing = this.records.imap.get([tenantId]);
    if (password === '' && !existing?.sealedPassword) throw invalidArgument('password is required the first time');
    const sealedSettings = await keyring.sealForTenant(tenantId, Buffer.from(JSON.stringify(valid)), {
      kind: 'imap-settings',
      id: tenantId,
    });
    const sealedPassword =
      password === ''
        ? (existing?.sealedPassword ?? null)
        : await keyring.sealForTenant(tenantId, Buffer.from(password, 'utf8'), { kind: 'imap-password', id: tenantId });
    const stored: StoredImap = { sealedSettings, sealedPassword, updatedMs: this.clock.now() };
    await this.records.imap.put([tenantId], stored);
    return valid;
  }

  async get(tenantId: string): Promise<{ config: ImapConfig; passwordStored: boolean } | undefined> {
    const stored = this.records.imap.get([tenantId]);
    if (!stored) return undefined;
    const plain = await this.records.keyring.openForTenant(tenantId, Buffer.from(stored.sealedSettings), {
      kind: 'imap-settings',
      id: tenantId,
    });
    return { config: JSON.parse(plain.toString('utf8')) as ImapConfig, passwordStored: stored.sealedPassword !== null };
  }

  async getOrThrow(tenantId: string): Promise<{ config: ImapConfig; passwordStored: boolean }> {
    const found = await this.get(tenantId);
    if (!found) throw notFound('no IMAP settings are stored');
    return found;
  }

  /** Deletes the settings and the sealed password; false when none were stored. The caller drops the import ledger. */
  async remove(tenantId: string): Promise<boolean> {
    // lmdb's remove() answers true for a key that was not there, so look first, in the same transaction.
    return this.records.store.atomic(() => {
      if (this.records.imap.get([tenantId]) === undefined) return false;
      this.records.imap.remove([tenantId]);
      return true;
    });
  }

  /** Settings and password, for the IMAP importer only: never pass the password to an RPC, log or export. */
  async credentials(tenantId: string): Promise<{ config: ImapConfig; password: string } | undefined> {
    const stored = this.records.imap.get([tenantId]);
    const found = await this.get(tenantId);
    if (!stored?.sealedPassword || !found) return undefined;
    const password = await this.records.keyring.openForTenant(tenantId, Buffer.from(stored.sealedPassword), {
      kind: 'imap-password',
      id: tenantId,
    });
    return { config: found.config, password: password.toString('utf8') };
  }
}
