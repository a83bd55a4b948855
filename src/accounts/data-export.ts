import { invalidArgument } from '../server/errors.js';
import { type ArchiveEntry, type ArchiveFormat, writeArchive } from './archive-writer.js';
import type { Clock } from './clock.js';
import type { ConsentLog } from './consent-log.js';
import type { ImapSettingsStore } from './imap-settings.js';
import type { DocumentSummary, MailImports, TenantDocuments } from './ports.js';
import type { AccountRecords, StoredSession, StoredUser } from './records.js';
import type { UsageLedger } from './usage-ledger.js';

export interface ExportOptions {
  includeDocuments: boolean;
  /** '' means tar. */
  format: string;
}

/**
 * Who asked: the person (ExportMyData), or an operator on their written request (Admin.ExportAccount), whose
 * export lists no documents: those are the tenant's content, which operators never read.
 */
export type ExportRequester = 'self' | 'operator';

export interface ExportSources {
  records: AccountRecords;
  documents: TenantDocuments;
  consents: ConsentLog;
  imap: ImapSettingsStore;
  mailImports: MailImports;
  usage: UsageLedger;
  sessions: StoredSession[];
  clock: Clock;
}

/** Version tag of `export.json`; the schema is documented in docs/privacy.md. */
export const EXPORT_SCHEMA = 'archivar.export/v1';

export function parseArchiveFormat(format: string): ArchiveFormat {
  if (format === '' || format === 'tar') return 'tar';
  if (format === 'zip') return 'zip';
  throw invalidArgument('archive_format must be "tar" or "zip"');
}

/** A file name safe inside the archive: no directories, no controls, at most 100 bytes. */
function safeFileName(name: string): string {
  let s = name.replace(/[\p{Cc}/\\]/gu, '_').replace(/^\.+/, '_');
  if (s === '') s = 'document';
  while (Buffer.byteLength(s) > 100) s = s.slice(0, -1);
  return s;
}

/**
 * Right of access (Art. 15 GDPR): everything held about the user as `export.json` (and, on the user's own
 * request, the opened documents of the tenant) in a tar or zip stream. The IMAP password is never included; the
 * export says whether one is stored, and where the import from the mailbox stands.
 */
export async function* exportMyData(
  src: ExportSources,
  user: StoredUser,
  options: ExportOptions & { requestedBy: ExportRequester },
  signal: AbortSignal,
): AsyncGenerator<Buffer> {
  const format = parseArchiveFormat(options.format);
  const profile = await src.records.openProfile(user);
  const now = src.clock.now();
  const documents: Array<DocumentSummary & { file: string | null }> = [];
  const listDocuments = options.requestedBy === 'self';
  for await (const d of listDocuments ? src.documents.list(user.tenantId, signal) : []) {
    signal.throwIfAborted();
    documents.push({
      ...d,
      file: options.includeDocuments && d.stored !== false ? `documents/${d.id}/${safeFileName(d.fileName)}` : null,
    });
  }
  const usage = [];
  let cursor = '';
  do {
    const page = src.usage.list(user.tenantId, user.id, { startMs: 0, endMs: 0 }, 1000, cursor);
    usage.push(
      ...page.records.map(({ id, kind, quantity, startMs, endMs, invoiceId }) => ({
        id,
        kind,
        quantity,
        startMs,
        endMs,
        invoiceId,
      })),
    );
    cursor = page.nextCursor;
  } while (cursor !== '');
  const imap = await src.imap.get(user.tenantId);
  const imported = imap && src.mailImports.status(user.tenantId);
  const json = {
    schema: EXPORT_SCHEMA,
    exportedMs: now,
    requestedBy: options.requestedBy,
    account: {
      id: user.id,
      tenantId: user.tenantId,
      email: profile.email,
      firstName: profile.firstName,
      lastName: profile.lastName,
      role: user.role,
      createdMs: user.createdMs,
      processingRestricted: user.restricted,
    },
    sessions: src.sessions.map(({ createdMs, lastSeenMs, expiresMs }) => ({ createdMs, lastSeenMs, expiresMs })),
    consents: src.consents
      .list(user.tenantId, user.id)
      .map(({ id, purpose, textVersion, textSha256, granted, channel, atMs }) => ({
        id,
        purpose,
        textVersion,
        textSha256,
        granted,
        channel,
        atMs,
      })),
    usage,
    invoices:
      user.role === 'owner'
        ? src.usage
            .invoicesOf(user.tenantId)
            .map(({ id, startMs, endMs, sentMs, totals }) => ({ id, startMs, endMs, sentMs, totals }))
        : [],
    imapSettings: imap ? { ...imap.config, passwordStored: imap.passwordStored } : null,
    imapImport: imported
      ? {
          lastRunStartMs: imported.lastRunStartMs,
          lastRunEndMs: imported.lastRunEndMs,
          nextRunMs: imported.nextRunMs,
          imported: imported.imported,
          failed: imported.failed,
          skipped: imported.skipped,
          duplicates: imported.duplicates,
          lastError: imported.lastError,
        }
      : null,
    documents: listDocuments
      ? documents.map(({ id, fileName, mediaType, sizeBytes, createdMs, metadata, file }) => ({
          id,
          fileName,
          mediaType,
          sizeBytes,
          createdMs,
          metadata,
          file,
        }))
      : null,
  };
  const body = Buffer.from(`${JSON.stringify(json, null, 2)}\n`, 'utf8');
  async function* entries(): AsyncGenerator<ArchiveEntry> {
    yield { name: 'export.json', size: body.byteLength, mtimeMs: now, data: body };
    for (const d of documents) {
      if (d.file === null) continue;
      signal.throwIfAborted();
      yield { name: d.file, size: d.sizeBytes, mtimeMs: d.createdMs, data: src.documents.open(user.tenantId, d.id, signal) };
    }
  }
  yield* writeArchive(format, entries());
}
