import { describe, expect, it } from 'vitest';
import { runNative } from '../../native-bench/harness/native.js';

describe('native-bench: reference tools run from the launcher process', () => {
  it('times a tool, returns its output, and never forks the benchmark process itself', async () => {
    const [a, b] = await Promise.all([
      runNative('sh', ['-c', 'echo $PPID; echo to-stderr >&2']),
      runNative('sh', ['-c', 'echo second']),
    ]);
    const parent = Number(a.stdout.trim());
    expect(parent).toBeGreaterThan(1);
    expect(parent).not.toBe(process.pid); // started by the launcher, not by us
    expect(a.stderr).toBe('to-stderr\n');
    expect(a.seconds).toBeGreaterThan(0);
    expect(b.stdout).toBe('second\n');
    await expect(runNative('sh', ['-c', 'echo broken >&2; exit 3'])).rejects.toThrow(/exited 3: broken/);
    await expect(runNative('no-such-tool-archivar', [])).rejects.toThrow(/no-such-tool-archivar/);
  });
});
