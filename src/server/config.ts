import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_COMPOUND_PART_WEIGHT, DEFAULT_FIELD_B, DEFAULT_FIELD_WEIGHTS } from '../index/bm25f.js';
import type { FieldName } from '../index/postings-codec.js';

/**
 * Every setting of the server, read once from flags and `ARCHIVAR_*` environment variables into one typed,
 * frozen object. Unknown or invalid settings fail start-up with a message naming the setting.
 */
export interface Config {
  readonly listen: { readonly host: string; readonly port: number };
  readonly dataDir: string;
  readonly tls: { readonly certFile: string; readonly keyFile: string; readonly clientCaFile: string | null } | null;
  readonly insecure: boolean;
  /** `host:port` of the Prometheus endpoint, or null when off. */
  readonly metricsListen: { readonly host: string; readonly port: number } | null;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly pool: {
    readonly threads: number;
    readonly maxQueue: number;
    /** Old-generation heap per worker thread in MB: a runaway document kills its worker, not the server. */
    readonly maxHeapMb: number;
  };
  /** Bounds on one document's processing (see docs/pipeline.md). */
  readonly processing: ProcessingConfig;
  readonly grpc: {
    readonly maxMessageBytes: number;
    readonly maxConcurrentStreams: number;
    readonly keepaliveTimeMs: number;
    readonly keepaliveTimeoutMs: number;
    readonly maxConnectionIdleMs: number;
    readonly maxConnectionAgeMs: number;
    readonly maxSessionMemoryMb: number;
  };
  readonly lmdbMapSizeBytes: number;
  readonly documents: {
    /** Largest sealed upload in bytes. */
    readonly maxUploadBytes: number;
    /** Largest plaintext a document may open to (decompression bombs stop here). */
    readonly maxDocumentBytes: number;
  };
  readonly jobs: { readonly maxAttempts: number; readonly leaseMs: number; readonly backoffMs: number };
  readonly shutdownGraceMs: number;
  /** Master key: a file path (created with mode 0600 on first start) unless `masterKey` is given. */
  readonly masterKeyFile: string;
  /** Base64 of 32 bytes from `ARCHIVAR_MASTER_KEY`; never logged. */
  readonly masterKey: string | null;
  readonly accounts: AccountsConfig;
  readonly imap: ImapImportConfig;
  /** BM25F per field (docs/search.md, "Ranking and pruning"). */
  readonly search: {
    /** Memory for recently opened hit texts (documents/text-cache.ts); 0 keeps none. */
    readonly textCacheBytes: number;
    readonly fieldWeights: Readonly<Record<SearchField, number>>;
    readonly fieldB: Readonly<Record<SearchField, number>>;
    /** What a word inside a German compound counts for against the word itself (0..1]. */
    readonly compoundPartWeight: number;
  };
}

/** The index fields as `--field-weights` names them. */
export const SEARCH_FIELDS = ['body', 'title', 'subject', 'filename', 'sender'] as const;
export type SearchField = (typeof SEARCH_FIELDS)[number];
/** The index's name of each field `--field-weights` names. */
const INDEX_FIELD: Readonly<Record<SearchField, FieldName>> = {
  body: 'body',
  title: 'title',
  subject: 'subject',
  filename: 'fileName',
  sender: 'sender',
};

/** Per-field numbers of the config (`--field-weights`, `--field-b`) by the index's field names. */
export function byIndexField(v: Readonly<Record<SearchField, number>>): Record<FieldName, number> {
  const out = {} as Record<FieldName, number>;
  for (const f of SEARCH_FIELDS) out[INDEX_FIELD[f]] = v[f];
  return out;
}

