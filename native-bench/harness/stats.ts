import type { Spread } from './types.js';

export function spreadOf(values: readonly number[]): Spread {
  if (values.length === 0) throw new Error('spreadOf: no samples');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { min: sorted[0] as number, median, max: sorted[sorted.length - 1] as number, samples: sorted.length };
}

export function isSpread(v: readonly number[] | Spread): v is Spread {
  return !Array.isArray(v);
}

export interface RepeatOptions {
  /** Untimed runs first: JIT, page cache, lazy initialisation. */
  warmup: number;
  repetitions: number;
}

/** Runs `fn` warmup + repetitions times and returns the seconds each timed run took. */
export async function timeRuns(options: RepeatOptions, fn: () => Promise<unknown> | unknown): Promise<number[]> {
  for (let i = 0; i < options.warmup; i++) await fn();
  const seconds: number[] = [];
  for (let i = 0; i < options.repetitions; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return seconds;
}

/** MB/s (10^6 bytes, as zstd and openssl count) from bytes and seconds. */
export function mbPerSecond(bytes: number, seconds: readonly number[]): number[] {
  return seconds.map((s) => bytes / 1e6 / s);
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

/** Seconds one run took, measured by the caller (a native process times itself from spawn to exit). */
export type TimedRun = () => Promise<number>;

/** Times a wall-clock run of `fn` in seconds. */
export async function seconds(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/**
 * Runs ours and the reference alternately (ours, ref, ours, ref …) after a warm-up of each, so both
 * see the same background load on a shared machine; returns the seconds of each timed run.
 */
export async function alternate(
  options: RepeatOptions,
  ours: TimedRun,
  reference: TimedRun,
): Promise<{ ours: number[]; reference: number[] }> {
  for (let i = 0; i < options.warmup; i++) {
    await ours();
    await reference();
  }
  const out = { ours: [] as number[], reference: [] as number[] };
  for (let i = 0; i < options.repetitions; i++) {
    out.ours.push(await ours());
    out.reference.push(await reference());
  }
  return out;
}
