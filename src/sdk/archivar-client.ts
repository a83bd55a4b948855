import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { FORMAT_VERSION, x25519KeyId } from '../crypto/index.js';
import { DocumentStatus, type TimeRange } from '../gen/archivar/v1/common.js';
import type {
  Document,
  DocumentsServiceClient,
  ListResponse,
  UploadResponse,
  WatchProcessingResponse,
} from '../gen/archivar/v1/documents.js';
import { type SearchResponse, SortOrder } from '../gen/archivar/v1/search.js';
import { type CallSettings, callOptions, callUnary, cancelOnAbort, throwIfAborted } from './call-settings.js';
import { type Connection, type ConnectOptions, connect } from './connection.js';
import { type DownloadOptions, type DownloadResult, downloadArtifact } from './download.js';
import { ArchivarError } from './errors.js';
import { DEFAULT_RETRY_POLICY, isTransient, type RetryPolicy, withRetry } from './retry.js';
import type { SealSettings } from './sealing.js';
import { type UploadProgress, uploadOnce } from './upload.js';
import { type UploadSource, UploadSourceOpener } from './upload-source.js';

export interface ArchivarClientOptions {
  /** Backoff for calls that are safe to repeat (reads, and Upload with its idempotency key). */
  readonly retry?: RetryPolicy | undefined;
  /** Deadline of unary calls that give none. @default 30000 */
  readonly unaryTimeoutMs?: number | undefined;
  /** Sealing parameters for uploads (chunk size, zstd level). */
  readonly seal?: SealSettings | undefined;
}

/** GetServerKey's answer, checked: the key id names the key and the format version is one we write. */
export interface ServerKey {
  readonly publicKey: Buffer;
  readonly keyId: string;
  readonly formatVersion: number;
  /** Largest sealed stream the server accepts; 0n = not announced. */
  readonly maxUploadBytes: bigint;
}

export interface UploadOptions extends CallSettings {
  /** Defaults to the base name of a path source; required for other sources. */
  fileName?: string | undefined;
  /** A hint; the server sniffs the bytes. */
  mediaType?: string | undefined;
  tags?: readonly string[] | undefined;
  /** The same key returns the same document; generated once per call (and kept across retries) when absent. */
  idempotencyKey?: string | undefined;
  /** Plaintext size to declare for stream sources (paths and buffers declare theirs). */
  declaredSize?: number | undefined;
  onProgress?: ((progress: UploadProgress) => void) | undefined;
}

export interface UploadResult extends UploadResponse {
  readonly idempotencyKey: string;
  /** Attempts it took (1 = no retry). */
  readonly attempts: number;
}

export interface ListFilter {
  statuses?: readonly DocumentStatus[] | undefined;
  mediaTypes?: readonly string[] | undefined;
  tag?: string | undefined;
  created?: TimeRange | undefined;
  parentId?: string | undefined;
}

export interface ListPageOptions extends CallSettings {
  cursor?: string | undefined;
  /** 1..1000; the server's default (50) when absent. */
  pageSize?: number | undefined;
}

const FINAL_STATUSES: ReadonlySet<DocumentStatus> = new Set([
  DocumentStatus.DOCUMENT_STATUS_STORED,
  DocumentStatus.DOCUMENT_STATUS_INDEXED,
  DocumentStatus.DOCUMENT_STATUS_FAILED,
  DocumentStatus.DOCUMENT_STATUS_UNSUPPORTED,
  DocumentStatus.DOCUMENT_STATUS_ENCRYPTED,
]);

/** Whether a document in this status will not change any more without a new request. */
export function isFinalStatus(s: DocumentStatus): boolean {
  return FINAL_STATUSES.has(s);
}

function isConnection(target: Connection | ConnectOptions): target is Connection {
  return 'documents' in target && 'close' in target;
}

/** The most hits a search page holds (the server's bound on SearchRequest.limit). */
export const MAX_SEARCH_LIMIT = 100;

/** Typed, retrying, cancellable client of archivar.v1.DocumentsService that seals on the client. */
export class ArchivarClient {
  readonly connection: Connection;
  private readonly owned: boolean;
  private readonly retryPolicy: RetryPolicy;
  private readonly unaryTimeoutMs: number;
  private readonly sealSettings: SealSettings | undefined;
  private serverKeyPromise: Promise<ServerKey> | undefined;

  /** Uses an existing connection (left open by close()) or opens one from options (closed by close()). */
  constructor(target: Connection | ConnectOptions, options: ArchivarClientOptions = {}) {
    this.owned = !isConnection(target);
    this.connection = isConnection(target) ? target : connect(target);
    this.retryPolicy = options.retry ?? DEFAULT_RETRY_POLICY;
    this.unaryTimeoutMs = options.unaryTimeoutMs ?? 30_000;
    this.sealSettings = options.seal;
  }

  private get documents(): DocumentsServiceClient {
    return this.connection.documents;
  }

  private unarySettings(settings: CallSettings): CallSettings {
    return { signal: settings.signal, timeoutMs: settings.timeoutMs ?? this.unaryTimeoutMs };
  }