/** The IMAP importer (see docs/imap.md). */
export interface ImapImportConfig {
  /** Accounts importing at the same time (IDLE connections do not count). */
  readonly concurrency: number;
  /** Larger messages are recorded as skipped, never fetched. */
  readonly maxMessageBytes: number;
  /** Folder names; `/` separates levels and becomes the server's delimiter. */
  readonly importFolder: string;
  readonly importedFolder: string;
  readonly failedFolder: string;
  /** Width of one UID range fetched at a time (bounded memory on huge mailboxes). */
  readonly pageUids: number;
  /** Connect, greeting and socket inactivity timeout. */
  readonly timeoutMs: number;
  /** First retry after a connection failure, then doubling up to `maxBackoffMs`. */
  readonly backoffMs: number;
  /** First retry after a failed login, then doubling: never a tight loop against the user's mailbox. */
  readonly authBackoffMs: number;
  readonly maxBackoffMs: number;
  /** How often stored settings are looked for new or removed accounts; 0 = only on request. */
  readonly rescanMs: number;
  /** Keep a connection open with IDLE on the first automatic-import folder. */
  readonly idle: boolean;
}

export interface ProcessingConfig {
  readonly documentTimeMs: number;
  readonly pageTimeMs: number;
  readonly maxPages: number;
  readonly maxPixels: number;
  readonly maxDecompressedBytes: number;
  readonly maxZipMembers: number;
  readonly maxCompressionRatio: number;
  readonly renderDpi: number;
  /** Members of members (of members…) beyond this depth are listed in metadata, not extracted. */
  readonly maxNestingDepth: number;
  /** Page previews (PNG) made at ingest; the thumbnail is always made. */
  readonly previewPages: number;
}

