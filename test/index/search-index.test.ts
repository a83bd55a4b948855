import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { analyse } from '../../src/index/analyser.js';
import { type IndexDoc, InMemoryTextStore, SearchIndex, type SearchIndexOptions } from '../../src/index/index.js';
import type { HighlightQuery } from '../../src/index/query-plan.js';
import type { MatchVisitor } from '../../src/index/search-index.js';
import { listSegments } from '../../src/index/segment-merger.js';
import { buildInThread, type SegmentBuild } from '../../src/index/segment-writer.js';
import type { PageHits } from '../../src/index/spans.js';
import { testCipher } from '../helpers/index-cipher.js';
import { rng } from '../helpers/rng.js';

let dir: string;
let root: RootDatabase;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archivar-index-'));
  root = open({ path: dir });
});

afterEach(async () => {
  await root.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const newIndex = (opts: Partial<SearchIndexOptions> = {}) =>
  new SearchIndex(root, { cipher: testCipher, textStore: new InMemoryTextStore(), autoMerge: false, ...opts });

const CORPUS: IndexDoc[] = [
  {
    docId: 'de-rechnung',
    language: 'deu',
    fields: {
      title: 'Rechnung RE-2024-0042',
      body: [
        'Sehr geehrter Herr Müller, anbei erhalten Sie die Rechnung RE-2024-0042 über 3,14 EUR.',
        'Bitte überweisen Sie auf DE89 3704 0044 0532 0130 00.',
      ],
    },
  },
  {
    docId: 'de-mahnung',
    language: 'deu',
    fields: { title: 'Mahnung', body: ['Herr Mueller, unsere Rechnungen sind noch offen. Zahlen Sie bitte bis Freitag.'] },
  },
  {
    docId: 'de-datenschutz',
    language: 'deu',
    fields: {
      title: 'Datenschutzerklärung',
      body: ['Diese Datenschutzerklärung beschreibt die Verarbeitung personenbezogener Daten.'],
    },
  },
  { docId: 'de-erklaerung', language: 'deu', fields: { title: 'Erklärung zum Datenschutz', body: ['Eine kurze Erklärung.'] } },
  {
    docId: 'de-vertrag',
    language: 'deu',
    fields: {
      title: 'Arbeitsvertrag',
      body: ['Der Arbeitsvertrag zwischen der Firma und Frau MÜLLER beginnt im Januar.'],
      sender: 'Personalabteilung',
    },
  },
  {
    docId: 'en-run',
    language: 'eng',
    fields: { title: 'Running log', body: ['I was running in the park. Runs every morning keep me fit.'] },
  },
  {
    docId: 'en-tax',
    language: 'eng',
    fields: { title: 'Tax forms', body: ['Please attach your W-2 form to the tax return.'], fileName: 'tax_2024_w-2.pdf' },
  },
  { docId: 'en-brown', language: 'eng', fields: { title: 'Fox', body: ['The quick brown fox jumps over the lazy dog.'] } },
  { docId: 'en-fox', language: 'eng', fields: { title: 'Dog', body: ['The lazy dog is brown; a quick fox sleeps.'] } },
];

/** Terms to highlight wherever they occur (no phrases). */
const looseTerms = (terms: string[]): HighlightQuery => ({ terms, phrases: [], loose: new Set(terms) });

const ids = async (idx: SearchIndex, q: string, tenant = 't1') =>
  (await idx.search(tenant, q, { limit: 20 })).hits.map((h) => h.docId);

describe('SearchIndex on a small German/English corpus', () => {
  it('finds exact hit sets in rank order', async () => {
    const idx = newIndex();
    await idx.addDocuments('t1', CORPUS);
    expect(await ids(idx, 'Rechnung')).toEqual(['de-rechnung', 'de-mahnung']);
    expect(await ids(idx, 'Rechnung Müller')).toEqual(['de-rechnung', 'de-mahnung']);
    expect(await ids(idx, 'Rechnung -Mahnung')).toEqual(['de-rechnung']);
    expect(await ids(idx, 'fox OR Arbeitsvertrag')).toEqual(['de-vertrag', 'en-brown', 'en-fox']);
    expect(await ids(idx, 'nichtvorhanden')).toEqual([]);
    // de-erklaerung says "Erklärung" and "Datenschutz" as words; de-datenschutz only inside its compound.
    expect(await ids(idx, '(Mahnung OR Erklärung) Datenschutz')).toEqual(['de-erklaerung', 'de-datenschutz']);
  });

  it('phrases need adjacency, bags of words do not', async () => {
    const idx = newIndex();
    await idx.addDocuments('t1', CORPUS);
    expect(new Set(await ids(idx, 'quick brown fox'))).toEqual(new Set(['en-brown', 'en-fox']));
    expect(await ids(idx, '"quick brown fox"')).toEqual(['en-brown']);
    expect(await ids(idx, '"brown quick"')).toEqual([]);
  });

  it('a phrase word matches through any of its alternatives, also when several occur in the document', async () => {
    const idx = newIndex();
    // "Häuser" is asked as "haus" (German stem) or "haeuser" (English): this English text holds both, and
    // only the second stands before "bauen" (English stem "bauen"; the German alternative is "baun").
    await idx.addDocuments('t1', [
      { docId: 'both', language: 'eng', fields: { body: ['haus blue haeuser bauen'] } },
      { docId: 'apart', language: 'eng', fields: { body: ['haeuser blue haus green bauen'] } },
    ]);
    expect(await ids(idx, '"häuser bauen"')).toEqual(['both']);
    expect(new Set(await ids(idx, 'häuser bauen'))).toEqual(new Set(['both', 'apart']));
  });

  it('matches umlaut variants', async () => {
    const idx = newIndex();
    await idx.addDocuments('t1', CORPUS);
    const expected = ['de-mahnung', 'de-rechnung', 'de-vertrag'];
    for (const q of ['Müller', 'Mueller', 'MÜLLER', 'mueller']) expect((await ids(idx, q)).sort()).toEqual(expected);
  });

  it('scores a word’s alternatives with one idf: a spelling only the rare English documents hold ranks no passing mention first', async () => {
    const idx = newIndex();
    // "Müller" is asked as "mull" (German) or "mueller" (English). The German letters hold the first, the
    // English note the second, once: its rarity alone must not make it outrank a letter that says it twice.
    const filler = (i: number) => ({
      docId: `en-filler-${i}`,
      language: 'eng' as const,
      fields: { body: [`Weekly status ${i}.`] },
    });
    await idx.addDocuments('t1', [
      { docId: 'de-rechnung', language: 'deu', fields: { body: ['Müller Haustechnik, Rechnung für die Wartung. Klaus Müller'] } },
      { docId: 'de-mahnung', language: 'deu', fields: { body: ['Mahnung der Müller Haustechnik zur offenen Rechnung.'] } },
      { docId: 'de-angebot', language: 'deu', fields: { body: ['Angebot der Müller Haustechnik für eine neue Heizung.'] } },
      { docId: 'en-meeting', language: 'eng', fields: { body: ['The invoice from Mueller was approved by the team.'] } },
      ...Array.from({ length: 8 }, (_, i) => filler(i)),
    ]);
    for (const q of ['Müller', 'Mueller', 'MÜLLER']) expect((await ids(idx, q))[0], q).toBe('de-rechnung');
  });

  it('scores a prefix’s expansions each with its own idf: the document with the rare word ranks first', async () => {
    // With one idf for all expansions (as a word's stems share one) `vers*` scored every match alike, ties
    // in id order, and at 1M no block could be passed over (0.5 -> 5 ms).
    const idx = newIndex();
    await idx.addDocuments('t1', [
      ...Array.from({ length: 12 }, (_, i) => ({
        docId: `a${i}`,
        language: 'deu' as const,
        fields: { body: [`Die Versicherung Nummer ${i} ist bezahlt.`] },
      })),
      // Longer than the others: only the rare word's idf puts it first.
      { docId: 'z-versand', language: 'deu', fields: { body: ['Der Versand der Ware an die Kundin ist heute bezahlt worden.'] } },
    ]);
    expect((await ids(idx, 'vers*'))[0]).toBe('z-versand');
    expect(await ids(idx, 'vers*')).toHaveLength(13);
  });

  it('finds a name a German text writes with a possessive ’s, and highlights the whole word', async () => {
    const idx = newIndex();
    await idx.addDocuments('t1', [
      { docId: 'de-konto', language: 'deu', fields: { body: ['Die Erstattung geht auf Johnson’s Konto bei der Sparkasse.'] } },
    ]);
    const r = await idx.search('t1', 'Johnson');
    expect(r.hits.map((h) => h.docId)).toEqual(['de-konto']);
    const s = r.hits[0]!.snippets[0]!;
    expect(s.highlights.map((h) => s.text.slice(h.start, h.end))).toEqual(['Johnson’s']);
  });

  it('finds compounds by their parts', async () => {
    const idx = newIndex();
    await idx.addDocuments('t1', CORPUS);
    expect((await ids(idx, 'Erklärung')).sort()).toEqual(['de-datenschutz', 'de-erklaerung']);
    expect((await ids(idx, 'Datenschutz')).sort()).toEqual(['de-datenschutz', 'de-erklaerung']);
    expect(await ids(idx, 'Vertrag')).toEqual(['de-vertrag']);
  });

  it('finds the compounds of a tenancy and utility bills by their parts', async () => {
    const idx = newIndex();
    await idx.addDocuments('t1', [
      {
        docId: 'miete',
        language: 'deu',
        fields: { body: ['Die Mietkaution beträgt drei Kaltmieten.', 'Nebenkostenvorauszahlung: 180 EUR'] },
      },
      { docId: 'strom', language: 'deu', fields: { body: ['Verbrauchsabrechnung mit Zahlungseingang auf dem Sparkonto.'] } },
    ]);
    const shown = async (q: string) =>
      (await idx.search('t1', q)).hits.flatMap((h) =>
        h.snippets.flatMap((s) => s.highlights.map((x) => `${h.docId}:${s.text.slice(x.start, x.end)}`)),
      );
    expect(await shown('Kaution')).toEqual(['miete:Mietkaution']);
    expect(await shown('Kaltmiete')).toEqual(['miete:Kaltmieten']);
    expect(await shown('Nebenkosten')).toEqual(['miete:Nebenkostenvorauszahlung']);
    expect(await shown('Vorauszahlung')).toEqual(['miete:Nebenkostenvorauszahlung']);
    expect(await shown('Verbrauch')).toEqual(['strom:Verbrauchsabrechnung']);
    expect(await shown('Eingang')).toEqual(['strom:Zahlungseingang']);
    expect(await shown('Konto')).toEqual(['strom:Sparkonto']);
  });

  it('ranks a document saying the word itself above one holding it inside a compound, and still finds both', async () => {
    const idx = newIndex();
    // Same lengths, each word once; ties would rank by id ('a-…' first), so the part match is named first.
    await idx.addDocuments('t1', [
      { docId: 'a-mietkaution', language: 'deu', fields: { body: ['Die Mietkaution beträgt 1500 Euro.'] } },
      { docId: 'b-kaution', language: 'deu', fields: { body: ['Die Kaution beträgt 1500 Euro.'] } },
      {
        docId: 'a-arbeitsvertrag',
        language: 'deu',
        fields: { title: 'Arbeitsvertrag', body: ['Der Arbeitsvertrag liegt bei.'] },
      },
      { docId: 'b-vertrag', language: 'deu', fields: { title: 'Vertrag', body: ['Der Vertrag liegt bei.'] } },
      // Linking elements: -s- (Versicherung|s|beitrag) and -es- (Land|es|bank).
      { docId: 'a-versicherungsbeitrag', language: 'deu', fields: { body: ['Ihr Versicherungsbeitrag steigt.'] } },
      { docId: 'b-versicherung', language: 'deu', fields: { body: ['Ihre Versicherung steigt.'] } },
      { docId: 'a-landesbank', language: 'deu', fields: { body: ['Konto bei der Landesbank.'] } },
      { docId: 'b-bank', language: 'deu', fields: { body: ['Konto bei der Bank.'] } },
    ]);
    expect(await ids(idx, 'Kaution')).toEqual(['b-kaution', 'a-mietkaution']);
    expect(await ids(idx, 'Vertrag')).toEqual(['b-vertrag', 'a-arbeitsvertrag']);
    expect(await ids(idx, 'Versicherung')).toEqual(['b-versicherung', 'a-versicherungsbeitrag']);
    expect(await ids(idx, 'Bank')).toEqual(['b-bank', 'a-landesbank']);
    // A compound alone is found by each of its parts, and by itself.
    expect(await ids(idx, 'Miete')).toEqual(['a-mietkaution']);
    expect(await ids(idx, 'Arbeit')).toEqual(['a-arbeitsvertrag']);
    expect(await ids(idx, 'Beitrag')).toEqual(['a-versicherungsbeitrag']);
    expect(await ids(idx, 'Land')).toEqual(['a-landesbank']);
    expect(await ids(idx, 'Mietkaution')).toEqual(['a-mietkaution']);
    // So do phrases, field queries, exclusions and prefixes.
    expect(await ids(idx, '"Kaution beträgt"')).toEqual(['b-kaution', 'a-mietkaution']);
    expect(await ids(idx, 'title:Vertrag')).toEqual(['b-vertrag', 'a-arbeitsvertrag']);
    expect(await ids(idx, 'beträgt -Kaution')).toEqual([]);
    expect((await ids(idx, 'kaut*')).sort()).toEqual(['a-mietkaution', 'b-kaution']);
    expect(await ids(idx, 'beitr*')).toEqual(['a-versicherungsbeitrag']);
  });

  it('weights a compound part’s frequency by compoundPartWeight: at 1 a part counts as the word itself', async () => {
    const idx = newIndex({ compoundPartWeight: 1 });
    await idx.addDocuments('t1', [
      { docId: 'b-kaution', language: 'deu', fields: { body: ['Die Kaution beträgt 1500 Euro.'] } },
      { docId: 'a-mietkaution', language: 'deu', fields: { body: ['Die Mietkaution beträgt 1500 Euro.'] } },
    ]);
    const r = await idx.search('t1', 'Kaution');
    expect(r.hits.map((h) => h.docId)).toEqual(['a-mietkaution', 'b-kaution']);
    expect(r.hits[0]!.score).toBe(r.hits[1]!.score);
    // A part said three times outweighs the word said once at the default weight (½ each, before saturation).
    const half = newIndex();
    await half.addDocuments('t2', [
      { docId: 'b-kaution', language: 'deu', fields: { body: ['Die Kaution beträgt 1500 Euro.'] } },
      { docId: 'a-mietkaution', language: 'deu', fields: { body: ['Mietkaution, Mietkaution, Mietkaution: 1500 Euro.'] } },
    ]);
    expect(await ids(half, 'Kaution', 't2')).toEqual(['a-mietkaution', 'b-kaution']);
    expect(() => newIndex({ compoundPartWeight: 0 })).toThrow(/compoundPartWeight/);
  });

  it('stems (Rechnungen → Rechnung, running → run)', async () => {
    const idx = newIndex();
    await idx.addDocuments('t1', CORPUS);
    expect((await ids(idx, 'Rechnungen')).sort()).toEqual(['de-mahnung', 'de-rechnung']);
    expect(await ids(idx, 'run')).toEqual(['en-run']);
    expect(await ids(idx, 'runs')).toEqual(['en-run']);
  });

  it('keeps numbers and codes whole', async () => {
    const idx = newIndex();
    await idx.addDocuments('t1', CORPUS);
    expect(await ids(idx, 'RE-2024-0042')).toEqual(['de-rechnung']);
    expect(await ids(idx, 'RE-2024-0043')).toEqual([]);
    expect(await ids(idx, '3,14')).toEqual(['de-rechnung']);
    expect(await ids(idx, 'W-2')).toEqual(['en-tax']);
    // As typed without the joiners, lower case: the code, highlighted whole.
    expect(await ids(idx, 'w2')).toEqual(['en-tax']);
    const re = await idx.search('t1', 're20240042');
    expect(re.hits.map((h) => h.docId)).toEqual(['de-rechnung']);
    const s = re.hits[0]!.snippets[0]!;
    expect(s.highlights.map((h) => s.text.slice(h.start, h.end))).toEqual(['RE-2024-0042']);
    expect(await ids(idx, 'DE89370400440532013000')).toEqual(['de-rechnung']);
    expect(await ids(idx, '"DE89 3704 0044 0532 0130 00"')).toEqual(['de-rechnung']);
  });

  it('expands prefixes, capped', async () => {
    const idx = newIndex();
    await idx.addDocuments('t1', CORPUS);
    expect((await ids(idx, 'rechn*')).sort()).toEqual(['de-mahnung', 'de-rechnung']);
    expect((await ids(idx, 'datensch*')).sort()).toEqual(['de-datenschutz', 'de-erklaerung']);
    const capped = newIndex({ maxPrefixExpansions: 1 });
    expect((await capped.search('t1', 'd*')).total).toBeGreaterThan(0);
  });

  it('returns snippets with highlights and page numbers, totals and took time', async () => {
    const idx = newIndex();
    await idx.addDocuments('t1', CORPUS);
    const r = await idx.search('t1', 'überweisen');
    expect(r.total).toBe(1);
    expect(r.totalExact).toBe(true);
    expect(r.tookMicros).toBeGreaterThanOrEqual(0);
    const s = r.hits[0]?.snippets[0];
    if (!s) throw new Error('no snippet');
    expect(s.page).toBe(2);
    const h = s.highlights[0]!;
    expect(s.text.slice(h.start, h.end)).toBe('überweisen');
  });

  it('highlights the words of a phrase only where the phrase matches, and loose words everywhere', async () => {
    const idx = newIndex();
    await idx.addDocuments('t1', [
      {
        docId: 'strasse',
        language: 'deu',
        fields: { body: ['Die Straße der Häuser liegt bei der Sparkasse, die Häuser der Straße auch.'] },
      },
    ]);
    const shown = async (q: string) =>
      (await idx.search('t1', q, { maxSnippets: 5 })).hits.flatMap((h) =>
        h.snippets.flatMap((s) => s.highlights.map((x) => `${s.text.slice(x.start, x.end)}@${x.start}`)),
      );
    expect(await shown('"Straße der"')).toEqual(['Straße@4', 'der@11']);
    expect(await shown('"der Häuser"')).toEqual(['der@11', 'Häuser@15']);
    expect(await shown('"Straße der" Sparkasse')).toEqual(['Straße@4', 'der@11', 'Sparkasse@36']);
    // "der" asked for on its own as well: every one.
    expect(await shown('"Straße der" der')).toEqual(['Straße@4', 'der@11', 'der@32', 'der@58']);
    // Proximity: the words within the window, in any order (the first "Häuser" is 4 words away).
    expect(await shown('"Sparkasse Häuser"~1')).toEqual(['Sparkasse@36', 'Häuser@51']);
    expect(await shown('"Sparkasse Häuser"~3')).toEqual(['Häuser@15', 'Sparkasse@36', 'Häuser@51']);
  });

  it('highlights the words the index matched, from each document’s stored spans, through merges, updates and deletes', async () => {
    const idx = newIndex();
    await idx.addDocuments('t1', CORPUS);
    const shown = async (q: string) =>
      Object.fromEntries(
        (await idx.search('t1', q, { limit: 20, maxSnippets: 5 })).hits.map((h) => [
          h.docId,
          h.snippets.map((s) => [s.page, ...s.highlights.map((x) => s.text.slice(x.start, x.end))]),
        ]),
      );
    const rechnungMueller = {
      'de-rechnung': [[1, 'Müller', 'Rechnung']],
      'de-mahnung': [[1, 'Mueller', 'Rechnungen']],
    };
    expect(await shown('Rechnung Müller')).toEqual(rechnungMueller);
    // A match in the title only (de-erklaerung) shows the opening of its first page, nothing highlighted.
    expect(await shown('Datenschutz*')).toEqual({ 'de-datenschutz': [[1, 'Datenschutzerklärung']], 'de-erklaerung': [[1]] });
    const titleOnly = (await idx.search('t1', 'title:Datenschutz')).hits.find((h) => h.docId === 'de-erklaerung');
    expect(titleOnly?.snippets).toEqual([
      { page: 1, text: 'Eine kurze Erklärung.', highlights: [], cutBefore: false, cutAfter: false },
    ]);
    const off = await idx.search('t1', 'title:Datenschutz', { snippets: false });
    expect(off.hits.map((h) => h.snippets)).toEqual(off.hits.map(() => []));
    // An IBAN's term shares the position of its first group: that group's own span is kept, so no two
    // highlights overlap and each is one word (an OCR word box).
    expect(await shown('"DE89 3704 0044 0532 0130 00"')).toEqual({ 'de-rechnung': [[2, 'DE89']] });
    expect(await shown('"DE89 3704"')).toEqual({ 'de-rechnung': [[2, 'DE89', '3704']] });
    expect(await shown('RE-2024-0042 OR überweisen')).toEqual({
      'de-rechnung': [
        [1, 'RE-2024-0042'],
        [2, 'überweisen'],
      ],
    });
    // A word asked for in the title is shown where the body holds it too (stems included).
    expect(await shown('title:Arbeitsvertrag')).toEqual({ 'de-vertrag': [[1, 'Arbeitsvertrag']] });
    expect(await shown('title:running')).toEqual({ 'en-run': [[1, 'running', 'Runs']] });
    await idx.merge({ force: true });
    expect(await shown('Rechnung Müller')).toEqual(rechnungMueller);
    // The same by document id (the date and title orders' hits), in the order asked; unknown ids get none.
    const byId = await idx.highlights('t1', ['nope', 'de-mahnung'], looseTerms(['mull', 'mueller', 'rechnung']));
    expect(byId.map((m) => [...m.entries()].map(([p, page]) => [p, page.hits]))).toEqual([
      [],
      [
        [
          0,
          [
            { start: 5, end: 12, term: 0 },
            { start: 21, end: 31, term: 2 },
          ],
        ],
      ],
    ]);
    // An update's snippets come from its new text; a deleted document's spans are gone with it.
    await idx.addDocuments('t1', [
      { docId: 'de-mahnung', language: 'deu', fields: { body: ['Letzte Mahnung: Rechnung von Müller'] } },
    ]);
    expect((await shown('Rechnung Müller'))['de-mahnung']).toEqual([[1, 'Rechnung', 'Müller']]);
    await idx.deleteDocument('t1', 'de-mahnung');
    const spanKeys = () =>
      [...idx.store.spans.getKeys({ start: ['t1'], end: ['t1', '\u{10FFFF}'] })].map((k) => (k as string[])[1]);
    expect(spanKeys()).not.toContain('de-mahnung');
    expect(spanKeys().sort()).toEqual(
      CORPUS.map((d) => d.docId)
        .filter((d) => d !== 'de-mahnung')
        .sort(),
    );
  });

  it('shows no highlight from a page whose text changed after the index read its spans', async () => {
    const texts = new InMemoryTextStore();
    const idx = newIndex({ textStore: texts });
    await idx.addDocuments('t1', [
      { docId: 'a', language: 'deu', fields: { body: ['Die Rechnung an Müller', 'Seite zwei: Rechnung'] } },
    ]);
    const pagesOf = async () => (await idx.search('t1', 'Rechnung')).hits[0]!.snippets.map((s) => s.page);
    expect(await pagesOf()).toEqual([1, 2]);
    // As when a reprocessed document's new text is stored before the index has taken it: page 1 of the
    // same length with another word where the hit was, page 2 as it was.
    texts.put('t1', 'a', ['Die Zeichnug an Müller', 'Seite zwei: Rechnung']);
    expect(await pagesOf()).toEqual([2]);
  });

  it('chooses snippets among the first 1 000 occurrences of each term in a hit', async () => {
    const idx = newIndex();
    const body = ['Rechnung '.repeat(1000), 'Rechnung und Mahnung', 'Mahnung'];
    await idx.addDocuments('t1', [{ docId: 'long', language: 'deu', fields: { body } }]);
    const shown = async (q: string) =>
      (await idx.search('t1', q, { maxSnippets: 5 })).hits[0]!.snippets.map((s) => [
        s.page,
        [...new Set(s.highlights.map((h) => s.text.slice(h.start, h.end)))],
      ]);
    // Page 2's Rechnung is the 1 001st; Mahnung's occurrences are its first and second.
    expect(await shown('Rechnung')).toEqual([[1, ['Rechnung']]]);
    expect(await shown('Rechnung Mahnung')).toEqual([
      [1, ['Rechnung']],
      [2, ['Mahnung']],
      [3, ['Mahnung']],
    ]);
  });

  it('paginates with a cursor', async () => {
    const idx = newIndex();
    await idx.addDocuments('t1', CORPUS);
    const all = await ids(idx, 'the OR Herr OR der');
    const first = await idx.search('t1', 'the OR Herr OR der', { limit: 2 });
    const second = await idx.search('t1', 'the OR Herr OR der', { limit: 2, cursor: first.nextCursor! });
    expect([...first.hits, ...second.hits].map((h) => h.docId)).toEqual(all.slice(0, 4));
  });

  it('deletes at once and updates as delete + add', async () => {
    const idx = newIndex();
    await idx.addDocuments('t1', CORPUS);
    expect(await idx.deleteDocument('t1', 'de-mahnung')).toBe(true);
    expect(await idx.deleteDocument('t1', 'de-mahnung')).toBe(false);
    expect(await ids(idx, 'Rechnung')).toEqual(['de-rechnung']);
    await idx.addDocuments('t1', [{ docId: 'en-fox', fields: { title: 'Cat', body: ['A cat, no longer a canine.'] } }]);
    expect(await ids(idx, 'dog')).toEqual(['en-brown']);
    expect(await ids(idx, 'cat')).toEqual(['en-fox']);
    // Merging purges tombstones and keeps results.
    const before = await idx.search('t1', 'the OR Rechnung OR cat', { limit: 20 });
    await idx.merge({ force: true });
    const after = await idx.search('t1', 'the OR Rechnung OR cat', { limit: 20 });
    expect(after.hits.map((h) => h.docId).sort()).toEqual(before.hits.map((h) => h.docId).sort());
    expect(await ids(idx, 'Mahnung')).toEqual([]);
  });
});

describe('SearchIndex deletes in batches', () => {
  it('deleteDocuments writes every tombstone in one transaction; each id reaches hooks.deleted and the text store', async () => {
    const deleted: string[] = [];
    const textStore = new InMemoryTextStore();
    const idx = newIndex({ textStore, hooks: { deleted: (_t, id) => deleted.push(id) } });
    const docs = (from: number): IndexDoc[] =>
      Array.from({ length: 50 }, (_, i) => ({ docId: `q${from + i}`, fields: { body: [`Quittung ${from + i}`] } }));
    await idx.addDocuments('t1', docs(0));
    await idx.addDocuments('t1', docs(50));
    const childTransaction = root.childTransaction.bind(root);
    let transactions = 0;
    root.childTransaction = <T>(fn: () => T) => {
      transactions++;
      return childTransaction(fn);
    };
    // Both segments, an unknown id and a repeated one.
    const gone = [...docs(0), ...docs(50)].filter((_, i) => i % 2 === 0).map((d) => d.docId);
    expect(await idx.deleteDocuments('t1', [...gone, 'unbekannt', 'q0'])).toBe(50);
    expect(transactions).toBe(1);
    expect(deleted.sort()).toEqual([...gone].sort());
    for (const id of gone) expect(textStore.get('t1', id)).toBeUndefined();
    expect(textStore.get('t1', 'q1')).toBeDefined();
    expect((await idx.search('t1', 'Quittung', { limit: 100 })).total).toBe(50);
    expect(await idx.deleteDocuments('t1', gone)).toBe(0);
  });

  it('deletes asked for at once share one transaction, but never jump a write queued between them', async () => {
    const idx = newIndex();
    await idx.addDocuments('t1', CORPUS);
    const childTransaction = root.childTransaction.bind(root);
    let transactions = 0;
    root.childTransaction = <T>(fn: () => T) => {
      transactions++;
      return childTransaction(fn);
    };
    // What a Delete of a document and its descendants asks: one remove each, in one go.
    const found = await Promise.all(CORPUS.map((d) => idx.deleteDocument('t1', d.docId)));
    expect(found.every(Boolean)).toBe(true);
    expect(transactions).toBe(1);
    // Deleted, added again, deleted again: the second delete comes after the add, not in the first batch.
    const fox: IndexDoc = { docId: 'en-fox', fields: { body: ['A quick brown fox'] } };
    const writes = [idx.deleteDocument('t1', 'en-fox'), idx.addDocuments('t1', [fox]), idx.deleteDocument('t1', 'en-fox')];
    expect(await Promise.all(writes)).toEqual([false, { segmentId: expect.any(Number), docs: 1 }, true]);
    expect(await ids(idx, 'fox')).toEqual([]);
  });
});

describe('SearchIndex adds waiting for a build slot', () => {
  it('join the add before them into one segment, but never across another write, and the last document wins', async () => {
    // One build at a time, held until released: the adds after the first wait for the slot.
    const held: (() => void)[] = [];
    const builds: number[] = [];
    const analyser: SegmentBuild = async (docs, language, sealing) => {
      builds.push(docs.length);
      await new Promise<void>((release) => held.push(release));
      return buildInThread(docs, language, sealing);
    };
    const idx = newIndex({ analyser, buildsAtOnce: 1 });
    const doc = (docId: string, body: string): IndexDoc => ({ docId, fields: { body: [body] } });
    const a = idx.addDocuments('t1', [doc('a', 'Angebot Alpha')]); // builds at once
    const b = idx.addDocuments('t1', [doc('b', 'Bescheid Beta'), doc('x', 'Xaver Mahnung')]); // waits
    const c = idx.addDocuments('t1', [doc('c', 'Coupon Gamma'), doc('b', 'Bescheid Beta zweite Fassung')]); // joins b
    const del = idx.deleteDocument('t1', 'x'); // after b's write
    const d = idx.addDocuments('t1', [doc('x', 'Xaver Quittung')]); // after the delete: waits anew
    const other = idx.addDocuments('t2', [doc('y', 'Yacht')]); // another tenant: waits on its own
    for (let n = 1; n <= 4; n++) {
      await vi.waitFor(() => expect(held.length).toBe(n));
      held[n - 1]!();
    }
    expect(await a).toEqual({ segmentId: expect.any(Number), docs: 1 });
    const [rb, rc] = await Promise.all([b, c]);
    expect(rc.segmentId).toBe(rb.segmentId);
    expect([rb.docs, rc.docs]).toEqual([2, 2]);
    expect(await del).toBe(true);
    expect((await d).segmentId).not.toBe(rb.segmentId);
    await other;
    // a; b, x and c (b's second version) together; x again; the other tenant's y.
    expect(builds).toEqual([1, 3, 1, 1]);
    expect(listSegments(idx.store, 't1')).toHaveLength(3);
    expect(await ids(idx, 'Fassung')).toEqual(['b']);
    expect(await ids(idx, 'Bescheid')).toEqual(['b']);
    expect(await ids(idx, 'Mahnung')).toEqual([]);
    expect(await ids(idx, 'Quittung')).toEqual(['x']);
    expect(await ids(idx, 'Coupon')).toEqual(['c']);
    expect(await ids(idx, 'Yacht', 't2')).toEqual(['y']);
    expect((await idx.search('t1', 'Alpha OR Bescheid OR Coupon OR Xaver')).total).toBe(4);
  });
});

describe('SearchIndex isolation, merging, rebuild', () => {
  it('keeps tenants apart: terms, hits and scores', async () => {
    const idx = newIndex();
    await idx.addDocuments('B', CORPUS.slice(0, 4));
    const before = await idx.search('B', 'Rechnung OR Müller OR Datenschutz', { limit: 20 });
    await idx.addDocuments('A', [
      ...CORPUS,
      {
        docId: 'a-only',
        fields: { title: 'Geheimprojekt Rechnung Rechnung', body: ['Rechnung Müller Datenschutz geheimprojekt'] },
      },
    ]);
    const after = await idx.search('B', 'Rechnung OR Müller OR Datenschutz', { limit: 20 });
    expect(after.hits.map((h) => [h.docId, h.score])).toEqual(before.hits.map((h) => [h.docId, h.score]));
    expect(await ids(idx, 'geheimprojekt', 'B')).toEqual([]);
    expect(await ids(idx, 'geheim*', 'B')).toEqual([]);
    expect(await ids(idx, 'geheimprojekt', 'A')).toEqual(['a-only']);
    expect(await ids(idx, 'Rechnung', 'C')).toEqual([]);
  });

  it('gives identical results after drop and rebuild', async () => {
    const idx = newIndex();
    const docs = generateCorpus(300, 7);
    const load = async () => {
      for (let i = 0; i < docs.length; i += 50) await idx.addDocuments('t1', docs.slice(i, i + 50));
      await idx.deleteDocument('t1', 'g5');
      await idx.merge({ tenantId: 't1' });
    };
    await load();
    const queries = ['alpha', 'beta gamma', 'delta OR epsilon', '"alpha beta"', 'ze*'];
    const snap = async () =>
      Promise.all(queries.map(async (q) => (await idx.search('t1', q, { limit: 50 })).hits.map((h) => [h.docId, h.score])));
    const first = await snap();
    await idx.dropTenant('t1');
    expect((await idx.search('t1', 'alpha')).total).toBe(0);
    await load();
    expect(await snap()).toEqual(first);
  });

  it('merges in the background while queries run, without changing results', async () => {
    const idx = newIndex({ autoMerge: true, mergePolicy: { mergeFactor: 4 } });
    const docs = generateCorpus(400, 11);
    for (let i = 0; i < docs.length; i += 10) await idx.addDocuments('t1', docs.slice(i, i + 10));
    const reference = newIndex();
    const results: string[][] = [];
    const running: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      running.push(idx.merge({ tenantId: 't1' }));
      results.push(await ids(idx, 'alpha beta'));
    }
    await Promise.all(running);
    await idx.merge({ force: true });
    const final = (await idx.search('t1', 'alpha beta', { limit: 1000 })).hits.map((h) => h.docId).sort();
    for (const r of results) for (const id of r) expect(final).toContain(id);
    expect(reference).toBeDefined();
    expect((await idx.search('t1', 'alpha beta', { limit: 1000 })).total).toBe(final.length);
  });

  it('removes every key of hundreds of merged-away segments, more than one removal transaction holds', async () => {
    const idx = newIndex();
    const docs = generateCorpus(600, 12);
    // One document per segment, as processed uploads come; one tombstone, so `deletes` has a key too.
    await Promise.all(docs.map((d) => idx.addDocuments('t1', [d])));
    await idx.deleteDocument('t1', docs[0]!.docId);
    const store = idx.store;
    const dbs = { dirs: store.dirs, terms: store.terms, positions: store.positions, large: store.large, docs: store.docs };
    const keysOf = (db: (typeof dbs)[keyof typeof dbs] | typeof store.values | typeof store.norms | typeof store.deletes) => [
      ...db.getKeys({ start: ['t1'], end: ['t1', '\u{10FFFF}'] }),
    ];
    const before = Object.values(dbs).reduce((n, db) => n + keysOf(db).length, keysOf(store.values).length);
    expect(before, 'more keys than one removal transaction takes (2 000)').toBeGreaterThan(2000);
    const expected = await ids(idx, 'alpha OR beta');
    await idx.merge({ tenantId: 't1', force: true });
    const [only] = listSegments(store, 't1');
    for (const db of [...Object.values(dbs), store.values, store.norms])
      for (const key of keysOf(db)) expect((key as unknown[])[1]).toBe(only?.id);
    expect(keysOf(store.deletes)).toEqual([]);
    expect([...store.meta.getKeys({ start: ['t1', 'garbage'], end: ['t1', 'garbage', '\u{10FFFF}'] })]).toEqual([]);
    expect(await ids(idx, 'alpha OR beta')).toEqual(expected);
  });
});

describe('highlights from postings and spans', () => {
  it('equal re-analysing every page, for hits deep in blocks of frequent words, before and after a merge', async () => {
    const next = rng(11);
    const VOCAB = ['Rechnung', 'Rechnungen', 'alpha', 'beta', 'gamma', 'Datenschutzerklärung', 'RE-2024-7', 'müller', 'x1'];
    const docs: IndexDoc[] = Array.from({ length: 400 }, (_, d) => ({
      docId: `d${d}`,
      language: d % 3 === 0 ? 'eng' : 'deu',
      fields: {
        body: Array.from({ length: 1 + Math.floor(next() * 3) }, () =>
          Array.from({ length: 5 + Math.floor(next() * 60) }, () => VOCAB[Math.floor(next() * VOCAB.length)]).join(' '),
        ),
      },
    }));
    const idx = newIndex();
    for (let i = 0; i < docs.length; i += 100) await idx.addDocuments('t1', docs.slice(i, i + 100));
    /** Each page's words yielding one of `terms`, in order, with the first matching term per word. */
    const expected = (doc: IndexDoc, terms: string[]) => {
      const out: [number, number, number, number][] = [];
      let pos = 0;
      for (const [p, text] of (doc.fields.body ?? []).entries())
        pos = analyse(
          text,
          doc.language!,
          (term, _q, start, end) => {
            const t = terms.indexOf(term);
            if (t >= 0) out.push([p, start, end, t]);
          },
          'index',
          pos,
        );
      return out.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[3] - b[3]);
    };
    const check = async () => {
      for (const terms of [['alpha'], ['rechnung', 'beta'], ['gamma', 'mull', 'datenschutzerklarung', 're-2024-7'], ['nichts']]) {
        const got = await idx.highlights(
          't1',
          docs.map((d) => d.docId),
          looseTerms(terms),
        );
        const flat = (m: Map<number, PageHits>) =>
          [...m.entries()].flatMap(([p, page]) => page.hits.map((h) => [p, h.start, h.end, h.term]));
        for (const [i, doc] of docs.entries()) expect(flat(got[i]!), `${doc.docId} ${terms}`).toEqual(expected(doc, terms));
        // One document at a time: the walk starts at it, stepping over the runs of positions before it.
        for (const doc of docs.filter((_, i) => i % 7 === 3)) {
          const [one] = await idx.highlights('t1', [doc.docId], looseTerms(terms));
          expect(flat(one!), `${doc.docId} alone, ${terms}`).toEqual(expected(doc, terms));
        }
      }
    };
    await check();
    await idx.merge({ force: true });
    await check();
  });
});

