import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListRequest } from '../../src/gen/archivar/v1/documents.js';
import { type Connection, unary } from '../../src/sdk/index.js';
import { type SearchFixture, search, startSearchFixture } from '../helpers/search-fixture.js';
import { runCli, TEST_TOKEN, type TestServer } from '../helpers/test-server.js';

const CORPUS: Record<string, string> = {
  'rechnung.txt': 'Rechnung RE-2024-0042 der Müller GmbH vom 01.03.2024 über 1.234,56 EUR. IBAN DE89 3704 0044 0532 0130 00.',
  'mahnung.txt': 'Mahnung: Ihre Rechnung ist noch offen. Bitte zahlen Sie 99,90 EUR.',
  'invoice.txt': 'Invoice for consulting services: the invoice total is due in March.',
  'urlaub.txt': 'Urlaubsantrag für den Sommer, genehmigt.',
};

describe('SearchService: query language, facets, sort, tags, suggestions over gRPC', () => {
  let fx: SearchFixture;
  let t: TestServer;
  let other: Connection;
  let ids: Record<string, string>;

  beforeAll(async () => {
    fx = await startSearchFixture(CORPUS);
    ({ t, other, ids } = fx);
  });
  afterAll(async () => {
    await fx.stop();
  });

  const hitIds = async (q: string) => (await search(t.client, q)).hits.map((h) => h.documentId).sort();
  const sorted = (...names: string[]) => names.map((n) => ids[n]!).sort();

  it('answers operators, fields and recognised values', async () => {
    expect(await hitIds('rechnung NOT mahnung')).toEqual(sorted('rechnung.txt'));
    expect(await hitIds('(urlaub OR invoice) -consulting')).toEqual(sorted('urlaub.txt'));
    expect(await hitIds('filename:mahnung')).toEqual(sorted('mahnung.txt'));
    expect(await hitIds('type:text')).toEqual(sorted('rechnung.txt', 'mahnung.txt', 'invoice.txt', 'urlaub.txt'));
    expect(await hitIds('amount:>100')).toEqual(sorted('rechnung.txt'));
    expect(await hitIds('amount:99.90')).toEqual(sorted('mahnung.txt'));
    expect(await hitIds('iban:DE89370400440532013000')).toEqual(sorted('rechnung.txt'));
    expect(await hitIds('date:2024-03')).toEqual(sorted('rechnung.txt'));
    expect(await hitIds('created:today rechnung')).toEqual(sorted('rechnung.txt', 'mahnung.txt'));
    expect(await hitIds('"invoice total"~2')).toEqual(sorted('invoice.txt'));
  });

  it('shows in the hit of a value filter where its value is written, highlighted', async () => {
    const shown = async (q: string) =>
      (await search(t.client, q)).hits.map((h) =>
        h.snippets.map((s) => [s.page, s.highlights.map((x) => s.text.slice(Number(x.start), Number(x.end)))]),
      );
    expect(await shown('amount:>100')).toEqual([[[1, ['1.234,56 EUR']]]]);
    expect(await shown('iban:DE89370400440532013000')).toEqual([[[1, ['DE89 3704 0044 0532 0130 00']]]]);
    expect(await shown('date:2024-03-01')).toEqual([[[1, ['01.03.2024']]]]);
  });

  it('gives each hit the date it is sorted and filtered by: found in its text, else none (0)', async () => {
    const r = await search(t.client, 'rechnung OR invoice OR urlaub', { limit: 10 });
    const dateOf = (name: string) => r.hits.find((h) => h.documentId === ids[name])?.documentDateMs;
    expect(dateOf('rechnung.txt')).toBe(BigInt(Date.UTC(2024, 2, 1)));
    expect(dateOf('invoice.txt')).toBe(0n);
    expect(dateOf('urlaub.txt')).toBe(0n);
    expect(await hitIds('date:2024-03-01')).toEqual(sorted('rechnung.txt'));
  });

  it('corrects typos with "did you mean", and reports syntax errors with positions', async () => {
    const r = await search(t.client, 'rechnnug');
    expect(r.hits[0]?.documentId).toBe(ids['rechnung.txt']);
    expect(r.didYouMean).toBe('rechnung');
    await expect(search(t.client, 'amount:>x')).rejects.toMatchObject({ code: 3, details: expect.stringMatching(/position 8/) });
    await expect(search(t.client, 'x', { facets: ['colour'] })).rejects.toMatchObject({ code: 3 });
  });

  it('tags documents (Documents.Tag and archivar tag): searchable and faceted at once', async () => {
    const tag = (documentId: string, add: string[], remove: string[] = []) =>
      unary(t.client.documents.tag.bind(t.client.documents), { documentId, add, remove });
    await tag(ids['rechnung.txt']!, ['steuer', 'finanzen']);
    await tag(ids['mahnung.txt']!, ['finanzen']);
    const env = { ARCHIVAR_SERVER: t.address, ARCHIVAR_TOKEN: TEST_TOKEN, ARCHIVAR_INSECURE: '1' };
    const cli = await runCli(['tag', ids['urlaub.txt']!, '--add', 'privat', '--json'], env);
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual({ id: ids['urlaub.txt'], tags: ['privat'] });
    // The index hook runs right after the tag is durable: wait for it, not for a fixed time.
    await expect.poll(() => hitIds('tag:finanzen')).toEqual(sorted('rechnung.txt', 'mahnung.txt'));
    expect(await hitIds('tag:privat')).toEqual(sorted('urlaub.txt'));
    const f = await search(t.client, 'rechnung OR urlaub OR invoice', { facets: ['tag', 'type', 'source', 'year'] });
    const facet = (name: string) =>
      Object.fromEntries(f.facets.find((x) => x.field === name)!.buckets.map((b) => [b.value, Number(b.count)]));
    expect(facet('tag')).toEqual({ finanzen: 2, steuer: 1, privat: 1 });
    expect(facet('type')).toEqual({ 'text/plain': 4 });
    expect(facet('source')).toEqual({ upload: 4 });
    await tag(ids['rechnung.txt']!, [], ['steuer']);
    await expect.poll(() => hitIds('tag:steuer')).toEqual([]);
    const json = await runCli(['search', 'tag:finanzen', '--facets', 'tag', '--sort', 'title', '--json'], env);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).facets).toEqual({ tag: { finanzen: 2 } });
    expect(JSON.parse(json.stdout).hits.map((h: { fileName: string }) => h.fileName)).toEqual(['mahnung.txt', 'rechnung.txt']);
    // One tag whatever its case: on a document, in tag: and in the facet.
    expect((await tag(ids['invoice.txt']!, ['Backen', 'backen', 'BACKEN'])).tags).toEqual(['Backen']);
    expect((await tag(ids['urlaub.txt']!, ['backen'])).tags).toEqual(['backen', 'privat']);
    await expect.poll(() => hitIds('tag:BACKEN')).toEqual(sorted('invoice.txt', 'urlaub.txt'));
    const merged = await search(t.client, 'tag:backen', { facets: ['tag'] });
    const buckets = merged.facets.find((x) => x.field === 'tag')!.buckets.map((b) => [b.value.toLowerCase(), Number(b.count)]);
    expect(Object.fromEntries(buckets)).toEqual({ backen: 2, privat: 1 });
    expect((await tag(ids['invoice.txt']!, [], ['bAcKeN'])).tags).toEqual([]);
    expect((await tag(ids['urlaub.txt']!, [], ['BACKEN'])).tags).toEqual(['privat']);
    await expect.poll(() => hitIds('tag:backen')).toEqual([]);
    // ß and SS are one tag too (full case folding): on a document, in tag:, in the facet and in List.
    expect((await tag(ids['invoice.txt']!, ['Größe'])).tags).toEqual(['Größe']);
    expect((await tag(ids['invoice.txt']!, ['GRÖSSE'])).tags).toEqual(['Größe']);
    expect((await tag(ids['urlaub.txt']!, ['grösse'])).tags).toEqual(['grösse', 'privat']);
    await expect.poll(() => hitIds('tag:GRÖSSE')).toEqual(sorted('invoice.txt', 'urlaub.txt'));
    const sizes = await search(t.client, 'tag:größe', { facets: ['tag'] });
    expect(sizes.facets.find((x) => x.field === 'tag')?.buckets.map((b) => Number(b.count))[0]).toBe(2);
    const listed = await unary(
      t.client.documents.list.bind(t.client.documents),
      ListRequest.fromPartial({ tag: 'GRÖSSE', pageSize: 10 }),
    );
    expect(listed.documents.map((d) => d.id).sort()).toEqual(sorted('invoice.txt', 'urlaub.txt'));
    expect((await tag(ids['invoice.txt']!, [], ['GRÖSSE'])).tags).toEqual([]);
    expect((await tag(ids['urlaub.txt']!, [], ['Größe'])).tags).toEqual(['privat']);
    // The CLI's own line keeps tags with a space in them apart.
    const human = await runCli(['tag', ids['urlaub.txt']!, '--add', 'Urlaub 2024'], env);
    expect(human.stdout).toBe(`${ids['urlaub.txt']}: Urlaub 2024, privat\n`);
  });

  it('sorts by title and date with cursors that page through everything once', async () => {
    const seen: string[] = [];
    let cursor = '';
    do {
      const r = await search(t.client, 'type:text', { sort: 4, limit: 1, cursor });
      seen.push(...r.hits.map((h) => h.fileName));
      cursor = r.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['invoice.txt', 'mahnung.txt', 'rechnung.txt', 'urlaub.txt']);
    const byDate = await search(t.client, 'type:text', { sort: 2, limit: 10 });
    expect(byDate.hits).toHaveLength(4);
    // A cursor of one order, given to another, is refused with what is wrong with it.
    const titlePage = await search(t.client, 'type:text', { sort: 4, limit: 1 });
    await expect(search(t.client, 'type:text', { sort: 2, limit: 1, cursor: titlePage.nextCursor })).rejects.toMatchObject({
      code: 3,
      details: expect.stringMatching(/belongs to another sort order/),
    });
    await expect(search(t.client, 'type:pdf', { sort: 4, limit: 1, cursor: titlePage.nextCursor })).rejects.toMatchObject({
      code: 3,
      details: expect.stringMatching(/belongs to another query/),
    });
    await expect(search(t.client, 'type:text', { sort: 2, limit: 1, cursor: 'nonsense' })).rejects.toMatchObject({
      code: 3,
      details: expect.stringMatching(/not one this server handed out/),
    });
    const env = { ARCHIVAR_SERVER: t.address, ARCHIVAR_TOKEN: TEST_TOKEN, ARCHIVAR_INSECURE: '1' };
    const badSort = await runCli(['search', 'type:text', '--sort', 'foo'], env);
    expect(badSort.code).toBe(2);
    expect(badSort.stderr).toMatch(/--sort must be/);
  });

  it('suggests completions and titles for the caller’s tenant only', async () => {
    const suggest = (c: Connection, prefix: string) => unary(c.search.suggest.bind(c.search), { prefix, limit: 8 });
    const mine = await suggest(t.client, 'bitte rechn');
    expect(mine.suggestions.some((s) => s.kind === 'term' && s.text === 'bitte Rechnung')).toBe(true);
    const title = await suggest(t.client, 'mahn');
    expect(title.suggestions).toContainEqual({ text: 'mahnung.txt', kind: 'title', documentId: ids['mahnung.txt'] });
    expect((await suggest(other, 'rechn')).suggestions).toEqual([]);
    // The time taken is reported (speed is measured in native-bench, not asserted here).
    expect(Number((await suggest(t.client, 'rechnu')).tookMicros)).toBeGreaterThan(0);
    await expect(suggest(t.client, '')).rejects.toMatchObject({ code: 3 });
  });
});
