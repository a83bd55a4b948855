import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';

/**
 * What can be uploaded: a file path, bytes in memory, a factory that opens a fresh stream per
 * attempt (retryable), or a one-shot stream (a Readable or any async iterable of bytes), which can
 * only be retried when the failed attempt never started reading it.
 */
export type UploadSource =
  | string
  | Uint8Array
  | (() => AsyncIterable<Uint8Array> | Promise<AsyncIterable<Uint8Array>>)
  | AsyncIterable<Uint8Array>;

export interface OpenedSource {
  /**
   * The plaintext. Consume each piece before asking for the next: a file source reads into one buffer
   * per attempt and hands out views of it, which the next read overwrites (sealing copies what it keeps).
   */
  readonly stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /** Plaintext size when known before reading (files, buffers). */
  readonly size: number | undefined;
  /** Releases the source after a successful or failed attempt. */
  close(): Promise<void>;
  /** Unblocks a read that may never complete (a stalled stream) once the attempt is over. */
  abandon(): void;
}

/**
 * Largest read of a file source. A 1 MiB file is read, hashed and compressed in one step: in smaller
 * steps, concurrent uploads take turns on the one client thread and each turn finds its zstd context
 * evicted from the cache by the others' (8 interleaved streams cost 6.2 ms of zstd per MiB against
 * 4.7 ms one after another, docs/performance.md).
 */
const FILE_READ_BYTES = 1024 * 1024;
/** Smallest read buffer (files smaller than this get one of this size). */
const MIN_READ_BYTES = 16 * 1024;
/** Full-size read buffers kept for the next upload (a buffer returns only after its file handle closed). */
const MAX_IDLE_READ_BUFFERS = 8;
const idleReadBuffers: Buffer[] = [];

function takeReadBuffer(fileSize: number): Buffer {
  if (fileSize >= FILE_READ_BYTES) return idleReadBuffers.pop() ?? Buffer.allocUnsafe(FILE_READ_BYTES);
  // One byte more than the file, so a file that did not grow is read in one call plus the EOF call.
  return Buffer.allocUnsafe(Math.max(MIN_READ_BYTES, fileSize + 1));
}

function returnReadBuffer(buffer: Buffer): void {
  if (buffer.byteLength === FILE_READ_BYTES && idleReadBuffers.length < MAX_IDLE_READ_BUFFERS) idleReadBuffers.push(buffer);
}

/** Opens an UploadSource once per attempt and knows whether another attempt is possible. */
export class UploadSourceOpener {
  private oneShotTouched = false;

  constructor(private readonly source: UploadSource) {}

  /** The file name to use when the caller gives none (paths only). */
  defaultFileName(): string | undefined {
    return typeof this.source === 'string' ? path.basename(this.source) : undefined;
  }

  /** False once a one-shot stream has been (partly) consumed. */
  canReopen(): boolean {
    return (
      typeof this.source === 'string' ||
      this.source instanceof Uint8Array ||
      typeof this.source === 'function' ||
      !this.oneShotTouched
    );
  }

  async open(): Promise<OpenedSource> {
    const source = this.source;
    if (typeof source === 'string') {
      // Size and bytes from the same handle, so a rename in between cannot mix two files.
      const handle = await fs.open(source, 'r');
      try {
        const stat = await handle.stat();
        if (!stat.isFile()) throw new TypeError(`${source} is not a regular file`);
        let abandoned = false;
        const buffer = takeReadBuffer(stat.size);
        return {
          stream: readInto(handle, buffer, () => abandoned),
          size: stat.size,
          // FileHandle.close waits for a read still in flight: only then may the buffer serve another upload.
          close: () => handle.close().finally(() => returnReadBuffer(buffer)),
          abandon: () => {
            abandoned = true;
          },
        };
      } catch (err) {
        await handle.close();
        throw err;
      }
    }
    if (source instanceof Uint8Array)
      return { stream: [source], size: source.byteLength, close: async () => {}, abandon: () => {} };
    if (typeof source === 'function') {
      const stream = await source();
      return { stream, size: undefined, close: async () => {}, abandon: () => destroyIfStream(stream) };
    }
    if (this.oneShotTouched) throw new TypeError('a one-shot upload stream cannot be read twice');
    const markTouched = () => {
      this.oneShotTouched = true;
    };
    return {
      stream: touchTracking(source, markTouched),
      size: undefined,
      close: async () => {},
      abandon: () => destroyIfStream(source),
    };
  }
}

/**
 * Reads a file front to back into one reused buffer, yielding a view of each read. No fresh buffer per
 * read: a 1 MiB file used to allocate 1 MiB of short-lived buffers just to be read, and that churn of
 * external memory drove the client's full garbage collections (docs/performance.md).
 */
async function* readInto(handle: FileHandle, buffer: Buffer, abandoned: () => boolean): AsyncGenerator<Uint8Array> {
  let position = 0;
  while (!abandoned()) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield buffer.subarray(0, bytesRead);
  }
}

/** Node streams can be told to stop; plain async iterables cannot (their pending read just lingers). */
function destroyIfStream(stream: unknown): void {
  if (stream instanceof Readable) stream.destroy();
}

async function* touchTracking(source: AsyncIterable<Uint8Array>, touched: () => void): AsyncGenerator<Uint8Array> {
  touched();
  yield* source;
}
