import { status as grpcStatus } from '@grpc/grpc-js';
import type { FetchMessageObject, ImapFlow, MessageAddressObject, MessageStructureObject } from 'imapflow';
import { simpleParser } from 'mailparser';
import type { Clock, ImapConfig, UsageRecorder } from '../accounts/index.js';
import type { Documents } from '../documents/documents.js';
import { decodeText } from '../pipeline/text.js';
import type { ImapImportConfig } from '../server/config.js';
import { AppError } from '../server/errors.js';
import type { Logger } from '../server/logger.js';
import { folderSegments } from './connection.js';
import type { ImportLedger, LedgerEntry, MessageKey, Outcome } from './ledger.js';

/** Test seams: each may throw to simulate a crash at that point of the exactly-once protocol. */
export interface ImportHooks {
  /** After the document is durable, before the ledger commit. */
  afterIngest?(k: MessageKey): void | Promise<void>;
  /** After the ledger commit, before the mail is moved or flagged. */
  beforeSettle?(k: MessageKey): void | Promise<void>;
  /** After a message is fully handled. */
  afterMessage?(k: MessageKey): void | Promise<void>;
  /** Before every connection attempt of a watcher. */
  beforeConnect?(tenantId: string): void | Promise<void>;
}

/** What one run did. */
export interface RunCounts {
  imported: number;
  duplicates: number;
  failed: number;
  skipped: number;
  /** Configured automatic-import folders the server does not have (a typo, or deleted): said in the status. */
  missingFolders: string[];
}

/** The mailbox being imported: whose documents they become and which account's ledger. */
export interface MailboxContext {
  tenantId: string;
  userId: string;
  /** Ledger key of the account (hash of tenant, host, port, user). */
  account: string;
  settings: ImapConfig;
}

export interface ImporterDeps {
  documents: Pick<Documents, 'ingest' | 'get' | 'recordFailedImport'>;
  ledger: ImportLedger;
  config: ImapImportConfig;
  usage: UsageRecorder;
  clock: Clock;
  log: Logger;
  hooks?: ImportHooks;
}

/** Resolved folder paths of one connection (namespace prefix and hierarchy delimiter applied). */
export interface Folders {
  import: string;
  imported: string;
  failed: string;
}

/** The keyword set on imported mail that stays in an automatic-import folder. */
export const IMPORTED_KEYWORD = '$ArchivarImported';

type Mode = 'manual' | 'auto';

/**
 * One import run over a connected client: makes sure Archivar's folders exist, imports everything in the
 * import folder, then (when switched on) new mail in the automatic-import folders. Messages are read one
 * UID range at a time and fetched one at a time, so memory stays bounded by the page and the size limit.
 */
export class MailboxImporter {
  readonly #d: ImporterDeps;

  constructor(deps: ImporterDeps) {
    this.#d = deps;
  }

