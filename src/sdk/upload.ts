import { Metadata, status } from '@grpc/grpc-js';
import type { DocumentsServiceClient, UploadRequest, UploadResponse } from '../gen/archivar/v1/documents.js';
import { type CallSettings, callOptions, cancelOnAbort, throwIfAborted } from './call-settings.js';
import { ArchivarError } from './errors.js';
import { type SealSettings, type ServerPublicKey, seal } from './sealing.js';
import type { OpenedSource } from './upload-source.js';

/** Largest chunk message we send (the server accepts up to 4 MiB; 1 MiB keeps latency and memory low). */
export const MAX_UPLOAD_MESSAGE_BYTES = 1024 * 1024;
/** Bytes handed to grpc-js but not yet to HTTP/2: the backpressure window of one upload. */
const MAX_IN_FLIGHT_BYTES = 4 * 1024 * 1024;

export interface UploadProgress {
  /** 1-based; progress restarts from zero on a retry. */
  readonly attempt: number;
  /** Plaintext bytes read and sealed so far. */
  readonly plaintextBytes: number;
  /** Sealed bytes sent so far (header excluded). */
  readonly sentBytes: number;
  /** Plaintext size when known up front. */
  readonly totalBytes: number | undefined;
}

export interface UploadFields {
  readonly fileName: string;
  readonly mediaType?: string | undefined;
  readonly tags?: readonly string[] | undefined;
  readonly idempotencyKey: string;
  /** Plaintext size to declare (checked by the server); defaults to the source's known size. */
  readonly declaredSize?: number | undefined;
}

export interface UploadAttempt {
  readonly documents: DocumentsServiceClient;
  readonly source: OpenedSource;
  readonly serverKey: ServerPublicKey & { readonly maxUploadBytes: bigint };
  readonly fields: UploadFields;
  readonly attempt: number;
  readonly settings: CallSettings;
  readonly seal?: SealSettings | undefined;
  readonly onProgress?: ((p: UploadProgress) => void) | undefined;
}

async function* countBytes(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, count: (n: number) => void) {
  for await (const piece of source) {
    count(piece.byteLength);
    yield piece;
  }
}

/**
 * One Upload call: header, then the sealed body in messages of ≤ 1 MiB, never more than a few MiB
 * ahead of the network. Resolves with the server's answer; rejects with its status (or CANCELLED).
 */
export async function uploadOnce(a: UploadAttempt): Promise<UploadResponse> {
  throwIfAborted(a.settings.signal);
  let plaintextBytes = 0;
  let sentBytes = 0;
  const totalBytes = a.fields.declaredSize ?? a.source.size;
  const sealed = seal(
    countBytes(a.source.stream, (n) => {
      plaintextBytes += n;
    }),
    a.serverKey,
    a.seal,
  );
  const limit = a.serverKey.maxUploadBytes > 0n ? a.serverKey.maxUploadBytes : undefined;

  // Settles when the server answers; from then on nothing more is sent.
  const settled = new AbortController();
  let wake: (() => void) | undefined;
  const wakeUp = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  settled.signal.addEventListener('abort', wakeUp);
  let call!: ReturnType<DocumentsServiceClient['upload']>;
  const response = new Promise<UploadResponse>((resolve, reject) => {
    call = a.documents.upload(new Metadata(), callOptions(a.settings), (err, res) => {
      settled.abort();
      if (err) reject(err);
      else resolve(res);
    });
  });
  response.catch(() => {}); // awaited below; the send loop may throw first
  const detach = cancelOnAbort(call, a.settings.signal);

  let inFlight = 0;
  const send = async (part: UploadRequest['part'], bytes: number) => {
    inFlight += bytes;
    call.write({ part }, () => {
      inFlight -= bytes;
      wakeUp();
    });
    while (inFlight > MAX_IN_FLIGHT_BYTES && !settled.signal.aborted) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  };

  const sendAll = async () => {
    await send(
      {
        $case: 'header',
        value: {
          fileName: a.fields.fileName,
          mediaType: a.fields.mediaType ?? '',
          declaredSize: totalBytes === undefined ? undefined : BigInt(totalBytes),
          tags: [...(a.fields.tags ?? [])],
          idempotencyKey: a.fields.idempotencyKey,
          sealedHeader: sealed.header,
        },
      },
      sealed.header.byteLength,
    );
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const message = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      sentBytes += message.byteLength;
      await send({ $case: 'chunk', value: message }, message.byteLength);
      a.onProgress?.({ attempt: a.attempt, plaintextBytes, sentBytes, totalBytes });
    };
    for await (const chunk of sealed.body) {
      if (settled.signal.aborted) return;
      if (limit !== undefined && BigInt(sentBytes + pendingBytes + chunk.byteLength) > limit) {
        throw new ArchivarError(status.RESOURCE_EXHAUSTED, `the sealed file exceeds the server's upload limit of ${limit} bytes`);
      }
      for (let i = 0; i < chunk.byteLength; i += MAX_UPLOAD_MESSAGE_BYTES) {
        const piece = chunk.subarray(i, Math.min(chunk.byteLength, i + MAX_UPLOAD_MESSAGE_BYTES));
        if (pendingBytes + piece.byteLength > MAX_UPLOAD_MESSAGE_BYTES) await flush();
        pending.push(piece);
        pendingBytes += piece.byteLength;
      }
    }
    if (settled.signal.aborted) return;
    await flush();
    call.end();
  };

  // The server may answer (an error, or our own cancel) while the source is still being read: the
  // answer wins, and the source is abandoned so a stalled read cannot hold the attempt open.
  const sending = sendAll();
  sending.catch(() => {});
  const answered = new Promise<void>((resolve) => settled.signal.addEventListener('abort', () => resolve(), { once: true }));
  try {
    await Promise.race([sending, answered]);
  } catch (err) {
    // Local failure (reading the file, limit): abandon the call so the server discards the partial upload.
    call.cancel();
    detach();
    throw err;
  } finally {
    settled.signal.removeEventListener('abort', wakeUp);
    if (settled.signal.aborted) a.source.abandon();
  }
  try {
    return await response;
  } finally {
    detach();
  }
}