/** Accounts and privacy settings (see docs/privacy.md). */
export interface AccountsConfig {
  /** scrypt cost for new password hashes; stored with each hash so it can be raised later. */
  readonly scrypt: { readonly logN: number; readonly r: number; readonly p: number };
  readonly sessionMaxAgeMs: number;
  readonly sessionIdleMs: number;
  readonly loginMaxPerEmail: number;
  readonly loginMaxPerPeer: number;
  readonly registerMaxPerPeer: number;
  readonly rateWindowMs: number;
  /** Usage behind an invoice is deleted this many months after the invoice was sent (at most 6). */
  readonly usageRetentionMonths: number;
  /** Usage never billed is deleted this many months after it ended: it can no longer serve billing. */
  readonly unbilledUsageRetentionMonths: number;
  /** Invoices are kept (locked after erasure) this many years after they were sent (§147 AO, §257 HGB). */
  readonly invoiceRetentionYears: number;
  /** How often the retention sweeper runs; 0 = only on Admin.RunRetention. */
  readonly retentionIntervalMs: number;
  /**
   * The end-user licence agreement in force: registrations (and `terms` consent) must name it. Null: the
   * server records the version and digest a client sends.
   */
  readonly terms: { readonly textVersion: string; readonly textSha256: string } | null;
  /** Operator account created at start-up when no user has this e-mail yet. */
  readonly adminEmail: string | null;
  readonly adminPasswordFile: string | null;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Raw = Record<string, string | undefined>;

interface Setting {
  /** Flag name without dashes; the env name is ARCHIVAR_ + upper snake case. */
  flag: string;
  help: string;
  default?: string;
}

/** The settings table: the single list that `--help`, env parsing and validation share. */
export const SETTINGS: readonly Setting[] = [
  { flag: 'listen', help: 'gRPC listen address HOST:PORT (port 0 picks a free one)', default: '127.0.0.1:50051' },
  { flag: 'data', help: 'data directory (LMDB environment, master key)', default: './data' },
  { flag: 'tls-cert', help: 'PEM certificate chain for TLS' },
  { flag: 'tls-key', help: 'PEM private key for TLS' },
  { flag: 'tls-client-ca', help: 'PEM CA bundle: require and verify client certificates (mTLS)' },
  { flag: 'insecure', help: 'allow plaintext gRPC on a non-loopback address (true|false)', default: 'false' },
  { flag: 'metrics-listen', help: 'Prometheus /metrics on HOST:PORT (loopback only); empty = off', default: '' },
  { flag: 'log-level', help: 'fatal|error|warn|info|debug|trace|silent', default: 'info' },
  { flag: 'pool-threads', help: 'worker threads (default: number of cores)' },
  { flag: 'pool-max-queue', help: 'tasks waiting for a worker before RESOURCE_EXHAUSTED', default: '256' },
  { flag: 'worker-max-heap-mb', help: 'old-generation heap per worker thread in MB (a bigger document fails)', default: '1024' },
  { flag: 'document-time-ms', help: 'wall time to process one document before it fails', default: '600000' },
  { flag: 'page-time-ms', help: 'wall time for one page (text layer, render or OCR)', default: '60000' },
  { flag: 'max-pages', help: 'pages a document may have', default: '2000' },
  { flag: 'max-pixels', help: 'pixels of one image or rendered page (width × height)', default: '100000000' },
  {
    flag: 'max-decompressed-bytes',
    help: 'bytes a ZIP or e-mail may unpack to (members and attachments in total)',
    default: String(512 * 2 ** 20),
  },
  { flag: 'max-zip-members', help: 'members a ZIP may have (an e-mail: at most 1000 attachments)', default: '10000' },
  { flag: 'max-zip-ratio', help: 'compression ratio above which a ZIP member is a bomb', default: '200' },
  { flag: 'render-dpi', help: 'resolution at which PDF pages without text are rendered for OCR', default: '300' },
  { flag: 'max-nesting-depth', help: 'how deep archives in archives (or e-mails) are unpacked', default: '3' },
  { flag: 'preview-pages', help: 'page previews (PNG, 1024 px wide) made per document at ingest', default: '20' },
  { flag: 'max-message-bytes', help: 'largest gRPC message in either direction', default: String(8 * 1024 * 1024) },
  { flag: 'max-concurrent-streams', help: 'HTTP/2 streams per connection', default: '256' },
  { flag: 'keepalive-time-ms', help: 'server keepalive ping interval', default: '60000' },
  { flag: 'keepalive-timeout-ms', help: 'keepalive ping ack timeout', default: '20000' },
  { flag: 'max-connection-idle-ms', help: 'close idle connections after', default: '300000' },
  { flag: 'max-connection-age-ms', help: 'recycle connections after (spreads load)', default: '3600000' },
  { flag: 'max-session-memory-mb', help: 'HTTP/2 session memory per connection', default: '64' },
  { flag: 'lmdb-map-size', help: 'LMDB map size in bytes (upper bound of the database file)', default: String(64 * 2 ** 30) },
  { flag: 'max-upload-bytes', help: 'largest sealed upload in bytes', default: String(2 * 2 ** 30) },
  { flag: 'max-document-bytes', help: 'largest plaintext of a document in bytes (bomb limit)', default: String(2 * 2 ** 30) },
  { flag: 'job-max-attempts', help: 'processing attempts before a document is FAILED', default: '3' },
  { flag: 'job-lease-ms', help: 'how long a running job may take before it is retried', default: '900000' },
  { flag: 'job-backoff-ms', help: 'first retry delay of a failed job (doubles per attempt)', default: '2000' },
  { flag: 'shutdown-grace-ms', help: 'how long SIGTERM waits for running calls', default: '10000' },
  { flag: 'master-key-file', help: 'master key file (default DATA/master.key, created 0600 on first start)' },
  { flag: 'master-key', help: 'master key as base64 of 32 bytes (env only; overrides the file)' },
  { flag: 'scrypt-log-n', help: 'scrypt cost log2(N) for new password hashes (OWASP: 17; lower only in tests)', default: '17' },
  { flag: 'scrypt-r', help: 'scrypt block size r', default: '8' },
  { flag: 'scrypt-p', help: 'scrypt parallelism p', default: '1' },
  { flag: 'session-max-age-ms', help: 'a session ends this long after login', default: String(7 * 86_400_000) },
  { flag: 'session-idle-ms', help: 'a session ends after this long without a call', default: String(8 * 3_600_000) },
  { flag: 'login-max-per-email', help: 'failed logins per e-mail per rate window', default: '10' },
  { flag: 'login-max-per-peer', help: 'login attempts per client address per rate window', default: '100' },
  { flag: 'register-max-per-peer', help: 'registrations per client address per rate window', default: '20' },
  { flag: 'rate-window-ms', help: 'window of the login and registration rate limits', default: '900000' },
  {
    flag: 'usage-retention-months',
    help: 'months after an invoice was sent until its usage data is deleted (max 6)',
    default: '6',
  },
  {
    flag: 'unbilled-usage-retention-months',
    help: 'months after its end until usage that was never billed is deleted (1..12)',
    default: '6',
  },
  { flag: 'invoice-retention-years', help: 'years an invoice is kept after it was sent (locked after erasure)', default: '10' },
  { flag: 'retention-interval-ms', help: 'how often the retention sweeper runs (0 = only on request)', default: '3600000' },
  { flag: 'terms-version', help: 'version of the end-user licence agreement in force (registrations must accept it)' },
  { flag: 'terms-file', help: 'the agreement in force; its SHA-256 is what registrations must accept (read at start-up)' },
  { flag: 'terms-sha256', help: 'SHA-256 of the agreement in force (64 hex characters), instead of --terms-file' },
  { flag: 'admin-email', help: 'create this operator (admin) account at start-up if it does not exist', default: '' },
  { flag: 'admin-password-file', help: 'file holding the initial password of --admin-email' },
  { flag: 'imap-concurrency', help: 'IMAP accounts importing at the same time', default: '4' },
  { flag: 'imap-max-message-bytes', help: 'larger mails are skipped (recorded with the reason)', default: String(64 * 2 ** 20) },
  { flag: 'imap-import-folder', help: 'IMAP folder for manual import (/ separates levels)', default: 'Archivar/Import' },
  { flag: 'imap-imported-folder', help: 'IMAP folder imported mail is moved to', default: 'Archivar/Imported' },
  { flag: 'imap-failed-folder', help: 'IMAP folder mail that failed to import is moved to', default: 'Archivar/Failed' },
  { flag: 'imap-page-uids', help: 'UIDs fetched per page (bounded memory)', default: '500' },
  { flag: 'imap-timeout-ms', help: 'IMAP connect, greeting and socket timeout', default: '30000' },
  { flag: 'imap-backoff-ms', help: 'first retry after an IMAP connection failure (doubles)', default: '60000' },
  { flag: 'imap-auth-backoff-ms', help: 'first retry after a failed IMAP login (doubles)', default: '900000' },
  { flag: 'imap-max-backoff-ms', help: 'longest wait between IMAP retries', default: String(6 * 3_600_000) },
  { flag: 'imap-rescan-ms', help: 'how often stored IMAP settings are looked for (0 = only on request)', default: '60000' },
  { flag: 'imap-idle', help: 'keep IDLE connections for automatic import (true|false)', default: 'true' },
  { flag: 'text-cache-mb', help: "memory for recently opened hits' texts (snippets) in MiB; 0 = off", default: '64' },
  {
    flag: 'field-weights',
    help: 'BM25F weight of each field (body, title, subject, filename, sender); unnamed fields keep theirs',
    default: fieldDefaults(DEFAULT_FIELD_WEIGHTS),
  },
  {
    flag: 'field-b',
    help: 'BM25F length normalisation b (0..1) of each field; unnamed fields keep theirs',
    default: fieldDefaults(DEFAULT_FIELD_B),
  },
  {
    flag: 'compound-part-weight',
    help: 'weight (0..1] of a word found inside a German compound against the word itself (its frequency)',
    default: String(DEFAULT_COMPOUND_PART_WEIGHT),
  },
];

/** `body=1,title=3,…` in SEARCH_FIELDS' names from the index's per-field numbers. */
function fieldDefaults(byField: Readonly<Record<FieldName, number>>): string {
  return SEARCH_FIELDS.map((f) => `${f}=${byField[INDEX_FIELD[f]]}`).join(',');
}

export function envName(flag: string): string {
  return `ARCHIVAR_${flag.toUpperCase().replaceAll('-', '_')}`;
}

/** Env variables that are not server settings but belong to the CLI or the test harness. */
const CLIENT_ENV = new Set([
  'ARCHIVAR_SERVER',
  'ARCHIVAR_TOKEN',
  'ARCHIVAR_TLS_CA',
  'ARCHIVAR_TLS_CLIENT_CERT',
  'ARCHIVAR_TLS_CLIENT_KEY',
  'ARCHIVAR_TLS_SERVER_NAME',
  'ARCHIVAR_DATA_DIR',
]);

/**
 * Builds the config from flags (highest precedence) and the environment. `ARCHIVAR_DATA_DIR` is accepted
 * as an alias of `ARCHIVAR_DATA` because the CLI documents it.
 */
export function loadConfig(flags: Raw = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const known = new Set(SETTINGS.map((s) => s.flag));
  for (const key of Object.keys(flags)) {
    if (!known.has(key)) throw new ConfigError(`unknown setting --${key}`);
  }
  const knownEnv = new Set(SETTINGS.map((s) => envName(s.flag)));
  for (const key of Object.keys(env)) {
    if (key.startsWith('ARCHIVAR_') && !knownEnv.has(key) && !CLIENT_ENV.has(key)) {
      throw new ConfigError(`unknown environment variable ${key}`);
    }
  }
  const raw: Raw = {};
  for (const s of SETTINGS) {
    const fromEnv = env[envName(s.flag)] ?? (s.flag === 'data' ? env.ARCHIVAR_DATA_DIR : undefined);
    if (s.flag === 'master-key' && flags[s.flag] !== undefined) {
      throw new ConfigError('the master key is read from ARCHIVAR_MASTER_KEY or a file, never from a flag');
    }
    raw[s.flag] = flags[s.flag] ?? fromEnv ?? s.default;
  }

  const listen = parseHostPort('listen', need(raw, 'listen'));
  const dataDir = path.resolve(need(raw, 'data'));
  const certFile = raw['tls-cert'];
  const keyFile = raw['tls-key'];
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError('--tls-cert and --tls-key must be given together');
  }
  const clientCaFile = raw['tls-client-ca'] ?? null;
  if (clientCaFile !== null && certFile === undefined) {
    throw new ConfigError('--tls-client-ca needs --tls-cert and --tls-key');
  }
  const tls = certFile !== undefined && keyFile !== undefined ? { certFile, keyFile, clientCaFile } : null;
  const insecure = parseBool('insecure', need(raw, 'insecure'));
  if (tls === null && !isLoopback(listen.host) && !insecure) {
    throw new ConfigError(
      `refusing to serve plaintext gRPC on non-loopback address ${listen.host}: give --tls-cert/--tls-key, or --insecure`,
    );
  }
  const metricsRaw = need(raw, 'metrics-listen');
  const metricsListen = metricsRaw === '' ? null : parseHostPort('metrics-listen', metricsRaw);
  if (metricsListen !== null && !isLoopback(metricsListen.host)) {
    throw new ConfigError(`--metrics-listen must be a loopback address, got ${metricsListen.host}`);
  }
  const logLevel = need(raw, 'log-level');
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
  if (!(levels as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`--log-level must be one of ${levels.join(', ')}, got "${logLevel}"`);
  }
  const cores = os.availableParallelism();
  const masterKey = raw['master-key'] ?? null;
  if (masterKey !== null && Buffer.from(masterKey, 'base64').length !== 32) {
    throw new ConfigError('ARCHIVAR_MASTER_KEY must be base64 of exactly 32 bytes');
  }

