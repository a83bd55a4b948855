import { status } from '@grpc/grpc-js';

/**
 * A domain error that carries its gRPC code and a message that is safe to show the caller. Anything else
 * thrown by a handler becomes INTERNAL with a generic message; its stack goes to the log only.
 */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: status,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const invalidArgument = (msg: string) => new AppError(status.INVALID_ARGUMENT, msg);
export const notFound = (msg: string) => new AppError(status.NOT_FOUND, msg);
export const alreadyExists = (msg: string) => new AppError(status.ALREADY_EXISTS, msg);
export const unauthenticated = (msg: string) => new AppError(status.UNAUTHENTICATED, msg);
export const permissionDenied = (msg: string) => new AppError(status.PERMISSION_DENIED, msg);
export const resourceExhausted = (msg: string) => new AppError(status.RESOURCE_EXHAUSTED, msg);
export const failedPrecondition = (msg: string) => new AppError(status.FAILED_PRECONDITION, msg);
export const dataLoss = (msg: string) => new AppError(status.DATA_LOSS, msg);
export const unimplemented = (msg: string) => new AppError(status.UNIMPLEMENTED, msg);
export const cancelled = (msg: string) => new AppError(status.CANCELLED, msg);
export const deadlineExceeded = (msg: string) => new AppError(status.DEADLINE_EXCEEDED, msg);
export const unavailable = (msg: string) => new AppError(status.UNAVAILABLE, msg);

/** The generic text sent for unexpected failures; the cause stays in the log. */
export const INTERNAL_MESSAGE = 'internal error; the failure has been logged';
