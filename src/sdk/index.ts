/** The client library: sealing, the typed documents client, retries; used by the CLI, tests and bench. */
export {
  ArchivarClient,
  type ArchivarClientOptions,
  isFinalStatus,
  type ListFilter,
  type ListPageOptions,
  MAX_SEARCH_LIMIT,
  type ServerKey,
  type UploadOptions,
  type UploadResult,
} from './archivar-client.js';
export { type CallSettings, callOptions, callUnary, cancelOnAbort } from './call-settings.js';
export {
  type Connection,
  type ConnectOptions,
  channelCredentials,
  connect,
  deadline,
  tlsChannelOptions,
  unary,
} from './connection.js';
export { type DownloadOptions, type DownloadResult, downloadArtifact } from './download.js';
export { ArchivarError, isServiceError } from './errors.js';
export {
  backoffMs,
  DEFAULT_RETRY_POLICY,
  isTransient,
  NO_RETRY,
  type RetryOptions,
  type RetryPolicy,
  retryPushbackMs,
  withRetry,
} from './retry.js';
export {
  DEFAULT_MAX_PLAINTEXT_BYTES,
  type OpenSettings,
  ORIGINAL_CONTEXT,
  open,
  type SealSettings,
  type ServerPublicKey,
  seal,
} from './sealing.js';
export { MAX_UPLOAD_MESSAGE_BYTES, type UploadProgress } from './upload.js';
export type { UploadSource } from './upload-source.js';
