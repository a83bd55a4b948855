import { Metadata, type ServiceError, status } from '@grpc/grpc-js';

/**
 * An error raised by the SDK itself, shaped like a grpc-js ServiceError (`code`, `details`,
 * `metadata`) so callers handle local and remote failures the same way.
 */
export class ArchivarError extends Error implements ServiceError {
  override readonly name = 'ArchivarError';
  readonly metadata = new Metadata();

  constructor(
    readonly code: status,
    readonly details: string,
    options?: { cause?: unknown },
  ) {
    super(`${status[code] ?? code}: ${details}`, options);
  }
}

/** True for anything carrying a numeric gRPC status code (grpc-js errors and ArchivarError). */
export function isServiceError(err: unknown): err is ServiceError {
  return typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'number';
}

export function cancelledError(signal?: AbortSignal): ArchivarError {
  return new ArchivarError(status.CANCELLED, 'cancelled by the caller', { cause: signal?.reason });
}
