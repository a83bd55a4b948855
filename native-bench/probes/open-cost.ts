/**
 * Probe: CPU cost of `Keyring.openForTenant` on small sealed texts (what a search pays per hit to make
 * snippets). Seals N texts of `size` bytes of realistic words (harness/data.ts `textLike`) with the
 * keyring the server uses (LMDB store in a temp dir, tenant key under a master key), then times rounds of
 * opening all N. Each side is a source tree (a folder holding `src/`, e.g. a copy of `src/` at another
 * commit with `node_modules` linked beside it); with two sides the rounds alternate A B, B A, … so this
 * machine's swings hit both alike. Prints per side the median and first quartile over rounds of the mean
 * wall µs per open, the medians of the process CPU µs (user + system, GC threads included) and of the
 * minor page faults per open, B/A of the medians and the median of B/A within each round. The same tree on both sides shows the
 * noise floor.
 *
 *   flock /tmp/bench.lock npx tsx native-bench/probes/open-cost.ts A_DIR [B_DIR|-] [n=200] [rounds=30] [size=10240]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { textLike } from '../harness/data.js';

const [aDir, bArg, nArg, roundsArg, sizeArg] = process.argv.slice(2);
if (!aDir) throw new Error('usage: open-cost.ts A_DIR [B_DIR|-] [n] [rounds] [size]');
const bDir = bArg && bArg !== '-' ? bArg : undefined;
const N = Number(nArg ?? 200);
const ROUNDS = Number(roundsArg ?? 30);
const SIZE = Number(sizeArg ?? 10_240);
const TENANT = 'tenant-bench';
const KIND = 'text';
const texts = Array.from({ length: N }, (_, i) => textLike(SIZE, i + 1));
const ids = texts.map((_, i) => `doc-${i}`);

interface Side {
  readonly name: string;
  readonly sealed: readonly Buffer[];
  readonly open: (sealed: Buffer, id: string) => Promise<Buffer>;
  readonly close: () => Promise<void>;
  readonly perRound: number[];
  readonly cpuPerRound: number[];
  readonly faultsPerRound: number[];
}

async function side(name: string, dir: string): Promise<Side> {
  const root = path.resolve(dir);
  const { Store } = await import(path.join(root, 'src/store/database.ts'));
  const { Keyring } = await import(path.join(root, 'src/store/keyring.ts'));
  const { createLogger } = await import(path.join(root, 'src/server/logger.ts'));
  const data = fs.mkdtempSync(path.join(os.tmpdir(), `open-cost-${name}-`));
  const store = Store.open(data, { mapSize: 2 ** 28 });
  const keyring = await Keyring.open(store, createLogger('silent'), {
    masterKey: Buffer.alloc(32, 7).toString('base64'),
    masterKeyFile: path.join(data, 'master.key'),
  });
  const ctx = (id: string) => ({ kind: KIND, id });
  const sealed: Buffer[] = [];
  for (let i = 0; i < N; i++) sealed.push(await keyring.sealForTenant(TENANT, texts[i], ctx(ids[i] as string)));
  // Each side checks its own round trip before it is timed.
  for (let i = 0; i < N; i++) {
    const plain: Buffer = await keyring.openForTenant(TENANT, sealed[i], ctx(ids[i] as string));
    if (!plain.equals(texts[i] as Buffer)) throw new Error(`${name}: text ${i} did not round-trip`);
  }
  return {
    name,
    sealed,
    open: (s, id) => keyring.openForTenant(TENANT, s, ctx(id)),
    close: async () => {
      await store.root.close();
      fs.rmSync(data, { recursive: true, force: true });
    },
    perRound: [],
    cpuPerRound: [],
    faultsPerRound: [],
  };
}

async function round(s: Side): Promise<void> {
  const faults0 = process.resourceUsage().minorPageFault;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < N; i++) bytes += (await s.open(s.sealed[i] as Buffer, ids[i] as string)).byteLength;
  const us = Number(process.hrtime.bigint() - t0) / 1e3 / N;
  const cpu = process.cpuUsage(cpu0);
  if (bytes !== N * SIZE) throw new Error('short open');
  s.perRound.push(us);
  s.cpuPerRound.push((cpu.user + cpu.system) / N);
  s.faultsPerRound.push((process.resourceUsage().minorPageFault - faults0) / N);
}

const sides: Side[] = [await side('A', aDir)];
if (bDir) sides.push(await side('B', bDir));
// Warm-up (JIT, zstd contexts, allocator), not timed.
for (let r = 0; r < 5; r++) for (const s of sides) await round(s);
for (const s of sides) {
  s.perRound.length = 0;
  s.cpuPerRound.length = 0;
  s.faultsPerRound.length = 0;
}
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 ? [...sides].reverse() : sides;
  for (const s of order) await round(s);
}
const at = (x: number[], f: number) => [...x].sort((p, q) => p - q)[Math.min(x.length - 1, Math.floor(x.length * f))] as number;
const result: Record<string, unknown> = { n: N, rounds: ROUNDS, size: SIZE };
for (const s of sides) {
  result[s.name] = {
    p50us: +at(s.perRound, 0.5).toFixed(2),
    p25us: +at(s.perRound, 0.25).toFixed(2),
    cpuP50us: +at(s.cpuPerRound, 0.5).toFixed(2),
    faultsP50: +at(s.faultsPerRound, 0.5).toFixed(2),
  };
}
if (sides.length === 2) {
  const [a, b] = sides as [Side, Side];
  result.ratioBA = +(at(b.perRound, 0.5) / at(a.perRound, 0.5)).toFixed(3);
  // Rounds run back to back, so the ratio within each round is the steadier figure on a busy machine.
  result.roundRatioBA = +at(
    b.perRound.map((v, i) => v / (a.perRound[i] as number)),
    0.5,
  ).toFixed(3);
  result.cpuRatioBA = +(at(b.cpuPerRound, 0.5) / at(a.cpuPerRound, 0.5)).toFixed(3);
}
console.log(JSON.stringify(result));
for (const s of sides) await s.close();
