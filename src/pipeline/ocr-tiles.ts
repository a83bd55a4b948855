import sharp from 'sharp';
import { throwIfAborted } from './errors.js';
import type { OcrEngine, OcrPageResult, OcrWord, SegmentationMode } from './ocr.js';

/**
 * OCR of strips — a till receipt, a panorama, a long PDF page — in tiles along their long side. Shrunk until
 * their long side fit one OCR pass, their text ended a few pixels high and nothing was read; whole, they
 * would cost tesseract's WASM memory several copies of a very large image. Each tile is OCR'd alone; a word
 * belongs to the tile whose own part (the tile less half the overlap at each inner edge) holds its centre,
 * so a word cut by one tile's edge is read whole by its neighbour, and none is kept twice. The page's text
 * is then rebuilt from the kept words line by line, since each tile's own text repeats the overlap.
 */

/**
 * A strip has one side over this many times the other. Other pages are OCR'd whole whatever their size (an
 * A3 page at 300 dpi), where tesseract's layout analysis keeps the reading order of columns.
 */
export const ELONGATED = 2;
/** A tile's length along the long side; strips up to this are OCR'd whole. */
export const TILE_SIDE = 4000;
/** Overlap of neighbouring tiles: more than a line of text at ~300 dpi, and than a long word. */
export const TILE_OVERLAP = 400;

export interface Tile {
  /** The tile is [start, end) along the long side. */
  start: number;
  end: number;
  /** Its own part: words whose centre lies in [keepFrom, keepTo) are kept from this tile. */
  keepFrom: number;
  keepTo: number;
}

/** Tiles of at most TILE_SIDE covering [0, length), neighbours overlapping by TILE_OVERLAP. */
export function tilesAlong(length: number): Tile[] {
  if (length <= TILE_SIDE) return [{ start: 0, end: length, keepFrom: 0, keepTo: length }];
  const n = Math.ceil((length - TILE_OVERLAP) / (TILE_SIDE - TILE_OVERLAP));
  // Equal tiles rather than full ones and a sliver at the end.
  const side = Math.ceil((length + (n - 1) * TILE_OVERLAP) / n);
  const step = side - TILE_OVERLAP;
  const tiles: Tile[] = [];
  for (let k = 0; k < n; k++) {
    const start = k * step;
    // The cut between tile k and k + 1 is the middle of their overlap.
    tiles.push({
      start,
      end: k === n - 1 ? length : start + side,
      keepFrom: k === 0 ? 0 : start + TILE_OVERLAP / 2,
      keepTo: k === n - 1 ? length : (k + 1) * step + TILE_OVERLAP / 2,
    });
  }
  return tiles;
}

/** The words of each tile (in the tile's pixels) in the page's pixels, each kept by the one tile that owns it. */
export function mergeTileWords(read: readonly { tile: Tile; words: readonly OcrWord[] }[], axis: 'x' | 'y'): OcrWord[] {
  const out: OcrWord[] = [];
  for (const { tile, words } of read) {
    for (const w of words) {
      const placed = axis === 'x' ? { ...w, x: w.x + tile.start } : { ...w, y: w.y + tile.start };
      const centre = axis === 'x' ? placed.x + placed.w / 2 : placed.y + placed.h / 2;
      if (centre >= tile.keepFrom && centre < tile.keepTo) out.push(placed);
    }
  }
  return out;
}

/**
 * Lines of text from word boxes: words whose vertical centres fall within one line's extent, left to right,
 * lines top to bottom.
 */
export function textFromWords(words: readonly OcrWord[]): string {
  const byCentre = [...words].sort((a, b) => a.y + a.h / 2 - (b.y + b.h / 2) || a.x - b.x);
  const lines: { top: number; bottom: number; words: OcrWord[] }[] = [];
  for (const w of byCentre) {
    const centre = w.y + w.h / 2;
    const line = lines[lines.length - 1];
    if (line && centre >= line.top && centre <= line.bottom) {
      line.words.push(w);
      continue;
    }
    lines.push({ top: w.y, bottom: w.y + w.h, words: [w] });
  }
  return lines
    .map((l) =>
      l.words
        .sort((a, b) => a.x - b.x)
        .map((w) => w.text)
        .join(' '),
    )
    .join('\n');
}

export interface TiledOptions {
  width: number;
  height: number;
  dpi?: number;
  psm?: SegmentationMode;
  signal?: AbortSignal;
}

/** engine.recognize of a PNG page, in tiles when it is a strip whose long side is over TILE_SIDE (above). */
export async function recognizeTiled(engine: OcrEngine, png: Buffer, opts: TiledOptions): Promise<OcrPageResult> {
  const { width, height } = opts;
  const axis = width >= height ? 'x' : 'y';
  const long = Math.max(width, height);
  const tiles = tilesAlong(long);
  if (tiles.length === 1 || long <= ELONGATED * Math.min(width, height)) return engine.recognize(png, opts);
  // Decoded once; each tile is cut from the raw pixels.
  const raw = await sharp(png).grayscale().raw().toBuffer({ resolveWithObject: true });
  const read: { tile: Tile; words: OcrWord[] }[] = [];
  for (const tile of tiles) {
    throwIfAborted(opts.signal);
    const size = tile.end - tile.start;
    const region =
      axis === 'x' ? { left: tile.start, top: 0, width: size, height } : { left: 0, top: tile.start, width, height: size };
    const tilePng = await sharp(raw.data, {
      raw: { width: raw.info.width, height: raw.info.height, channels: raw.info.channels },
    })
      .extract(region)
      .png({ compressionLevel: 1, adaptiveFiltering: false })
      .toBuffer();
    const result = await engine.recognize(tilePng, {
      width: region.width,
      height: region.height,
      ...(opts.dpi ? { dpi: opts.dpi } : {}),
      ...(opts.psm ? { psm: opts.psm } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    read.push({ tile, words: result.words });
  }
  const words = mergeTileWords(read, axis);
  const confidence = words.length ? words.reduce((s, w) => s + w.confidence, 0) / words.length : 0;
  return {
    text: textFromWords(words),
    words,
    width,
    height,
    confidence: Math.round(confidence * 10) / 10,
    psm: opts.psm ?? 'auto',
  };
}