  const config: Config = {
    listen,
    dataDir,
    tls,
    insecure,
    metricsListen,
    logLevel: logLevel as Config['logLevel'],
    pool: {
      threads: raw['pool-threads'] === undefined ? cores : parseInt_('pool-threads', raw['pool-threads'], 1, 256),
      maxQueue: parseInt_('pool-max-queue', need(raw, 'pool-max-queue'), 1, 1_000_000),
      maxHeapMb: parseInt_('worker-max-heap-mb', need(raw, 'worker-max-heap-mb'), 16, 65_536),
    },
    processing: {
      documentTimeMs: parseInt_('document-time-ms', need(raw, 'document-time-ms'), 100, 24 * 3_600_000),
      pageTimeMs: parseInt_('page-time-ms', need(raw, 'page-time-ms'), 100, 3_600_000),
      maxPages: parseInt_('max-pages', need(raw, 'max-pages'), 1, 1_000_000),
      maxPixels: parseInt_('max-pixels', need(raw, 'max-pixels'), 10_000, 2 ** 40),
      maxDecompressedBytes: parseInt_('max-decompressed-bytes', need(raw, 'max-decompressed-bytes'), 1024, 2 ** 42),
      maxZipMembers: parseInt_('max-zip-members', need(raw, 'max-zip-members'), 1, 10_000_000),
      maxCompressionRatio: parseInt_('max-zip-ratio', need(raw, 'max-zip-ratio'), 2, 1_000_000),
      renderDpi: parseInt_('render-dpi', need(raw, 'render-dpi'), 72, 1200),
      maxNestingDepth: parseInt_('max-nesting-depth', need(raw, 'max-nesting-depth'), 0, 16),
      previewPages: parseInt_('preview-pages', need(raw, 'preview-pages'), 0, 100_000),
    },
    grpc: {
      maxMessageBytes: parseInt_('max-message-bytes', need(raw, 'max-message-bytes'), 64 * 1024, 256 * 2 ** 20),
      maxConcurrentStreams: parseInt_('max-concurrent-streams', need(raw, 'max-concurrent-streams'), 1, 100_000),
      keepaliveTimeMs: parseInt_('keepalive-time-ms', need(raw, 'keepalive-time-ms'), 1000, 2 ** 31 - 1),
      keepaliveTimeoutMs: parseInt_('keepalive-timeout-ms', need(raw, 'keepalive-timeout-ms'), 1000, 2 ** 31 - 1),
      maxConnectionIdleMs: parseInt_('max-connection-idle-ms', need(raw, 'max-connection-idle-ms'), 1000, 2 ** 31 - 1),
      maxConnectionAgeMs: parseInt_('max-connection-age-ms', need(raw, 'max-connection-age-ms'), 1000, 2 ** 31 - 1),
      maxSessionMemoryMb: parseInt_('max-session-memory-mb', need(raw, 'max-session-memory-mb'), 1, 4096),
    },
    lmdbMapSizeBytes: parseInt_('lmdb-map-size', need(raw, 'lmdb-map-size'), 2 ** 20, 2 ** 46),
    documents: {
      maxUploadBytes: parseInt_('max-upload-bytes', need(raw, 'max-upload-bytes'), 1024, 2 ** 42),
      maxDocumentBytes: parseInt_('max-document-bytes', need(raw, 'max-document-bytes'), 1024, 2 ** 42),
    },
    jobs: {
      maxAttempts: parseInt_('job-max-attempts', need(raw, 'job-max-attempts'), 1, 100),
      leaseMs: parseInt_('job-lease-ms', need(raw, 'job-lease-ms'), 1000, 2 ** 31 - 1),
      backoffMs: parseInt_('job-backoff-ms', need(raw, 'job-backoff-ms'), 0, 2 ** 31 - 1),
    },
    shutdownGraceMs: parseInt_('shutdown-grace-ms', need(raw, 'shutdown-grace-ms'), 0, 600_000),
    masterKeyFile: path.resolve(raw['master-key-file'] ?? path.join(dataDir, 'master.key')),
    masterKey,
    accounts: accountsConfig(raw),
    imap: imapConfig(raw),
    search: {
      textCacheBytes: parseInt_('text-cache-mb', need(raw, 'text-cache-mb'), 0, 1_048_576) * 2 ** 20,
      fieldWeights: parseFieldNumbers('field-weights', need(raw, 'field-weights'), defaultOf('field-weights'), 100),
      fieldB: parseFieldNumbers('field-b', need(raw, 'field-b'), defaultOf('field-b'), 1),
      compoundPartWeight: parseWeight('compound-part-weight', need(raw, 'compound-part-weight')),
    },
  };
  return deepFreeze(config);
}