describe('phrases over a positions stream of many chunks', () => {
  it('match exactly the documents holding the words adjacent in one field, before and after a merge', async () => {
    const idx = newIndex();
    const docs = generateCorpus(3000, 5);
    for (let i = 0; i < docs.length; i += 1000) await idx.addDocuments('t1', docs.slice(i, i + 1000));
    const fieldsOf = (d: IndexDoc) => [d.fields.title ?? '', ...(d.fields.body ?? [])].map((f) => f.split(' '));
    const expected = (a: string, b: string) =>
      docs
        .filter((d) => fieldsOf(d).some((w) => w.some((x, i) => x === a && w[i + 1] === b)))
        .map((d) => d.docId)
        .sort();
    const pairs: [string, string][] = [];
    for (let i = 0; i < 40; i++) pairs.push([VOCAB[(i * 7) % VOCAB.length]!, VOCAB[(i * 13 + 5) % VOCAB.length]!]);
    pairs.push(['alpha', 'alpha'], ['omega', 'alpha']);
    const check = async () => {
      let nonEmpty = 0;
      for (const [a, b] of pairs) {
        const want = expected(a, b);
        if (want.length > 1000) continue;
        const r = await idx.search('t1', `"${a} ${b}"`, { limit: 1000 });
        expect(r.hits.map((h) => h.docId).sort(), `"${a} ${b}"`).toEqual(want);
        if (want.length > 0) nonEmpty++;
      }
      expect(nonEmpty).toBeGreaterThan(20);
    };
    await check();
    await idx.merge({ force: true });
    await check();
    // The merged segment's positions fill several chunks, so blocks' positions straddle chunk ends.
    expect(root.openDB({ name: 'index-positions', encoding: 'binary' }).getKeysCount()).toBeGreaterThanOrEqual(5);
  }, 60_000);
});

