import { describe, expect, it } from 'vitest';
import { makeSnippets, SNIPPET_ANALYSED_CHARS } from '../../src/index/snippets.js';

const opts = { maxSnippets: 5, windowChars: 60 };
const terms = new Set(['rechnung']);
const filler = (n: number) => 'und der Vertrag '.repeat(Math.ceil(n / 16)).slice(0, n);

describe('snippets', () => {
  it('highlights the densest window of each page with hits, best first', () => {
    const pages = [`${filler(200)} Rechnung ${filler(200)}`, `Rechnung und Rechnung, ${filler(100)}`, filler(300)];
    const got = makeSnippets(pages, terms, 'deu', opts);
    expect(got.map((s) => s.page)).toEqual([2, 1]);
    expect(got.map((s) => s.highlights.map((h) => s.text.slice(h.start, h.end)))).toEqual([
      ['Rechnung', 'Rechnung'],
      ['Rechnung'],
    ]);
  });

  it('analyses a document only up to its budget of characters, cutting at a word boundary', () => {
    // Page 1 holds a hit near its start, page 2 "Rechnungen" at 501–511, page 3 a hit at its start.
    const pages = [`Rechnung ${filler(991)}`, `${filler(500)} Rechnungen ${filler(489)}`, `Rechnung ${filler(991)}`];
    const snippets = (max?: number) => makeSnippets(pages, terms, 'deu', { ...opts, maxAnalysedChars: max });
    const pagesOf = (max: number) => snippets(max).map((s) => s.page);
    expect(snippets().map((s) => s.page)).toEqual([1, 2, 3]);
    expect(pagesOf(3000)).toEqual([1, 2, 3]);
    expect(pagesOf(2000)).toEqual([1, 2]);
    // The budget ends in page 2 after its hit: the whole word is highlighted.
    const page2 = snippets(1000 + 512).find((s) => s.page === 2);
    expect(page2?.highlights.map((h) => page2.text.slice(h.start, h.end))).toEqual(['Rechnungen']);
    // It ends inside "Rechnungen", just after "Rechnung": the page is analysed up to the space before it, not
    // as far as the cut (where "Rechnung" would be a false hit).
    expect(pagesOf(1000 + 509)).toEqual([1]);
    expect(pagesOf(5)).toEqual([]);
    // The default leaves room for long documents.
    expect(SNIPPET_ANALYSED_CHARS).toBe(500_000);
  });
});
