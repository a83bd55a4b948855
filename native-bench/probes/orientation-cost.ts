/**
 * Ad-hoc probe (not a benchmark): what orientation detection (src/pipeline/orientation.ts) costs. On the
 * bench's A4 pages rendered at 300 dpi (as a scanned PDF's pages are for OCR), in one engine:
 *   - an upright page: `engine.recognize` alone (what extraction did before) against `recognizeUpright`
 *     (what it does now), alternating, `reps` times each;
 *   - the same page turned by 90°, 180° and 270° (sharp, no EXIF): `recognizeUpright` wall time, the turn
 *     it found and the CER of its text;
 *   - a blank A4 page (a scanned back side): both ways;
 *   - the first `detectOrientation` call (the OSD worker's start) and the process RSS before and after it.
 * Usage: flock /tmp/bench.lock npx tsx native-bench/probes/orientation-cost.ts [pages=2] [reps=3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { createOcrEngine, recognizeUpright } from '../../src/pipeline/index.js';
import { cer } from '../harness/pages.js';
import { renderedOcrPages } from '../stages/ocr.js';

const count = Number(process.argv[2] ?? 2);
const reps = Number(process.argv[3] ?? 3);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'orientation-probe-'));
const pages = await renderedOcrPages(tmp, count);
const engine = await createOcrEngine({ langs: ['deu', 'eng'] });
const ms = (t0: number) => performance.now() - t0;
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const rssMiB = () => Math.round(process.memoryUsage().rss / 2 ** 20);
const size = async (png: Buffer) => {
  const m = await sharp(png).metadata();
  return { width: m.width ?? 0, height: m.height ?? 0 };
};

try {
  // Warm the recognition engine so the first page does not carry its start.
  const first = pages[0];
  if (!first) throw new Error('no pages');
  await engine.recognize(first.png, { ...(await size(first.png)), dpi: 300, psm: 'auto' });

  const rssBefore = rssMiB();
  let t0 = performance.now();
  await engine.detectOrientation(first.png, { dpi: 300 });
  console.log(
    `first detectOrientation (OSD worker start + one page): ${ms(t0).toFixed(0)} ms; RSS ${rssBefore} → ${rssMiB()} MiB`,
  );

  t0 = performance.now();
  const osd = await engine.detectOrientation(first.png, { dpi: 300 });
  console.log(`detectOrientation of an upright A4 page (warm): ${ms(t0).toFixed(0)} ms → ${JSON.stringify(osd)}`);

  for (const [i, page] of pages.entries()) {
    const dims = await size(page.png);
    const opts = { ...dims, dpi: 300, psm: 'auto' as const };
    const before: number[] = [];
    const after: number[] = [];
    for (let r = 0; r < reps; r++) {
      t0 = performance.now();
      await engine.recognize(page.png, opts);
      before.push(ms(t0));
      t0 = performance.now();
      const up = await recognizeUpright(engine, page.png, opts);
      after.push(ms(t0));
      if (up.turn !== 0) throw new Error(`upright page ${i + 1} was turned by ${up.turn}`);
    }
    console.log(
      `page ${i + 1} upright ${dims.width}×${dims.height}: recognize ${mean(before).toFixed(0)} ms, recognizeUpright ${mean(after).toFixed(0)} ms (mean of ${reps})`,
    );
    for (const degrees of [90, 180, 270]) {
      const lying = await sharp(page.png).rotate(degrees).png({ compressionLevel: 1 }).toBuffer();
      const turnedDims = await size(lying);
      t0 = performance.now();
      const plain = await engine.recognize(lying, { ...turnedDims, dpi: 300, psm: 'auto' });
      const plainMs = ms(t0);
      t0 = performance.now();
      const up = await recognizeUpright(engine, lying, { ...turnedDims, dpi: 300, psm: 'auto' });
      console.log(
        `page ${i + 1} turned ${degrees}°: as it lies ${plainMs.toFixed(0)} ms CER ${(cer(page.truth, plain.text) * 100).toFixed(1)} % (confidence ${plain.confidence}); recognizeUpright ${ms(t0).toFixed(0)} ms, turn ${up.turn}, CER ${(cer(page.truth, up.result.text) * 100).toFixed(1)} %`,
      );
    }
  }

  const blank = await sharp({ create: { width: 2480, height: 3508, channels: 3, background: '#ffffff' } })
    .png({ compressionLevel: 1 })
    .toBuffer();
  const blankOpts = { width: 2480, height: 3508, dpi: 300, psm: 'auto' as const };
  const before: number[] = [];
  const after: number[] = [];
  for (let r = 0; r < reps; r++) {
    t0 = performance.now();
    await engine.recognize(blank, blankOpts);
    before.push(ms(t0));
    t0 = performance.now();
    await recognizeUpright(engine, blank, blankOpts);
    after.push(ms(t0));
  }
  console.log(
    `blank A4: recognize ${mean(before).toFixed(0)} ms, recognizeUpright ${mean(after).toFixed(0)} ms (mean of ${reps})`,
  );
} finally {
  await engine.terminate();
  rmSync(tmp, { recursive: true, force: true });
}