function imapConfig(raw: Raw): ImapImportConfig {
  const folder = (flag: string) => {
    const v = need(raw, flag).trim();
    if (v === '' || v.length > 200 || /^\/|\/$|\/\/|[\0\r\n*%]/.test(v))
      throw new ConfigError(`--${flag} must be a folder name like Archivar/Import`);
    return v;
  };
  const day = 86_400_000;
  const config: ImapImportConfig = {
    concurrency: parseInt_('imap-concurrency', need(raw, 'imap-concurrency'), 1, 1000),
    maxMessageBytes: parseInt_('imap-max-message-bytes', need(raw, 'imap-max-message-bytes'), 1024, 2 ** 31),
    importFolder: folder('imap-import-folder'),
    importedFolder: folder('imap-imported-folder'),
    failedFolder: folder('imap-failed-folder'),
    pageUids: parseInt_('imap-page-uids', need(raw, 'imap-page-uids'), 1, 100_000),
    timeoutMs: parseInt_('imap-timeout-ms', need(raw, 'imap-timeout-ms'), 100, 600_000),
    backoffMs: parseInt_('imap-backoff-ms', need(raw, 'imap-backoff-ms'), 10, day),
    authBackoffMs: parseInt_('imap-auth-backoff-ms', need(raw, 'imap-auth-backoff-ms'), 10, day),
    maxBackoffMs: parseInt_('imap-max-backoff-ms', need(raw, 'imap-max-backoff-ms'), 10, 7 * day),
    rescanMs: parseInt_('imap-rescan-ms', need(raw, 'imap-rescan-ms'), 0, day),
    idle: parseBool('imap-idle', need(raw, 'imap-idle')),
  };
  if (new Set([config.importFolder, config.importedFolder, config.failedFolder]).size !== 3) {
    throw new ConfigError('--imap-import-folder, --imap-imported-folder and --imap-failed-folder must differ');
  }
  return config;
}

