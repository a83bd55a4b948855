import { EventEmitter, on } from 'node:events';
import type { DocumentStatus } from '../store/document-store.js';

/** One step of a document's processing, as WatchProcessing streams it. */
export interface ProcessingEvent {
  tenantId: string;
  documentId: string;
  status: DocumentStatus;
  /** OPENING, EXTRACTING, OCR, INDEXING, STORED, INDEXED, FAILED, DELETED … */
  step: string;
  page: number;
  pageCount: number;
  message: string;
  atMs: number;
}

/** In-process fan-out of processing events, per tenant. Events are not stored: state lives in LMDB. */
export class ProcessingEvents {
  readonly #emitter = new EventEmitter();

  constructor() {
    // One listener per open WatchProcessing stream; many clients may watch.
    this.#emitter.setMaxListeners(0);
  }

  emit(event: ProcessingEvent): void {
    this.#emitter.emit(event.tenantId, event);
  }

  /** Events of a tenant until `signal` aborts (buffered while the consumer is slow). */
  async *subscribe(tenantId: string, signal: AbortSignal): AsyncGenerator<ProcessingEvent> {
    try {
      for await (const [event] of on(this.#emitter, tenantId, { signal })) yield event as ProcessingEvent;
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
  }
}
