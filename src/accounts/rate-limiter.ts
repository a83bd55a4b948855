import type { Clock } from './clock.js';

/**
 * Counts events per key in a fixed window; `take` refuses once a key has used its allowance. Memory is
 * bounded: expired entries are dropped as they are met, and beyond `maxKeys` the oldest window goes.
 */
export class RateLimiter {
  readonly #windows = new Map<string, { startMs: number; count: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** True while `key` is over its allowance (does not count). */
  blocked(key: string): boolean {
    const w = this.#current(key);
    return w !== undefined && w.count >= this.limit;
  }

  /** Counts one event; false if it exceeds the allowance. */
  take(key: string): boolean {
    const now = this.clock.now();
    let w = this.#current(key);
    if (!w) {
      if (this.#windows.size >= this.maxKeys) {
        const oldest = this.#windows.keys().next();
        if (!oldest.done) this.#windows.delete(oldest.value);
      }
      w = { startMs: now, count: 0 };
      this.#windows.set(key, w);
    }
    if (w.count >= this.limit) return false;
    w.count++;
    return true;
  }

  reset(key: string): void {
    this.#windows.delete(key);
  }

  #current(key: string): { startMs: number; count: number } | undefined {
    const w = this.#windows.get(key);
    if (w && this.clock.now() - w.startMs >= this.windowMs) {
      this.#windows.delete(key);
      return undefined;
    }
    return w;
  }
}

/** `ipv4:127.0.0.1:53412` → `ipv4:127.0.0.1`; `ipv6:[::1]:5000` → `ipv6:[::1]`. */
export function peerAddress(peer: string): string {
  return peer.replace(/:\d+$/, '');
}
