import type { Metadata } from '@grpc/grpc-js';
import type { Logger } from './logger.js';

/** Who is calling, as established by the auth interceptor from the session token. */
export interface Principal {
  readonly userId: string;
  readonly tenantId: string;
  readonly role: 'owner' | 'member' | 'admin';
  /** SHA-256 of the session token (hex), for logout; never the token itself. */
  readonly sessionId: string;
}

/** What every handler receives besides its request. */
export interface CallContext {
  /** Aborts when the client cancels, the deadline passes or the server shuts down. */
  readonly signal: AbortSignal;
  /** Present on every RPC except the public ones (Register, Login, health). */
  readonly principal: Principal | null;
  readonly metadata: Metadata;
  /** Remote address, e.g. `ipv4:127.0.0.1:53412`. */
  readonly peer: string;
  readonly method: string;
  readonly log: Logger;
}

/** The auth interceptor's only dependency: turns a bearer token into a principal, or null if invalid. */
export interface SessionVerifier {
  verify(token: string, signal: AbortSignal): Promise<Principal | null>;
}

/** Narrows the context of a protected RPC (the interceptor guarantees a principal there). */
export function requirePrincipal(ctx: CallContext): Principal {
  if (ctx.principal === null) throw new Error(`no principal on protected method ${ctx.method}`);
  return ctx.principal;
}