function accountsConfig(raw: Raw): AccountsConfig {
  const adminEmail = need(raw, 'admin-email') || null;
  const adminPasswordFile = raw['admin-password-file'] ? path.resolve(raw['admin-password-file']) : null;
  if ((adminEmail === null) !== (adminPasswordFile === null)) {
    throw new ConfigError('--admin-email and --admin-password-file must be given together');
  }
  const day = 86_400_000;
  return {
    scrypt: {
      logN: parseInt_('scrypt-log-n', need(raw, 'scrypt-log-n'), 4, 20),
      r: parseInt_('scrypt-r', need(raw, 'scrypt-r'), 1, 16),
      p: parseInt_('scrypt-p', need(raw, 'scrypt-p'), 1, 4),
    },
    sessionMaxAgeMs: parseInt_('session-max-age-ms', need(raw, 'session-max-age-ms'), 60_000, 365 * day),
    sessionIdleMs: parseInt_('session-idle-ms', need(raw, 'session-idle-ms'), 60_000, 365 * day),
    loginMaxPerEmail: parseInt_('login-max-per-email', need(raw, 'login-max-per-email'), 1, 1_000_000),
    loginMaxPerPeer: parseInt_('login-max-per-peer', need(raw, 'login-max-per-peer'), 1, 1_000_000),
    registerMaxPerPeer: parseInt_('register-max-per-peer', need(raw, 'register-max-per-peer'), 1, 1_000_000),
    rateWindowMs: parseInt_('rate-window-ms', need(raw, 'rate-window-ms'), 1000, day),
    usageRetentionMonths: parseInt_('usage-retention-months', need(raw, 'usage-retention-months'), 0, 6),
    unbilledUsageRetentionMonths: parseInt_(
      'unbilled-usage-retention-months',
      need(raw, 'unbilled-usage-retention-months'),
      1,
      12,
    ),
    invoiceRetentionYears: parseInt_('invoice-retention-years', need(raw, 'invoice-retention-years'), 1, 30),
    retentionIntervalMs: parseInt_('retention-interval-ms', need(raw, 'retention-interval-ms'), 0, 7 * day),
    terms: termsConfig(raw),
    adminEmail,
    adminPasswordFile,
  };
}