  /** Reads are safe to repeat: retried on UNAVAILABLE only. */
  private read<T>(fn: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    return withRetry(fn, { policy: this.retryPolicy, signal, shouldRetry: (err) => isTransient(err) });
  }

  /** The server's sealing key, fetched once per client (`refresh` after a key rotation). */
  serverKey(settings: CallSettings & { refresh?: boolean } = {}): Promise<ServerKey> {
    if (settings.refresh || !this.serverKeyPromise) {
      const s = this.unarySettings(settings);
      const promise = this.read(() => callUnary(this.documents.getServerKey.bind(this.documents), {}, s), s.signal).then(
        (res): ServerKey => {
          if (res.publicKey.byteLength !== 32) throw new ArchivarError(status.INTERNAL, 'server key is not 32 bytes');
          if (res.keyId !== x25519KeyId(res.publicKey)) {
            throw new ArchivarError(status.INTERNAL, 'server key id does not match its public key');
          }
          if (res.formatVersion < FORMAT_VERSION) {
            throw new ArchivarError(
              status.FAILED_PRECONDITION,
              `server reads sealed format ${res.formatVersion}; this client writes ${FORMAT_VERSION}`,
            );
          }
          return {
            publicKey: res.publicKey,
            keyId: res.keyId,
            formatVersion: res.formatVersion,
            maxUploadBytes: res.maxUploadBytes,
          };
        },
      );
      this.serverKeyPromise = promise;
      // A failed fetch is not cached.
      promise.catch(() => {
        if (this.serverKeyPromise === promise) this.serverKeyPromise = undefined;
      });
    }
    return this.serverKeyPromise;
  }

  /**
   * Seals and uploads one file or stream. Retries on UNAVAILABLE and RESOURCE_EXHAUSTED with the
   * same idempotency key (so a retry after a lost answer returns the same document), as long as the
   * source can be read again.
   */
  async upload(source: UploadSource, options: UploadOptions = {}): Promise<UploadResult> {
    throwIfAborted(options.signal);
    const opener = new UploadSourceOpener(source);
    const fileName = options.fileName ?? opener.defaultFileName();
    if (!fileName) throw new TypeError('upload: fileName is required for stream sources');
    const idempotencyKey = options.idempotencyKey ?? randomUUID();
    const key = await this.serverKey({ signal: options.signal });
    let attempts = 0;
    const response = await withRetry(
      async (attempt) => {
        attempts = attempt;
        const opened = await opener.open();
        try {
          return await uploadOnce({
            documents: this.documents,
            source: opened,
            serverKey: key,
            fields: {
              fileName,
              mediaType: options.mediaType,
              tags: options.tags,
              idempotencyKey,
              declaredSize: options.declaredSize,
            },
            attempt,
            settings: { signal: options.signal, timeoutMs: options.timeoutMs },
            seal: this.sealSettings,
            onProgress: options.onProgress,
          });
        } finally {
          await opened.close();
        }
      },
      {
        policy: this.retryPolicy,
        signal: options.signal,
        // Our own limit check (ArchivarError) is final; the server's "busy" or "down" is not.
        shouldRetry: (err) =>
          !(err instanceof ArchivarError) &&
          isTransient(err, [status.UNAVAILABLE, status.RESOURCE_EXHAUSTED]) &&
          opener.canReopen(),
      },
    );
    return { ...response, idempotencyKey, attempts };
  }

  /** Downloads and verifies one artifact into a file or a Writable. Not retried (it writes as it goes). */
  download(documentId: string, options: DownloadOptions): Promise<DownloadResult> {
    return downloadArtifact(this.documents, documentId, options);
  }

  async get(documentId: string, settings: CallSettings = {}): Promise<Document> {
    const s = this.unarySettings(settings);
    const res = await this.read(() => callUnary(this.documents.get.bind(this.documents), { documentId }, s), s.signal);
    if (!res.document) throw new ArchivarError(status.INTERNAL, 'Get answered without a document');
    return res.document;
  }

  /** One page of documents, newest first. */
  listPage(filter: ListFilter = {}, options: ListPageOptions = {}): Promise<ListResponse> {
    const s = this.unarySettings(options);
    const request = {
      pageSize: options.pageSize ?? 0,
      cursor: options.cursor ?? '',
      statuses: [...(filter.statuses ?? [])],
      mediaTypes: [...(filter.mediaTypes ?? [])],
      tag: filter.tag ?? '',
      created: filter.created,
      parentId: filter.parentId ?? '',
    };
    return this.read(() => callUnary(this.documents.list.bind(this.documents), request, s), s.signal);
  }

  /** Every matching document, newest first, fetching pages by cursor as the caller iterates. */
  async *list(filter: ListFilter = {}, options: Omit<ListPageOptions, 'cursor'> = {}): AsyncGenerator<Document, void, undefined> {
    let cursor = '';
    do {
      const page = await this.listPage(filter, { ...options, cursor });
      yield* page.documents;
      cursor = page.nextCursor;
    } while (cursor !== '');
  }

