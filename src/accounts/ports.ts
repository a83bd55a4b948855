/**
 * The contracts between the accounts part and the parts around it. Accounts owns none of these
 * implementations; the composition root (src/server/server.ts) wires them.
 */

/**
 * The tenant key ring (src/store/keyring.ts): seals small secrets under a tenant's key, and deletes that
 * key on erasure (crypto-shredding). `context` is bound into the seal so objects cannot be swapped.
 */
export interface TenantKeyring {
  sealForTenant(tenantId: string, plaintext: Buffer, context: SealingContext): Promise<Buffer>;
  openForTenant(tenantId: string, sealed: Buffer, context: SealingContext): Promise<Buffer>;
  ensureTenantKey(tenantId: string): Promise<void>;
  /** Loads the tenant's record keys (sealed records, the IMAP status); false when the tenant has no key (erased). */
  recordsReady(tenantId: string): Promise<boolean>;
  /** Deletes the wrapped tenant key: everything sealed under it becomes unreadable. */
  shredTenant(tenantId: string): Promise<void>;
}

export interface SealingContext {
  kind: string;
  id: string;
}

/** One document as the export lists it (metadata only; no content). */
export interface DocumentSummary {
  id: string;
  fileName: string;
  mediaType: string;
  /** Size of the plaintext in bytes (what `open` yields in total). */
  sizeBytes: number;
  createdMs: number;
  /** Extracted metadata (title, author, dates, tags, …) as plain JSON values. */
  metadata: Record<string, unknown>;
  /** False when no original was stored (an import that failed first): the export lists it without a file. */
  stored?: boolean;
}

/**
 * The documents of a tenant, as far as export and erasure need them. Implemented by the documents part;
 * until that exists the composition root passes `NO_TENANT_DOCUMENTS` (nobody can upload yet, so every
 * tenant honestly has none).
 */
export interface TenantDocuments {
  list(tenantId: string, signal: AbortSignal): AsyncIterable<DocumentSummary>;
  /** The opened (decrypted, decompressed) original, in order. */
  open(tenantId: string, documentId: string, signal: AbortSignal): AsyncIterable<Buffer>;
  /** Deletes every document, preview, text and index entry of the tenant; returns how many documents. */
  deleteTenant(tenantId: string): Promise<number>;
  /** Server-wide counts for the admin stats. */
  stats(): Promise<{ documents: number; storedBytes: number }>;
}

export const NO_TENANT_DOCUMENTS: TenantDocuments = {
  async *list() {},
  open() {
    throw new Error('no documents are stored');
  },
  deleteTenant: async () => 0,
  stats: async () => ({ documents: 0, storedBytes: 0 }),
};

/** Where the import from a tenant's IMAP mailbox stands (what GetImapStatus shows), for the export. */
export interface MailImportStatus {
  lastRunStartMs: number;
  lastRunEndMs: number;
  nextRunMs: number;
  imported: number;
  failed: number;
  skipped: number;
  /** Copies of imported mail (the same Message-ID, or the same bytes) recognised and not imported again. */
  duplicates: number;
  lastError: string;
}

/** The IMAP import part (src/imap) as the export sees it; reads need the tenant's record keys loaded. */
export interface MailImports {
  status(tenantId: string): MailImportStatus;
}

/** The status of a mailbox no import has run for. */
export const NO_MAIL_IMPORT_STATUS: Readonly<MailImportStatus> = Object.freeze({
  lastRunStartMs: 0,
  lastRunEndMs: 0,
  nextRunMs: 0,
  imported: 0,
  failed: 0,
  skipped: 0,
  duplicates: 0,
  lastError: '',
});

export const NO_MAIL_IMPORTS: MailImports = { status: () => ({ ...NO_MAIL_IMPORT_STATUS }) };

export const USAGE_KINDS = ['bytes_stored', 'pages_ocr', 'documents_processed', 'searches', 'mails_imported'] as const;
export type UsageKind = (typeof USAGE_KINDS)[number];

/** One use of a service, for billing: what, how much, from when to when. */
export interface UsageEvent {
  tenantId: string;
  /** The user on whose behalf it happened; '' for tenant-level work (e.g. automatic IMAP import). */
  userId: string;
  kind: UsageKind;
  /** In the kind's unit: bytes, pages, documents, searches, mails. A non-negative integer. */
  quantity: number;
  startMs: number;
  endMs: number;
}

/** The one interface other services use to record usage (documents, OCR, search, IMAP). */
export interface UsageRecorder {
  record(event: UsageEvent): Promise<void>;
}
