import type { Config } from '../server/config.js';
import type { Logger } from '../server/logger.js';
import type { BlobStore } from '../store/blob-store.js';
import type { Store } from '../store/database.js';
import type { DocumentRecord, DocumentStore } from '../store/document-store.js';
import type { JobQueue } from '../store/job-queue.js';
import type { Keyring } from '../store/keyring.js';
import type { ProcessingEvents } from './events.js';

/** What the documents domain is built from (wired by the composition root). */
export interface DocumentsDeps {
  store: Store;
  blobs: BlobStore;
  documents: DocumentStore;
  jobs: JobQueue;
  keyring: Keyring;
  config: Config;
  events: ProcessingEvents;
  clock: () => number;
  /** Called after a new document and its job are durable (wakes the job runner). */
  onQueued: (doc: DocumentRecord) => void;
  /**
   * Called when a document is deleted, so running work stops and indexes forget it; the delete is answered
   * once what it returns has settled (the index has forgotten the document).
   */
  onDeleted: (doc: DocumentRecord) => void | Promise<void>;
  /** Where storage failures are reported (their cause never reaches the client). */
  log?: Logger;
}
