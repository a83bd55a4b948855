import { describe, expect, it } from 'vitest';
import { analyseDocument } from '../../src/index/analyse-document.js';
import { analyse } from '../../src/index/analyser.js';
import { SpanWriter, samePage, spansAt } from '../../src/index/spans.js';
import { rng } from '../helpers/rng.js';

/**
 * Every body position's span, from the analyser: [page, start, end] by position; the first term's, or a
 * later one's inside it and narrower (an IBAN's first group, not the IBAN).
 */
function expectedSpans(pages: readonly string[]): ([number, number, number] | undefined)[] {
  const out: ([number, number, number] | undefined)[] = [];
  let pos = 0;
  pages.forEach((text, p) => {
    const from = pos;
    pos = analyse(
      text,
      'deu+eng',
      (_t, position, start, end) => {
        const cur = out[position];
        if (cur === undefined || (start >= cur[1] && end < cur[2] && start < end)) out[position] = [p, start, end];
      },
      'index',
      from,
    );
    for (let q = from; q < pos; q++) out[q] ??= undefined;
  });
  out.length = pos;
  return out;
}

const WORDS = [
  'Rechnung',
  'Müller',
  'RE-2024-0042',
  'W-2',
  '3,14',
  'Datenschutzerklärung',
  'e-mail-adresse',
  'Donaudampfschifffahrtsgesellschaftskapitän',
  '東京都',
  'naïve',
  'IBAN',
  'DE89 3704 0044 0532 0130 00',
  '😀',
  'x',
  "don't",
  'Straße',
  'Lang'.repeat(40),
];
const GAPS = [' ', '  ', '\n', ', ', ' — ', ' '.repeat(20), ' '.repeat(300), '\t\t', ' (', '…'];

function randomPage(next: () => number): string {
  const n = Math.floor(next() * 40);
  let s = '';
  for (let i = 0; i < n; i++) {
    s += WORDS[Math.floor(next() * WORDS.length)]!;
    s += GAPS[Math.floor(next() * GAPS.length)]!;
  }
  return s;
}

describe('word spans', () => {
  it('map every body position to the characters the analyser found it at, across pages', () => {
    const next = rng(7);
    for (let round = 0; round < 300; round++) {
      const pages = Array.from({ length: 1 + Math.floor(next() * 4) }, () => randomPage(next));
      const doc = analyseDocument({ docId: 'd', fields: { body: pages, title: 'Rechnung Titel' } }, 'deu+eng');
      const expected = expectedSpans(pages);
      expect(doc.lengths[0]).toBe(expected.length);
      const all = expected.map((_, q) => q);
      const got = spansAt(doc.spans, all, all);
      const flat: ([number, number, number] | undefined)[] = expected.map(() => undefined);
      for (const [p, page] of got) for (const h of page.hits) flat[h.term] = [p, h.start, h.end];
      expect(flat).toEqual(expected);
    }
  });

  it('answers a few positions, the same position for two terms, and nothing past the document', () => {
    const pages = ['Die Rechnung an Müller', '', 'Zweite Seite: Rechnung'];
    const doc = analyseDocument({ docId: 'd', fields: { body: pages } }, 'deu+eng');
    // Positions: 0 die, 1 rechnung, 2 an, 3 müller | 4 zweite, 5 seite, 6 rechnung.
    const got = spansAt(doc.spans, [1, 1, 6, 99], [0, 1, 0, 0]);
    expect([...got.keys()]).toEqual([0, 2]);
    expect(got.get(0)?.hits).toEqual([
      { start: 4, end: 12, term: 0 },
      { start: 4, end: 12, term: 1 },
    ]);
    expect(got.get(2)?.hits).toEqual([{ start: 14, end: 22, term: 0 }]);
    // Each page says which text it was taken from.
    expect([got.get(0)?.length, got.get(2)?.length]).toEqual([pages[0]!.length, pages[2]!.length]);
    expect(samePage(pages[0]!, got.get(0)!)).toBe(true);
    expect(samePage(pages[2]!, got.get(0)!)).toBe(false);
    expect(spansAt(doc.spans, [], []).size).toBe(0);
  });

  it('are empty for a document without pages', () => {
    expect(analyseDocument({ docId: 'd', fields: { title: 'Nur ein Titel' } }, 'deu+eng').spans.length).toBe(0);
    const w = new SpanWriter();
    w.begin();
    expect(w.finish(0).length).toBe(0);
  });
});
