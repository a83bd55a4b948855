/**
 * Hit boxes: the OCR word boxes of a snippet's highlighted words, as fractions of the page, so a client can
 * mark hits on the page image. The page text of an OCR'd page is its words in reading order separated by
 * whitespace, so the n-th whitespace-separated token of the page is the n-th word box; where that does not
 * line up (a word the OCR split or joined differently), the nearest box whose text contains the hit is used.
 */

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface OcrPage {
  width: number;
  height: number;
  words: readonly (readonly [string, number, number, number, number, number])[];
}

const fold = (s: string) =>
  s
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '');

export function snippetBoxes(
  pageText: string,
  snippet: { text: string; highlights: readonly { start: number; end: number }[] },
  page: OcrPage,
): Box[] {
  if (page.words.length === 0 || !(page.width > 0) || !(page.height > 0)) return [];
  const base = pageText.indexOf(snippet.text);
  if (base < 0) return [];
  const tokenStarts: number[] = [];
  const tokenEnds: number[] = [];
  for (const m of pageText.matchAll(/\S+/gu)) {
    tokenStarts.push(m.index);
    tokenEnds.push(m.index + m[0].length);
  }
  const out: Box[] = [];
  const used = new Set<number>();
  // A highlight of several words (a value as written: "220,00 EUR") is boxed word by word.
  const pieces = snippet.highlights.flatMap((h) =>
    [...pageText.slice(base + h.start, base + h.end).matchAll(/\S+/gu)].map((m) => ({
      start: base + h.start + m.index,
      text: m[0],
    })),
  );
  for (const { start, text } of pieces) {
    const hit = fold(text);
    if (hit.length === 0) continue;
    // Token holding the hit (binary search on starts).
    let lo = 0;
    let hi = tokenStarts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (tokenStarts[mid]! <= start) lo = mid + 1;
      else hi = mid;
    }
    const t = lo - 1;
    let w = -1;
    if (t >= 0 && start < tokenEnds[t]! && t < page.words.length && fold(page.words[t]![0]).includes(hit)) w = t;
    else {
      // Nearest word (by index) whose text contains the hit.
      for (let d = 0; d < page.words.length && w < 0; d++)
        for (const k of [t - d, t + d])
          if (k >= 0 && k < page.words.length && fold(page.words[k]![0]).includes(hit)) {
            w = k;
            break;
          }
    }
    if (w < 0 || used.has(w)) continue;
    used.add(w);
    const [, x, y, bw, bh] = page.words[w]!;
    out.push({ x: x / page.width, y: y / page.height, width: bw / page.width, height: bh / page.height });
  }
  return out;
}
