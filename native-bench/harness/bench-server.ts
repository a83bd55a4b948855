import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Connection, connect, unary } from '../../src/sdk/index.js';
import type { ChildMessage, ServerStats } from './server-child.js';

const CHILD = fileURLToPath(new URL('./server-child.ts', import.meta.url));

export interface BenchServer {
  readonly address: string;
  readonly sinkAddress: string;
  readonly pid: number;
  readonly dataDir: string;
  /** Memory, handles and LMDB file size of the server process. */
  stats(): Promise<ServerStats>;
  /** Resolves once the job runner has nothing queued or running. */
  idle(): Promise<void>;
  /** Starts the server's V8 CPU profiler; the profile is written to `file` when the server stops. */
  profile(file: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the real server in a child process on loopback with a fresh data dir. `settings` are
 * `archivar serve` flags (e.g. `{'pool-threads': '2'}`).
 */
export async function startBenchServer(settings: Record<string, string> = {}): Promise<BenchServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'archivar-bench-server-'));
  const child: ChildProcess = fork(CHILD, [JSON.stringify({ data: dataDir, ...settings })], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, (m: ChildMessage) => void>();
  let nextId = 1;
  const ready = new Promise<Extract<ChildMessage, { type: 'ready' }>>((resolve, reject) => {
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'ready') resolve(m);
      else pending.get(m.id)?.(m);
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code} before it was ready`)));
  });
  const r = await ready;
  const ask = <T extends ChildMessage>(type: 'stats' | 'idle' | 'profile', extra: { file?: string } = {}): Promise<T> => {
    const id = nextId++;
    return new Promise((resolve) => {
      pending.set(id, (m) => {
        pending.delete(id);
        resolve(m as T);
      });
      child.send({ type, id, ...extra });
    });
  };
  return {
    address: `127.0.0.1:${r.port}`,
    sinkAddress: `127.0.0.1:${r.sinkPort}`,
    pid: r.pid,
    dataDir,
    stats: async () => (await ask<Extract<ChildMessage, { type: 'stats' }>>('stats')).stats,
    idle: async () => {
      await ask('idle');
    },
    profile: async (file) => {
      await ask('profile', { file });
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = once(child, 'exit');
        child.send({ type: 'shutdown' });
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Registers a fresh user through AccountsService and logs in: a real session, as a client would hold. */
export async function realSession(address: string, options: { tlsCa?: string; insecure?: boolean } = {}): Promise<string> {
  const conn: Connection = connect({
    server: address,
    insecure: options.insecure ?? !options.tlsCa,
    ...(options.tlsCa ? { tlsCa: options.tlsCa } : {}),
  });
  try {
    const email = `bench-${process.pid}-${Date.now()}@example.org`;
    const password = `bench-pw-${Math.random().toString(36).slice(2)}-Zq9`;
    await unary(conn.accounts.register.bind(conn.accounts), {
      email,
      password,
      firstName: 'Bench',
      lastName: 'Mark',
      terms: { textVersion: 'bench', textSha256: '0'.repeat(64), channel: 'bench' },
    });
    const res = await unary(conn.accounts.login.bind(conn.accounts), { email, password, terms: undefined });
    return res.token;
  } finally {
    conn.close();
  }
}