/** 3000 generated documents in 6 segments, 40 of them deleted, and a seeded picker of (skewed) vocabulary words. */
async function prunedCorpus(seed: number) {
  const idx = newIndex();
  const docs = generateCorpus(3000, 3);
  for (let i = 0; i < docs.length; i += 500) await idx.addDocuments('t1', docs.slice(i, i + 500));
  for (let i = 0; i < 40; i++) await idx.deleteDocument('t1', `g${i * 37}`);
  let state = seed;
  const rnd = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
  const word = () => VOCAB[Math.floor(rnd() ** 2 * VOCAB.length)]!;
  return { idx, rnd, word };
}

/** A random query of every kind pruning handles: OR, AND, nested, fields, phrases, prefixes, exclusions. */
function randomQuery(rnd: () => number, word: () => string): string {
  const n = 1 + Math.floor(rnd() * 3);
  const words = Array.from({ length: n }, word);
  const r = rnd();
  // Field restrictions prune with bounds of only the fields they allow; a prefix's expansions prune
  // each on its own bounds (the best one scores).
  const stem = words[0]!.slice(0, 1 + Math.floor(rnd() * 2));
  return r < 0.3
    ? words.join(' OR ')
    : r < 0.55
      ? words.join(' ')
      : r < 0.63
        ? `${words[0]} (${words.slice(1).join(' OR ') || 'alpha'})`
        : r < 0.7
          ? `title:${words.join(' OR title:')}`
          : r < 0.77
            ? `from:${words[0]} OR ${words.slice(1).join(' OR ') || 'alpha'}`
            : r < 0.84
              ? `"${words.join(' ')}"`
              : r < 0.9
                ? `${stem}*`
                : r < 0.95
                  ? `${stem}* OR ${words.slice(1).join(' ') || 'beta'}`
                  : `${stem}* -${words[1] ?? 'beta'} ${r < 0.975 ? 'title:' : ''}${stem}*`;
}

