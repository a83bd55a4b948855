/** Public API of the IMAP importer. */
export { classifyError, type ErrorKind } from './connection.js';
export { ImportLedger, type LedgerEntry, type MessageKey, type StatusRecord } from './ledger.js';
export { IMPORTED_KEYWORD, type ImportHooks, MailboxImporter, type RunCounts } from './mailbox-importer.js';
export { type ImapStatus, type ImapTestResult, ImapWatchers, type ImapWatchersDeps } from './watchers.js';