  /**
   * Ranked search in the caller's tenant (query language in docs/search.md). A read: retried on UNAVAILABLE.
   * A limit or snippet count that is not a whole number in range is refused here (RangeError), before it is
   * sent: the wire's unsigned fields could not carry it.
   */
  async search(
    query: string,
    options: {
      limit?: number;
      cursor?: string;
      sort?: SortOrder;
      facets?: readonly string[];
      /** Snippets per hit, 0..5 (0: the server's 2); `false`: none, and the search costs less. */
      snippets?: number | false;
    } = {},
    settings: CallSettings = {},
  ): Promise<SearchResponse> {
    if (
      options.limit !== undefined &&
      !(Number.isInteger(options.limit) && options.limit >= 0 && options.limit <= MAX_SEARCH_LIMIT)
    )
      throw new RangeError(
        `search: limit must be a whole number 0..${MAX_SEARCH_LIMIT} (0: the server's 10), got ${options.limit}`,
      );
    if (
      options.snippets !== undefined &&
      options.snippets !== false &&
      !(Number.isInteger(options.snippets) && options.snippets >= 0 && options.snippets <= 5)
    )
      throw new RangeError(`search: snippets must be a whole number 0..5 or false, got ${options.snippets}`);
    const s = this.unarySettings(settings);
    const request = {
      query,
      limit: options.limit ?? 0,
      cursor: options.cursor ?? '',
      sort: options.sort ?? SortOrder.SORT_ORDER_UNSPECIFIED,
      facets: [...(options.facets ?? [])],
      snippets: options.snippets || 0,
      noSnippets: options.snippets === false,
    };
    return this.read(() => callUnary(this.connection.search.search.bind(this.connection.search), request, s), s.signal);
  }

  /** Deletes a document and its descendants; returns every deleted id. Never retried. */
  async delete(documentId: string, settings: CallSettings = {}): Promise<string[]> {
    const res = await callUnary(this.documents.delete.bind(this.documents), { documentId }, this.unarySettings(settings));
    return res.deletedIds;
  }

  /** Adds and removes tags; returns the document's tags afterwards, sorted. Never retried. */
  async tag(
    documentId: string,
    change: { add?: readonly string[]; remove?: readonly string[] },
    settings: CallSettings = {},
  ): Promise<string[]> {
    const request = { documentId, add: [...(change.add ?? [])], remove: [...(change.remove ?? [])] };
    const res = await callUnary(this.documents.tag.bind(this.documents), request, this.unarySettings(settings));
    return res.tags;
  }

  /**
   * Processing events of one document (ends after its final state) or of the whole tenant (until
   * the caller stops iterating or aborts). Breaking out of the loop cancels the call.
   */
  async *watch(documentId = '', settings: CallSettings = {}): AsyncGenerator<WatchProcessingResponse, void, undefined> {
    throwIfAborted(settings.signal);
    const call = this.documents.watchProcessing({ documentId }, callOptions(settings));
    const detach = cancelOnAbort(call, settings.signal);
    try {
      for await (const event of call as AsyncIterable<WatchProcessingResponse>) yield event;
    } finally {
      detach();
      // The status that follows our own cancel is expected; keep it from surfacing as unhandled.
      call.on('error', () => {});
      call.cancel();
    }
  }

  /** Waits until the document reaches a final status (see isFinalStatus) and returns it. */
  async waitForFinalStatus(documentId: string, settings: CallSettings = {}): Promise<Document> {
    return withRetry(() => this.waitOnce(documentId, settings), {
      policy: this.retryPolicy,
      signal: settings.signal,
      shouldRetry: (err) => isTransient(err),
    });
  }

  private async waitOnce(documentId: string, settings: CallSettings): Promise<Document> {
    for (;;) {
      throwIfAborted(settings.signal);
      // The stream starts before the current state is read, so no transition falls in between.
      const call = this.documents.watchProcessing({ documentId }, callOptions(settings));
      const detach = cancelOnAbort(call, settings.signal);
      const outcome = await new Promise<Document | 'ended'>((resolve, reject) => {
        let done = false;
        const finish = (value: Document | 'ended' | Error) => {
          if (done) return;
          done = true;
          if (value instanceof Error) reject(value);
          else resolve(value);
        };
        const check = () =>
          this.get(documentId, { signal: settings.signal }).then(
            (doc) => {
              if (isFinalStatus(doc.status)) finish(doc);
            },
            (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))),
          );
        call.on('data', (event: WatchProcessingResponse) => {
          if (isFinalStatus(event.status)) void check();
        });
        call.on('error', (err: Error) => finish(err));
        call.on('end', () => finish('ended'));
        void check();
      }).finally(() => {
        detach();
        call.on('error', () => {});
        call.cancel();
      });
      if (outcome !== 'ended') return outcome;
      // The server ended the stream without a final state (e.g. shutting down): look again.
      const doc = await this.get(documentId, { signal: settings.signal });
      if (isFinalStatus(doc.status)) return doc;
    }
  }

  /** Closes the connection if this client opened it. */
  close(): void {
    if (this.owned) this.connection.close();
  }
}
