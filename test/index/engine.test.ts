import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open, type RootDatabase, type Transaction } from 'lmdb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { normaliseWord } from '../../src/index/analyser.js';
import type { DocValues, FacetField, ValuedIndexDoc } from '../../src/index/doc-values.js';
import { SearchEngine } from '../../src/index/engine.js';
import { InMemoryTextStore } from '../../src/index/index.js';
import { RANGE_END } from '../../src/index/index-store.js';
import { collectGarbage, listSegments, mergeSegments } from '../../src/index/segment-merger.js';
import { type Between, Slicer } from '../../src/index/warm-up.js';
import { placedValues } from '../../src/pipeline/recognize.js';
import { testCipher } from '../helpers/index-cipher.js';

let dir: string;
let root: RootDatabase;
const NOW = Date.UTC(2024, 6, 17, 12); // Wednesday 2024-07-17
const day = (s: string) => Date.parse(`${s}T00:00:00Z`);

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archivar-engine-'));
  root = open({ path: dir });
});
afterEach(async () => {
  await root.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const engine = (r = root) =>
  new SearchEngine(r, { cipher: testCipher, textStore: new InMemoryTextStore(), autoMerge: false, clock: () => NOW });

function doc(id: string, body: string, v: Partial<DocValues> & { title?: string } = {}): ValuedIndexDoc {
  const values: DocValues = {
    title: v.title ?? '',
    fileName: v.fileName ?? `${id}.txt`,
    subject: v.subject ?? '',
    from: v.from ?? '',
    to: v.to ?? [],
    dateMs: v.dateMs ?? v.createdMs ?? day('2024-01-01'),
    createdMs: v.createdMs ?? day('2024-01-01'),
    mediaType: v.mediaType ?? 'text/plain',
    lang: v.lang ?? 'deu',
    source: v.source ?? 'upload',
    tags: v.tags ?? [],
    dates: v.dates ?? [],
    amounts: v.amounts ?? [],
    ibans: v.ibans ?? [],
    invoices: v.invoices ?? [],
  };
  return {
    docId: id,
    language: values.lang === 'eng' ? 'eng' : 'deu',
    fields: { title: values.title, body: [body], fileName: values.fileName, subject: values.subject, sender: values.from },
    createdMs: values.dateMs,
    mediaType: values.mediaType,
    values,
  };
}

const CORPUS: ValuedIndexDoc[] = [
  doc('rechnung', 'Rechnung RE-2024-0042 der Müller GmbH über 1.234,56 EUR. Bitte überweisen Sie bis März.', {
    title: 'Rechnung Müller GmbH',
    from: 'Müller GmbH <billing@mueller.de>',
    to: ['anna@example.org'],
    mediaType: 'application/pdf',
    dateMs: day('2024-03-01'),
    createdMs: day('2024-07-10'),
    amounts: [1234.56],
    ibans: ['DE89370400440532013000'],
    invoices: ['RE-2024-0042'],
    dates: [day('2024-03-01'), day('2024-03-15')],
    tags: ['finanzen', 'steuer'],
  }),
  doc('mahnung', 'Mahnung: unsere Rechnung ist noch offen. Zahlen Sie bitte 99,90 EUR bis Freitag.', {
    title: 'Mahnung',
    from: 'Inkasso Schmidt',
    mediaType: 'application/pdf',
    dateMs: day('2024-05-20'),
    createdMs: day('2024-07-16'),
    amounts: [99.9],
    tags: ['finanzen'],
  }),
  doc('invoice', 'Invoice for consulting services: the invoice total is due in March. The quick brown fox jumps.', {
    title: 'Consulting invoice',
    lang: 'eng',
    mediaType: 'message/rfc822',
    source: 'imap',
    subject: 'Your invoice',
    dateMs: day('2023-11-02'),
    createdMs: day('2023-11-02'),
    amounts: [450],
  }),
  doc('urlaub', 'Urlaubsantrag für den Sommer. Der Antrag wurde genehmigt. Brown bears and a fox near the lake.', {
    title: 'Urlaubsantrag Sommer',
    mediaType: 'image/jpeg',
    dateMs: day('2022-08-01'),
    createdMs: day('2024-07-09'),
    tags: ['privat'],
  }),
  doc('vertrag', 'Mietvertrag zwischen Vermieter und Mieter über die Wohnung in Berlin.', {
    title: 'Mietvertrag Berlin',
    mediaType: 'application/pdf',
    dateMs: day('2021-02-01'),
    createdMs: day('2024-06-30'),
  }),
];

/** Integers in [0, n) from a fixed linear congruential sequence, so a random corpus reproduces. */
function lcg(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s % n;
  };
}

/** Each facet's counts over `values`, computed by brute force. */
function bruteFacets(values: Iterable<DocValues>): Record<FacetField, Map<string, number>> {
  const list = [...values];
  const count = (f: (v: DocValues) => string[]) => {
    const m = new Map<string, number>();
    for (const v of list) for (const k of f(v)) m.set(k, (m.get(k) ?? 0) + 1);
    return m;
  };
  return {
    type: count((v) => [v.mediaType]),
    year: count((v) => [String(new Date(v.dateMs).getUTCFullYear())]),
    tag: count((v) => v.tags),
    source: count((v) => [v.source]),
    lang: count((v) => [v.lang]),
  };
}

const ids = async (e: SearchEngine, q: string, tenant = 't1') =>
  (await e.search(tenant, q, { limit: 50 })).hits.map((h) => h.docId).sort();

describe('query language over the engine', () => {
  it('answers each operator and text field with exactly the expected documents', async () => {
    const e = engine();
    await e.index.addDocuments('t1', CORPUS);
    expect(await ids(e, 'rechnung')).toEqual(['mahnung', 'rechnung']);
    expect(await ids(e, 'rechnung NOT mahnung')).toEqual(['rechnung']);
    expect(await ids(e, 'rechnung -mahnung')).toEqual(['rechnung']);
    expect(await ids(e, 'rechnung AND offen')).toEqual(['mahnung']);
    expect(await ids(e, '(urlaub OR mietvertrag) NOT berlin')).toEqual(['urlaub']);
    expect(await ids(e, '(fox OR berlin) (brown OR wohnung)')).toEqual(['invoice', 'urlaub', 'vertrag']);
    expect(await ids(e, 'title:rechnung')).toEqual(['rechnung']);
    expect(await ids(e, 'title:"Müller GmbH"')).toEqual(['rechnung']);
    expect(await ids(e, 'from:schmidt')).toEqual(['mahnung']);
    expect(await ids(e, 'subject:invoice')).toEqual(['invoice']);
    expect(await ids(e, 'filename:vertrag')).toEqual(['vertrag']);
    // A whole file name, cut at its extension as the index cut it (digits and hyphens in the name too).
    expect(await ids(e, 'filename:vertrag.txt')).toEqual(['vertrag']);
    expect(await ids(e, 'filename:"mahnung.txt"')).toEqual(['mahnung']);
    expect(await ids(e, 'title:mietv*')).toEqual(['vertrag']);
    expect(await ids(e, '"quick brown fox"')).toEqual(['invoice']);
    expect(await ids(e, '"brown fox"')).toEqual(['invoice']);
    expect(await ids(e, '"fox brown"~3')).toEqual(['invoice', 'urlaub']);
    expect(await ids(e, '"brown fox"~1')).toEqual(['invoice']);
    await e.index.addDocuments('t1', [
      doc('fox2', 'Zwei.', { fileName: 'fox2.txt' }),
      doc('steuer', 'Drei.', { fileName: 'steuer-2023.txt' }),
    ]);
    expect(await ids(e, 'filename:fox2.txt')).toEqual(['fox2']);
    expect(await ids(e, 'filename:"fox2.txt"')).toEqual(['fox2']);
    expect(await ids(e, 'filename:steuer-2023.txt')).toEqual(['steuer']);
    expect(await ids(e, 'filename:steuer-2023')).toEqual(['steuer']);
  });

  it('answers value fields: to, type, tag, lang, source, iban, invoice, amount', async () => {
    const e = engine();
    await e.index.addDocuments('t1', CORPUS);
    expect(await ids(e, 'to:anna')).toEqual(['rechnung']);
    expect(await ids(e, 'type:pdf')).toEqual(['mahnung', 'rechnung', 'vertrag']);
    expect(await ids(e, 'type:image')).toEqual(['urlaub']);
    expect(await ids(e, 'type:mail')).toEqual(['invoice']);
    expect(await ids(e, 'type:application/pdf rechnung')).toEqual(['mahnung', 'rechnung']);
    expect(await ids(e, 'tag:finanzen')).toEqual(['mahnung', 'rechnung']);
    expect(await ids(e, 'tag:Steuer')).toEqual(['rechnung']);
    expect(await ids(e, 'lang:en')).toEqual(['invoice']);
    expect(await ids(e, 'lang:deu -tag:finanzen')).toEqual(['urlaub', 'vertrag']);
    expect(await ids(e, 'source:imap')).toEqual(['invoice']);
    expect(await ids(e, 'iban:"DE89 3704 0044 0532 0130 00"')).toEqual(['rechnung']);
    expect(await ids(e, 'invoice:re-2024-0042')).toEqual(['rechnung']);
    expect(await ids(e, 'amount:>100')).toEqual(['invoice', 'rechnung']);
    expect(await ids(e, 'amount:99,90')).toEqual(['mahnung']);
    expect(await ids(e, 'amount:50..500')).toEqual(['invoice', 'mahnung']);
    expect(await ids(e, 'amount:<=99.90')).toEqual(['mahnung']);
  });

  it('answers date ranges and relative dates against the injected clock', async () => {
    const e = engine();
    await e.index.addDocuments('t1', CORPUS);
    expect(await ids(e, 'date:2024')).toEqual(['mahnung', 'rechnung']);
    expect(await ids(e, 'date:2024-01-01..2024-03-31')).toEqual(['rechnung']);
    expect(await ids(e, 'date:2024-03-15')).toEqual(['rechnung']); // a date written in the text
    expect(await ids(e, 'date:2024-04..2024-06')).toEqual(['mahnung']);
    // Beside a word the range tests only the word's documents (two-phase): the same answers.
    expect(await ids(e, 'rechnung date:2024-04..2024-06')).toEqual(['mahnung']);
    expect(await ids(e, 'rechnung date:2024-01-01..2024-03-31 type:pdf')).toEqual(['rechnung']);
    expect(await ids(e, 'rechnung -date:2024-04..2024-06')).toEqual(['rechnung']);
    expect(await ids(e, 'date:<2022')).toEqual(['vertrag']);
    expect(await ids(e, 'date:..2022-12')).toEqual(['urlaub', 'vertrag']);
    expect(await ids(e, 'date:>=2023-11-02')).toEqual(['invoice', 'mahnung', 'rechnung']);
    // NOW is Wednesday 2024-07-17: this week = 15..21 July, last week = 8..14 July.
    expect(await ids(e, 'created:this-week')).toEqual(['mahnung']);
    expect(await ids(e, 'created:last-week')).toEqual(['rechnung', 'urlaub']);
    expect(await ids(e, 'created:this-month')).toEqual(['mahnung', 'rechnung', 'urlaub']);
    expect(await ids(e, 'created:last-month')).toEqual(['vertrag']);
    expect(await ids(e, 'created:last-year')).toEqual(['invoice']);
    expect(await ids(e, 'created:last-10-days')).toEqual(['mahnung', 'rechnung', 'urlaub']);
    expect(await ids(e, 'created:yesterday')).toEqual(['mahnung']);
    await expect(e.search('t1', 'date:2024-13')).rejects.toMatchObject({ name: 'QuerySyntaxError', position: 5 });
    // Months and days are written with two digits; a window of no days, or an unknown source, is refused.
    for (const q of ['date:2024-1', 'date:2024-03-5', 'created:last-0-days', 'source:foo'])
      await expect(e.search('t1', q), q).rejects.toMatchObject({ name: 'QuerySyntaxError' });
    await expect(e.search('t1', 'created:last-99999-days')).rejects.toThrow(/last-N-days with N 1\.\.9999/);
    await expect(e.search('t1', 'amount:>abc')).rejects.toThrow(/not an amount/);
    await expect(e.search('t1', 'source:foo')).rejects.toThrow(/use upload, imap \(mail\), attachment or archive-member/);
    expect(await ids(e, 'source:mail')).toEqual(['invoice']);
    expect(await ids(e, 'created:last-2-days')).toEqual(['mahnung']);
    expect(await ids(e, 'created:last-1-days')).toEqual([]);
    await expect(e.search('t1', 'amount:>abc')).rejects.toMatchObject({ name: 'QuerySyntaxError', position: 8 });
    await expect(e.search('t1', 'date:2024..2023')).rejects.toMatchObject({ name: 'QuerySyntaxError' });
  });

  it('finds the intended document first for typo queries, ranks fuzzy below exact, and says "did you mean"', async () => {
    const e = engine();
    await e.index.addDocuments('t1', CORPUS);
    const r = await e.search('t1', 'rechnnug');
    expect(r.hits[0]?.docId).toBe('rechnung');
    expect(r.didYouMean).toBe('rechnung');
    const inv = await e.search('t1', 'invoise');
    expect(inv.hits[0]?.docId).toBe('invoice');
    expect(inv.didYouMean).toBe('invoice');
    const two = await e.search('t1', 'Mietvetrag Berlin');
    expect(two.hits.map((h) => h.docId)).toEqual(['vertrag']);
    expect(two.didYouMean).toBe('mietvertrag Berlin');
    // Explicit ~: exact matches first.
    await e.index.addDocuments('t1', [doc('antrag-typo', 'Ein Antrog mit Tippfehler.', { title: 'x' })]);
    const fz = await e.search('t1', 'antrag~');
    expect(fz.hits.map((h) => h.docId)).toEqual(['urlaub', 'antrag-typo']);
    expect(fz.didYouMean).toBeUndefined();
    // Short words are not corrected automatically.
    expect((await e.search('t1', 'foz')).total).toBe(0);
    expect((await e.search('t1', 'foz~')).hits.map((h) => h.docId).sort()).toEqual(['invoice', 'urlaub']);
  });

  it('expands a typo to the words of live documents, not to the deleted documents’ words beside it', async () => {
    const e = engine();
    // 33 words one edit from `zqxmm` that sort first (zqamm … zqwmm, zqxma … zqxmj), in documents then deleted,
    // and three live ones that sort after them: more than the 24 places of an expansion.
    const dead = [...'abcdefghijklmnopqrstuvw'].map((c) => `zq${c}mm`);
    dead.push(...[...'abcdefghij'].map((c) => `zqxm${c}`));
    await e.index.addDocuments('t1', [...dead.map((w) => doc(`dead-${w}`, `Wort ${w}`)), doc('live', 'zqxmz zqymm zqzmm')]);
    for (const w of dead) await e.index.deleteDocument('t1', `dead-${w}`);
    expect(dead).toHaveLength(33);
    expect(await ids(e, 'zqxmm~1')).toEqual(['live']);
    expect((await e.search('t1', 'zqxmm')).hits.map((h) => h.docId)).toEqual(['live']);
  });

  it('keeps every word of a typo retry required: a word that matches nothing empties the result', async () => {
    const e = engine();
    await e.index.addDocuments('t1', CORPUS);
    for (const q of ['Rechnung qqqqqqq', 'rechnung qqqqqqq~', 'quick zzzzzz', 'quick zzzzzz~', 'Mietvetrag zzzzzzz']) {
      const r = await e.search('t1', q);
      expect(r.hits, q).toEqual([]);
      expect(r.total, q).toBe(0);
      expect(r.didYouMean, q).toBeUndefined();
    }
    // A token of several words is not cut to its first: `foo:bar` is not corrected to "for".
    const split = await e.search('t1', 'foo:bar');
    expect(split.total).toBe(0);
    expect(split.didYouMean).toBeUndefined();
    // Each of its words typo tolerant when asked for with ~, all of them required.
    expect((await e.search('t1', 'quikc:browm~')).hits.map((h) => h.docId)).toEqual(['invoice']);
    expect((await e.search('t1', 'quikc:zzzzz~')).total).toBe(0);
  });

  it('refuses a query with nothing to search for, and ignores punctuation beside words', async () => {
    const e = engine();
    await e.index.addDocuments('t1', CORPUS);
    for (const q of ['!!!', '...', ',;.', ':', '"!"'])
      await expect(e.search('t1', q), q).rejects.toMatchObject({ name: 'QuerySyntaxError', position: 0 });
    expect(await ids(e, 'rechnung !!!')).toEqual(['mahnung', 'rechnung']);
    expect(await ids(e, 'type:pdf ...')).toEqual(['mahnung', 'rechnung', 'vertrag']);
  });

  it('corrects a typo inside an inflection by the word as written, not only by its stem', async () => {
    // "kuendigng" is two edits from the stem "kundig" (1 allowed at 8 letters) but one from "kuendigung".
    const e = engine();
    await e.index.addDocuments('t1', [
      doc('kuendigung', 'Die Kündigung der Wohnung zum 31. März.'),
      doc('miete', 'Die Miete für März ist bezahlt.'),
    ]);
    await e.suggest('t1', 'kü'); // the word list is loaded, as a running server's warm-up does
    const r = await e.search('t1', 'Kündigng');
    expect(r.hits.map((h) => h.docId)).toEqual(['kuendigung']);
    expect(r.didYouMean).toBe('kündigung');
  });

  it('says "did you mean" with the corrected word itself, not a compound that contains it', async () => {
    // The short electricity bill ranks first; its highlight is the compound, which is also indexed by its
    // part `rechnung`. The suggestion is the word the user meant, which the second hit shows.
    const e = engine();
    await e.index.addDocuments('t1', [
      doc('strom', 'Stromrechnung März'),
      doc('wartung', 'Die Rechnung für die Wartung der Heizung im Mai ist beglichen.'),
    ]);
    const r = await e.search('t1', 'Rechnnug');
    expect(r.hits.map((h) => h.docId)).toEqual(['strom', 'wartung']);
    expect(r.didYouMean).toBe('rechnung');
  });

  it('reads a word inside compounds through typos, completion and a reindex, ranked below the word itself', async () => {
    const e = engine();
    const docs = [
      doc('a-miete', 'Die Mietkaution ist überwiesen.', { fileName: 'a.txt' }),
      doc('b-kaution', 'Die Kaution ist überwiesen.', { fileName: 'b.txt' }),
      doc('c-arbeit', 'Der Arbeitsvertrag liegt bei.', { fileName: 'c.txt' }),
    ];
    await e.index.addDocuments('t1', docs);
    await e.suggest('t1', 'ka'); // the word list is loaded, as a running server's warm-up does
    const ranked = async (q: string) => (await e.search('t1', q)).hits.map((h) => [h.docId, h.score]);
    const kaution = await ranked('Kaution');
    expect(kaution.map(([id]) => id)).toEqual(['b-kaution', 'a-miete']);
    // A typo of a word found only inside a compound ("Arbeit") finds the compound, highlighted.
    const typo = await e.search('t1', 'Arbiet~');
    expect(typo.hits.map((h) => h.docId)).toEqual(['c-arbeit']);
    const s = typo.hits[0]!.snippets[0]!;
    expect(s.highlights.map((h) => s.text.slice(h.start, h.end))).toEqual(['Arbeitsvertrag']);
    const auto = await e.search('t1', 'Kautiom');
    expect(auto.hits.map((h) => h.docId)).toEqual(['b-kaution', 'a-miete']);
    expect(auto.didYouMean).toBe('kaution');
    // Suggest offers words, never a part's marked term.
    for (const typed of ['ka', 'arb', 'miet', 'vertr']) {
      const offered = (await e.suggest('t1', typed)).suggestions.map((x) => x.text);
      expect(offered.join(' '), typed).not.toContain('\u0001');
    }
    expect((await e.suggest('t1', 'kau')).suggestions.map((x) => x.text)).toContain('Kaution');
    // A compound written after the term dictionary was loaded: its parts are read too (the dictionary tells
    // the index which words have part terms).
    await e.index.addDocuments('t1', [doc('d-bank', 'Konto bei der Landesbank.', { fileName: 'd.txt' })]);
    expect(await ids(e, 'Bank')).toEqual(['d-bank']);
    expect(await ids(e, 'ban*')).toEqual(['d-bank']);
    expect(await ids(e, '"Landesbank"')).toEqual(['d-bank']);
    // Dropped and added again in another order: the same ranks and scores.
    await e.index.dropTenant('t1');
    await e.index.addDocuments('t1', [...docs].reverse());
    expect(await ranked('Kaution')).toEqual(kaution);
  });

  it('says "did you mean" with the word as written also when no snippets are asked for', async () => {
    const e = engine();
    await e.index.addDocuments('t1', CORPUS);
    for (const snippets of [true, false]) {
      const r = await e.search('t1', 'Müllre', { snippets });
      expect(r.hits[0]?.docId, String(snippets)).toBe('rechnung');
      expect(r.didYouMean, String(snippets)).toBe('müller');
      expect(
        r.hits.every((h) => h.snippets.length === 0),
        String(snippets),
      ).toBe(!snippets);
      const inv = await e.search('t1', 'invoise', { snippets });
      expect(inv.didYouMean, String(snippets)).toBe('invoice');
    }
  });

  it('finds codes written in full-width or small forms by their plain spelling, and words through soft hyphens', async () => {
    const e = engine();
    await e.index.addDocuments('t1', [
      ...CORPUS,
      doc('wide', 'Rechnungsnummer ＲＥ－２０２４－０７７７ vom Lieferanten, Vertrags﹣Nummer folgt.'),
      doc('plain', 'Gutschrift zu RE-2024-0778.'),
      doc('shy', 'Die Kaffee\u00admaschinen\u00adreinigung ist fällig.'),
    ]);
    expect(await ids(e, 'Kaffeemaschinenreinigung')).toEqual(['shy']);
    expect(await ids(e, 'RE-2024-0777')).toEqual(['wide']);
    expect(await ids(e, 're-2024-0777')).toEqual(['wide']);
    expect(await ids(e, '"RE-2024-0777"')).toEqual(['wide']);
    expect(await ids(e, 'ＲＥ－２０２４－０７７８')).toEqual(['plain']);
    expect(await ids(e, 'Vertrags-Nummer')).toEqual(['wide']);
    // The highlight covers the code as written.
    const snippet = (await e.search('t1', 'RE-2024-0777')).hits[0]!.snippets[0]!;
    const { start, end } = snippet.highlights[0]!;
    expect(snippet.text.slice(start, end)).toBe('ＲＥ－２０２４－０７７７');
  });

  it('matches a prefix against the words as written, also where their stem is shorter than the prefix', async () => {
    const e = engine();
    await e.index.addDocuments('t1', [
      ...CORPUS,
      doc('katzen', 'Drei Katzen und ein Fußgänger.'),
      doc('katze', 'Eine Katze schläft.'),
      doc('running', 'She was running late for the meeting.', { lang: 'eng' }),
    ]);
    expect(await ids(e, 'Mül*')).toEqual(['rechnung']);
    expect(await ids(e, 'Mue*')).toEqual(['rechnung']);
    expect(await ids(e, 'müll*')).toEqual(['rechnung']);
    expect(await ids(e, 'from:müll*')).toEqual(['rechnung']);
    expect(await ids(e, 'Katze*')).toEqual(['katze', 'katzen']);
    expect(await ids(e, 'Fußgänger*')).toEqual(['katzen']);
    expect(await ids(e, 'Fussg*')).toEqual(['katzen']);
    expect(await ids(e, 'runni*')).toEqual(['running']);
    expect(await ids(e, 'Verarbeitun*')).toEqual([]);
    expect(await ids(e, 'zzz*')).toEqual([]);
    // A word written later counts at once (the prefix's stems are derived again).
    expect(await ids(e, 'Hunde*')).toEqual([]);
    await e.index.addDocuments('t1', [doc('hunde', 'Zwei Hunde bellen.')]);
    expect(await ids(e, 'Hunde*')).toEqual(['hunde']);
    // Another tenant's words lend it nothing.
    await e.index.addDocuments('t2', [doc('other', 'Nichts davon.')]);
    expect(await ids(e, 'Mül*', 't2')).toEqual([]);
    expect(await ids(e, 'Katze*', 't2')).toEqual([]);
  });

  it('updates tags without re-analysing text: searchable and faceted at once', async () => {
    const e = engine();
    await e.index.addDocuments('t1', CORPUS);
    expect(await ids(e, 'tag:wichtig')).toEqual([]);
    expect(await e.setTags('t1', 'vertrag', ['wichtig'])).toBe(true);
    expect(await ids(e, 'tag:wichtig')).toEqual(['vertrag']);
    const f = await e.search('t1', 'type:pdf', { facets: ['tag'] });
    expect(f.facets[0]?.buckets).toEqual([
      { value: 'finanzen', count: 2 },
      { value: 'steuer', count: 1 },
      { value: 'wichtig', count: 1 },
    ]);
    expect(await e.setTags('t1', 'missing', ['x'])).toBe(false);
  });

  it('facets see a tag change after the segment was faceted once (the per-segment facet cache follows tags)', async () => {
    const e = engine();
    await e.index.addDocuments('t1', CORPUS);
    const tags = async () =>
      (await e.search('t1', 'type:pdf', { facets: ['tag', 'type'] })).facets.map((f) =>
        f.buckets.map((b) => `${b.value}=${b.count}`),
      );
    const before = await tags();
    expect(before[0]).toEqual(['finanzen=2', 'steuer=1']);
    expect(await e.setTags('t1', 'vertrag', ['wichtig', 'finanzen'])).toBe(true);
    expect(await tags()).toEqual([['finanzen=3', 'steuer=1', 'wichtig=1'], before[1]]);
    expect(await e.setTags('t1', 'vertrag', [])).toBe(true);
    expect(await tags()).toEqual(before);
  });
});

describe('queries of value filters alone', () => {
  it('stop at the exact-count bound with the same first hits, estimate the total beyond, and page through every match once', async () => {
    const docs: ValuedIndexDoc[] = [];
    for (let i = 0; i < 150; i++)
      docs.push(
        doc(`d${String(i).padStart(3, '0')}`, `text ${i}`, {
          dateMs: day(i % 2 === 0 ? '2024-03-01' : '2023-03-01'),
          tags: i % 3 === 0 ? ['drei'] : [],
        }),
      );
    const bounded = new SearchEngine(root, {
      cipher: testCipher,
      textStore: new InMemoryTextStore(),
      autoMerge: false,
      clock: () => NOW,
      exactTotalUpTo: 20,
    });
    for (let i = 0; i < docs.length; i += 50) await bounded.index.addDocuments('t1', docs.slice(i, i + 50));
    const exact = engine();
    const evens = docs.filter((_, i) => i % 2 === 0).map((d) => d.docId);
    for (const [q, expected] of [
      ['date:2024', evens],
      ['date:2024 -tag:drei', evens.filter((id) => Number(id.slice(1)) % 3 !== 0)],
      ['date:2024 tag:drei', evens.filter((id) => Number(id.slice(1)) % 3 === 0)],
    ] as const) {
      const full = await exact.search('t1', q, { limit: 10 });
      expect(full.totalExact, q).toBe(true);
      expect(full.total, q).toBe(expected.length);
      const first = await bounded.search('t1', q, { limit: 10 });
      expect(
        first.hits.map((h) => h.docId),
        q,
      ).toEqual(expected.slice(0, 10));
      expect(first.hits.map((h) => h.docId)).toEqual(full.hits.map((h) => h.docId));
      expect(first.totalExact, q).toBe(false);
      expect(first.total, q).toBeGreaterThan(expected.length / 3);
      expect(first.total, q).toBeLessThan(expected.length * 3);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await bounded.search('t1', q, { limit: 7, ...(cursor ? { cursor } : {}) });
        seen.push(...page.hits.map((h) => h.docId));
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      expect(seen, q).toEqual(expected);
    }
  });
});

describe('snippets of value filters', () => {
  const LEASE = [
    'Mietvertrag zwischen Vermieter und Mieter über die Wohnung in Berlin.',
    'Die Nebenkosten sind monatlich zu zahlen. Gesamtbetrag: 220,00 EUR. Beginn am 15.03.2024, Rechnungsnummer: RE-2024-0777.',
  ];
  const REMINDER = 'Mahnung: Zahlen Sie bitte 99,90 EUR bis Freitag, sonst 250,00 EUR.';
  const docs = (): ValuedIndexDoc[] => {
    const lease = doc('vertrag', '', {
      dateMs: day('2021-02-01'),
      amounts: [220],
      dates: [day('2024-03-15')],
      invoices: ['RE-2024-0777'],
    });
    return [
      { ...lease, fields: { ...lease.fields, body: LEASE } },
      // Dated May 2024 by its metadata; no date is written in it.
      doc('mahnung', REMINDER, { dateMs: day('2024-05-20'), amounts: [99.9, 250] }),
    ];
  };
  /** Two engines over one index and text store: with the recogniser, and without it (as before). */
  const engines = async () => {
    const textStore = new InMemoryTextStore();
    const options = { cipher: testCipher, textStore, autoMerge: false, clock: () => NOW };
    const e = new SearchEngine(root, { ...options, findValues: placedValues });
    await e.index.addDocuments('t1', docs());
    return { e, plain: new SearchEngine(root, options) };
  };
  /** Each hit's snippets as [page, text, highlighted texts]. */
  const shown = async (e: SearchEngine, q: string, sort?: 'date_desc') =>
    (await e.search('t1', q, sort ? { sort } : {})).hits.map((h) => [
      h.docId,
      h.snippets.map((s) => [s.page, s.text, s.highlights.map((x) => s.text.slice(x.start, x.end))]),
    ]);

  it('show where the value a filter matched is written, highlighted, on its page', async () => {
    const { e, plain } = await engines();
    const amounts = [
      ['mahnung', [[1, REMINDER, ['250,00 EUR']]]],
      ['vertrag', [[2, LEASE[1], ['220,00 EUR']]]],
    ];
    // Before: the opening of page 1, nothing highlighted.
    expect((await shown(plain, 'amount:>100'))[1]).toEqual(['vertrag', [[1, LEASE[0], []]]]);
    expect(await shown(e, 'amount:>100')).toEqual(amounts);
    // The date order (the reminder is newer) reads the same places.
    expect(await shown(e, 'amount:>100', 'date_desc')).toEqual(amounts);
    // Only the amounts the clause accepts.
    expect(await shown(e, 'amount:50..100')).toEqual([['mahnung', [[1, REMINDER, ['99,90 EUR']]]]]);
    expect(await shown(e, 'date:2024-03')).toEqual([['vertrag', [[2, LEASE[1], ['15.03.2024']]]]]);
    expect(await shown(e, 'invoice:re-2024-0777')).toEqual([
      [
        'vertrag',
        [
          [
            2,
            'sind monatlich zu zahlen. Gesamtbetrag: 220,00 EUR. Beginn am 15.03.2024, Rechnungsnummer: RE-2024-0777.',
            ['RE-2024-0777'],
          ],
        ],
      ],
    ]);
    // Words and values both; a value a word already covers stays the word's.
    expect(await shown(e, 'nebenkosten amount:>200')).toEqual([['vertrag', [[2, LEASE[1], ['Nebenkosten', '220,00 EUR']]]]]);
    expect(await shown(e, '220,00 amount:>100')).toEqual([['vertrag', [[2, LEASE[1], ['220,00']]]]]);
  });

  it('keep the opening of the first page when no accepted value is written, and word snippets as they were', async () => {
    const { e, plain } = await engines();
    // Matched by its metadata date alone.
    expect(await shown(e, 'date:2024-05')).toEqual([['mahnung', [[1, REMINDER, []]]]]);
    // An excluded value is no reason a hit matched.
    expect(await shown(e, 'mietvertrag -amount:>500')).toEqual([['vertrag', [[1, LEASE[0], ['Mietvertrag']]]]]);
    for (const q of ['mietvertrag', 'nebenkosten OR mahnung', 'tag:x OR gesamtbetrag', 'type:text zahlen'])
      expect(await shown(e, q), q).toEqual(await shown(plain, q));
    expect(await shown(e, 'nebenkosten OR mahnung')).toEqual([
      ['mahnung', [[1, REMINDER, ['Mahnung']]]],
      [
        'vertrag',
        [
          [
            2,
            'Die Nebenkosten sind monatlich zu zahlen. Gesamtbetrag: 220,00 EUR. Beginn am 15.03.2024, Rechnungsnummer:',
            ['Nebenkosten'],
          ],
        ],
      ],
    ]);
    // A value past the characters read for values is not looked for (the cost of a hit stays bounded).
    const long = doc('lang', '', { amounts: [220] });
    const filler = 'Platzhalter '.repeat(6000);
    await e.index.addDocuments('t1', [{ ...long, fields: { ...long.fields, body: [filler, LEASE[1]!] } }]);
    expect(
      (await e.search('t1', 'amount:>200')).hits.map((h) => [h.docId, h.snippets.map((s) => [s.page, s.highlights])]),
    ).toEqual([
      ['lang', [[1, []]]],
      ['mahnung', [[1, [{ start: 55, end: 65 }]]]],
      ['vertrag', [[2, [{ start: 56, end: 66 }]]]],
    ]);
  });
});

describe('facets', () => {
  it('equal counts computed by brute force over a random corpus', async () => {
    const e = engine();
    const rnd = lcg(7);
    const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'];
    const types = ['application/pdf', 'image/png', 'text/plain', 'message/rfc822'];
    const tags = ['a', 'b', 'c', 'd'];
    const docs: ValuedIndexDoc[] = [];
    for (let i = 0; i < 400; i++) {
      const body = Array.from({ length: 3 + rnd(5) }, () => words[rnd(words.length)]).join(' ');
      docs.push(
        doc(`d${i}`, body, {
          mediaType: types[rnd(types.length)]!,
          dateMs: Date.UTC(2019 + rnd(6), rnd(12), 1 + rnd(28)),
          lang: rnd(2) ? 'deu' : 'eng',
          source: rnd(3) ? 'upload' : 'imap',
          tags: tags.filter(() => rnd(3) === 0),
        }),
      );
    }
    // Several segments, with deletes and a replaced document.
    for (let i = 0; i < docs.length; i += 97) await e.index.addDocuments('t1', docs.slice(i, i + 97));
    for (const id of ['d3', 'd50', 'd222']) await e.index.deleteDocument('t1', id);
    const live = docs.filter((d) => !['d3', 'd50', 'd222'].includes(d.docId));
    for (const q of ['alpha', 'beta gamma', 'alpha OR zeta', 'delta -epsilon', 'type:pdf', 'tag:a beta']) {
      const r = await e.search('t1', q, { facets: ['type', 'year', 'tag', 'source', 'lang'], limit: 5 });
      const all = await e.search('t1', q, { limit: 1000 });
      const matched = new Set(all.hits.map((h) => h.docId));
      expect(r.total).toBe(matched.size);
      const expected = bruteFacets(live.filter((d) => matched.has(d.docId)).map((d) => d.values!));
      for (const f of r.facets) expect(new Map(f.buckets.map((b) => [b.value, b.count]))).toEqual(expected[f.field]);
      // Each facet asked alone counts the same (the counts per value combination are spread per field).
      for (const field of ['type', 'year', 'tag', 'source', 'lang'] as const) {
        const one = await e.search('t1', q, { facets: [field], limit: 1 });
        expect(one.facets.map((f) => f.field)).toEqual([field]);
        expect(new Map(one.facets[0]!.buckets.map((b) => [b.value, b.count]))).toEqual(expected[field]);
      }
    }
  });
});

describe('facets across segments', () => {
  it('counts values that first appear in later segments, and years outside the usual range', async () => {
    const e = engine();
    await e.index.addDocuments('t1', [
      doc('a1', 'common', { mediaType: 'text/plain', tags: ['x'], dateMs: day('2020-05-01') }),
      doc('a2', 'common', { mediaType: 'text/plain', tags: [], dateMs: day('2021-05-01') }),
    ]);
    // Searched once, so the columns exist before the next segments intern new values.
    expect((await e.search('t1', 'common', { facets: ['type'] })).facets[0]?.buckets).toEqual([
      { value: 'text/plain', count: 2 },
    ]);
    await e.index.addDocuments('t1', [
      doc('b1', 'common', {
        mediaType: 'image/png',
        tags: ['y', 'x'],
        source: 'imap',
        lang: 'eng',
        dateMs: Date.UTC(5000, 0, 1),
      }),
      doc('b2', 'common', {
        mediaType: 'image/png',
        tags: ['z'],
        source: 'attachment',
        dateMs: Date.UTC(1, 0, 1) - 86_400_000 * 400,
      }),
    ]);
    await e.index.addDocuments('t1', [
      doc('c1', 'common', { mediaType: 'application/pdf', tags: ['z'], dateMs: day('2020-01-01') }),
    ]);
    const r = await e.search('t1', 'common', { facets: ['type', 'year', 'tag', 'source', 'lang'], limit: 2 });
    const f = Object.fromEntries(r.facets.map((x) => [x.field, x.buckets.map((b) => `${b.value}=${b.count}`)]));
    expect(r.total).toBe(5);
    expect(f).toEqual({
      type: ['image/png=2', 'text/plain=2', 'application/pdf=1'],
      year: ['5000=1', '2021=1', '2020=2'], // b2's date is before 1970: no year, as before
      tag: ['x=2', 'z=2', 'y=1'],
      source: ['upload=3', 'attachment=1', 'imap=1'],
      lang: ['deu=4', 'eng=1'],
    });
  });
});

describe('cursor pagination', () => {
  it.each(['date_desc', 'date_asc', 'title'] as const)(
    'never repeats or skips a document under inserts and deletes (%s)',
    async (sort) => {
      const e = engine();
      const docs = Array.from({ length: 120 }, (_, i) =>
        doc(`p${String(i).padStart(3, '0')}`, `common word number ${i}`, {
          title: `Title ${String((i * 37) % 120).padStart(3, '0')}`,
          dateMs: day('2024-01-01') + (i % 40) * 86_400_000, // ties on purpose
        }),
      );
      await e.index.addDocuments('t1', docs);
      const seen: string[] = [];
      const deleted = new Set<string>();
      let cursor: string | undefined;
      let round = 0;
      for (;;) {
        const r = await e.search('t1', 'common', { sort, limit: 7, ...(cursor ? { cursor } : {}) });
        seen.push(...r.hits.map((h) => h.docId));
        // Between pages: insert new documents and delete some not yet seen and some already seen.
        await e.index.addDocuments('t1', [
          doc(`new${round}`, 'common new', { title: `Title new ${round}`, dateMs: day('2024-02-01') }),
        ]);
        const unseen = docs.find(
          (d) => !seen.includes(d.docId) && !deleted.has(d.docId) && Number(d.docId.slice(1)) % 11 === round % 11,
        );
        if (unseen) {
          deleted.add(unseen.docId);
          await e.index.deleteDocument('t1', unseen.docId);
        }
        round++;
        if (round % 5 === 0) await e.index.merge({ tenantId: 't1', force: true });
        if (!r.nextCursor) break;
        cursor = r.nextCursor;
      }
      expect(new Set(seen).size).toBe(seen.length); // no repeats
      for (const d of docs) if (!deleted.has(d.docId)) expect(seen).toContain(d.docId); // no skips
      // And the order is the sort order.
      const original = seen.filter((id) => id.startsWith('p'));
      const byId = new Map(docs.map((d) => [d.docId, d.values!]));
      const key = (id: string) => (sort === 'title' ? byId.get(id)!.title.toLowerCase() : byId.get(id)!.dateMs);
      for (let i = 1; i < original.length; i++) {
        const a = key(original[i - 1]!);
        const b = key(original[i]!);
        if (sort === 'date_desc') expect(a >= b).toBe(true);
        else expect(a <= b).toBe(true);
      }
    },
  );

  it('give the date and title orders the same snippets as the score order', async () => {
    const e = engine();
    await e.index.addDocuments('t1', CORPUS);
    const q = 'rechnung OR mietvertrag OR urlaub';
    const snippetsOf = async (sort?: 'date_desc' | 'title') =>
      Object.fromEntries(
        (await e.search('t1', q, { limit: 50, ...(sort ? { sort } : {}) })).hits.map((h) => [h.docId, h.snippets]),
      );
    const byScore = await snippetsOf();
    expect(Object.values(byScore).flat().length).toBeGreaterThan(2);
    expect(await snippetsOf('date_desc')).toEqual(byScore);
    expect(await snippetsOf('title')).toEqual(byScore);
  });

  it('rejects a cursor of another sort order', async () => {
    const e = engine();
    await e.index.addDocuments('t1', CORPUS);
    const q = 'rechnung OR mietvertrag OR urlaub';
    const r = await e.search('t1', q, { sort: 'date_desc', limit: 1 });
    expect(r.nextCursor).toBeDefined();
    await expect(e.search('t1', q, { sort: 'title', cursor: r.nextCursor! })).rejects.toThrow(/another sort order/);
    await expect(e.search('t1', q, { cursor: r.nextCursor! })).rejects.toThrow(/another sort order/);
    const byScore = await e.search('t1', q, { limit: 1 });
    await expect(e.search('t1', q, { sort: 'date_asc', cursor: byScore.nextCursor! })).rejects.toThrow(/another sort order/);
    await expect(e.search('t1', q, { sort: 'title', cursor: 'k.bm9uc2Vuc2U' })).rejects.toThrow(/^invalid cursor$/);
  });

  it('rejects a cursor sent with another query, and takes it with the same query spaced otherwise', async () => {
    const e = engine();
    await e.index.addDocuments('t1', CORPUS);
    const q = 'rechnung OR mietvertrag OR urlaub';
    for (const sort of ['score', 'date_desc', 'title'] as const) {
      const first = await e.search('t1', q, { sort, limit: 1 });
      const cursor = first.nextCursor!;
      await expect(e.search('t1', 'rechnung', { sort, cursor }), sort).rejects.toMatchObject({
        name: 'CursorError',
        reason: 'other-query',
      });
      const next = await e.search('t1', `  rechnung OR   mietvertrag OR urlaub `, { sort, cursor, limit: 1 });
      expect(next.hits.map((h) => h.docId)).not.toContain(first.hits[0]!.docId);
      expect(next.hits).toHaveLength(1);
    }
  });

  it('pages through a typo-corrected result: later pages answer the correction too', async () => {
    const e = engine();
    await e.index.addDocuments('t1', CORPUS);
    const all = await ids(e, 'rechnung');
    expect(all.length).toBeGreaterThan(1);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const r = await e.search('t1', 'rechnugn', { limit: 1, ...(cursor ? { cursor } : {}) });
      expect(r.didYouMean, `page ${page}`).toBe('rechnung');
      seen.push(...r.hits.map((h) => h.docId));
      if (!r.nextCursor) break;
      cursor = r.nextCursor;
    }
    expect(seen.sort()).toEqual(all);
  });
});