/** Each query's pruned top 10 is its exhaustive top 10: ten hits, the same ids and the same float scores. */
async function expectPrunedExact(idx: SearchIndex, queries: readonly string[]): Promise<void> {
  for (const q of queries) {
    const fast = await idx.search('t1', q, { limit: 10, exactTotalUpTo: 0, snippets: false });
    const slow = await idx.search('t1', q, { limit: 10, exhaustive: true, snippets: false });
    expect(fast.hits.length, q).toBe(10);
    expect(
      fast.hits.map((h) => [h.docId, h.score]),
      q,
    ).toEqual(slow.hits.map((h) => [h.docId, h.score]));
  }
}

/** Runs `count` random queries pruned and exhaustively; returns how many were pruned (total estimated). */
async function comparePruned(
  idx: SearchIndex,
  rnd: () => number,
  word: () => string,
  count: number,
  kinds: (rnd: () => number, word: () => string) => string = randomQuery,
): Promise<number> {
  let pruned = 0;
  for (let i = 0; i < count; i++) {
    const q = kinds(rnd, word);
    const fast = await idx.search('t1', q, { limit: 10, exactTotalUpTo: 0, snippets: false });
    const slow = await idx.search('t1', q, { limit: 10, exhaustive: true, snippets: false });
    expect(
      fast.hits.map((h) => h.docId),
      q,
    ).toEqual(slow.hits.map((h) => h.docId));
    fast.hits.forEach((h, k) => {
      expect(Math.abs(h.score - (slow.hits[k]?.score ?? Number.NaN))).toBeLessThanOrEqual(1e-9);
      // Equal scores in document id order, whatever segment holds them.
      const prev = fast.hits[k - 1];
      if (prev !== undefined && prev.score === h.score) expect(prev.docId < h.docId, q).toBe(true);
    });
    if (!fast.totalExact) pruned++;
  }
  return pruned;
}

