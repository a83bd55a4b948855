import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { chooseScale, imageInfo, preprocessForOcr, resolveLimits } from '../../src/pipeline/index.js';
import { multiPageTiff, pngHeaderOnly, rotatedPhotoJpeg } from '../fixtures/images.js';
import { pipelineError } from '../fixtures/pipeline-error.js';
import { renderTextPng } from '../fixtures/text-image.js';

describe('image', () => {
  it('reads upright dimensions and EXIF DateTimeOriginal of a rotated photo', async () => {
    const upright = renderTextPng(['Quittung Nr. 7'], { fontSize: 30 });
    const { width, height } = await sharp(upright).metadata();
    const info = await imageInfo(await rotatedPhotoJpeg(upright));
    expect(info).toMatchObject({ format: 'jpeg', width, height, pages: 1 });
    expect(info.exif).toMatchObject({ orientation: 6, make: 'Archivar', model: 'TestCam' });
    expect(info.exif.dateTimeOriginal?.toISOString()).toBe('2023-07-14T09:26:53.000Z');
  });

  it('preprocesses for OCR: upright, grayscale, upscaled small images', async () => {
    const upright = renderTextPng(['Quittung Nr. 7'], { fontSize: 30 });
    const src = await sharp(upright).metadata();
    const out = await preprocessForOcr(await rotatedPhotoJpeg(upright));
    expect(out.sourceWidth).toBe(src.width);
    expect(out.sourceHeight).toBe(src.height);
    expect(out.scale).toBeGreaterThan(1);
    expect(out.width).toBe(Math.round((src.width ?? 0) * out.scale));
    const meta = await sharp(out.png).metadata();
    expect(meta).toMatchObject({ format: 'png', width: out.width, height: out.height, channels: 1 });
    // Landscape again after auto-orientation (the stored JPEG is portrait).
    expect(out.width).toBeGreaterThan(out.height);
  });

  it('chooses the scale from density when plausible, else from size, and caps huge images', () => {
    expect(chooseScale(1240, 1754, 150)).toBe(2);
    expect(chooseScale(2480, 3508, 300)).toBe(1);
    expect(chooseScale(2480, 3508, 72)).toBe(1); // 72 dpi is a default, not a scan resolution
    expect(chooseScale(600, 200)).toBe(3);
    expect(chooseScale(10_000, 14_000)).toBeCloseTo(5000 / 14_000);
  });

  it('reads every page of a multi-page TIFF', async () => {
    const a = renderTextPng(['Seite eins']);
    const b = renderTextPng(['Seite zwei, etwas länger']);
    const tiff = await multiPageTiff([a, b]);
    const info = await imageInfo(tiff);
    expect(info.pages).toBe(2);
    const p2 = await preprocessForOcr(tiff, { page: 1 });
    expect(p2.width).toBeGreaterThan(0);
  });

  it('fails fast with a limit error for a 100 000 × 100 000 PNG header', async () => {
    const t0 = performance.now();
    const bomb = pngHeaderOnly(100_000, 100_000);
    const err = await pipelineError(imageInfo(bomb));
    expect(err.kind).toBe('limit');
    expect(err.message).toMatch(/pixel limit/);
    expect((await pipelineError(preprocessForOcr(bomb))).kind).toBe('limit');
    expect(performance.now() - t0).toBeLessThan(1000);
    // The bound comes from the options.
    const small = renderTextPng(['abc']);
    expect((await pipelineError(imageInfo(small, resolveLimits({ maxPixels: 100 })))).kind).toBe('limit');
  });

  it('reports a corrupt JPEG as corrupt', async () => {
    const good = await sharp(renderTextPng(['x']))
      .jpeg()
      .toBuffer();
    const truncated = good.subarray(0, Math.floor(good.length / 2));
    const garbage = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(200, 0x41)]);
    expect((await pipelineError(imageInfo(garbage))).kind).toBe('corrupt');
    expect((await pipelineError(preprocessForOcr(truncated))).kind).toBe('corrupt');
  });
});