  async run(client: ImapFlow, ctx: MailboxContext, signal: AbortSignal): Promise<RunCounts> {
    const counts: RunCounts = { imported: 0, duplicates: 0, failed: 0, skipped: 0, missingFolders: [] };
    const folders = await ensureFolders(client, this.#d.config);
    await this.#folder(client, ctx, folders, folders.import, 'manual', counts, signal);
    if (ctx.settings.autoImport) {
      const own = new Set([folders.import, folders.imported, folders.failed]);
      const existing = new Set((await client.list()).map((m) => m.path));
      for (const name of autoFolders(ctx.settings)) {
        const path = resolvePath(client, name);
        if (own.has(path)) continue;
        if (!existing.has(path)) {
          this.#d.log.warn({ tenantId: ctx.tenantId }, 'an automatic-import folder does not exist on the server');
          counts.missingFolders.push(name);
          continue;
        }
        await this.#folder(client, ctx, folders, path, 'auto', counts, signal);
      }
    }
    return counts;
  }

  async #folder(
    client: ImapFlow,
    ctx: MailboxContext,
    folders: Folders,
    path: string,
    mode: Mode,
    counts: RunCounts,
    signal: AbortSignal,
  ): Promise<void> {
    const { ledger, config, clock } = this.#d;
    const lock = await client.getMailboxLock(path);
    try {
      const mailbox = client.mailbox;
      if (!mailbox) throw new Error(`could not select ${path}`);
      const uidValidity = Number(mailbox.uidValidity);
      const uidNext = mailbox.uidNext > 0 ? mailbox.uidNext : await nextUidBySearch(client);
      let start = 1;
      let sinceMs = 0;
      if (mode === 'auto') {
        const base = ledger.baseline(ctx.tenantId, ctx.account, path);
        if (!base) {
          // Switching automatic import on imports what arrives from now on; older mail goes through Import.
          await ledger.setBaseline(ctx.tenantId, ctx.account, path, { uidValidity, nextUid: uidNext, sinceMs: clock.now() });
          return;
        }
        if (base.uidValidity === uidValidity) start = base.nextUid;
        else {
          // New UIDVALIDITY: every UID is new, so mail counts as new by its arrival time; Message-IDs catch copies.
          this.#d.log.info({ tenantId: ctx.tenantId }, 'UIDVALIDITY changed: rescanning an automatic-import folder');
          sinceMs = base.sinceMs;
          await ledger.setBaseline(ctx.tenantId, ctx.account, path, { uidValidity, nextUid: 1, sinceMs });
        }
      }
      const wantStructure = mode === 'auto' && ctx.settings.filterHasAttachment;
      for (let lo = start; lo < uidNext; lo += config.pageUids) {
        if (signal.aborted) throw signal.reason;
        const hi = Math.min(lo + config.pageUids - 1, uidNext - 1);
        const page = await client.fetchAll(
          `${lo}:${hi}`,
          { uid: true, size: true, envelope: true, internalDate: true, ...(wantStructure ? { bodyStructure: true } : {}) },
          { uid: true },
        );
        page.sort((a, b) => a.uid - b.uid);
        for (const meta of page) {
          if (meta.uid < lo || meta.uid > hi) continue;
          if (signal.aborted) throw signal.reason;
          const k: MessageKey = { tenantId: ctx.tenantId, account: ctx.account, folder: path, uidValidity, uid: meta.uid };
          await this.#message(client, ctx, folders, k, meta, mode, sinceMs, counts, signal);
          await this.#d.hooks?.afterMessage?.(k);
        }
        if (mode === 'auto') await ledger.setBaseline(ctx.tenantId, ctx.account, path, { uidValidity, nextUid: hi + 1, sinceMs });
      }
    } finally {
      lock.release();
    }
  }

