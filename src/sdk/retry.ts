import { type ServiceError, status } from '@grpc/grpc-js';
import { cancelledError, isServiceError } from './errors.js';

/** Exponential backoff with full jitter between attempts of a call that is safe to repeat. */
export interface RetryPolicy {
  /** Attempts in total, including the first (1 = never retry). @default 4 */
  readonly maxAttempts: number;
  /** Upper bound of the first wait. @default 250 */
  readonly initialBackoffMs: number;
  /** Upper bound of any wait. @default 5000 */
  readonly maxBackoffMs: number;
  /** @default 2 */
  readonly multiplier: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 4,
  initialBackoffMs: 250,
  maxBackoffMs: 5000,
  multiplier: 2,
});

export const NO_RETRY: RetryPolicy = Object.freeze({ ...DEFAULT_RETRY_POLICY, maxAttempts: 1 });

export interface RetryOptions {
  readonly policy: RetryPolicy;
  readonly signal?: AbortSignal | undefined;
  /** Whether `err` (from attempt `attempt`, 1-based) may be retried. */
  readonly shouldRetry: (err: unknown, attempt: number) => boolean;
  /** Observes each retry before its wait (logging, progress reset). */
  readonly onRetry?: ((err: unknown, attempt: number, delayMs: number) => void) | undefined;
  /** TESTS ONLY: replaces Math.random for the jitter. */
  readonly random?: (() => number) | undefined;
}

/** The status codes that say "the server did not do it, try again later". */
export function isTransient(err: unknown, codes: readonly status[] = [status.UNAVAILABLE]): err is ServiceError {
  return isServiceError(err) && codes.includes(err.code);
}

/**
 * The server's pushback (gRFC A6 `grpc-retry-pushback-ms` trailer): a delay to wait instead of our
 * own backoff, or `null` when the server says not to retry at all.
 */
export function retryPushbackMs(err: unknown): number | null | undefined {
  if (!isServiceError(err) || !err.metadata) return undefined;
  const value = err.metadata.get('grpc-retry-pushback-ms')[0];
  if (value === undefined) return undefined;
  const ms = Number(value.toString());
  if (!Number.isInteger(ms) || ms < 0) return null;
  return ms;
}

/** The wait before attempt `attempt + 1`: uniform in [0, min(max, initial · multiplier^(attempt-1))]. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.multiplier ** (attempt - 1));
  return Math.floor(random() * cap);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelledError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelledError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs `fn` until it succeeds, the policy is spent, or an error is not retryable. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const maxAttempts = Math.max(1, options.policy.maxAttempts);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= maxAttempts || options.signal?.aborted || !options.shouldRetry(err, attempt)) throw err;
      const pushback = retryPushbackMs(err);
      if (pushback === null) throw err;
      const delay = pushback ?? backoffMs(options.policy, attempt, options.random);
      options.onRetry?.(err, attempt, delay);
      await sleep(delay, options.signal);
    }
  }
}
