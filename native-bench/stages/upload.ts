import fs from 'node:fs';
import path from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { ArchivarClient } from '../../src/sdk/index.js';
import { type BenchServer, realSession, startBenchServer } from '../harness/bench-server.js';
import { forEachLimit } from '../harness/concurrency.js';
import { sizeLabel, textLike } from '../harness/data.js';
import { SinkClient, sinkUpload } from '../harness/sink.js';
import type { BenchContext, Benchmark } from '../harness/types.js';

/**
 * Upload throughput over gRPC on loopback through a server this benchmark starts (own process, real
 * session): client-side sealing, verified durable write, job enqueue — per file. Reference: the same
 * plaintext bytes streamed over a bare grpc-js client-streaming call into a sink that discards them.
 * Bar (issue 3): 1 MiB files ≥ 200 files/s on 2 cores.
 */

interface Case {
  size: number;
  files: number;
  rounds: number;
}

const CONCURRENCY = 8;

async function uploadCase(
  ctx: BenchContext,
  server: BenchServer,
  client: ArchivarClient,
  c: Case,
  round0: number,
): Promise<void> {
  const label = sizeLabel(c.size);
  const filesPerSec: number[] = [];
  const mbPerSec: number[] = [];
  const sinkFilesPerSec: number[] = [];
  const sinkMbPerSec: number[] = [];
  const sink = new SinkClient(server.sinkAddress, credentials.createInsecure(), { 'grpc.max_receive_message_length': -1 });
  try {
    for (let round = 0; round < c.rounds; round++) {
      // Unique bytes per file and round: the server would store a duplicate only once.
      const dir = fs.mkdtempSync(path.join(ctx.tmp, `upload-${label}-`));
      const paths: string[] = [];
      for (let i = 0; i < c.files; i++) {
        const p = path.join(dir, `f${i}.txt`);
        fs.writeFileSync(p, textLike(c.size, (round0 + round) * 1_000_003 + i + 1));
        paths.push(p);
      }
      ctx.log(`upload ${label}: round ${round + 1}/${c.rounds}, ${c.files} files, ${CONCURRENCY} in flight`);
      const t0 = process.hrtime.bigint();
      await forEachLimit(paths, CONCURRENCY, async (p) => {
        await client.upload(p, { mediaType: 'text/plain', timeoutMs: 600_000 });
      });
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      filesPerSec.push(c.files / secs);
      mbPerSec.push((c.files * c.size) / 1e6 / secs);
      ctx.log(
        `upload ${label}: round ${round + 1}: ${(c.files / secs).toFixed(1)} files/s, ${((c.files * c.size) / 1e6 / secs).toFixed(1)} MB/s`,
      );
      // Let the queued jobs finish so the next round starts from the same state (not timed, but bounded:
      // a processing backlog is reported rather than waited out forever).
      const idle = await Promise.race([
        server.idle().then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 120_000).unref()),
      ]);
      if (!idle) ctx.log(`upload ${label}: job runner still busy 120 s after round ${round + 1}; continuing`);

      const bytes = paths.map((p) => fs.readFileSync(p));
      const s0 = process.hrtime.bigint();
      await forEachLimit(bytes, CONCURRENCY, async (b) => {
        const n = await sinkUpload(sink, b, 1024 * 1024);
        if (n !== b.byteLength) throw new Error(`sink saw ${n} of ${b.byteLength} bytes`);
      });
      const ssecs = Number(process.hrtime.bigint() - s0) / 1e9;
      sinkFilesPerSec.push(c.files / ssecs);
      sinkMbPerSec.push((c.files * c.size) / 1e6 / ssecs);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    sink.close();
  }
  const ref = 'bare grpc-js stream to a sink (no seal/store)';
  const note = `${c.files} files × ${c.rounds} rounds, ${CONCURRENCY} in flight, text-like content, client and server on this machine`;
  ctx.record({
    name: `upload.${label}.files`,
    unit: 'files/s',
    higherIsBetter: true,
    ours: filesPerSec,
    reference: { label: ref, values: sinkFilesPerSec },
    ...(c.size === 2 ** 20 ? { bar: { text: '≥ 200 files/s (1 MiB, 2 cores)', atLeast: 200 } } : {}),
    note,
  });
  ctx.record({
    name: `upload.${label}.bytes`,
    unit: 'MB/s',
    higherIsBetter: true,
    ours: mbPerSec,
    reference: { label: ref, values: sinkMbPerSec },
    note: 'plaintext MB (10^6 bytes) per second',
  });
}

async function run(ctx: BenchContext, cases: readonly Case[]): Promise<void> {
  const server = await startBenchServer();
  try {
    const token = await realSession(server.address);
    const client = new ArchivarClient({ server: server.address, insecure: true, token });
    try {
      // Warm-up: server key, channel, JIT, first LMDB pages.
      const warm = path.join(ctx.tmp, 'warm.txt');
      for (let i = 0; i < 5; i++) {
        fs.writeFileSync(warm, textLike(64 * 1024, 999_000 + i));
        await client.upload(warm);
      }
      await server.idle();
      let round0 = 0;
      for (const c of cases) {
        await uploadCase(ctx, server, client, c, round0);
        round0 += c.rounds;
      }
    } finally {
      client.close();
    }
  } finally {
    await server.stop();
  }
}

export const uploadBenchmark: Benchmark = {
  name: 'upload',
  description: 'gRPC upload throughput on loopback (10 KiB, 1 MiB, 100 MiB) vs a bare grpc-js sink',
  // Quick mode keeps `npm run bench` under 10 minutes: most of this stage's time is the untimed wait for the
  // job runner to process each round's documents, so quick rounds are small.
  quick: (ctx) =>
    run(ctx, [
      { size: 10 * 1024, files: 200, rounds: 3 },
      { size: 2 ** 20, files: 48, rounds: 3 },
      { size: 100 * 2 ** 20, files: 1, rounds: 1 },
    ]),
  full: (ctx) =>
    run(ctx, [
      { size: 10 * 1024, files: 3000, rounds: 5 },
      { size: 2 ** 20, files: 1000, rounds: 5 },
      { size: 100 * 2 ** 20, files: 8, rounds: 3 },
    ]),
};