describe('paging through ties across merges and a reindex', () => {
  // Documents identical but for their id tie on every key: score, date and title. Written in an order
  // unlike their ids, several to a segment, so segment order is not id order; between pages the index is
  // merged (tiers, then into one segment) and reindexed (dropped and added again in another order), which
  // moves every document to another segment and local number.
  const ID_ORDER = Array.from({ length: 90 }, (_, i) => `doc_${String(i).padStart(3, '0')}`);
  const written = [...ID_ORDER].sort((a, b) => ((Number(a.slice(4)) * 37) % 90) - ((Number(b.slice(4)) * 37) % 90));
  const tied = (id: string) =>
    doc(id, 'Vertrag über die Wartung der Heizung', { title: 'Wartungsvertrag', dateMs: day('2024-02-01') });
  // A few documents that score higher (the word twice) or lower (a longer body), so ties sit between others.
  const extra = [
    doc('doc_x01', 'Vertrag Vertrag über die Wartung', { title: 'Wartungsvertrag', dateMs: day('2024-03-01') }),
    doc('doc_x02', 'Vertrag über die Wartung der Heizung und der Lüftung im Keller des Hauses', {
      title: 'Wartungsvertrag Haus',
      dateMs: day('2023-03-01'),
    }),
  ];
  const all = [...ID_ORDER, 'doc_x01', 'doc_x02'];
  const writeAll = async (e: SearchEngine, order: readonly string[]) => {
    const docs = [...order.map(tied), ...extra];
    for (let i = 0; i < docs.length; i += 8) await e.index.addDocuments('t1', docs.slice(i, i + 8));
  };
  const disturb = [
    (e: SearchEngine) => e.index.merge({ tenantId: 't1' }),
    (e: SearchEngine) => e.index.merge({ tenantId: 't1', force: true }),
    async (e: SearchEngine) => {
      await e.index.dropTenant('t1');
      await writeAll(e, [...written].reverse());
    },
    async (e: SearchEngine) => {
      await e.index.dropTenant('t1');
      await writeAll(e, written);
    },
  ];

  it.each([
    ['score', 1000, false, 'vertrag'],
    ['score', 3, false, 'vertrag'],
    ['score', 3, true, 'vertrag'],
    // Value filters alone: every match scores 0, the order is the ids'; a bound of 3 pages from a walk of the ids.
    ['score', 1000, false, 'date:2024-02 OR date:2024-03'],
    ['score', 3, false, 'date:2024-02 OR date:2024-03'],
    ['score', 3, true, 'date:2024-02 OR date:2024-03'],
    ['date_desc', 1000, false, 'vertrag'],
    ['date_asc', 1000, false, 'vertrag'],
    ['title', 1000, false, 'vertrag'],
  ] as const)(
    'shows every document once, in the same order as undisturbed (%s, exact count up to %i, facets %s, %s)',
    async (sort, exact, faceted, q) => {
      const e = new SearchEngine(root, {
        cipher: testCipher,
        textStore: new InMemoryTextStore(),
        autoMerge: false,
        clock: () => NOW,
        exactTotalUpTo: exact,
      });
      await writeAll(e, written);
      expect(listSegments(e.index.store, 't1').length).toBeGreaterThan(5);
      const expected = q === 'vertrag' ? all : all.filter((id) => id !== 'doc_x02');
      // Facets walk every match through a visitor (another collector path).
      const facets = faceted ? (['type'] as const) : [];
      const undisturbed = (await e.search('t1', q, { sort, limit: 200, facets })).hits.map((h) => h.docId);
      expect([...undisturbed].sort()).toEqual([...expected].sort());
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 100; page++) {
        const r = await e.search('t1', q, { sort, limit: 7, facets, ...(cursor ? { cursor } : {}) });
        seen.push(...r.hits.map((h) => h.docId));
        if (!r.nextCursor) break;
        cursor = r.nextCursor;
        await disturb[page % disturb.length]!(e);
      }
      const twice = seen.filter((id, i) => seen.indexOf(id) !== i);
      const missed = expected.filter((id) => !seen.includes(id));
      expect({ twice, missed }).toEqual({ twice: [], missed: [] });
      expect(seen).toEqual(undisturbed);
      // Equal keys in id order, whatever the segments: the same list after a merge into one segment.
      const tiedShown = seen.filter((id) => ID_ORDER.includes(id));
      expect(tiedShown).toEqual(ID_ORDER);
      await e.index.merge({ tenantId: 't1', force: true });
      expect((await e.search('t1', q, { sort, limit: 200 })).hits.map((h) => h.docId)).toEqual(undisturbed);
    },
  );
  // A filter alone past the count's bound: its page comes from a walk of the ids in order, or from all its
  // matches kept by a scan to the end when that is cheaper (a sparse filter). Ids of the index-ids walk are
  // read by store.ids.getRange: counted here.
  const sparse = async (matches: (written: number) => boolean, limit: number) => {
    const e = new SearchEngine(root, {
      cipher: testCipher,
      textStore: new InMemoryTextStore(),
      autoMerge: false,
      clock: () => NOW,
      exactTotalUpTo: 3,
    });
    const n = 1500;
    // Written in an order unlike their ids, 300 to a segment.
    const id = (i: number) => `doc_${String((i * 97) % n).padStart(4, '0')}`;
    const docs = Array.from({ length: n }, (_, i) =>
      doc(id(i), 'Wartung', { dateMs: day(matches(i) ? '2022-05-01' : '2021-01-01') }),
    );
    for (let i = 0; i < n; i += 300) await e.index.addDocuments('t1', docs.slice(i, i + 300));
    const expected = docs
      .filter((_, i) => matches(i))
      .map((d) => d.docId)
      .sort();
    let walked = 0;
    const ids = e.index.store.ids;
    const getRange = ids.getRange.bind(ids);
    ids.getRange = ((...args: Parameters<typeof getRange>) => {
      walked++;
      return getRange(...args);
    }) as typeof ids.getRange;
    // Records opened (a kept match's id is read from the value columns instead).
    let opened = 0;
    const store = e.index.store;
    const openDoc = store.doc.bind(store);
    store.doc = (...args) => {
      opened++;
      return openDoc(...args);
    };
    const seen: string[] = [];
    const totals: number[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 50; page++) {
      const r = await e.search('t1', 'date:2022', { limit, ...(cursor ? { cursor } : {}) });
      expect(r.totalExact).toBe(false);
      seen.push(...r.hits.map((h) => h.docId));
      totals.push(r.total);
      if (!r.nextCursor) break;
      cursor = r.nextCursor;
      if (page === 1) await e.index.merge({ tenantId: 't1', force: true });
    }
    expect(seen).toEqual(expected);
    return { walked, totals, opened };
  };
  it('pages a filter alone whose matches come first in the segments from the ids in order, over chunks of many ids, across a merge', async () => {
    // The first 16 documents written: the count's bound is met at once, so the estimate says many matches.
    const { walked } = await sparse((i) => i < 16, 4);
    expect(walked).toBeGreaterThan(0);
  });
  it('pages a sparse filter just past the bound from all its matches, scanned to the end, without walking the ids, across a merge', async () => {
    // Every 97th written: the bound is met a third of the way in (before, the ids were walked for every page).
    const { walked, totals, opened } = await sparse((i) => i % 97 === 0, 4);
    expect(walked).toBe(0);
    // The kept matches' ids come from the value columns, not from their records.
    expect(opened).toBe(0);
    // Estimated as before, from where the 4th match was found (the 292nd document), on every page.
    expect(totals).toEqual(totals.map(() => Math.round((4 * 1500) / 292)));
  });
  it('pages a filter alone with facets (every match visited) past 1 000 matches from all of them, without walking the ids', async () => {
    const e = new SearchEngine(root, {
      cipher: testCipher,
      textStore: new InMemoryTextStore(),
      autoMerge: false,
      clock: () => NOW,
    });
    const n = 1100;
    const id = (i: number) => `doc_${String((i * 97) % n).padStart(4, '0')}`;
    const docs = Array.from({ length: n }, (_, i) =>
      doc(id(i), 'Wartung', { dateMs: day(i % 22 === 21 ? '2021-01-01' : '2022-05-01'), mediaType: 'application/pdf' }),
    );
    for (let i = 0; i < n; i += 220) await e.index.addDocuments('t1', docs.slice(i, i + 220));
    const expected = docs
      .filter((_, i) => i % 22 !== 21)
      .map((d) => d.docId)
      .sort();
    const ids = e.index.store.ids;
    const getRange = ids.getRange.bind(ids);
    let walked = 0;
    ids.getRange = ((...args: Parameters<typeof getRange>) => {
      walked++;
      return getRange(...args);
    }) as typeof ids.getRange;
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const r = await e.search('t1', 'date:2022', { limit: 400, facets: ['type'], ...(cursor ? { cursor } : {}) });
      expect([r.total, r.totalExact, r.facets[0]!.buckets[0]!.count]).toEqual([1050, true, 1050]);
      seen.push(...r.hits.map((h) => h.docId));
      if (!r.nextCursor) break;
      cursor = r.nextCursor;
      if (page === 0) await e.index.merge({ tenantId: 't1', force: true });
    }
    expect(seen).toEqual(expected);
    expect(walked).toBe(0);
  });
});

