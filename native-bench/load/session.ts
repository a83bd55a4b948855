import fs from 'node:fs';
import net from 'node:net';
import { type Connection, connect } from '../../src/sdk/index.js';
import { type BenchServer, realSession, startBenchServer } from '../harness/bench-server.js';
import { Corpus, textLike } from '../harness/data.js';
import { makeOpContext, type OpContext } from './ops.js';

export interface SessionOptions {
  /** host:port of a running server; absent = start one (own process, temp data dir). */
  readonly target?: string | undefined;
  readonly tlsCa?: string | undefined;
  readonly insecure?: boolean | undefined;
  /** Non-loopback targets are refused unless this is set. */
  readonly allowRemote?: boolean | undefined;
  readonly token?: string | undefined;
  readonly connections: number;
  readonly seedDocs: number;
  /** Milliseconds to wait after the seeded documents are processed (the burst's background merges). */
  readonly settleMs?: number | undefined;
  readonly uploadBytes: number;
  /**
   * What the seeded documents say: `uniform` (default), --upload-bytes of the ~60 head words drawn evenly
   * (every document holds each ~uploadBytes/400 times); `zipf`, the index benchmark's corpus (Corpus seed 1:
   * title and a 30–229-word body, Zipf over 50 000 words, "Müller GmbH" in 2 % and "annual report" in 10 %).
   */
  readonly seedText?: 'uniform' | 'zipf' | undefined;
  readonly deadlineMs: number;
  readonly serverSettings?: Record<string, string> | undefined;
}

export interface LoadSession {
  readonly address: string;
  readonly server: BenchServer | undefined;
  readonly contexts: OpContext[];
  close(): Promise<void>;
}

function hostOf(target: string): string {
  const m = /^\[([^\]]+)\]:\d+$/.exec(target) ?? /^([^:]+):\d+$/.exec(target);
  if (!m?.[1]) throw new Error(`--target must be host:port, got ${target}`);
  return m[1];
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return host === '::1';
}

/**
 * Connects the load generator: to its own server (started here) or to `--target`. Sessions are real
 * (Register + Login) unless a token is given; a few documents are uploaded first for get/download.
 */
export async function openLoadSession(o: SessionOptions): Promise<LoadSession> {
  if (o.target && !o.allowRemote && !isLoopback(hostOf(o.target))) {
    throw new Error(`refusing non-loopback target ${o.target} without --allow-remote`);
  }
  const server = o.target ? undefined : await startBenchServer(o.serverSettings);
  const address = o.target ?? (server as BenchServer).address;
  if (!o.tlsCa && o.target && !o.insecure) throw new Error('--target needs --tls-ca FILE or --insecure');
  // Our own server listens in plaintext on loopback; a target uses what was given.
  const tls = o.tlsCa ? { tlsCa: fs.readFileSync(o.tlsCa) } : { insecure: true };
  const token = o.token ?? (await realSession(address, o.tlsCa ? { tlsCa: o.tlsCa } : { insecure: true }));
  const connections: Connection[] = [];
  for (let i = 0; i < o.connections; i++) {
    // A local subchannel pool per connection: otherwise grpc-js shares one HTTP/2 connection.
    connections.push(connect({ server: address, token, ...tls, channelOptions: { 'grpc.use_local_subchannel_pool': 1 } }));
  }
  const ids: string[] = [];
  const seeder = makeOpContext(connections[0] as Connection, ids, o.uploadBytes, o.deadlineMs);
  const corpus = o.seedText === 'zipf' ? new Corpus(1) : undefined;
  const salt = Date.now() % 100_000;
  for (let i = 0; i < o.seedDocs; i++) {
    const d = corpus?.doc(salt * 1_000_000 + i);
    const body = d ? Buffer.from(`${d.title}\n\n${d.body}`) : textLike(o.uploadBytes, 777_000 + i + salt * 1000);
    const res = await seeder.client.upload(body, {
      fileName: `seed-${i}.txt`,
      mediaType: 'text/plain',
    });
    ids.push(res.documentId);
  }
  await server?.idle();
  if (o.settleMs) await new Promise((r) => setTimeout(r, o.settleMs));
  // ARCHIVAR_BENCH_CPU_PROF=FILE: the server's CPU profile from here on (seeding and settling left out,
  // a --warmup included).
  if (server && process.env.ARCHIVAR_BENCH_CPU_PROF) await server.profile(process.env.ARCHIVAR_BENCH_CPU_PROF);
  const contexts = connections.map((c) => makeOpContext(c, ids, o.uploadBytes, o.deadlineMs));
  return {
    address,
    server,
    contexts,
    async close() {
      for (const c of connections) c.close();
      await server?.stop();
    },
  };
}
