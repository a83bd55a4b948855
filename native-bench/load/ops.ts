import { Writable } from 'node:stream';
import { status } from '@grpc/grpc-js';
import { ArchivarClient, type Connection, isServiceError, NO_RETRY, unary } from '../../src/sdk/index.js';
import { Rng, textLike } from '../harness/data.js';

/** The RPCs the load generator can mix; each call is one request from the load's point of view. */
/** `churn` uploads a small document and deletes it again: steady stored data, for soak runs. */
export const OPS = ['get', 'list', 'upload', 'search', 'download', 'churn'] as const;
export type OpName = (typeof OPS)[number];

const QUERIES = ['rechnung', 'vertrag kunde', 'invoice amount', '"quarterly report"', 'müller', 'zahlung 2024', 'archive*'];

export interface OpContext {
  readonly connection: Connection;
  readonly client: ArchivarClient;
  /** Documents seeded before the run (targets of get/download). */
  readonly documentIds: readonly string[];
  readonly rng: Rng;
  readonly uploadBytes: number;
  readonly deadlineMs: number;
}

// Every uploaded body must be unique (the server stores a duplicate once, under the first document's id).
// One counter for the whole process: per-connection counters plus the clock gave two connections the same
// seed when the open loop, behind schedule, fired requests in the same millisecond. Multiplying by an odd
// constant is a bijection mod 2^32, so 2^32 uploads of one process never share a seed.
const RUN_SALT = (process.pid * 2_654_435_761 + Date.now()) >>> 0;
let uploadSerial = 0;
function uploadSeed(): number {
  return (RUN_SALT + Math.imul(++uploadSerial, 0x9e3779b1)) >>> 0;
}

export function makeOpContext(
  connection: Connection,
  documentIds: readonly string[],
  uploadBytes: number,
  deadlineMs: number,
): OpContext {
  return {
    connection,
    // A load test must see the server's answers as they are: no retries.
    client: new ArchivarClient(connection, { retry: NO_RETRY, unaryTimeoutMs: deadlineMs }),
    documentIds,
    rng: new Rng((Date.now() ^ process.pid) >>> 0),
    uploadBytes,
    deadlineMs,
  };
}

function pickId(ctx: OpContext): string {
  if (ctx.documentIds.length === 0) throw Object.assign(new Error('no seeded documents'), { code: status.FAILED_PRECONDITION });
  return ctx.documentIds[ctx.rng.below(ctx.documentIds.length)] as string;
}

export async function runOp(op: OpName, ctx: OpContext): Promise<void> {
  const settings = { timeoutMs: ctx.deadlineMs };
  switch (op) {
    case 'get':
      await ctx.client.get(pickId(ctx), settings);
      return;
    case 'list':
      await ctx.client.listPage({}, { ...settings, pageSize: 20 });
      return;
    case 'upload': {
      const seed = uploadSeed();
      await ctx.client.upload(textLike(ctx.uploadBytes, seed), {
        fileName: `load-${seed}.txt`,
        mediaType: 'text/plain',
        ...settings,
      });
      return;
    }
    case 'churn': {
      const seed = uploadSeed();
      const res = await ctx.client.upload(textLike(ctx.uploadBytes, seed), {
        fileName: `churn-${seed}.txt`,
        mediaType: 'text/plain',
        ...settings,
      });
      // A duplicate is another request's document (a seeded one, or a churn upload about to be deleted):
      // deleting it would make that request fail. Reported as the generator's own error instead.
      if (res.duplicate) throw new Error(`churn upload ${seed} was stored as a duplicate of ${res.documentId}`);
      await ctx.client.delete(res.documentId, settings);
      return;
    }
    case 'search': {
      const query = QUERIES[ctx.rng.below(QUERIES.length)] as string;
      await unary(
        ctx.connection.search.search.bind(ctx.connection.search),
        { query, limit: 10, cursor: '', sort: 0, facets: [], snippets: 2, noSnippets: false },
        {
          deadline: new Date(Date.now() + ctx.deadlineMs),
        },
      );
      return;
    }
    case 'download': {
      // The original, sealed and re-wrapped to an ephemeral key, opened and verified here, then discarded.
      const sink = new Writable({
        write(_chunk: Buffer, _enc, cb) {
          cb();
        },
      });
      await ctx.client.download(pickId(ctx), { to: sink, ...settings });
      return;
    }
  }
}

/** The status name of a failure (`DEADLINE_EXCEEDED`, …); `CLIENT_ERROR` for anything without a code. */
export function statusName(err: unknown): string {
  if (isServiceError(err)) return status[err.code] ?? String(err.code);
  return 'CLIENT_ERROR';
}

export function parseMix(spec: string): Array<{ op: OpName; weight: number }> {
  const out: Array<{ op: OpName; weight: number }> = [];
  for (const part of spec.split(',').filter(Boolean)) {
    const [name, w] = part.split('=');
    if (!OPS.includes(name as OpName)) throw new Error(`unknown op ${name} in --mix (known: ${OPS.join(', ')})`);
    const weight = Number(w ?? 1);
    if (!(weight > 0)) throw new Error(`bad weight in --mix: ${part}`);
    out.push({ op: name as OpName, weight });
  }
  if (out.length === 0) throw new Error('--mix is empty');
  return out;
}

/** Picks an op by weight. */
export function picker(mix: ReadonlyArray<{ op: OpName; weight: number }>, rng: Rng): () => OpName {
  const total = mix.reduce((s, m) => s + m.weight, 0);
  return () => {
    let x = (rng.next() / 2 ** 32) * total;
    for (const m of mix) {
      x -= m.weight;
      if (x < 0) return m.op;
    }
    return (mix[mix.length - 1] as { op: OpName }).op;
  };
}