describe('values kept with their segments', () => {
  it('follow deletes, updates, tags edited during a merge, and a restart: facets and tag filters equal brute force', async () => {
    let e = engine();
    const rnd = lcg(3);
    const types = ['application/pdf', 'image/png', 'text/plain'];
    const make = (id: string) =>
      doc(id, `gemeinsam ${['alpha', 'beta', 'gamma'][rnd(3)]}`, {
        mediaType: types[rnd(types.length)]!,
        dateMs: Date.UTC(2018 + rnd(6), rnd(12), 1),
        source: rnd(2) ? 'upload' : 'imap',
        tags: ['a', 'b', 'c'].filter(() => rnd(3) === 0),
      });
    const model = new Map<string, DocValues>();
    const add = async (docs: ValuedIndexDoc[]) => {
      await e.index.addDocuments('t1', docs);
      for (const d of docs) model.set(d.docId, d.values!);
    };
    const retag = async (id: string, tags: string[]) => {
      expect(await e.setTags('t1', id, tags)).toBe(true);
      model.set(id, { ...model.get(id)!, tags });
    };
    // 300 documents in four segments, each over several values blocks (128 documents).
    for (let i = 0; i < 300; i += 75) await add(Array.from({ length: 75 }, (_, k) => make(`d${i + k}`)));
    await e.index.addDocuments('t2', [make('other')]);
    const check = async () => {
      const r = await e.search('t1', 'gemeinsam', { facets: ['type', 'year', 'tag', 'source'], limit: 1 });
      expect(r.total).toBe(model.size);
      const expected = bruteFacets(model.values());
      for (const f of r.facets) expect(new Map(f.buckets.map((b) => [b.value, b.count])), f.field).toEqual(expected[f.field]);
      for (const tag of ['a', 'b', 'c', 'während'])
        expect((await e.search('t1', `tag:${tag}`, { limit: 1000 })).hits.map((h) => h.docId).sort()).toEqual(
          [...model]
            .filter(([, v]) => v.tags.includes(tag))
            .map(([id]) => id)
            .sort(),
        );
    };
    for (const id of ['d1', 'd140', 'd299']) {
      await e.index.deleteDocument('t1', id);
      model.delete(id);
    }
    await add([make('d7'), make('d200')]); // updates: delete + add in a new segment
    await retag('d10', ['b', 'neu']);
    await check();

    // A tag edited after the merge took its snapshot is carried into the merged segment. The merge yields
    // after every step (sliceMs 0), so the edits are made while it runs: it is pending until its swap.
    const store = e.index.store;
    let merged = false;
    const merging = mergeSegments(store, 't1', listSegments(store, 't1'), { sliceMs: 0 }).then((r) => {
      merged = true;
      return r;
    });
    const pending = () => [...store.meta.getKeys({ start: ['t1', 'pending'], end: ['t1', 'pending', RANGE_END] })];
    while (pending().length === 0 && !merged) await new Promise((r) => setImmediate(r));
    expect(merged, 'the merge ended before the edits').toBe(false);
    // Both edits ask for their write transactions now, before the merge asks for its swap.
    await Promise.all([retag('d20', ['während']), retag('d7', ['während', 'a'])]);
    expect(await merging).toMatchObject({ docs: model.size, deleted: 0 }); // tombstones purged
    await collectGarbage(store, 't1');
    await check();
    // One segment is left, and the merged-away segments' values blocks are gone.
    const blocks = [...e.index.store.values.getKeys({ start: ['t1'], end: ['t1', RANGE_END] })];
    expect(blocks.map((k) => (k as unknown[])[2])).toEqual([0, 1, 2]);

    // After a restart the columns are loaded from the blocks; a segment written then is read through its ids.
    await e.index.deleteDocument('t1', 'd30');
    model.delete('d30');
    await e.index.close();
    await root.close();
    root = open({ path: dir });
    e = engine(root);
    await check();
    const titles = async (typed: string) =>
      (await e.suggest('t1', typed)).suggestions.filter((x) => x.kind === 'title').map((x) => x.docId);
    expect(await titles('d31.txt')).toEqual(['d31']);
    expect(await titles('d30.txt')).toEqual([]); // deleted: no title to suggest
    await add([make('n1'), make('n2')]);
    await retag('n2', ['während']);
    await check();
    expect((await e.search('t2', 'gemeinsam', { facets: ['type'] })).total).toBe(1);
  });
});

