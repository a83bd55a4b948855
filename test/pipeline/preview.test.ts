import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { imagePreviews, isPipelineError, previewFromImage } from '../../src/pipeline/index.js';
import { multiPageTiff, pngHeaderOnly, rotatedPhotoJpeg } from '../fixtures/images.js';
import { renderTextPng } from '../fixtures/text-image.js';

async function decoded(bytes: Buffer): Promise<{ format: string; width: number; height: number }> {
  // A full decode, not only the header: the preview must be a valid image.
  const { info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  const meta = await sharp(bytes).metadata();
  return { format: meta.format, width: info.width, height: info.height };
}

describe('image previews', () => {
  it('a 2000 × 1400 image: WebP thumbnail 256 wide and PNG page 1024 wide, aspect kept', async () => {
    const png = await sharp(renderTextPng(['Rechnung 2024', 'Seite eins'], { fontSize: 60 }))
      .resize(2000, 1400, { fit: 'fill' })
      .png()
      .toBuffer();
    const p = await imagePreviews(png);
    expect(p.pageCount).toBe(1);
    expect(p.thumbnail).toMatchObject({ format: 'webp', width: 256, height: 179 });
    expect(await decoded(p.thumbnail.bytes)).toEqual({ format: 'webp', width: 256, height: 179 });
    expect(p.pages).toHaveLength(1);
    expect(p.pages[0]).toMatchObject({ format: 'png', width: 1024, height: 717 });
    expect(await decoded(p.pages[0]?.bytes ?? Buffer.alloc(0))).toEqual({ format: 'png', width: 1024, height: 717 });
  });

  it('EXIF-rotated photo is previewed upright; small images are not enlarged', async () => {
    const upright = await sharp(renderTextPng(['upright'], { fontSize: 40 }))
      .resize(600, 200, { fit: 'fill' })
      .png()
      .toBuffer();
    const p = await imagePreviews(await rotatedPhotoJpeg(upright));
    expect(p.pages[0]).toMatchObject({ width: 600, height: 200 });
    expect(p.thumbnail).toMatchObject({ width: 256, height: 85 });
  });

  it('multi-page TIFF: one page preview per page, up to maxPages', async () => {
    const page = (t: string) =>
      sharp(renderTextPng([t], { fontSize: 40 }))
        .resize(1200, 1600, { fit: 'fill' })
        .png()
        .toBuffer();
    const tiff = await multiPageTiff([await page('eins'), await page('zwei'), await page('drei')]);
    const all = await imagePreviews(tiff);
    expect(all.pageCount).toBe(3);
    expect(all.pages.map((p) => [p.width, p.height])).toEqual([
      [1024, 1365],
      [1024, 1365],
      [1024, 1365],
    ]);
    const some = await imagePreviews(tiff, { maxPages: 2 });
    expect(some.pages).toHaveLength(2);
    expect(some.pageCount).toBe(3);
  });

  it('a header claiming 100 000 × 100 000 pixels fails on the limit, before decoding', async () => {
    const t0 = performance.now();
    const err = await imagePreviews(pngHeaderOnly(100_000, 100_000)).catch((e: unknown) => e);
    expect(isPipelineError(err) && err.kind).toBe('limit');
    const err2 = await previewFromImage(pngHeaderOnly(30_000, 30_000), 'page', {
      limits: { maxPixels: 1_000_000, maxPages: 10 },
    }).catch((e: unknown) => e);
    expect(isPipelineError(err2) && err2.kind).toBe('limit');
    expect(performance.now() - t0).toBeLessThan(1_000);
  });

  it('garbage bytes are `corrupt`', async () => {
    const err = await previewFromImage(Buffer.from('not an image at all'), 'thumbnail').catch((e: unknown) => e);
    expect(isPipelineError(err) && err.kind).toBe('corrupt');
  });
});
