import fs from 'node:fs';
import path from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import { expect } from 'vitest';
import { ManualClock } from '../../src/accounts/index.js';
import type { User } from '../../src/gen/archivar/v1/accounts.js';
import { type Connection, connect, unary } from '../../src/sdk/index.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

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

/** A real server with real accounts only (no test token), a manual clock and cheap scrypt. */
export async function startAccountsServer(settings: Record<string, string> = {}): Promise<AccountsServer> {
  const clock = new ManualClock(T0);
  const t = await startTestServer({ 'lmdb-map-size': String(2 ** 28), 'register-max-per-peer': '1000', ...settings }, null, {
    clock,
  });
  const opened: Connection[] = [];
  const connectAs = (token: string) => {
    const c = connect({ server: t.address, insecure: true, token });
    opened.push(c);
    return c;
  };
  const anon = connect({ server: t.address, insecure: true });
  const register = async (email: string, first = 'Erika', last = 'Mustermann', password = PASSWORD) =>
    (await unary(anon.accounts.register.bind(anon.accounts), { email, password, firstName: first, lastName: last })).user as User;
  const login = async (email: string, password = PASSWORD): Promise<Session> => {
    const res = await unary(anon.accounts.login.bind(anon.accounts), { email, password });
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