describe('suggestions', () => {
  it('complete the last word and titles, typo tolerant, per tenant, and survive a restart', async () => {
    let e = engine();
    await e.index.addDocuments('t1', CORPUS);
    await e.index.addDocuments('t2', [doc('other', 'Rechenzentrum Vertrag', { title: 'Rechenzentrum' })]);
    const s = (await e.suggest('t1', 'bitte rechn')).suggestions;
    expect(s.find((x) => x.kind === 'term')?.text).toBe('bitte Rechnung');
    expect((await e.suggest('t1', 'Mietv')).suggestions).toContainEqual({
      text: 'Mietvertrag Berlin',
      kind: 'title',
      docId: 'vertrag',
    });
    expect((await e.suggest('t1', 'mietw')).suggestions.some((x) => x.text === 'Mietvertrag')).toBe(true); // typo
    // A typo is not sought in the first two letters: `kat` offers "Katze", not "Datum" nor "date".
    await e.index.addDocuments('t1', [doc('tiere', 'Katze, Datum und date.', { title: 'x' })]);
    expect((await e.suggest('t1', 'kat')).suggestions.filter((x) => x.kind === 'term').map((x) => x.text)).toEqual(['Katze']);
    expect((await e.suggest('t1', 'datm')).suggestions.some((x) => x.text === 'Datum')).toBe(true);
    await e.index.deleteDocument('t1', 'tiere');
    expect((await e.suggest('t1', 'rechenz')).suggestions).toEqual([]);
    expect((await e.suggest('t2', 'rechenz')).suggestions.map((x) => x.text)).toContain('Rechenzentrum');
    // New documents and deletes are seen at once.
    await e.index.addDocuments('t1', [doc('neu', 'Steuerbescheid', { title: 'Steuerbescheid 2023' })]);
    expect((await e.suggest('t1', 'steuerbe')).suggestions).toContainEqual({
      text: 'Steuerbescheid 2023',
      kind: 'title',
      docId: 'neu',
    });
    await e.index.deleteDocument('t1', 'neu');
    expect((await e.suggest('t1', 'steuerbe')).suggestions.filter((x) => x.kind === 'title')).toEqual([]);
    // Restart: a new engine over the reopened database rebuilds from LMDB.
    await e.index.close();
    await root.close();
    root = open({ path: dir });
    e = engine(root);
    expect((await e.suggest('t1', 'Mietv')).suggestions).toContainEqual({
      text: 'Mietvertrag Berlin',
      kind: 'title',
      docId: 'vertrag',
    });
    expect((await e.suggest('t2', 'Mietv')).suggestions).toEqual([]);
    expect(await ids(e, 'tag:finanzen')).toEqual(['mahnung', 'rechnung']);
    // How long it took is reported (its speed is native-bench's business, not a timed test's).
    const t = await e.suggest('t1', 'mahn');
    expect(t.tookMicros).toBeGreaterThan(0);
  });
  it('offer a title that several documents share once, and fill the list with the next titles', async () => {
    const e = engine(root);
    await e.index.addDocuments('t1', [
      doc('r1', 'Strom', { title: 'Rechnung' }),
      doc('r2', 'Gas', { title: 'Rechnung' }),
      doc('r3', 'Wasser', { title: 'RECHNUNG' }),
      doc('r4', 'Telefon', { title: 'Rechnung Telekom' }),
      doc('r5', 'Miete', { title: 'Rechnung' }),
    ]);
    const titles = (await e.suggest('t1', 'Rechn', 8)).suggestions.filter((x) => x.kind === 'title');
    expect(titles).toEqual([
      { text: 'Rechnung', kind: 'title', docId: 'r1' },
      { text: 'Rechnung Telekom', kind: 'title', docId: 'r4' },
    ]);
    // Once the first is gone, its title is offered with the next document holding it.
    await e.index.deleteDocument('t1', 'r1');
    expect((await e.suggest('t1', 'Rechn', 8)).suggestions.filter((x) => x.kind === 'title')[0]).toEqual({
      text: 'Rechnung',
      kind: 'title',
      docId: 'r2',
    });
  });
  it('show words as they were written, not index terms, and forget words whose documents are gone', async () => {
    const e = engine(root);
    await e.index.addDocuments('t1', [
      doc('m', 'Herr Müller wohnt an der Hauptstraße'),
      doc('x', 'Die Xylophonstunde fällt aus'),
    ]);
    const words = async (typed: string) =>
      (await e.suggest('t1', typed)).suggestions.filter((x) => x.kind === 'term').map((x) => x.text);
    // The German stem of "Müller" is "mull"; what the user sees is the word.
    expect(await words('Mül')).toEqual(['Müller']);
    expect(await words('mue')).toEqual(['Müller']);
    expect(await words('an der Hauptstr')).toEqual(['an der Hauptstraße']);
    expect(await words('Mülr')).toEqual(['Müller']); // one edit away
    expect(await words('xyloph')).toEqual(['Xylophonstunde']);
    expect((await e.suggest('t2', 'Mül')).suggestions).toEqual([]);
    // Deleted: the word goes at once (no live document holds it), though the term dictionary still lists it
    // until its next load and the segment until a merge; another document's word stays.
    await e.index.addDocuments('t1', [doc('k', 'Quittenmarmelade zum Frühstück'), doc('k2', 'Quittengelee im Glas')]);
    expect(await words('Quitten')).toEqual(['Quittengelee', 'Quittenmarmelade']);
    await e.index.deleteDocument('t1', 'k');
    // "Quittenmarmelade" shares the compound part "Quitten" with a live document, but a search for it finds none.
    expect(await words('Quitten')).toEqual(['Quittengelee']);
    expect(await words('Frühst')).toEqual([]);
    await e.index.deleteDocument('t1', 'k2');
    expect(await words('Quitten')).toEqual([]);
    // Deleted and merged away, also after a restart (the term dictionary loaded again).
    await e.index.deleteDocument('t1', 'x');
    await e.index.merge({ tenantId: 't1', force: true });
    await e.index.close();
    await root.close();
    root = open({ path: dir });
    const again = engine(root);
    expect((await again.suggest('t1', 'xyloph')).suggestions.filter((x) => x.kind === 'term')).toEqual([]);
    expect((await again.suggest('t1', 'Mül')).suggestions.filter((x) => x.kind === 'term').map((x) => x.text)).toEqual([
      'Müller',
    ]);
  });
});

