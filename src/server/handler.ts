import { once } from 'node:events';
import {
  Metadata,
  type Server,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceError,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { isSealedFormatError } from '../crypto/index.js';
import type { CallContext, Principal, SessionVerifier } from './call-context.js';
import { AppError, INTERNAL_MESSAGE } from './errors.js';
import type { Logger } from './logger.js';

/** The shape ts-proto gives each method of a generated `…ServiceService` definition. */
interface MethodDefinition {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  // biome-ignore lint/suspicious/noExplicitAny: inferred per method below
  requestDeserialize: (b: Buffer) => any;
  // biome-ignore lint/suspicious/noExplicitAny: inferred per method below
  responseSerialize: (v: any) => Buffer;
}
type ServiceDef = Record<string, MethodDefinition>;
type Req<M> = M extends { requestDeserialize: (b: Buffer) => infer R } ? R : never;
type Res<M> = M extends { responseSerialize: (v: infer R) => Buffer } ? R : never;

/** Our way to write a handler: async functions over decoded messages and a call context. */
export type AsyncMethod<M> = M extends { requestStream: false; responseStream: false }
  ? (req: Req<M>, ctx: CallContext) => Promise<Res<M>>
  : M extends { requestStream: false; responseStream: true }
    ? (req: Req<M>, ctx: CallContext) => AsyncIterable<Res<M>>
    : M extends { requestStream: true; responseStream: false }
      ? (reqs: AsyncIterable<Req<M>>, ctx: CallContext) => Promise<Res<M>>
      : never;

/** A service implementation; methods left out answer UNIMPLEMENTED (after authentication). */
export type AsyncService<D extends ServiceDef> = { [K in keyof D]?: AsyncMethod<D[K]> };

/** Observes every finished RPC (metrics). */
export interface RpcObserver {
  rpcFinished(method: string, code: status, seconds: number): void;
}

export interface BindOptions {
  verifier: SessionVerifier;
  /** Full method paths that need no session (Register, Login). */
  publicMethods: ReadonlySet<string>;
  log: Logger;
  observer: RpcObserver;
  /** Aborted when the server shuts down, so long calls end. */
  shutdown: AbortSignal;
}

/**
 * Adapts async handlers to grpc-js callbacks: authenticates, turns cancellation and deadline into an
 * AbortSignal, and maps every error to a status with a safe message. The single path all RPCs take.
 */
export function bindService<D extends ServiceDef>(
  server: Pick<Server, 'addService'>,
  definition: D,
  impl: AsyncService<D>,
  options: BindOptions,
): void {
  const wrapped: UntypedServiceImplementation = {};
  for (const [name, def] of Object.entries(definition)) {
    const fn = impl[name as keyof D] as AsyncMethod<MethodDefinition> | undefined;
    wrapped[name] = wrapMethod(def, fn, options);
  }
  server.addService(definition as never, wrapped);
}

/** The part of every call object that `prepare` uses. */
interface AnyCall {
  metadata: Metadata;
  getDeadline(): Date | number;
  getPeer(): string;
  on(event: 'cancelled', listener: () => void): unknown;
  removeListener(event: 'cancelled', listener: () => void): unknown;
}

function wrapMethod(
  def: MethodDefinition,
  fn: AsyncMethod<MethodDefinition> | undefined,
  options: BindOptions,
): UntypedServiceImplementation[string] {
  const method = def.path;
  const isPublic = options.publicMethods.has(method);

  async function prepare(call: AnyCall): Promise<{ ctx: CallContext; done: () => void }> {
    const controller = new AbortController();
    const deadline = call.getDeadline();
    const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
    // grpc-js also reports an expired deadline as 'cancelled' (often the client's RST_STREAM, which arrives a
    // little before our own copy of the deadline): tell the two apart by the clock, with some slack.
    const onCancel = () =>
      controller.abort(
        Date.now() >= deadlineMs - 100
          ? new AppError(status.DEADLINE_EXCEEDED, 'the deadline passed before the call finished')
          : new AppError(status.CANCELLED, 'the call was cancelled by the client'),
      );
    call.on('cancelled', onCancel);
    let timer: NodeJS.Timeout | undefined;
    if (Number.isFinite(deadlineMs)) {
      timer = setTimeout(
        () => controller.abort(new AppError(status.DEADLINE_EXCEEDED, 'the deadline passed before the call finished')),
        Math.max(0, deadlineMs - Date.now()),
      );
    }
    const signal = AbortSignal.any([controller.signal, options.shutdown]);
    const done = () => {
      if (timer) clearTimeout(timer);
      call.removeListener('cancelled', onCancel);
    };
    const log = options.log.child({ method });
    let principal: Principal | null = null;
    if (!isPublic) {
      try {
        principal = await authenticate(call.metadata, options.verifier, signal);
      } catch (err) {
        done();
        throw err;
      }
    }
    return { ctx: { signal, principal, metadata: call.metadata, peer: call.getPeer(), method, log }, done };
  }

  const notImplemented = () => new AppError(status.UNIMPLEMENTED, `${method} is not implemented yet`);

  /** The life of every call: prepare (auth, signal), run, record the outcome, report an error once. */
  const run = (call: AnyCall, body: (ctx: CallContext) => Promise<void>, fail: (se: ServiceError) => void): void => {
    const started = process.hrtime.bigint();
    void (async () => {
      let prepared: Awaited<ReturnType<typeof prepare>> | undefined;
      try {
        prepared = await prepare(call);
        if (!fn) throw notImplemented();
        await body(prepared.ctx);
        finish(options, method, status.OK, started);
      } catch (err) {
        const se = toServiceError(err, prepared?.ctx.signal, options.log, method);
        finish(options, method, se.code, started);
        fail(se);
      } finally {
        prepared?.done();
      }
    })();
  };

  if (!def.requestStream && !def.responseStream) {
    const unaryFn = fn as unknown as (r: unknown, c: CallContext) => Promise<unknown>;
    return (call: ServerUnaryCall<unknown, unknown>, callback: (e: ServiceError | null, v?: unknown) => void) =>
      run(
        call,
        async (ctx) => callback(null, await unaryFn(call.request, ctx)),
        (se) => callback(se),
      );
  }

  if (def.requestStream && !def.responseStream) {
    const clientStreamFn = fn as unknown as (r: AsyncIterable<unknown>, c: CallContext) => Promise<unknown>;
    return (call: ServerReadableStream<unknown, unknown>, callback: (e: ServiceError | null, v?: unknown) => void) =>
      run(
        call,
        async (ctx) => callback(null, await clientStreamFn(call as AsyncIterable<unknown>, ctx)),
        (se) => {
          callback(se);
          // Stop reading whatever the client still sends.
          call.destroy();
        },
      );
  }

  if (!def.requestStream && def.responseStream) {
    const serverStreamFn = fn as unknown as (r: unknown, c: CallContext) => AsyncIterable<unknown>;
    return (call: ServerWritableStream<unknown, unknown>) =>
      run(
        call,
        async (ctx) => {
          for await (const message of serverStreamFn(call.request, ctx)) {
            ctx.signal.throwIfAborted();
            if (!call.write(message)) await once(call, 'drain', { signal: ctx.signal });
          }
          // A stream that ended because the call was aborted (shutdown, deadline) ends with that status, not OK.
          ctx.signal.throwIfAborted();
          call.end();
        },
        (se) => call.emit('error', se),
      );
  }

  return (call: ServerDuplexStream<unknown, unknown>): void => {
    call.emit(
      'error',
      toServiceError(new AppError(status.UNIMPLEMENTED, 'bidirectional streaming is not used'), undefined, options.log, method),
    );
  };
}

async function authenticate(metadata: Metadata, verifier: SessionVerifier, signal: AbortSignal): Promise<Principal> {
  const values = metadata.get('authorization');
  if (values.length === 0) throw new AppError(status.UNAUTHENTICATED, 'missing "authorization: Bearer <token>" metadata');
  if (values.length > 1) throw new AppError(status.UNAUTHENTICATED, 'more than one authorization header');
  const m = /^Bearer ([A-Za-z0-9_\-.~+/]{16,512}=*)$/.exec(String(values[0]));
  // Clients set the header's form themselves; what is wrong is the token they were given (say, a mistyped
  // ARCHIVAR_TOKEN), so the message speaks of the token.
  if (!m?.[1])
    throw new AppError(
      status.UNAUTHENTICATED,
      'the session token is malformed (expected "authorization: Bearer <token>"); log in again',
    );
  const principal = await verifier.verify(m[1], signal);
  if (principal === null) throw new AppError(status.UNAUTHENTICATED, 'the session is invalid or has expired; log in again');
  return principal;
}

function finish(options: BindOptions, method: string, code: status, started: bigint): void {
  options.observer.rpcFinished(method, code, Number(process.hrtime.bigint() - started) / 1e9);
}

/**
 * Maps anything thrown to a status. AppErrors keep their code and message; an abort keeps the abort's
 * reason; a SealedFormatError that no domain code mapped comes from stored data (a sealed record or object
 * that fails authentication: corruption or tampering on disk) and is DATA_LOSS, logged; everything else is
 * INTERNAL with a generic message and is logged with its stack.
 */
export function toServiceError(err: unknown, signal: AbortSignal | undefined, log: Logger, method: string): ServiceError {
  let appError: AppError;
  if (err instanceof AppError) {
    appError = err;
  } else if (signal?.aborted && signal.reason instanceof AppError) {
    appError = signal.reason;
  } else if (signal?.aborted) {
    appError = new AppError(status.UNAVAILABLE, 'the server is shutting down; retry');
  } else if (isSealedFormatError(err)) {
    log.error({ err, method }, 'stored data failed verification');
    appError = new AppError(status.DATA_LOSS, `stored data failed verification: ${err.message}`);
  } else {
    log.error({ err, method }, 'unexpected error in handler');
    appError = new AppError(status.INTERNAL, INTERNAL_MESSAGE);
  }
  const error = new Error(appError.message) as ServiceError;
  error.code = appError.code;
  error.details = appError.message;
  error.metadata = new Metadata();
  return error;
}
