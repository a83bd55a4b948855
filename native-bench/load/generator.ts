import type * as hdr from 'hdr-histogram-js';
import { latencyHistogram } from './histogram.js';
import { type OpContext, type OpName, runOp, statusName } from './ops.js';

/**
 * Open loop: requests are sent at fixed intended times (rate R), whether or not earlier ones have
 * answered, and each latency is measured from its *intended* send time — so a stalled server shows up
 * as latency instead of as fewer requests (no coordinated omission). Closed loop: C callers, each
 * sending its next request when the previous one answered.
 */

export interface LoadSpec {
  readonly mode: 'open' | 'closed';
  /** Requests per second (open loop). */
  readonly rate: number;
  /** Callers (closed loop). */
  readonly concurrency: number;
  /** Stop after this many ms … */
  readonly durationMs: number;
  /** … or after this many requests, whichever comes first (0 = no count limit). */
  readonly requests: number;
  /** Open loop: at most this many requests outstanding; beyond it a send is counted as CLIENT_SATURATED. */
  readonly maxInFlight: number;
  /** After the last send, how long to wait for answers still in flight. */
  readonly drainMs: number;
  /**
   * First run the same load this long without recording it (JIT, the server's caches): the figures are of
   * the server warm, as it runs once it has served a while. 0 (default) measures from the first request.
   */
  readonly warmupMs?: number;
}

export interface OpResult {
  readonly histogram: hdr.Histogram;
  ok: number;
  readonly errors: Map<string, number>;
}

export interface LoadResult {
  readonly spec: LoadSpec;
  readonly elapsedMs: number;
  readonly sent: number;
  readonly byOp: Map<OpName, OpResult>;
  readonly all: OpResult;
}

function newResult(): OpResult {
  return { histogram: latencyHistogram(), ok: 0, errors: new Map() };
}

const nowNs = () => process.hrtime.bigint();

export async function runLoad(spec: LoadSpec, ctxs: readonly OpContext[], pick: () => OpName): Promise<LoadResult> {
  if (ctxs.length === 0) throw new Error('runLoad needs at least one connection');
  if (spec.warmupMs) await runLoad({ ...spec, durationMs: spec.warmupMs, requests: 0, warmupMs: 0 }, ctxs, pick);
  const byOp = new Map<OpName, OpResult>();
  const all = newResult();
  const record = (op: OpName, startNs: bigint, error: string | null) => {
    const us = Number(nowNs() - startNs) / 1000;
    let r = byOp.get(op);
    if (!r) {
      r = newResult();
      byOp.set(op, r);
    }
    for (const target of [r, all]) {
      // Failures are timed too (a timeout is a slow answer), but reported apart by status.
      target.histogram.recordValue(Math.max(1, Math.round(us)));
      if (error === null) target.ok++;
      else target.errors.set(error, (target.errors.get(error) ?? 0) + 1);
    }
  };
  const fire = (op: OpName, startNs: bigint, ctx: OpContext): Promise<void> =>
    runOp(op, ctx).then(
      () => record(op, startNs, null),
      (err: unknown) => record(op, startNs, statusName(err)),
    );

  const t0 = nowNs();
  const endNs = t0 + BigInt(Math.round(spec.durationMs * 1e6));
  const limit = spec.requests > 0 ? spec.requests : Number.POSITIVE_INFINITY;
  let sent = 0;
  const inFlight = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  if (spec.mode === 'open') {
    const intervalNs = 1e9 / spec.rate;
    // Bounded: stops at the deadline or the count, whichever comes first.
    while (sent < limit) {
      const intended = t0 + BigInt(Math.round(sent * intervalNs));
      if (intended >= endNs) break;
      const now = nowNs();
      if (intended > now) {
        await new Promise((r) => setTimeout(r, Math.max(0, Number(intended - now) / 1e6 - 0.5)));
        continue;
      }
      const op = pick();
      const ctx = ctxs[sent % ctxs.length] as OpContext;
      sent++;
      if (inFlight.size >= spec.maxInFlight) record(op, intended, 'CLIENT_SATURATED');
      else track(fire(op, intended, ctx));
      // Yield now and then so answers are processed even when we are behind schedule.
      if (sent % 64 === 0) await new Promise((r) => setImmediate(r));
    }
  } else {
    const callers = Array.from({ length: spec.concurrency }, async (_, i) => {
      const ctx = ctxs[i % ctxs.length] as OpContext;
      while (sent < limit && nowNs() < endNs) {
        sent++;
        await fire(pick(), nowNs(), ctx);
      }
    });
    await Promise.all(callers);
  }
  const sendEnd = nowNs();
  if (inFlight.size > 0) {
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      Promise.all([...inFlight]).then(() => true),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), spec.drainMs);
      }),
    ]);
    clearTimeout(timer);
    if (!drained) {
      all.errors.set('DRAIN_TIMEOUT', inFlight.size);
    }
  }
  // Throughput is over the sending window: the drain is not part of the offered load.
  return { spec, elapsedMs: Number(sendEnd - t0) / 1e6, sent, byOp, all };
}
