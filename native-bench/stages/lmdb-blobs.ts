import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { BlobStore } from '../../src/store/blob-store.js';
import { Store } from '../../src/store/database.js';
import { forEachLimit } from '../harness/concurrency.js';
import { incompressible, sizeLabel } from '../harness/data.js';
import type { BenchContext, Benchmark } from '../harness/types.js';

/**
 * The blob store (lmdb-js, each object durable — `await flushed` — before the next counts as written)
 * against plain files written with fsync of the file and its directory, on the same disk and bytes.
 * Objects are cut into 256 KiB pieces like sealed uploads.
 */

const PIECE = 256 * 1024;

interface Case {
  size: number;
  objects: number;
  inFlight: number;
}

async function writeFileDurably(dirFd: fs.promises.FileHandle, file: string, data: Buffer): Promise<void> {
  const h = await fsp.open(file, 'w');
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
  // A new name is durable only once its directory is.
  await dirFd.sync();
}

async function blobCase(ctx: BenchContext, c: Case, rounds: number): Promise<void> {
  const label = `${sizeLabel(c.size)}.x${c.inFlight}`;
  const data = incompressible(c.size);
  const pieces: Buffer[] = [];
  for (let off = 0; off < c.size; off += PIECE) pieces.push(data.subarray(off, Math.min(c.size, off + PIECE)));
  const ids = Array.from({ length: c.objects }, (_, i) => i);
  const lw: number[] = [];
  const lr: number[] = [];
  const fw: number[] = [];
  const fr: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    const warm = round === 0;
    const dir = fs.mkdtempSync(path.join(ctx.tmp, 'blobs-'));
    const store = Store.open(path.join(dir, 'lmdb'), { mapSize: 8 * 2 ** 30 });
    const blobs = new BlobStore(store);
    try {
      let t0 = process.hrtime.bigint();
      await forEachLimit(ids, c.inFlight, async (i) => {
        await Promise.all(pieces.map((p, seq) => blobs.put('bench', `o${round}-${i}`, 'original', seq, p)));
        await store.flushed();
      });
      const w = Number(process.hrtime.bigint() - t0) / 1e9;
      t0 = process.hrtime.bigint();
      let read = 0;
      for (const i of ids) for (const piece of blobs.read('bench', `o${round}-${i}`, 'original')) read += piece.byteLength;
      const r = Number(process.hrtime.bigint() - t0) / 1e9;
      if (read !== c.size * c.objects) throw new Error(`LMDB read ${read} bytes`);
      if (!warm) {
        lw.push(c.objects / w);
        lr.push((c.size * c.objects) / 1e6 / r);
      }
    } finally {
      await store.close();
    }

    const fdir = path.join(dir, 'files');
    fs.mkdirSync(fdir);
    const dirFd = await fsp.open(fdir, 'r');
    try {
      let t0 = process.hrtime.bigint();
      await forEachLimit(ids, c.inFlight, (i) => writeFileDurably(dirFd, path.join(fdir, `o${i}`), data));
      const w = Number(process.hrtime.bigint() - t0) / 1e9;
      t0 = process.hrtime.bigint();
      let read = 0;
      for (const i of ids) read += fs.readFileSync(path.join(fdir, `o${i}`)).byteLength;
      const r = Number(process.hrtime.bigint() - t0) / 1e9;
      if (read !== c.size * c.objects) throw new Error(`file read ${read} bytes`);
      if (!warm) {
        fw.push(c.objects / w);
        fr.push((c.size * c.objects) / 1e6 / r);
      }
    } finally {
      await dirFd.close();
    }
    fs.rmSync(dir, { recursive: true, force: true });
    ctx.log(`lmdb-blobs ${label}: round ${round}${warm ? ' (warm-up)' : ''} done`);
  }
  const note = `${c.objects} objects per round, ${c.inFlight} in flight, incompressible bytes`;
  ctx.record({
    name: `lmdb-blob.write.${label}`,
    unit: 'objects/s',
    higherIsBetter: true,
    ours: lw,
    reference: { label: 'files + fsync (file and dir)', values: fw },
    note: `${note}; durable before counted (LMDB: await flushed)`,
  });
  ctx.record({
    name: `lmdb-blob.read.${label}`,
    unit: 'MB/s',
    higherIsBetter: true,
    ours: lr,
    reference: { label: 'readFileSync (page cache)', values: fr },
    note,
  });
}

async function run(ctx: BenchContext, cases: readonly Case[], rounds: number): Promise<void> {
  for (const c of cases) await blobCase(ctx, c, rounds);
}

export const lmdbBlobBenchmark: Benchmark = {
  name: 'lmdb-blobs',
  description: 'LMDB blob write (durable) and read vs plain files with fsync',
  quick: (ctx) =>
    run(
      ctx,
      [
        { size: 64 * 1024, objects: 200, inFlight: 1 },
        { size: 64 * 1024, objects: 400, inFlight: 8 },
        { size: 2 ** 20, objects: 100, inFlight: 1 },
        { size: 2 ** 20, objects: 200, inFlight: 8 },
      ],
      3,
    ),
  full: (ctx) =>
    run(
      ctx,
      [
        { size: 64 * 1024, objects: 2000, inFlight: 1 },
        { size: 64 * 1024, objects: 4000, inFlight: 8 },
        { size: 2 ** 20, objects: 500, inFlight: 1 },
        { size: 2 ** 20, objects: 1000, inFlight: 8 },
        { size: 32 * 2 ** 20, objects: 20, inFlight: 1 },
      ],
      5,
    ),
};
