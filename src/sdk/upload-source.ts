import fs from 'node:fs/promises';
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
  readonly stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /** Plaintext size when known before reading (files, buffers). */
  readonly size: number | undefined;
  /** Releases the source after a successful or failed attempt. */
  close(): Promise<void>;
  /** Unblocks a read that may never complete (a stalled stream) once the attempt is over. */
  abandon(): void;
}

/** Read size of file streams: one sealed chunk's worth per read. */
const FILE_READ_BYTES = 256 * 1024;

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
        const stream = handle.createReadStream({ highWaterMark: FILE_READ_BYTES, autoClose: false });
        return { stream, size: stat.size, close: () => handle.close(), abandon: () => stream.destroy() };
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

/** Node streams can be told to stop; plain async iterables cannot (their pending read just lingers). */
function destroyIfStream(stream: unknown): void {
  if (stream instanceof Readable) stream.destroy();
}

async function* touchTracking(source: AsyncIterable<Uint8Array>, touched: () => void): AsyncGenerator<Uint8Array> {
  touched();
  yield* source;
}
