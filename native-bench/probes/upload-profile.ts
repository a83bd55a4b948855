/**
 * Ad-hoc probe (not a benchmark): 1 MiB text-like uploads through the real server in a child process,
 * reporting wall time, files/s and CPU by process and by server thread (from /proc). Optional
 * `--cpu-prof` of the server child. Usage: npx tsx native-bench/probes/upload-profile.ts [files] [inflight] [prof]
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArchivarClient } from '../../src/sdk/index.js';
import { realSession } from '../harness/bench-server.js';
import { forEachLimit } from '../harness/concurrency.js';
import { textLike } from '../harness/data.js';

const files = Number(process.argv[2] ?? 200);
const inflight = Number(process.argv[3] ?? 8);
const prof = process.argv[4] === 'prof';
const level = process.env.LEVEL ? Number(process.env.LEVEL) : undefined;
const CHILD = fileURLToPath(
  new URL(process.env.NORUNNER ? './server-child-norunner.ts' : '../harness/server-child.ts', import.meta.url),
);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'archivar-probe-'));
const extra = JSON.parse(process.env.SETTINGS ?? '{}') as Record<string, string>;
const child = fork(CHILD, [JSON.stringify({ data: dataDir, ...extra })], {
  execArgv: ['--import', 'tsx', ...(prof ? ['--cpu-prof', '--cpu-prof-dir=/tmp/up/prof'] : [])],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const ready = await new Promise<{ port: number; pid: number }>((resolve) =>
  child.on('message', (m: { type: string; port: number; pid: number }) => {
    if (m.type === 'ready') resolve(m);
  }),
);
let idleId = 1000;
const idle = () =>
  new Promise<void>((resolve) => {
    const id = idleId++;
    const on = (m: { type: string; id: number }) => {
      if (m.type === 'idle' && m.id === id) {
        child.off('message', on);
        resolve();
      }
    };
    child.on('message', on);
    child.send({ type: 'idle', id });
  });
// utime and stime in /proc/.../stat are in clock ticks (USER_HZ, 100 on Linux).
const tick = 100;
function threads(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = ((Number(f[11]) + Number(f[12])) * 1000) / tick;
      out.set(`${tid === String(pid) ? 'main' : name}#${tid}`, ms);
    } catch {}
  }
  return out;
}
const address = `127.0.0.1:${ready.port}`;
const token = await realSession(address);
const client = new ArchivarClient({
  server: address,
  insecure: true,
  token,
  ...(level !== undefined ? { seal: { compressionLevel: level } } : {}),
});
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archivar-probe-files-'));
const warm = Array.from({ length: 20 }, (_, i) => {
  const p = path.join(dir, `w${i}.txt`);
  fs.writeFileSync(p, textLike(2 ** 20, 77_000 + i));
  return p;
});
const paths = Array.from({ length: files }, (_, i) => {
  const p = path.join(dir, `f${i}.txt`);
  fs.writeFileSync(p, textLike(2 ** 20, (Date.now() % 100000) * 1000 + i));
  return p;
});
await forEachLimit(warm, inflight, async (p) => {
  await client.upload(p, { mediaType: 'text/plain' });
});
await idle();
const s0 = threads(ready.pid);
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
await forEachLimit(paths, inflight, async (p) => {
  await client.upload(p, { mediaType: 'text/plain', timeoutMs: 600_000 });
});
const t1 = process.hrtime.bigint();
const secs = Number(t1 - t0) / 1e9;
const c = process.cpuUsage(c0);
console.log(`timed window (CLOCK_MONOTONIC s): ${(Number(t0) / 1e9).toFixed(6)},${(Number(t1) / 1e9).toFixed(6)}`);
const s1 = threads(ready.pid);
console.log(`${files} files, ${inflight} in flight: ${secs.toFixed(2)} s, ${(files / secs).toFixed(1)} files/s`);
console.log(
  `client cpu ${((c.user + c.system) / 1000 / files).toFixed(2)} ms/file (${(((c.user + c.system) / 1e6 / secs) * 100).toFixed(0)} % of a core)`,
);
let total = 0;
const byThread: [string, number][] = [];
for (const [k, v] of s1) {
  const d = v - (s0.get(k) ?? 0);
  total += d;
  byThread.push([k, d]);
}
console.log(`server cpu ${(total / files).toFixed(2)} ms/file (${((total / 1000 / secs) * 100).toFixed(0)} % of a core)`);
for (const [k, v] of byThread.sort((a, b) => b[1] - a[1]).slice(0, 8))
  if (v > 0) console.log(`  ${k.padEnd(24)} ${(v / files).toFixed(2)} ms/file`);
const ti = process.hrtime.bigint();
await idle();
console.log(`job runner idle after ${(Number(process.hrtime.bigint() - ti) / 1e9).toFixed(2)} s more`);
const s2 = threads(ready.pid);
let t2 = 0;
for (const [k, v] of s2) t2 += v - (s1.get(k) ?? 0);
console.log(`server cpu while draining jobs ${(t2 / files).toFixed(2)} ms/file`);
client.close();
child.send({ type: 'shutdown' });
await new Promise((r) => child.once('exit', r));
fs.rmSync(dir, { recursive: true, force: true });
fs.rmSync(dataDir, { recursive: true, force: true });