  async #message(
    client: ImapFlow,
    ctx: MailboxContext,
    folders: Folders,
    k: MessageKey,
    meta: FetchMessageObject,
    mode: Mode,
    sinceMs: number,
    counts: RunCounts,
    signal: AbortSignal,
  ): Promise<void> {
    const { ledger, config, clock, documents, hooks } = this.#d;
    const known = ledger.get(k);
    if (known) {
      // Committed earlier: only the move (or flag) may be missing, e.g. after a crash right after the commit.
      if (!known.settled || mode === 'manual') await this.#settle(client, folders, k, known.outcome, mode);
      return;
    }
    const envelope = meta.envelope;
    if (envelope?.subject?.includes('\uFFFD')) envelope.subject = (await rawSubject(client, k.uid)) ?? envelope.subject;
    if (envelope?.from?.some((a) => a.name?.includes('\uFFFD'))) envelope.from = (await rawFrom(client, k.uid)) ?? envelope.from;
    if (mode === 'auto') {
      if (!matchesFilters(meta, ctx.settings)) return;
      if (sinceMs > 0 && internalMs(meta) < sinceMs) return;
    }
    const messageId = meta.envelope?.messageId?.trim() || null;
    const size = meta.size ?? 0;
    const skipTooLarge = (bytes: number) =>
      this.#notImported(client, folders, k, mode, counts, ctx, meta, 'skipped', tooLarge(bytes, config.maxMessageBytes), bytes);
    if (size > config.maxMessageBytes) {
      await skipTooLarge(size);
      return;
    }
    if (messageId) {
      const earlier = ledger.documentOfMessageId(k.tenantId, messageId);
      if (earlier && exists(documents, k.tenantId, earlier)) {
        await this.#record(client, folders, k, mode, counts, 'duplicate', earlier, '', null);
        return;
      }
    }
    const fetched = await client.fetchOne(String(k.uid), { uid: true, source: true }, { uid: true });
    const source = fetched ? fetched.source : undefined;
    if (!source) return; // expunged meanwhile (by the user): nothing to import
    if (source.byteLength > config.maxMessageBytes) {
      await skipTooLarge(source.byteLength);
      return;
    }
    let documentId: string;
    let duplicate: boolean;
    try {
      const result = await documents.ingest(
        { tenantId: ctx.tenantId, userId: ctx.userId },
        {
          fileName: mailFileName(meta, k.uid),
          mediaType: 'message/rfc822',
          bytes: source,
          idempotencyKey: this.#d.ledger.idempotencyKey(k),
          tags: ['imap'],
        },
        { source: 'imap', parentId: null },
        signal,
      );
      documentId = result.document.id;
      duplicate = result.duplicate;
    } catch (err) {
      if (!isPermanent(err) || signal.aborted) throw err;
      const reason = err instanceof AppError ? err.message : 'the document could not be stored';
      await this.#notImported(client, folders, k, mode, counts, ctx, meta, 'failed', reason, source.byteLength);
      return;
    }
    await hooks?.afterIngest?.(k);
    const outcome: Outcome = duplicate ? 'duplicate' : 'imported';
    await this.#commit(k, outcome, documentId, '', messageId, counts);
    if (outcome === 'imported') {
      const now = clock.now();
      await this.#d.usage
        .record({ tenantId: k.tenantId, userId: ctx.userId, kind: 'mails_imported', quantity: 1, startMs: now, endMs: now })
        .catch((err: unknown) => this.#d.log.error({ err, tenantId: k.tenantId }, 'could not record IMAP usage'));
    }
    await hooks?.beforeSettle?.(k);
    await this.#settle(client, folders, k, outcome, mode);
  }

  /**
   * A mail that is not imported (too large, or refused permanently) still shows up in the document list:
   * a FAILED record with the reason and no original (idempotent by the message's key, so a crash before
   * the ledger commit finds the same record again). Then the ledger entry, then the move to Failed.
   */
  async #notImported(
    client: ImapFlow,
    folders: Folders,
    k: MessageKey,
    mode: Mode,
    counts: RunCounts,
    ctx: MailboxContext,
    meta: FetchMessageObject,
    outcome: 'skipped' | 'failed',
    reason: string,
    size: number,
  ): Promise<void> {
    const doc = await this.#d.documents.recordFailedImport(
      { tenantId: ctx.tenantId, userId: ctx.userId },
      {
        fileName: mailFileName(meta, k.uid),
        mediaType: 'message/rfc822',
        size,
        reason: `not imported from the mailbox: ${reason}`,
        idempotencyKey: this.#d.ledger.idempotencyKey(k),
        tags: ['imap'],
      },
      'imap',
    );
    await this.#record(client, folders, k, mode, counts, outcome, doc.id, reason, null);
  }

  async #record(
    client: ImapFlow,
    folders: Folders,
    k: MessageKey,
    mode: Mode,
    counts: RunCounts,
    outcome: Outcome,
    documentId: string | null,
    reason: string,
    messageId: string | null,
  ): Promise<void> {
    await this.#commit(k, outcome, documentId, reason, messageId, counts);
    await this.#d.hooks?.beforeSettle?.(k);
    await this.#settle(client, folders, k, outcome, mode);
  }

  async #commit(
    k: MessageKey,
    outcome: Outcome,
    documentId: string | null,
    reason: string,
    messageId: string | null,
    counts: RunCounts,
  ): Promise<void> {
    const entry: LedgerEntry = { outcome, documentId, reason, atMs: this.#d.clock.now(), settled: false };
    await this.#d.ledger.commit(k, entry, messageId);
    if (outcome === 'imported') counts.imported++;
    else if (outcome === 'duplicate') counts.duplicates++;
    else if (outcome === 'failed') counts.failed++;
    else counts.skipped++;
    if (reason) this.#d.log.info({ tenantId: k.tenantId, uid: k.uid, outcome, reason }, 'IMAP message not imported');
  }

  /** Moves (manual import, failures) or flags (automatic import) a committed message, then marks it settled. */
  async #settle(client: ImapFlow, folders: Folders, k: MessageKey, outcome: Outcome, mode: Mode): Promise<void> {
    const uid = String(k.uid);
    if (mode === 'manual' || outcome === 'failed') {
      const target = outcome === 'imported' || outcome === 'duplicate' ? folders.imported : folders.failed;
      await client.messageMove(uid, target, { uid: true });
    } else if (outcome !== 'skipped' && keywordsAllowed(client)) {
      await client.messageFlagsAdd(uid, [IMPORTED_KEYWORD], { uid: true });
    }
    await this.#d.ledger.settle(k);
  }
}

