import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { ServiceError } from '@grpc/grpc-js';
import { expect } from 'vitest';
import { ManualClock } from '../../src/accounts/index.js';
import type { User } from '../../src/gen/archivar/v1/accounts.js';
import { type Connection, connect, unary } from '../../src/sdk/index.js';
import { createLogger, type Logger } from '../../src/server/logger.js';
import { startTestServer, TERMS, type TestServer } from '../helpers/test-server.js';

/** 2025-03-15T12:00:00Z: a fixed start for every clock-driven test. */
export const T0 = Date.UTC(2025, 2, 15, 12);
export const DAY = 86_400_000;
export const PASSWORD = 'correct horse battery staple';

export interface AccountsServer extends TestServer {
  clock: ManualClock;
  /** An unauthenticated connection. */
  anon: Connection;
  connectAs(token: string): Connection;
  register(email: string, first?: string, last?: string, password?: string): Promise<User>;
  /** Registers (unless `registered`) and logs in; returns an authenticated connection. */
  signUp(email: string, opts?: { first?: string; last?: string; password?: string }): Promise<Session>;
  login(email: string, password?: string): Promise<Session>;
}

export interface Session {
  c: Connection;
  token: string;
  user: User;
}

export interface AccountsServerOptions {
  /** The server's logger (default: silent); see `captureLog`. */
  log?: Logger;
  /** Serve from this data directory and keep it on stop (restart tests); default: a fresh temp dir, removed on stop. */
  dataDir?: string;
  /** The time source (default: a new manual clock at T0). */
  clock?: ManualClock;
  /** Keep the built-in registration limit (default: raised to 1000, as tests register many accounts). */
  defaultLimits?: boolean;
}

/** A real server with real accounts only (no test token), a manual clock and cheap scrypt. */
export async function startAccountsServer(
  settings: Record<string, string> = {},
  options: AccountsServerOptions = {},
): Promise<AccountsServer> {
  const clock = options.clock ?? new ManualClock(T0);
  // Real accounts only (no test verifier): TEST_TOKEN on `client` is refused like any unknown token.
  const t = await startTestServer(
    {
      'lmdb-map-size': String(2 ** 28),
      ...(options.defaultLimits ? {} : { 'register-max-per-peer': '1000' }),
      ...settings,
    },
    null,
    {
      clock,
      ...(options.log ? { log: options.log } : {}),
      ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    },
  );
  const opened: Connection[] = [];
  const connectAs = (token: string) => {
    const c = connect({ server: t.address, insecure: true, token });
    opened.push(c);
    return c;
  };
  const anon = connect({ server: t.address, insecure: true });
  const register = async (email: string, first = 'Erika', last = 'Mustermann', password = PASSWORD) =>
    (await unary(anon.accounts.register.bind(anon.accounts), { email, password, firstName: first, lastName: last, terms: TERMS }))
      .user as User;
  // Sends the test agreement: a member an owner added agrees to it at their first login (a user who already
  // agreed to it records nothing new).
  const login = async (email: string, password = PASSWORD): Promise<Session> => {
    const res = await unary(anon.accounts.login.bind(anon.accounts), { email, password, terms: TERMS });
    return { c: connectAs(res.token), token: res.token, user: res.user as User };
  };
  return {
    ...t,
    clock,
    anon,
    connectAs,
    register,
    login,
    async signUp(email, opts = {}) {
      await register(email, opts.first, opts.last, opts.password);
      return login(email, opts.password);
    },
    async stop() {
      for (const c of opened) c.close();
      anon.close();
      await t.stop();
    },
  };
}

/** Awaits a failing call and checks its exact status (and optionally its message). */
export async function expectCode(p: Promise<unknown>, code: number, message?: RegExp): Promise<ServiceError> {
  const err = await p.then(
    () => {
      throw new Error(`expected status ${code}, but the call succeeded`);
    },
    (e: ServiceError) => e,
  );
  expect({ code: err.code, details: err.details }).toMatchObject({
    code,
    ...(message ? { details: expect.stringMatching(message) } : {}),
  });
  return err;
}

/** Every file under `dir` that contains one of `markers` as UTF-8 bytes (the erasure check). */
export function filesContaining(dir: string, markers: string[]): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile()) {
        const bytes = fs.readFileSync(p);
        for (const m of markers) if (bytes.includes(Buffer.from(m, 'utf8'))) hits.push(`${entry.name}: ${m}`);
      }
    }
  };
  walk(dir);
  return hits;
}

/** Collects a server stream's chunks. */
export async function collect(stream: AsyncIterable<{ chunk: Buffer }>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const m of stream) parts.push(m.chunk);
  return Buffer.concat(parts);
}

/** Reads a tar archive into name → bytes (checks the header checksums). */
export function untar(tar: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let off = 0;
  while (off + 512 <= tar.byteLength) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] ?? 0);
    expect(Number.parseInt(h.subarray(148, 154).toString('ascii'), 8)).toBe(sum);
    const cstr = (b: Buffer) => b.subarray(0, b.indexOf(0) < 0 ? b.length : b.indexOf(0)).toString('utf8');
    const name = cstr(h.subarray(0, 100));
    const prefix = cstr(h.subarray(345, 500));
    const size = Number.parseInt(h.subarray(124, 136).toString('ascii'), 8);
    files.set(prefix ? `${prefix}/${name}` : name, Buffer.from(tar.subarray(off + 512, off + 512 + size)));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** A logger writing into memory: every JSON line the server logs, at `level`. */
export interface CapturedLog {
  log: Logger;
  /** The raw lines, as they would reach stderr. */
  lines: string[];
  /** Resolves with the first line (parsed) for which `match` is true, from those logged so far or later. */
  next(match: (entry: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
}

export function captureLog(level = 'debug'): CapturedLog {
  const lines: string[] = [];
  let pending = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      pending += chunk.toString('utf8');
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        lines.push(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        nl = pending.indexOf('\n');
      }
      stream.emit('line');
      done();
    },
  });
  stream.setMaxListeners(0);
  const next = async (match: (entry: Record<string, unknown>) => boolean) => {
    for (let seen = 0; ; ) {
      for (; seen < lines.length; seen++) {
        const entry = JSON.parse(lines[seen] as string) as Record<string, unknown>;
        if (match(entry)) return entry;
      }
      await once(stream, 'line');
    }
  };
  return { log: createLogger(level, stream), lines, next };
}