describe('the index at rest', () => {
  /** Every file under the LMDB directory, searched for each marker as UTF-8 bytes (case-insensitive). */
  function foundOnDisk(markers: readonly string[]): string[] {
    const bytes = Buffer.concat(fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f))))
      .toString('latin1')
      .toLowerCase();
    return markers.filter((m) => bytes.includes(Buffer.from(m.toLowerCase(), 'utf8').toString('latin1')));
  }

  it('keeps no word, term, title, file name, value or tag in the clear, and still finds and suggests them', async () => {
    const e = engine(root);
    await e.index.addDocuments('t1', [
      doc('geheim', 'Die Zwetschgenkuchenverordnung betrifft Quarkstrudelbäcker in Oberammergau.', {
        title: 'Marmeladenprotokoll Sommer',
        fileName: 'holunderbluetensirup.pdf',
        from: 'Walburga Kiefernzapf <walburga@kiefernzapf.example>',
        tags: ['schlehenfeuer'],
        ibans: ['DE89370400440532013000'],
        invoices: ['RE-7734-QUITTE'],
      }),
      doc('zweites', 'Quarkstrudelbäcker backen Quarkstrudel.'),
    ]);
    await e.index.merge({ tenantId: 't1', force: true }); // merged segments are sealed too
    await e.index.addDocuments('t1', [doc('drittes', 'Ein Nachtrag über Zwetschgenkuchen.')]);
    await root.flushed;
    // Words as written, their folded and stemmed forms, compound parts, values.
    const markers = [
      'Zwetschgenkuchenverordnung',
      'zwetschgenkuchen',
      'verordnung',
      'quarkstrudel',
      'Oberammergau',
      'Marmeladenprotokoll',
      'holunderbluetensirup',
      'Kiefernzapf',
      'schlehenfeuer',
      'DE89370400440532013000',
      'RE-7734-QUITTE',
      'quitte',
    ];
    expect(foundOnDisk(markers)).toEqual([]);
    expect(await ids(e, 'Zwetschgenkuchenverordnung')).toEqual(['geheim']);
    expect(await ids(e, 'quarkstrudel*')).toEqual(['geheim', 'zweites']);
    expect(await ids(e, 'tag:schlehenfeuer')).toEqual(['geheim']);
    expect(await ids(e, 'iban:DE89370400440532013000')).toEqual(['geheim']);
    expect((await e.suggest('t1', 'Zwetsch')).suggestions.map((s) => s.text)).toContain('Zwetschgenkuchenverordnung');
    // Another tenant's key opens none of it.
    expect(await ids(e, 'Zwetschgenkuchenverordnung', 't2')).toEqual([]);
  });

  it('refuses a tampered dictionary block instead of answering from it', async () => {
    const e = engine(root);
    await e.index.addDocuments('t1', [doc('a', 'Holzofenbrot und Sauerteig')]);
    const key = ['t1', 1, 0];
    const sealed = Buffer.from(e.index.store.terms.getBinary(key) as Uint8Array);
    sealed[sealed.length - 20]! ^= 1;
    await e.index.store.terms.put(key, sealed);
    await expect(e.search('t1', 'Sauerteig')).rejects.toThrow(/failed authentication/);
    // A block moved under another key is refused as well (the key is authenticated).
    const other = engine(root);
    await other.index.addDocuments('t1', [doc('b', 'Roggenmischbrot')]);
    const moved = other.index.store.terms.getBinary(['t1', 2, 0]) as Uint8Array;
    await other.index.store.terms.put(['t1', 1, 0], Buffer.from(moved));
    await expect(other.search('t1', 'Sauerteig')).rejects.toThrow(/failed authentication/);
  });
});