/** The agreement in force: a version with the SHA-256 of its file or given as hex; or none. */
function termsConfig(raw: Raw): AccountsConfig['terms'] {
  const version = raw['terms-version'];
  const file = raw['terms-file'];
  const hex = raw['terms-sha256'];
  if (version === undefined) {
    if (file !== undefined || hex !== undefined) throw new ConfigError('--terms-file and --terms-sha256 need --terms-version');
    return null;
  }
  if (!/^[A-Za-z0-9._+-]{1,32}$/.test(version))
    throw new ConfigError(`--terms-version must be 1..32 characters of A-Z a-z 0-9 . _ + -, got "${version}"`);
  if ((file === undefined) === (hex === undefined))
    throw new ConfigError('--terms-version needs exactly one of --terms-file and --terms-sha256');
  if (hex !== undefined) {
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new ConfigError('--terms-sha256 must be 64 hex characters');
    return { textVersion: version, textSha256: hex.toLowerCase() };
  }
  let text: Buffer;
  try {
    text = fs.readFileSync(path.resolve(file as string));
  } catch {
    throw new ConfigError(`--terms-file ${file} cannot be read`);
  }
  return { textVersion: version, textSha256: createHash('sha256').update(text).digest('hex') };
}

function need(raw: Raw, flag: string): string {
  const v = raw[flag];
  if (v === undefined) throw new ConfigError(`--${flag} is required`);
  return v;
}