/** Creates Archivar's folders where missing (also after the user deleted them) and subscribes them. */
export async function ensureFolders(client: ImapFlow, config: ImapImportConfig): Promise<Folders> {
  const folders: Folders = {
    import: resolvePath(client, config.importFolder),
    imported: resolvePath(client, config.importedFolder),
    failed: resolvePath(client, config.failedFolder),
  };
  const existing = new Set((await client.list()).map((m) => m.path));
  for (const path of Object.values(folders)) {
    if (existing.has(path)) continue;
    await client.mailboxCreate(path);
    await client.mailboxSubscribe(path).catch(() => false);
  }
  return folders;
}

/** A configured folder name (`/` between levels) as the server's path: namespace prefix and delimiter. */
export function resolvePath(client: ImapFlow, name: string): string {
  const segments = folderSegments(name);
  if (segments.length === 1 && segments[0]?.toUpperCase() === 'INBOX') return 'INBOX';
  const ns = client.namespace;
  const delimiter = ns?.delimiter || '/';
  const path = segments.join(delimiter);
  if (segments[0]?.toUpperCase() === 'INBOX') return path;
  const prefix = ns?.prefix ?? '';
  return prefix && !path.startsWith(prefix) ? prefix + path : path;
}

function autoFolders(settings: ImapConfig): string[] {
  return settings.folders.length > 0 ? settings.folders : ['INBOX'];
}

function keywordsAllowed(client: ImapFlow): boolean {
  const flags = client.mailbox ? client.mailbox.permanentFlags : undefined;
  return flags?.has('\\*') ?? false;
}

async function nextUidBySearch(client: ImapFlow): Promise<number> {
  const uids = await client.search({ all: true }, { uid: true });
  return Array.isArray(uids) && uids.length > 0 ? Math.max(...uids) + 1 : 1;
}

function internalMs(meta: FetchMessageObject): number {
  const d = meta.internalDate;
  return d instanceof Date ? d.getTime() : d ? Date.parse(d) : 0;
}

function exists(documents: Pick<Documents, 'get'>, tenantId: string, id: string): boolean {
  try {
    documents.get(tenantId, id);
    return true;
  } catch {
    return false; // deleted by the user: a copy may be imported again
  }
}

