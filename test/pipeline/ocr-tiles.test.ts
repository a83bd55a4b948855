import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createOcrEngine,
  extractDocument,
  mergeTileWords,
  type OcrEngine,
  type OcrWord,
  TILE_OVERLAP,
  TILE_SIDE,
  textFromWords,
  tilesAlong,
} from '../../src/pipeline/index.js';
import { renderTextPng } from '../fixtures/text-image.js';

/** Strips (till receipts, panoramas) are OCR'd in tiles along their long side (docs/pipeline.md, "Strips"). */

const word = (text: string, x: number, y: number, w = 80, h = 30): OcrWord => ({ text, x, y, w, h, confidence: 90 });

describe('tiles of a strip', () => {
  it('cover the strip in equal overlapping tiles of at most TILE_SIDE, each owning the part up to the overlap’s middle', () => {
    expect(tilesAlong(TILE_SIDE)).toEqual([{ start: 0, end: TILE_SIDE, keepFrom: 0, keepTo: TILE_SIDE }]);
    const tiles = tilesAlong(14_460);
    expect(tiles.length).toBe(4);
    expect(tiles[0]).toMatchObject({ start: 0, keepFrom: 0 });
    expect(tiles.at(-1)).toMatchObject({ end: 14_460, keepTo: 14_460 });
    for (const [k, t] of tiles.entries()) {
      expect(t.end - t.start).toBeLessThanOrEqual(TILE_SIDE);
      const next = tiles[k + 1];
      if (!next) continue;
      expect(t.end - next.start).toBe(TILE_OVERLAP);
      expect(t.keepTo).toBe(next.start + TILE_OVERLAP / 2);
      expect(next.keepFrom).toBe(t.keepTo);
    }
  });

  it('keeps each word once, from the tile owning its centre, in the page’s pixels', () => {
    const [a, b] = tilesAlong(6000) as [ReturnType<typeof tilesAlong>[number], ReturnType<typeof tilesAlong>[number]];
    // A line inside the overlap is read by both tiles; its centre decides which one keeps it.
    const inOverlap = b.start + 100; // before the cut: tile a's
    const merged = mergeTileWords(
      [
        { tile: a, words: [word('oben', 10, 50), word('doppelt', 10, inOverlap)] },
        { tile: b, words: [word('doppelt', 10, inOverlap - b.start), word('unten', 10, 6000 - b.start - 100)] },
      ],
      'y',
    );
    expect(merged.map((w) => [w.text, w.y])).toEqual([
      ['oben', 50],
      ['doppelt', inOverlap],
      ['unten', 5900],
    ]);
    // Side by side (a panorama): offsets along x.
    const wide = mergeTileWords([{ tile: b, words: [word('rechts', 500, 10)] }], 'x');
    expect(wide[0]).toMatchObject({ x: b.start + 500, y: 10 });
  });

  it('rebuilds lines from word boxes: left to right, top to bottom, across tiles', () => {
    const words = [word('Summe', 10, 500), word('Brot', 10, 100), word('12,40', 400, 505), word('2,99', 400, 98)];
    expect(textFromWords(words)).toBe('Brot 2,99\nSumme 12,40');
  });
});

describe('OCR of a long strip', () => {
  let engine: OcrEngine;
  beforeAll(async () => {
    engine = await createOcrEngine({ langs: ['deu', 'eng'] });
  });
  afterAll(async () => {
    await engine?.terminate();
  });

  it('reads a till receipt 14 000 px long at its own resolution: every line once, in order', async () => {
    // 300 lines of 48 px, most blank: shrunk until its long side fit 5 000 px, its 30 px text became ~10 px
    // and nothing was read.
    const lines: string[] = Array.from({ length: 300 }, () => '');
    const items: [number, string][] = [
      [2, 'Bäckerei Sonnenschein'],
      [60, 'Roggenbrot 3,40'],
      [75, 'Butterbrezel 1,10'],
      [150, 'Kürbiskernbrötchen 0,90'],
      [225, 'Apfelstrudel 2,80'],
      [296, 'Summe 8,20'],
    ];
    for (const [i, text] of items) lines[i] = text;
    const png = renderTextPng(lines, { fontSize: 30, lineHeight: 48, width: 600 });
    const meta = await sharp(png).metadata();
    expect(meta.height).toBeGreaterThan(14_000);

    const doc = await extractDocument(png, { ocr: engine });
    const page = doc.pages[0];
    const text = page?.text ?? '';
    for (const w of ['Bäckerei', 'Sonnenschein', 'Roggenbrot', 'Butterbrezel', 'Kürbiskernbrötchen', 'Apfelstrudel', 'Summe']) {
      expect(text.split(/\s+/).filter((t) => t === w)).toEqual([w]);
    }
    // In the strip's order, and boxes in the strip's own pixels (it was not scaled).
    const at = (w: string) => text.indexOf(w);
    expect(at('Bäckerei')).toBeLessThan(at('Roggenbrot'));
    expect(at('Butterbrezel')).toBeLessThan(at('Kürbiskernbrötchen'));
    expect(at('Apfelstrudel')).toBeLessThan(at('Summe'));
    expect([page?.width, page?.height]).toEqual([meta.width, meta.height]);
    const sum = page?.words?.find((w) => w.text === 'Summe');
    expect(sum?.y).toBeGreaterThan(296 * 48 - 48);
    expect(sum?.y).toBeLessThan(297 * 48 + 60);
  });

  it('reads a panorama over 11 000 px wide: lines across the tiles come out whole', async () => {
    const words = Array.from({ length: 240 }, (_, i) => `Wort${i}`);
    const lines = [words.slice(0, 120).join(' '), words.slice(120).join(' ')];
    const png = renderTextPng(lines, { fontSize: 30, lineHeight: 48 });
    const meta = await sharp(png).metadata();
    expect(meta.width).toBeGreaterThan(3 * TILE_SIDE - 2 * TILE_OVERLAP);
    const doc = await extractDocument(png, { ocr: engine });
    const got = (doc.pages[0]?.text ?? '').split('\n').map((l) => l.split(/\s+/));
    // Each line once and in order; a word tesseract misreads is allowed, a word read twice or lost in a cut is not.
    expect(got.length).toBe(2);
    for (const [i, line] of got.entries()) {
      const want = words.slice(120 * i, 120 * i + 120);
      const hits = line.filter((t) => want.includes(t));
      expect(new Set(hits).size).toBe(hits.length);
      expect(hits.length).toBeGreaterThanOrEqual(114);
      expect(hits).toEqual([...hits].sort((a, b) => Number(a.slice(4)) - Number(b.slice(4))));
    }
  });
});