describe('the warm-up after a start', () => {
  // Slices of 0 ms: the warm-up yields after every block and step, so the writes below land between them.
  const warmEngine = (r = root) =>
    new SearchEngine(r, {
      cipher: testCipher,
      textStore: new InMemoryTextStore(),
      autoMerge: false,
      clock: () => NOW,
      warmSliceMs: 0,
    });
  // Three letters per document (no word is a prefix of another): its title word and its body word.
  const code = (i: number) => String.fromCharCode(97 + (i % 26), 97 + (Math.floor(i / 26) % 26), 97 + Math.floor(i / 676));

  it('loses no write made while it runs, and a query made during it answers as brute force does', async () => {
    const rnd = lcg(11);
    const types = ['application/pdf', 'image/png', 'text/plain'];
    const make = (i: number) =>
      doc(`d${i}`, `gemeinsam qx${code(i)} ${['alpha', 'beta'][rnd(2)]}`, {
        title: `Akte Qy${code(i)}`,
        mediaType: types[rnd(types.length)]!,
        dateMs: Date.UTC(2015 + rnd(8), rnd(12), 1 + rnd(28)),
        source: rnd(2) ? 'upload' : 'imap',
        lang: rnd(2) ? 'deu' : 'eng',
        tags: ['a', 'b', 'c'].filter(() => rnd(3) === 0),
      });
    const model = new Map<string, DocValues>();
    let e = warmEngine();
    let next = 0;
    const add = async (n: number) => {
      const docs = Array.from({ length: n }, () => make(next++));
      await e.index.addDocuments('t1', docs);
      for (const d of docs) model.set(d.docId, d.values!);
    };
    const remove = async (id: string) => {
      expect(await e.index.deleteDocument('t1', id)).toBe(true);
      model.delete(id);
    };
    const retag = async (id: string, tags: string[]) => {
      expect(await e.setTags('t1', id, tags)).toBe(true);
      model.set(id, { ...model.get(id)!, tags });
    };
    const pick = () => [...model.keys()][rnd(model.size)]!;
    // 700 documents in five segments of several values blocks (128 documents) each, a delete and a tag edit.
    for (let i = 0; i < 5; i++) await add(140);
    await e.index.addDocuments('t2', [make(17_000)]);
    await remove('d5');
    await retag('d7', ['b', 'alt']);
    const check = async () => {
      const r = await e.search('t1', 'gemeinsam', { facets: ['type', 'year', 'tag', 'source', 'lang'], limit: 1 });
      expect(r.total).toBe(model.size);
      const expected = bruteFacets(model.values());
      for (const f of r.facets) expect(new Map(f.buckets.map((b) => [b.value, b.count])), f.field).toEqual(expected[f.field]);
      const filters: [string, (v: DocValues) => boolean][] = [
        ['tag:a', (v) => v.tags.includes('a')],
        ['tag:früh', (v) => v.tags.includes('früh')],
        ['tag:spät', (v) => v.tags.includes('spät')],
        ['type:png', (v) => v.mediaType === 'image/png'],
        ['source:imap lang:eng', (v) => v.source === 'imap' && v.lang === 'eng'],
      ];
      for (const [q, takes] of filters)
        expect((await e.search('t1', q, { limit: 1000 })).hits.map((h) => h.docId).sort(), q).toEqual(
          [...model]
            .filter(([, v]) => takes(v))
            .map(([id]) => id)
            .sort(),
        );
      const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
      const sorted = async (sort: 'date_desc' | 'title') =>
        (await e.search('t1', 'gemeinsam', { sort, limit: 1000, snippets: false })).hits.map((h) => h.docId);
      expect(await sorted('date_desc')).toEqual(
        [...model].sort(([a, x], [b, y]) => y.dateMs - x.dateMs || byId(a, b)).map(([id]) => id),
      );
      expect(await sorted('title')).toEqual(
        [...model].sort(([a, x], [b, y]) => byId(normaliseWord(x.title), normaliseWord(y.title)) || byId(a, b)).map(([id]) => id),
      );
    };
    await e.index.close();
    await root.close();
    root = open({ path: dir });
    e = warmEngine(root);

    // A tag edit whose transaction has run its callback but not committed when the warm-up begins (it is
    // then in the warm-up's snapshot, or it is nowhere), and writes asked for just before.
    let callbackRan!: () => void;
    const ran = new Promise<void>((resolve) => {
      callbackRan = resolve;
    });
    model.set('d10', { ...model.get('d10')!, tags: ['c', 'früh'] });
    const early = [
      e.setTags('t1', 'd10', () => {
        callbackRan();
        return ['c', 'früh'];
      }),
      add(2),
      remove('d300'),
    ];
    await ran;
    let warmed = false;
    const warming = e.warmUp().then(() => {
      warmed = true;
    });
    await Promise.all(early);
    const store = e.index.store;
    let merging: Promise<unknown> | undefined;
    let during = 0;
    let midway: boolean | undefined;
    while (!warmed) {
      during++;
      if (during === 1) {
        // A query while the tenant's values are still loading awaits them and counts what is there now. Asked
        // first: the load's snapshot waits for the writes above, so it has just begun (it needs turns of the
        // loop to end); one write later it may have ended.
        midway = !e.values.loaded('t1');
        const r = await e.search('t1', 'gemeinsam', { facets: ['type', 'tag'], limit: 1 });
        expect(r.total).toBe(model.size);
        const expected = bruteFacets(model.values());
        for (const f of r.facets) expect(new Map(f.buckets.map((b) => [b.value, b.count])), f.field).toEqual(expected[f.field]);
      } else if (during === 2) {
        // A merge of three segments runs beside the warm-up (and beside the edits after it).
        merging = mergeSegments(store, 't1', listSegments(store, 't1').slice(0, 3), { sliceMs: 0 });
      } else {
        const op = rnd(3);
        if (op === 0) await add(1 + rnd(3));
        else if (op === 1) await remove(pick());
        else await retag(pick(), ['spät', ...['a', 'b'].filter(() => rnd(2) === 0)]);
      }
    }
    await warming;
    expect(await merging).toMatchObject({ deleted: 0 });
    await check();
    // Suggest: each live document's title and body word, no deleted document's title.
    for (let i = 0; i < next; i++) {
      const id = `d${i}`;
      const titles = (await e.suggest('t1', `qy${code(i)}`)).suggestions.filter((s) => s.kind === 'title');
      // A deleted document's word is no longer offered, so its neighbours one edit away (and their titles) may be.
      if (model.has(id))
        expect(
          titles.map((s) => s.docId),
          id,
        ).toEqual([id]);
      else
        expect(
          titles.map((s) => s.docId),
          id,
        ).not.toContain(id);
      if (model.has(id))
        expect(
          (await e.suggest('t1', `qx${code(i)}`)).suggestions.map((s) => s.text),
          id,
        ).toContain(`qx${code(i)}`);
    }
    expect((await e.search('t2', 'gemeinsam', { facets: ['type'] })).total).toBe(1);
    expect(midway, 'the query was asked while the values were loading').toBe(true);
    // The query, the merge and a write at least (the query ends with the values, facets and dictionary; the
    // title index and word list still take turns of the loop). How many more depends on timing; the test
    // below drives its writes to fixed points of each load.
    expect(during, 'writes made while the warm-up ran').toBeGreaterThanOrEqual(3);
  });

  it('takes each snapshot after the writes whose hooks ran before its load, and keeps those made during it', async () => {
    // Each load is driven at fixed points, not by timing: just before it begins, a write whose transaction has
    // run the engine's hook but not committed; at its first turn of the loop (after its snapshot), writes that
    // the hooks must hand to it.
    const make = (i: number, title = `Akte Qy${code(i)}`) =>
      doc(`d${i}`, `gemeinsam qx${code(i)}`, {
        title,
        mediaType: ['application/pdf', 'image/png', 'text/plain'][i % 3]!,
        tags: i % 4 === 0 ? ['a'] : [],
      });
    const model = new Map<string, DocValues>();
    let e = warmEngine();
    let next = 0;
    const add = async (docs: ValuedIndexDoc[]) => {
      await e.index.addDocuments('t1', docs);
      for (const d of docs) model.set(d.docId, d.values!);
    };
    // 300 documents in two segments: the title index's build takes a turn at ordinal 256.
    for (let i = 0; i < 2; i++) await add(Array.from({ length: 150 }, () => make(next++)));
    await e.index.addDocuments('t2', [doc('x1', 'gemeinsam', { tags: ['a'] }), doc('x2', 'gemeinsam')]);
    await e.index.close();
    await root.close();
    root = open({ path: dir });
    e = warmEngine(root);

    // A read snapshot pinned inside a write's transaction: lmdb-js hands that same snapshot to every
    // useReadTransaction until it sees a commit or a timer turn passes, so a load that takes its snapshot
    // then, without waiting for that write, misses it for sure (as it would whenever the commit is late).
    const pins: Transaction[] = [];
    const pin = () => pins.push(e.index.store.root.useReadTransaction());
    const unpin = () => {
      for (const p of pins.splice(0)) p.done();
    };
    /** Adds a new document; `hooked` resolves once its transaction has run the hook (which reads freshTags). */
    const addHooked = () => {
      const d = make(next++);
      let ran!: () => void;
      const hooked = new Promise<void>((resolve) => {
        ran = resolve;
      });
      const tags = d.values!.tags;
      const done = add([
        {
          ...d,
          freshTags: () => {
            pin();
            ran();
            return tags;
          },
        },
      ]).finally(unpin);
      return { hooked, done };
    };
    const written: Promise<unknown>[] = [];
    const loads: string[] = [];
    /** Wraps a cache's load of t1: `before` runs before it begins, `atFirstTurn` before its first turn. */
    const drive = (
      name: string,
      cache: { load: (tenantId: string, slicer: Slicer, between: Between) => Promise<void> },
      before: () => Promise<void>,
      atFirstTurn: () => Promise<void>,
    ) => {
      const load = cache.load.bind(cache);
      cache.load = async (tenantId, slicer, between) => {
        if (tenantId !== 't1') return load(tenantId, slicer, between);
        await before();
        let first = true;
        const driven = new (class extends Slicer {
          override async next(): Promise<void> {
            if (first) {
              first = false;
              loads.push(name);
              await atFirstTurn();
            }
            await super.next();
          }
        })(0);
        return load(tenantId, driven, between);
      };
    };
    /** A write whose hook has run when the load begins (its commit may land after the load's snapshot). */
    const hookedBefore = async () => {
      const { hooked, done } = addHooked();
      written.push(done);
      await hooked;
    };
    const none = async () => {};
    drive('values', e.values, hookedBefore, async () => {
      // Logged while the columns load, replayed over them.
      await add([make(next++)]);
      expect(await e.index.deleteDocument('t1', 'd5')).toBe(true);
      model.delete('d5');
      expect(await e.setTags('t1', 'd7', ['b'])).toBe(true);
      model.set('d7', { ...model.get('d7')!, tags: ['b'] });
    });
    drive('terms', e.dictionary, hookedBefore, () => add([make(next++)]));
    drive('titles', e.suggester, none, async () => {
      // d1's title changes behind the build (ordinal 1, already in the index).
      expect(e.suggester.loaded('t1')).toBe(false);
      await add([make(1, `Akte Qz${code(1)}`)]);
    });
    drive('words', e.words, hookedBefore, () => add([make(next++)]));
    await e.ready('t1');
    await Promise.all(written);
    expect(loads).toEqual(['values', 'terms', 'titles', 'words']);
    expect(model.size).toBe(300 + 3 + 3 - 1);

    const r = await e.search('t1', 'gemeinsam', { facets: ['type', 'tag'], limit: 1 });
    expect(r.total).toBe(model.size);
    const expected = bruteFacets(model.values());
    for (const f of r.facets) expect(new Map(f.buckets.map((b) => [b.value, b.count])), f.field).toEqual(expected[f.field]);
    for (let i = 0; i < next; i++) {
      const id = `d${i}`;
      const v = model.get(id);
      // Titles: each live document under its title's word (d1 under its new one only), none under a deleted one's.
      const titled = async (word: string) =>
        (await e.suggest('t1', word)).suggestions.filter((s) => s.kind === 'title').map((s) => s.docId);
      if (v !== undefined && i !== 1) expect(await titled(`qy${code(i)}`), `${id}: title`).toEqual([id]);
      else expect(await titled(`qy${code(i)}`), `${id}: old title`).not.toContain(id);
      if (v === undefined) continue;
      // Terms (a word is suggested while a term of it is in the dictionary) and words.
      const word = `qx${code(i)}`;
      expect(
        (await e.suggest('t1', word)).suggestions.map((s) => s.text),
        `${id}: word`,
      ).toContain(word);
      expect((await e.search('t1', `${word}~1`, { limit: 1 })).hits[0]?.docId, `${id}: dictionary`).toBe(id);
    }
    expect(
      (await e.suggest('t1', `qz${code(1)}`)).suggestions.filter((s) => s.kind === 'title').map((s) => s.docId),
      'd1: new title',
    ).toEqual(['d1']);
    expect(await ids(e, 'tag:b')).toEqual(['d7']);

    // A tag edit whose transaction has run but not committed when a load begins, no index write queued.
    let ran!: () => void;
    const hooked = new Promise<void>((resolve) => {
      ran = resolve;
    });
    const edit = e.setTags('t2', 'x2', () => {
      pin();
      ran();
      return ['spät'];
    });
    await hooked;
    const warming = e.ready('t2');
    expect(await edit.finally(unpin)).toBe(true);
    await warming;
    expect(await ids(e, 'tag:spät', 't2')).toEqual(['x2']);
    expect(await ids(e, 'tag:a', 't2')).toEqual(['x1']);
  });

  it('keeps nothing of a tenant dropped while its caches load, and indexes it afresh after', async () => {
    let e = warmEngine();
    const old = Array.from({ length: 300 }, (_, i) => doc(`d${i}`, `gemeinsam qx${code(i)}`, { title: `Akte Qy${code(i)}` }));
    for (let i = 0; i < old.length; i += 100) await e.index.addDocuments('t1', old.slice(i, i + 100));
    await e.index.close();
    await root.close();
    root = open({ path: dir });
    e = warmEngine(root);
    // The drop lands while the values load: after its snapshot and first block, before its next slice.
    let reached!: () => void;
    const atFirstSlice = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    class Held extends Slicer {
      #first = true;
      override async next(): Promise<void> {
        if (this.#first) {
          this.#first = false;
          reached();
          await gate;
        }
        return super.next();
      }
    }
    const load = e.values.load.bind(e.values);
    e.values.load = (t: string, _slicer: Slicer, between: Between) => load(t, new Held(0), between);
    const warming = e.ready('t1');
    await atFirstSlice;
    expect(e.values.loaded('t1')).toBe(false);
    await e.index.dropTenant('t1');
    release();
    await warming;
    await e.index.addDocuments('t1', [doc('n1', 'gemeinsam neu', { title: 'Akte Neu' })]);
    const r = await e.search('t1', 'gemeinsam', { facets: ['type'], limit: 10 });
    expect(r.hits.map((h) => h.docId)).toEqual(['n1']);
    expect(r.facets.find((f) => f.field === 'type')?.buckets).toEqual([{ value: 'text/plain', count: 1 }]);
    const titles = async (typed: string) =>
      (await e.suggest('t1', typed)).suggestions.filter((x) => x.kind === 'title').map((x) => x.docId);
    expect(await titles('akte')).toEqual(['n1']);
    expect(await titles(`qy${code(5)}`)).toEqual([]);
  });
});
