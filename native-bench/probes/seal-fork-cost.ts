/**
 * Probe: what the seal stage's way of timing the zstd CLI costs *our* side. The stage spawns the CLI
 * from the benchmark process between our runs (ours, ref, ours, ref …); libuv 1.46 spawns with a plain
 * fork(), which write-protects every page of the benchmark process, so the next run of ours takes a
 * copy-on-write page fault for each page it writes (on this VM ~20–30 µs each). The CLI pays only its
 * own process start-up. This probe runs the same alternation twice on the same bytes: once with the CLI
 * spawned from this process (as the stage does), once with it spawned from a small helper process
 * (this file started with `--helper`, which times spawn→exit exactly like harness/native.ts), so this
 * process never forks while timing. It prints medians, the ratio to the CLI, and our page faults.
 *
 *   flock /tmp/bench.lock npx tsx native-bench/probes/seal-fork-cost.ts [text|random] [reps]
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateX25519KeyPair, openStream, sealStream } from '../../src/crypto/index.js';
import { generate } from '../harness/data.js';
import { runNative } from '../harness/native.js';
import { spreadOf } from '../harness/stats.js';

interface Request {
  id: number;
  cmd: string;
  args: string[];
}

if (process.argv[2] === '--helper') {
  process.on('message', (m: Request) => {
    runNative(m.cmd, m.args, { stdoutFile: '/dev/null' }).then(
      (r) => process.send?.({ id: m.id, seconds: r.seconds }),
      (err: unknown) => process.send?.({ id: m.id, error: String(err) }),
    );
  });
} else {
  await main();
}

async function main(): Promise<void> {
  const SIZE = 64 * 2 ** 20;
  const kinds = (process.argv[2] ? [process.argv[2]] : ['text', 'random']) as ('text' | 'random')[];
  const REPS = Number(process.argv[3] ?? 5);
  const CONTEXT = { kind: 'original' } as const;
  const key = generateX25519KeyPair();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seal-fork-'));

  const helper = fork(new URL(import.meta.url).pathname, ['--helper'], { execArgv: process.execArgv, stdio: 'inherit' });
  let next = 0;
  const pending = new Map<number, (s: number) => void>();
  helper.on('message', (m: { id: number; seconds?: number; error?: string }) => {
    const done = pending.get(m.id);
    pending.delete(m.id);
    if (m.error !== undefined) throw new Error(m.error);
    done?.(m.seconds ?? Number.NaN);
  });
  const viaHelper = (cmd: string, args: string[]) =>
    new Promise<number>((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      helper.send({ id, cmd, args } satisfies Request);
    });
  const here = async (cmd: string, args: string[]) => (await runNative(cmd, args, { stdoutFile: '/dev/null' })).seconds;

  for (const kind of kinds) {
    const data = generate(kind, SIZE, SIZE);
    const file = path.join(dir, `${kind}.bin`);
    fs.writeFileSync(file, data);
    await runNative('zstd', ['-3', '-T1', '-q', '-f', file, '-o', `${file}.zst`]);
    const s = sealStream([data], { serverPublicKey: key.publicKey, context: CONTEXT });
    const chunks: Buffer[] = [];
    for await (const c of s.body) chunks.push(c);

    const sealOnce = async () => {
      const sealed = sealStream([data], { serverPublicKey: key.publicKey, context: CONTEXT });
      let n = 0;
      for await (const c of sealed.body) n += c.byteLength;
      await sealed.summary;
      return n;
    };
    const openOnce = async () => {
      const opened = openStream(s.header, chunks, { x25519: key }, { maxPlaintextBytes: SIZE, context: CONTEXT });
      let n = 0;
      for await (const p of opened) n += p.byteLength;
      await opened.summary;
      return n;
    };
    const cases = [
      { op: 'seal', ours: sealOnce, args: ['-3', '-T1', '-q', '-c', file] },
      { op: 'open', ours: openOnce, args: ['-d', '-q', '-c', `${file}.zst`] },
    ];
    for (const c of cases) {
      for (const [how, spawnRef] of [
        ['CLI spawned here (as the stage)', here],
        ['CLI spawned by a helper process', viaHelper],
      ] as const) {
        const ours: number[] = [];
        const ref: number[] = [];
        const faults: number[] = [];
        const cpu: number[] = [];
        for (let i = 0; i <= REPS; i++) {
          const f0 = process.resourceUsage().minorPageFault;
          const c0 = process.cpuUsage();
          const t0 = process.hrtime.bigint();
          await c.ours();
          const secs = Number(process.hrtime.bigint() - t0) / 1e9;
          const cu = process.cpuUsage(c0);
          const f = process.resourceUsage().minorPageFault - f0;
          const r = await spawnRef('zstd', c.args);
          if (i === 0) continue; // warm-up pair
          ours.push(secs);
          ref.push(r);
          faults.push(f);
          cpu.push((cu.user + cu.system) / 1e6);
        }
        const mb = (secs: number) => SIZE / 1e6 / secs;
        const o = spreadOf(ours).median;
        const r = spreadOf(ref).median;
        console.log(
          `${c.op}.${kind}.64MiB  ${how.padEnd(32)} ours ${mb(o).toFixed(0).padStart(4)} MB/s (cpu ${spreadOf(cpu).median.toFixed(3)} s, ` +
            `${spreadOf(faults).median.toFixed(0).padStart(5)} page faults)  CLI ${mb(r).toFixed(0).padStart(4)} MB/s  ratio ${(r / o).toFixed(2)}×  ` +
            `load ${os.loadavg()[0]?.toFixed(2)}`,
        );
      }
    }
    fs.rmSync(file);
    fs.rmSync(`${file}.zst`);
  }
  helper.kill();
  fs.rmSync(dir, { recursive: true, force: true });
}