export function parseHostPort(flag: string, value: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value.trim());
  if (!m?.[1] || !m[2]) throw new ConfigError(`--${flag} must be HOST:PORT, got "${value}"`);
  const port = Number(m[2]);
  if (port > 65535) throw new ConfigError(`--${flag}: port ${port} is out of range 0..65535`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

function parseInt_(flag: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value.trim())) throw new ConfigError(`--${flag} must be a whole number, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(`--${flag} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function defaultOf(flag: string): string {
  return SETTINGS.find((s) => s.flag === flag)?.default ?? '';
}

/** `title=3,body=1`: numbers per field, over the defaults (a reindex is not needed: scores are computed per query). */
function parseFieldNumbers(flag: string, value: string, defaults: string, max: number): Record<SearchField, number> {
  const out = {} as Record<SearchField, number>;
  for (const text of [defaults, value]) {
    for (const part of text.split(',').map((p) => p.trim())) {
      if (part === '') continue;
      const m = /^([a-z]+)\s*=\s*(\d+(?:\.\d+)?)$/.exec(part);
      const field = m?.[1] as SearchField | undefined;
      if (!m || field === undefined || !SEARCH_FIELDS.includes(field))
        throw new ConfigError(`--${flag}: "${part}" is not FIELD=NUMBER with FIELD one of ${SEARCH_FIELDS.join(', ')}`);
      const n = Number(m[2]);
      if (n > max) throw new ConfigError(`--${flag}: ${field} must be between 0 and ${max}, got ${n}`);
      out[field] = n;
    }
  }
  return out;
}

/** A number in (0, 1]. */
function parseWeight(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n > 0 && n <= 1)) throw new ConfigError(`--${flag} must be above 0 and at most 1, got "${value}"`);
  return n;
}

function parseBool(flag: string, value: string): boolean {
  if (value === 'true' || value === '1' || value === '') return true;
  if (value === 'false' || value === '0') return false;
  throw new ConfigError(`--${flag} must be true or false, got "${value}"`);
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
