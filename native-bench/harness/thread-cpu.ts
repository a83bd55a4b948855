import fs from 'node:fs';

/**
 * CPU ms per thread of this process ("name:tid"), from Linux's /proc/self/task (clock ticks of 10 ms):
 * the pool's threads, V8's platform threads (concurrent GC and compilation) and LMDB's show apart from
 * the main thread. A CPU profile of more busy threads than cores counts a thread's wait for a core as its
 * own time; this does not. Empty where /proc is missing.
 */
export function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = fs.readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const name = fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      out.set(`${name}:${tid}`, (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // The thread ended.
    }
  }
  return out;
}

/** The CPU ms each thread spent since `before` (threadCpu()), threads that spent none left out. */
export function threadCpuSince(before: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of threadCpu()) if (v - (before.get(k) ?? 0) > 0) out[k] = v - (before.get(k) ?? 0);
  return out;
}
