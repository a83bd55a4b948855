import { createRequire } from 'node:module';
import path from 'node:path';
import { createCanvas, GlobalFonts } from '@napi-rs/canvas';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { Rng } from './data.js';

/** Generated pages for the PDF and OCR benchmarks: known text, so extraction quality is measurable. */

const WORDS = (
  'Rechnung Nummer Betrag Datum Kunde Vertrag Zahlung Versicherung Steuer Bescheid Konto Straße Müller ' +
  'Prüfung Größe Übersicht Januar März Köln invoice amount customer contract payment insurance account ' +
  'report archive document quarterly total balance street number date due the and of for with'
).split(' ');

/** `lines` lines of mixed German/English words and numbers (WinAnsi-safe for the standard PDF fonts). */
export function pageLines(lines: number, seed: number, wordsPerLine = 9): string[] {
  const rng = new Rng(seed);
  return Array.from({ length: lines }, () =>
    Array.from({ length: wordsPerLine }, () =>
      rng.below(8) === 0 ? String(rng.below(10_000)) : (WORDS[rng.below(WORDS.length)] as string),
    ).join(' '),
  );
}

/** A text-layer PDF of `pages` A4 pages, each with its own lines. */
export async function textPdf(pages: number, seed = 1): Promise<{ bytes: Buffer; text: string[][] }> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const text: string[][] = [];
  for (let p = 0; p < pages; p++) {
    const lines = pageLines(48, seed * 1000 + p);
    const page = doc.addPage([595, 842]);
    for (const [i, line] of lines.entries()) page.drawText(line, { x: 56, y: 790 - i * 15, size: 10, font });
    text.push(lines);
  }
  return { bytes: Buffer.from(await doc.save()), text };
}

const require = createRequire(import.meta.url);
const FONT = path.join(path.dirname(require.resolve('pdfjs-dist/package.json')), 'standard_fonts', 'LiberationSans-Regular.ttf');
let family: string | undefined;

/** A scanned-looking page: black text on white, PNG, 150 dpi A4 (1240×1754). */
export function scanPng(lines: readonly string[]): Buffer {
  if (!family) {
    if (!GlobalFonts.registerFromPath(FONT, 'ArchivarBenchSans')) throw new Error(`cannot register ${FONT}`);
    family = 'ArchivarBenchSans';
  }
  const canvas = createCanvas(1240, 1754);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, 1240, 1754);
  ctx.fillStyle = '#111111';
  ctx.font = `28px ${family}`;
  for (const [i, line] of lines.entries()) ctx.fillText(line, 90, 130 + i * 44);
  return canvas.toBuffer('image/png');
}

/** Character error rate: edit distance over reference length, whitespace collapsed. */
export function cer(reference: string, hypothesis: string): number {
  return pagesCer([reference], [hypothesis]);
}

/**
 * Character error rate over pages: the edit distances of page pairs summed, divided by the reference's
 * characters. Per page because the edit distance is O(n·m): a whole 50-page document would take hours.
 */
export function pagesCer(reference: readonly string[], hypothesis: readonly string[]): number {
  let distance = 0;
  let chars = 0;
  for (let i = 0; i < Math.max(reference.length, hypothesis.length); i++) {
    const d = editDistance(reference[i] ?? '', hypothesis[i] ?? '');
    distance += d.distance;
    chars += d.referenceChars;
  }
  return chars === 0 ? (distance === 0 ? 0 : 1) : distance / chars;
}

/** Levenshtein distance of the whitespace-normalised code points (two rows, typed arrays). */
function editDistance(reference: string, hypothesis: string): { distance: number; referenceChars: number } {
  const norm = (s: string) => [...s.normalize('NFC').replace(/\s+/g, ' ').trim()];
  const r = norm(reference);
  const h = norm(hypothesis);
  if (r.length === 0) return { distance: h.length, referenceChars: 0 };
  let prev = new Int32Array(h.length + 1).map((_, j) => j);
  let cur = new Int32Array(h.length + 1);
  for (let i = 1; i <= r.length; i++) {
    cur[0] = i;
    const ri = r[i - 1];
    for (let j = 1; j <= h.length; j++) {
      const cost = ri === h[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return { distance: prev[h.length] as number, referenceChars: r.length };
}
