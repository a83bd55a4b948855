import type { CallOptions, ClientUnaryCall, Metadata, ServiceError } from '@grpc/grpc-js';
import { Metadata as GrpcMetadata } from '@grpc/grpc-js';
import { cancelledError } from './errors.js';

/** Per-call settings every SDK method accepts. */
export interface CallSettings {
  /** Aborting cancels the gRPC call (the server sees CANCELLED and stops its work). */
  signal?: AbortSignal | undefined;
  /** Deadline relative to the start of the call (each retry attempt gets a fresh one). */
  timeoutMs?: number | undefined;
}

/** grpc-js call options for `settings`: a deadline when a timeout is given. */
export function callOptions(settings: CallSettings): Partial<CallOptions> {
  return settings.timeoutMs === undefined ? {} : { deadline: new Date(Date.now() + settings.timeoutMs) };
}

/** Throws CANCELLED when the signal has already fired, so no call starts for nothing. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelledError(signal);
}

/** Cancels `call` when `signal` aborts; returns the function that detaches the listener. */
export function cancelOnAbort(call: { cancel(): void }, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    call.cancel();
    return () => {};
  }
  const onAbort = () => call.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

type UnaryMethod<Req, Res> = (
  req: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  cb: (err: ServiceError | null, res: Res) => void,
) => ClientUnaryCall;

/** A unary call with deadline and AbortSignal: `await callUnary(c.get.bind(c), req, settings)`. */
export function callUnary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, settings: CallSettings = {}): Promise<Res> {
  throwIfAborted(settings.signal);
  return new Promise((resolve, reject) => {
    let detach = () => {};
    const call = method(request, new GrpcMetadata(), callOptions(settings), (err, res) => {
      detach();
      if (err) reject(err);
      else resolve(res);
    });
    detach = cancelOnAbort(call, settings.signal);
  });
}
