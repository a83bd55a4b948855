import { describe, expect, it } from 'vitest';
import { analyseDocument } from '../../src/index/analyse-document.js';
import { makeSnippets, openingSnippet } from '../../src/index/snippets.js';
import { type PageHits, pageFingerprint, type SpanHit, spansAt } from '../../src/index/spans.js';

const opts = { maxSnippets: 5, windowChars: 60 };
const filler = (n: number) => 'und der Vertrag '.repeat(Math.ceil(n / 16)).slice(0, n);

/** Hits of every occurrence of `words` (as written) in each page, numbered by word. */
const pageOf = (text: string, hits: SpanHit[]): PageHits => ({
  hits,
  length: text.length,
  hash: pageFingerprint(text),
});

function hitsOf(pages: readonly string[], words: readonly string[]): Map<number, PageHits> {
  const out = new Map<number, PageHits>();
  pages.forEach((text, p) => {
    const hits: SpanHit[] = [];
    for (const [term, w] of words.entries())
      for (let at = text.indexOf(w); at >= 0; at = text.indexOf(w, at + 1)) hits.push({ start: at, end: at + w.length, term });
    hits.sort((a, b) => a.start - b.start || a.term - b.term);
    if (hits.length > 0) out.set(p, pageOf(text, hits));
  });
  return out;
}

const shown = (snippets: ReturnType<typeof makeSnippets>) =>
  snippets.map((s) => s.highlights.map((h) => s.text.slice(h.start, h.end)));

describe('snippets', () => {
  it('show the densest window of each page with hits, best first', () => {
    const pages = [`${filler(200)} Rechnung ${filler(200)}`, `Rechnung und Rechnung, ${filler(100)}`, filler(300)];
    const got = makeSnippets(pages, hitsOf(pages, ['Rechnung']), opts);
    expect(got.map((s) => s.page)).toEqual([2, 1]);
    expect(shown(got)).toEqual([['Rechnung', 'Rechnung'], ['Rechnung']]);
    expect(got[1]!.text.startsWith('Vertrag')).toBe(false); // cut at whitespace: no word cut in half
  });

  it('say where the page goes on before or after the snippet', () => {
    const pages = [
      `${filler(200)} Rechnung ${filler(200)}`,
      'Die Rechnung.  ',
      `Rechnung ${filler(200)}`,
      `${filler(200)} Rechnung`,
    ];
    const got = makeSnippets(pages, hitsOf(pages, ['Rechnung']), opts);
    const cuts = Object.fromEntries(got.map((s) => [s.page, [s.cutBefore, s.cutAfter]]));
    expect(cuts).toEqual({ 1: [true, true], 2: [false, false], 3: [false, true], 4: [true, false] });
  });

  it('rank windows holding more distinct terms above more hits of one', () => {
    const page = `Rechnung Rechnung Rechnung ${filler(120)} Rechnung an Müller ${filler(120)}`;
    const got = makeSnippets([page], hitsOf([page], ['Rechnung', 'Müller']), { ...opts, maxSnippets: 1 });
    expect(shown(got)).toEqual([['Rechnung', 'Müller']]);
  });

  it('take one hit per word, and none from a page whose text is not the one its hits were found in', () => {
    const page = `${filler(40)} Rechnung ${filler(40)}`;
    const at = page.indexOf('Rechnung');
    const both = new Map([
      [
        0,
        pageOf(page, [
          { start: at, end: at + 8, term: 0 },
          { start: at, end: at + 8, term: 1 },
        ]),
      ],
    ]);
    expect(shown(makeSnippets([page], both, opts))).toEqual([['Rechnung']]);
    // The same length, one character changed: the hits' offsets mean nothing there.
    const changed = `${page.slice(0, at)}Zeichnung${page.slice(at + 9)}`;
    expect(changed.length).toBe(page.length);
    expect(makeSnippets([changed], both, opts)).toEqual([]);
    expect(makeSnippets(['kurz'], both, opts)).toEqual([]);
    expect(makeSnippets([page], new Map([[3, both.get(0)!]]), opts)).toEqual([]);
  });

  it('highlight the words the index found, from their stored spans', () => {
    // Positions 1 (Rechnungen) and 5 (Datenschutzerklärung, a compound) of a German page.
    const pages = ['Die Rechnungen und die neue Datenschutzerklärung liegen bei.'];
    const doc = analyseDocument({ docId: 'd', fields: { body: pages } }, 'deu');
    const got = makeSnippets(pages, spansAt(doc.spans, [1, 5], [0, 1]), opts);
    expect(shown(got)).toEqual([['Rechnungen', 'Datenschutzerklärung']]);
  });

  it('open a hit without body matches at its first words, cut at a word boundary', () => {
    const whole = { highlights: [], cutBefore: false, cutAfter: false };
    expect(openingSnippet('  Kurze Seite.  ', 40)).toEqual({ page: 1, text: 'Kurze Seite.', ...whole });
    expect(openingSnippet('Eins zwei drei vier fünf', 12)).toEqual({ page: 1, text: 'Eins zwei', ...whole, cutAfter: true });
    expect(openingSnippet('Eins zwei drei', 9)?.text).toBe('Eins zwei');
    expect(openingSnippet('Donaudampfschifffahrt', 8)).toMatchObject({ text: 'Donaudam', cutAfter: true });
    expect(openingSnippet('   ', 10)).toBeUndefined();
    expect(openingSnippet(undefined, 10)).toBeUndefined();
  });
});