/** Filters of automatic import (case-insensitive substrings; all given ones must match). */
export function matchesFilters(meta: FetchMessageObject, s: ImapConfig): boolean {
  const env = meta.envelope;
  if (s.filterFrom) {
    const from = (env?.from ?? []).map((a) => `${a.name ?? ''} <${a.address ?? ''}>`).join(', ');
    if (!from.toLowerCase().includes(s.filterFrom.toLowerCase())) return false;
  }
  if (s.filterSubjectContains && !(env?.subject ?? '').toLowerCase().includes(s.filterSubjectContains.toLowerCase())) {
    return false;
  }
  if (s.filterHasAttachment && !(meta.bodyStructure && hasAttachment(meta.bodyStructure))) return false;
  return true;
}

function hasAttachment(node: MessageStructureObject): boolean {
  if (node.childNodes?.length) return node.childNodes.some(hasAttachment);
  if (node.disposition?.toLowerCase() === 'attachment') return true;
  const named = Boolean(node.dispositionParameters?.filename ?? node.parameters?.name);
  return named && !node.type.toLowerCase().startsWith('text/');
}

function tooLarge(size: number, limit: number): string {
  const unit = (n: number) => (n < 2 ** 20 ? `${Math.round(n / 1024)} KiB` : `${(n / 2 ** 20).toFixed(1)} MiB`);
  return `the message (${unit(size)}) is larger than the limit of ${unit(limit)}`;
}

/**
 * A subject in raw 8-bit bytes that are not UTF-8 (Latin-1 in practice; RFC 2047 was skipped) comes out of
 * ENVELOPE as U+FFFD: read it again from the header and decode it as the pipeline does, for the file name
 * and the filters. Undefined when that does not give a plain subject.
 */
async function rawSubject(client: ImapFlow, uid: number): Promise<string | undefined> {
  const value = (await rawHeader(client, uid, 'subject'))
    ?.replace(/^subject:[ \t]*/i, '')
    .replace(/\n[ \t]+/g, ' ')
    .trim();
  // Encoded words beside raw bytes are left to the envelope's reading.
  return value && !value.includes('=?') ? value : undefined;
}

/**
 * A sender whose name is in raw 8-bit bytes (as rawSubject's subject) comes out of ENVELOPE with U+FFFD, so
 * the sender filter could not match the name as written: the From header read again, decoded as the pipeline
 * decodes it, and its addresses parsed by mailparser. Undefined when that gives no address.
 */
async function rawFrom(client: ImapFlow, uid: number): Promise<MessageAddressObject[] | undefined> {
  const header = (await rawHeader(client, uid, 'from'))?.trim();
  if (header === undefined || !/^from:/i.test(header)) return undefined;
  const from = (await simpleParser(`${header}\r\n\r\n`)).from?.value ?? [];
  const out = from.filter((a) => a.address).map((a) => ({ name: a.name, address: a.address }));
  return out.length > 0 ? out : undefined;
}

/** One header of a message as its lines stand, read again and decoded as the pipeline decodes headers. */
async function rawHeader(client: ImapFlow, uid: number, name: string): Promise<string | undefined> {
  const m = await client.fetchOne(String(uid), { uid: true, headers: [name] }, { uid: true });
  return m === false || !m.headers ? undefined : decodeText(m.headers).text;
}

function mailFileName(meta: FetchMessageObject, uid: number): string {
  const subject = (meta.envelope?.subject ?? '')
    .replace(/[\p{Cc}/\\]+/gu, ' ')
    .trim()
    .slice(0, 120);
  return `${subject || `mail-${uid}`}.eml`;
}

/** Failures that repeat for this message every time (so it goes to Failed), as opposed to outages. */
function isPermanent(err: unknown): boolean {
  if (!(err instanceof AppError)) return false;
  return [
    grpcStatus.INVALID_ARGUMENT,
    grpcStatus.RESOURCE_EXHAUSTED,
    grpcStatus.DATA_LOSS,
    grpcStatus.FAILED_PRECONDITION,
  ].includes(err.code);
}
