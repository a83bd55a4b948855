/**
 * Typed failures of the pipeline. Messages are safe to log and to return to a client:
 * they never contain document text, file names or library stack traces.
 */
export type PipelineErrorKind =
  | 'limit' // a configured bound (pages, pixels, size, members, ratio) was exceeded
  | 'corrupt' // the bytes are not a valid instance of their type
  | 'timeout' // the wall-time budget for the document or a page ran out
  | 'aborted' // the caller's AbortSignal fired
  | 'empty' // zero-byte input
  | 'internal'; // a library failed in a way we did not anticipate

export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  readonly kind: PipelineErrorKind;

  constructor(kind: PipelineErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

export function isPipelineError(err: unknown): err is PipelineError {
  return err instanceof PipelineError;
}

/** Throws `aborted` (or `timeout` when the signal's reason says so) if the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

export function abortError(signal: AbortSignal): PipelineError {
  const reason: unknown = signal.reason;
  if (reason instanceof PipelineError) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new PipelineError('timeout', 'time budget exceeded', { cause: reason });
  }
  return new PipelineError('aborted', 'processing was cancelled', { cause: reason });
}

/** Wraps an unknown library error as `corrupt` unless it already is a PipelineError. */
export function asCorrupt(err: unknown, what: string): PipelineError {
  if (err instanceof PipelineError) return err;
  return new PipelineError('corrupt', `${what} could not be read`, { cause: err });
}

/**
 * Settles like `p`, or rejects with an `aborted` PipelineError as soon as `signal` fires (`p` is then left
 * to finish, its result ignored). `onAbort` runs first, to tell the library to stop (cancel, destroy).
 */
export function raceSignal<T>(p: Promise<T>, signal: AbortSignal | undefined, onAbort?: () => void): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const listener = () => {
      onAbort?.();
      p.catch(() => {});
      reject(abortError(signal));
    };
    if (signal.aborted) return listener();
    signal.addEventListener('abort', listener, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', listener);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', listener);
        reject(e);
      },
    );
  });
}
