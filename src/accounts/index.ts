/** Public API of the accounts part. */
export { Accounts, type AccountsDeps, type NewUser, type UserView } from './accounts.js';
export { requireAdmin, requireOwner, requireTenantUser } from './authorize.js';
export { addMonthsUtc, type Clock, endOfFollowingYearUtc, ManualClock, systemClock } from './clock.js';
export { EXPORT_SCHEMA } from './data-export.js';
export type { ImapConfig, ImapTls } from './imap-settings.js';
export {
  type DocumentSummary,
  type MailImportStatus,
  type MailImports,
  NO_MAIL_IMPORTS,
  NO_TENANT_DOCUMENTS,
  type SealingContext,
  type TenantDocuments,
  type TenantKeyring,
  USAGE_KINDS,
  type UsageEvent,
  type UsageKind,
  type UsageRecorder,
} from './ports.js';