describe('top-k pruning', () => {
  it('matches a phrase whose frequent word is two stems (German and English documents), probed doc by doc, as exhaustive scoring and a scan do', async () => {
    // `müller` is the group `mull | muller` (each language's stem, nearly disjoint), far more frequent than
    // `gmbh`: the phrase walks `gmbh` and probes the group's members at scattered docs, each summing a block's
    // doc ids only as far as the doc it looks for, and only where the group's bound at the doc's own length
    // (its impacts no longer than the doc) may still lift it to the minimum; deleted documents and three
    // segments in between. A bound that leaves out the impacts of exactly the doc's length fails this.
    const idx = newIndex();
    const r = rng(23);
    const docs: IndexDoc[] = [];
    for (let i = 0; i < 6000; i++) {
      const words = Array.from({ length: 8 + Math.floor(r() * 40) }, () => `wort${Math.floor(r() * 60)}`);
      if (r() < 0.45) words.splice(Math.floor(r() * words.length), 0, 'müller');
      if (r() < 0.12) words.splice(Math.floor(r() * words.length), 0, r() < 0.6 ? 'müller gmbh' : 'gmbh');
      const language = r() < 0.5 ? 'deu' : 'eng';
      docs.push({
        docId: `m${String(i).padStart(4, '0')}`,
        language,
        fields: { title: `titel${i % 5}`, body: [words.join(' ')] },
      });
    }
    for (let i = 0; i < docs.length; i += 2000) await idx.addDocuments('t1', docs.slice(i, i + 2000));
    const deleted = new Set(docs.filter((_, i) => i % 13 === 4).map((d) => d.docId));
    for (const id of deleted) await idx.deleteDocument('t1', id);
    const want = docs
      .filter(
        (d) =>
          !deleted.has(d.docId) && d.fields.body![0]!.split(' ').some((w, i, all) => w === 'müller' && all[i + 1] === 'gmbh'),
      )
      .map((d) => d.docId)
      .sort();
    expect(want.length).toBeGreaterThan(300);
    const all = await idx.search('t1', '"müller gmbh"', { limit: 1000, snippets: false });
    expect(all.hits.map((h) => h.docId).sort()).toEqual(want);
    await expectPrunedExact(idx, ['"müller gmbh"', 'müller gmbh', 'gmbh müller wort7']);
  });

  it('matches a phrase through a word’s compound part where the word itself scores the document, pruned as exhaustive', async () => {
    // `kaution` is the group of the word and its part term (from `mietkaution`), far more frequent than
    // `beträgt`: the pruned walk probes the group only through members whose bound at the doc may still lift
    // it to the minimum. In the short documents at the end the word (three times) scores them, while the
    // phrase is made by the part, whose bound there is below what the doc needs: its positions must still
    // be read.
    const idx = newIndex();
    const r = rng(31);
    const docs: IndexDoc[] = [];
    for (let i = 0; i < 3000; i++) {
      const words = Array.from({ length: 20 + Math.floor(r() * 40) }, () => `wort${Math.floor(r() * 80)}`);
      if (r() < 0.6) words.splice(Math.floor(r() * words.length), 0, r() < 0.7 ? 'kaution' : 'mietkaution');
      if (r() < 0.1) words.splice(Math.floor(r() * words.length), 0, 'beträgt');
      docs.push({ docId: `f${String(i).padStart(4, '0')}`, language: 'deu', fields: { body: [words.join(' ')] } });
    }
    // Each shorter than the one before, so the best come last, when the minimum has risen.
    const targets: string[] = [];
    for (let i = 0; i < 20; i++) {
      const docId = `t${String(i).padStart(2, '0')}`;
      targets.push(docId);
      const filler = Array.from({ length: 20 - i }, (_, j) => `wort${j}`).join(' ');
      docs.push({ docId, language: 'deu', fields: { body: [`kaution kaution kaution mietkaution beträgt ${filler}`] } });
    }
    await idx.addDocuments('t1', docs);
    const slow = await idx.search('t1', '"kaution beträgt"', { limit: 10, exhaustive: true, snippets: false });
    expect(slow.hits.map((h) => h.docId)).toEqual(targets.slice(10).reverse());
    await expectPrunedExact(idx, ['"kaution beträgt"']);
  });

  it("reads each tenant's postings and positions, and a refilled tenant's afresh, though their segments' numbers repeat", async () => {
    // Postings and chunks of positions are kept in memory between queries by segment uid: tenants number
    // their segments alike.
    const idx = newIndex();
    const doc = (docId: string, body: string): IndexDoc => ({ docId, language: 'deu', fields: { title: 'x', body: [body] } });
    await idx.addDocuments('t1', [doc('a', 'alpha beta'), doc('b', 'beta')]);
    await idx.addDocuments('t2', [doc('c', 'beta'), doc('d', 'gamma delta alpha gamma')]);
    const found = async (tenant: string, q: string) => (await idx.search(tenant, q)).hits.map((h) => h.docId).sort();
    expect(await found('t1', 'alpha')).toEqual(['a']);
    expect(await found('t2', 'alpha')).toEqual(['d']);
    expect(await found('t1', 'beta')).toEqual(['a', 'b']);
    expect(await found('t2', 'gamma')).toEqual(['d']);
    expect(await found('t1', '"alpha beta"')).toEqual(['a']);
    expect(await found('t2', '"alpha gamma"')).toEqual(['d']);
    expect(await found('t2', '"gamma alpha"')).toEqual([]);
    await idx.dropTenant('t1');
    await idx.addDocuments('t1', [doc('e', 'gamma'), doc('f', 'beta alpha')]);
    expect(await found('t1', 'alpha')).toEqual(['f']);
    expect(await found('t1', 'gamma')).toEqual(['e']);
    expect(await found('t1', '"alpha beta"')).toEqual([]);
    expect(await found('t1', '"beta alpha"')).toEqual(['f']);
  });

  it('returns the same top 10 as exhaustive scoring on 1000 random queries', async () => {
    const { idx, rnd, word } = await prunedCorpus(99);
    expect(await comparePruned(idx, rnd, word, 1000)).toBeGreaterThan(100);
  });

  it('returns the same top 10 in one merged segment, where a disjunction scores several windows of docs', async () => {
    const { idx, rnd, word } = await prunedCorpus(5);
    await idx.merge({ force: true });
    // Unions of 2–4 words and unions under a word or a filter: each walks windows of 2048 docs in order.
    const unions = (r: () => number, w: () => string) => {
      const words = Array.from({ length: 2 + Math.floor(r() * 3) }, w);
      const x = r();
      return x < 0.6 ? words.join(' OR ') : x < 0.8 ? `(${words.join(' OR ')}) -${w()}` : `${w()}* OR ${words.join(' OR ')}`;
    };
    expect(await comparePruned(idx, rnd, word, 400, unions)).toBeGreaterThan(200);
  });

  it('returns the same top 10 where thousands of documents tie exactly, ties in id order, before and after a merge', async () => {
    // 40 distinct documents, each written ~75 times under ids that do not follow the write order, in 6
    // segments: every score ties with dozens of others at the k-th place, where the collector must keep
    // the smallest ids rather than the first found.
    const idx = newIndex();
    const distinct = generateCorpus(40, 11);
    const docs = Array.from({ length: 3000 }, (_, i) => {
      const d = distinct[i % 40]!;
      return { ...d, docId: `t${String((i * 7919) % 3000).padStart(4, '0')}` };
    });
    for (let i = 0; i < docs.length; i += 500) await idx.addDocuments('t1', docs.slice(i, i + 500));
    for (let i = 0; i < 40; i++) await idx.deleteDocument('t1', `t${String(i * 61).padStart(4, '0')}`);
    let state = 17;
    const rnd = () => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state / 0x7fffffff;
    };
    const word = () => VOCAB[Math.floor(rnd() ** 2 * VOCAB.length)]!;
    expect(await comparePruned(idx, rnd, word, 300)).toBeGreaterThan(30);
    await idx.merge({ force: true });
    expect(await comparePruned(idx, rnd, word, 300)).toBeGreaterThan(30);
  });

  it('passes over the docs of a sparse word that its frequencies rule out, and still returns the exhaustive top 10', async () => {
    // `rarus` in every 11th document (a block of it spans ~1 400 doc ids), mostly once, now and then two to
    // five times or in the title too; documents grow shorter towards the end, so the minimum rises all along
    // and the docs that enter the top 10 lie close to it. Its blocks are scored for their best docs, and the
    // docs whose frequencies cannot reach the minimum are left unscored.
    const idx = newIndex();
    const r = rng(11);
    const docs: IndexDoc[] = [];
    for (let i = 0; i < 4000; i++) {
      const length = 5 + Math.floor((4000 - i) / 40) + Math.floor(r() * 30);
      const words = Array.from({ length }, () => `füllwort${Math.floor(r() * 40)}`);
      let title = `titel${i % 7}`;
      if (i % 11 === 0) {
        const tf = r() < 0.8 ? 1 : 2 + Math.floor(r() * 4);
        for (let k = 0; k < tf; k++) words.splice(Math.floor(r() * words.length), 0, r() < 0.5 ? 'rarus socius' : 'rarus');
        if (r() < 0.15) title = `rarus ${title}`;
      }
      if (r() < 0.3) words.splice(Math.floor(r() * words.length), 0, 'socius');
      docs.push({ docId: `s${i}`, language: 'deu', fields: { title, body: [words.join(' ')] } });
    }
    await idx.addDocuments('t1', docs.slice(0, 2500));
    await idx.addDocuments('t1', docs.slice(2500));
    await expectPrunedExact(idx, [
      'rarus',
      'rarus socius',
      '"rarus socius"',
      'rarus OR socius',
      'title:rarus OR rarus',
      'rarus -füllwort3',
    ]);
  });

  it('passes over windows of a union that cannot reach the minimum and still finds the better documents after them', async () => {
    const idx = newIndex();
    const filler = Array.from({ length: 60 }, (_, i) => `füllwort${i % 30}`).join(' ');
    const doc = (docId: string, body: string): IndexDoc => ({ docId, language: 'deu', fields: { body: [body] } });
    // First segment: ten short documents with both words fill the top 10.
    await idx.addDocuments(
      't1',
      Array.from({ length: 10 }, (_, i) => doc(`first-${i}`, `alpha beta ${filler.slice(0, 40)}`)),
    );
    // Second: 2 500 long documents score lower (the first window of 2 048 docs cannot reach the minimum),
    // then ten short ones with each word twice score higher than any before.
    const second: IndexDoc[] = [];
    for (let i = 0; i < 2500; i++) second.push(doc(`long-${i}`, `alpha ${i < 2048 ? 'beta ' : ''}${filler}`));
    for (let i = 0; i < 10; i++) second.push(doc(`best-${i}`, 'alpha alpha beta beta'));
    await idx.addDocuments('t1', second);
    const fast = await idx.search('t1', 'alpha OR beta', { limit: 10, exactTotalUpTo: 0, snippets: false });
    expect(fast.hits.map((h) => h.docId)).toEqual(Array.from({ length: 10 }, (_, i) => `best-${i}`));
    const slow = await idx.search('t1', 'alpha OR beta', { limit: 10, exhaustive: true, snippets: false });
    expect(fast.hits.map((h) => h.score)).toEqual(slow.hits.map((h) => h.score));
  });

  it('probes a word at the first doc of a window after it stopped gathering at the previous window’s end', async () => {
    const idx = newIndex();
    const filler = (n: number) => Array.from({ length: n }, (_, i) => `füllwort${i % 30}`).join(' ');
    const doc = (docId: string, body: string): IndexDoc => ({ docId, language: 'deu', fields: { body: [body] } });
    // First segment: ten long documents with `gamma` set a low minimum.
    await idx.addDocuments(
      't1',
      Array.from({ length: 10 }, (_, i) => doc(`first-${i}`, `gamma ${filler(200)}`)),
    );
    // Second: `gamma` in a block of 128 short docs, then in a block of 128 long ones that ends at doc 2 047,
    // the first window's last: both words are gathered there, and `gamma` stops at its block's end. From doc
    // 2 048 on, `alpha` (rarer, higher) is gathered and the long `gamma` only probed, first at doc 2 048,
    // which does not hold it.
    const gammaLong = new Set(Array.from({ length: 128 }, (_, j) => 2047 - 15 * (127 - j)));
    const second: IndexDoc[] = [];
    for (let i = 0; i < 128; i++) second.push(doc(`short-${i}`, `gamma gamma ${filler(5)}`));
    for (let i = 128; i < 2048; i++) second.push(doc(`other-${i}`, gammaLong.has(i) ? `gamma ${filler(200)}` : filler(5)));
    for (let i = 2048; i < 2112; i++) second.push(doc(`alpha-${i}`, `alpha alpha ${filler(5)}`));
    for (let i = 2112; i < 2400; i++) second.push(doc(`other-${i}`, `gamma ${filler(200)}`));
    await idx.addDocuments('t1', second);
    const fast = await idx.search('t1', 'alpha OR gamma', { limit: 10, exactTotalUpTo: 0, snippets: false });
    const slow = await idx.search('t1', 'alpha OR gamma', { limit: 10, exhaustive: true, snippets: false });
    expect(slow.hits.map((h) => h.docId)).toEqual(Array.from({ length: 10 }, (_, i) => `alpha-${2048 + i}`));
    expect(fast.hits.map((h) => h.docId)).toEqual(slow.hits.map((h) => h.docId));
    expect(fast.hits.map((h) => h.score)).toEqual(slow.hits.map((h) => h.score));
  });

  it('with a match visitor: visits every match once, in order, and still returns the exhaustive top 10', async () => {
    const { idx, rnd, word } = await prunedCorpus(7);
    for (let i = 0; i < 300; i++) {
      const words = Array.from({ length: 1 + Math.floor(rnd() * 3) }, word);
      const q = rnd() < 0.4 ? words.join(' OR ') : rnd() < 0.8 ? words.join(' ') : `"${words.join(' ')}"`;
      const seen: string[] = [];
      let batches = 0;
      const visitor: MatchVisitor = {
        segment: (_t, meta) => {
          let last = -1;
          return (ds, n) => {
            batches++;
            for (let j = 0; j < n; j++) {
              expect(ds[j]!).toBeGreaterThan(last); // ascending within a segment
              last = ds[j]!;
              seen.push(`${meta.id}:${last}`);
            }
          };
        },
      };
      const visited = await idx.search('t1', q, { limit: 10, snippets: false, visitor });
      const slow = await idx.search('t1', q, { limit: 10_000, exhaustive: true, snippets: false });
      expect(
        visited.hits.map((h) => h.docId),
        q,
      ).toEqual(slow.hits.slice(0, 10).map((h) => h.docId));
      expect(visited.hits.map((h) => h.score)).toEqual(slow.hits.slice(0, 10).map((h) => h.score));
      expect(visited.totalExact).toBe(true);
      expect(visited.total).toBe(slow.total);
      expect(seen.length).toBe(slow.total);
      expect(new Set(seen).size).toBe(seen.length);
      if (slow.total > 0) expect(batches).toBeGreaterThan(0);
    }
  });

  it('counts exactly up to the bound and estimates beyond', async () => {
    const idx = newIndex({ exactTotalUpTo: 100 });
    await idx.addDocuments('t1', generateCorpus(1000, 5));
    const exact = await idx.search('t1', 'alpha', { exhaustive: true });
    const est = await idx.search('t1', 'alpha');
    expect(exact.totalExact).toBe(true);
    expect(exact.total).toBeGreaterThan(100);
    expect(est.totalExact).toBe(false);
    expect(est.total).toBeGreaterThan(exact.total / 3);
    expect(est.total).toBeLessThan(exact.total * 3);
    expect(est.hits.map((h) => h.docId)).toEqual(exact.hits.map((h) => h.docId));
  });

  it('counts a list exactly as long as the bound exactly, and estimates from one match more', async () => {
    const idx = newIndex({ exactTotalUpTo: 100 });
    const doc = (docId: string, body: string): IndexDoc => ({ docId, language: 'deu', fields: { body: [body] } });
    // Two segments of 50 matches of `alpha`, then one with a match of `beta` only.
    for (const part of [0, 1])
      await idx.addDocuments(
        't1',
        Array.from({ length: 50 }, (_, i) => doc(`a-${part}-${i}`, 'alpha text')),
      );
    await idx.addDocuments('t1', [doc('b', 'beta text')]);
    const bound = await idx.search('t1', 'alpha', { limit: 10, snippets: false });
    expect([bound.total, bound.totalExact]).toEqual([100, true]);
    const past = await idx.search('t1', 'alpha OR beta', { limit: 10, snippets: false });
    expect(past.totalExact).toBe(false);
    expect(past.total).toBeGreaterThanOrEqual(101);
  });

  it('estimates beyond the bound over the segments that can match, not over those without the words', async () => {
    const idx = newIndex({ exactTotalUpTo: 100 });
    const doc = (docId: string, body: string): IndexDoc => ({ docId, language: 'deu', fields: { body: [body] } });
    await idx.addDocuments(
      't1',
      Array.from({ length: 150 }, (_, i) => doc(`a${i}`, `alpha ${'x '.repeat(i % 7)}`)),
    );
    await idx.addDocuments(
      't1',
      Array.from({ length: 2000 }, (_, i) => doc(`b${i}`, 'beta text')),
    );
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < 30; page++) {
      const r = await idx.search('t1', 'alpha', { limit: 10, snippets: false, ...(cursor ? { cursor } : {}) });
      // Extrapolated from 101 matches among the first segment's documents, not over the 2 000 without `alpha`.
      if (!r.totalExact) expect(r.total, `page ${page}`).toBeLessThanOrEqual(160);
      for (const h of r.hits) seen.add(h.docId);
      if (!r.nextCursor) break;
      cursor = r.nextCursor;
    }
    expect(seen.size).toBe(150);
  });
});

const VOCAB = [
  'alpha',
  'beta',
  'gamma',
  'delta',
  'epsilon',
  'zeta',
  'eta',
  'theta',
  'iota',
  'kappa',
  'lambda',
  'mu',
  'nu',
  'xi',
  'omicron',
  'pi',
  'rho',
  'sigma',
  'tau',
  'upsilon',
  'phi',
  'chi',
  'psi',
  'omega',
  'zebra',
  'zeppelin',
  'zenith',
];

function generateCorpus(n: number, seed: number): IndexDoc[] {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
  const word = () => VOCAB[Math.floor(rnd() ** 1.5 * VOCAB.length)]!;
  const docs: IndexDoc[] = [];
  for (let i = 0; i < n; i++) {
    const len = 3 + Math.floor(rnd() * 60);
    const body = Array.from({ length: len }, word).join(' ');
    docs.push({
      docId: `g${i}`,
      language: 'eng',
      fields: { title: `${word()} ${word()}`, body: [body], ...(rnd() < 0.2 ? { sender: word() } : {}) },
    });
  }
  return docs;
}
