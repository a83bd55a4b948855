import { describe, expect, it } from 'vitest';
import { type DocValues, type NameColumn, type StringList, TenantColumns, titleOf } from '../../src/index/doc-values.js';

/** A small deterministic generator (xorshift32). */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

function randomValues(r: (n: number) => number, i: number): DocValues {
  const pick = <T>(xs: readonly T[]): T => xs[r(xs.length)]!;
  const list = <T>(max: number, make: () => T): T[] => Array.from({ length: r(max + 1) }, make);
  return {
    title: r(5) === 0 ? '' : `Titel ${i} ${r(1000)}`,
    fileName: `datei-${i}.pdf`,
    subject: '',
    from: '',
    to: r(4) === 0 ? list(2, () => pick(['anna@example.org', 'bob@example.com'])) : [],
    dateMs: r(6) === 0 ? 0 : Date.UTC(2020 + r(5), r(12), 1 + r(28)),
    createdMs: Date.UTC(2024, 0, 1) + r(1e6) * 1000,
    mediaType: pick(['application/pdf', 'image/png', 'message/rfc822', '']),
    lang: pick(['deu', 'eng', 'deu+eng', '']),
    source: pick(['upload', 'imap', '']),
    tags: [...new Set(list(3, () => pick(['Steuer', 'Bank', 'Arzt', 'Versicherung'])))],
    dates: list(3, () => Date.UTC(2019 + r(6), r(12), 1 + r(28))),
    amounts: list(3, () => r(100_000) / 100),
    ibans: r(10) === 0 ? ['DE89370400440532013000'] : [],
    invoices: r(10) === 0 ? [`RE-${r(100)}`] : [],
  };
}

/** What the columns must answer for a document's values, computed from the values themselves. */
function expected(v: DocValues) {
  return {
    title: titleOf(v),
    date: v.dateMs > 0 ? [v.dateMs, ...v.dates] : v.dates,
    created: [v.createdMs],
    amount: v.amounts.map((a) => Math.round(a * 100)),
    type: v.mediaType ? [v.mediaType] : [],
    lang: v.lang ? [v.lang] : [],
    source: v.source ? [v.source] : [],
    tag: v.tags,
    to: v.to,
    ibans: v.ibans,
    invoices: v.invoices,
  };
}

describe('TenantColumns', () => {
  // Presized (as the warm-up's load does, after its first documents) for more documents than come, or fewer.
  it.each([
    ['grown by doubling', undefined],
    ['presized for more', 12_000],
    ['presized for fewer', 4_000],
  ])('answers every column as the values say through rewrites, deletes and arena compactions (%s)', (_, presize) => {
    const r = rng(42);
    const cols = new TenantColumns();
    const model = new Map<string, DocValues | undefined>();
    // 10 000 documents rewritten about six times each: the arena's garbage passes its bound several times.
    for (let step = 0; step < 60_000; step++) {
      if (step === 2_000 && presize !== undefined) for (const _ of cols.presize(presize));
      const id = `doc-${r(10_000)}`;
      const v = r(8) === 0 ? undefined : randomValues(r, step);
      cols.set(id, v);
      model.set(id, v);
    }
    const columns: NameColumn[] = ['type', 'lang', 'source', 'tag'];
    const lists: StringList[] = ['to', 'ibans', 'invoices'];
    for (const [id, v] of model) {
      const o = cols.ordinal(id);
      expect(cols.ids.get(o)).toBe(id);
      if (v === undefined) {
        expect(cols.live[o]).toBe(0);
        expect(cols.titles.get(o)).toBeUndefined();
        expect(cols.numbers('created', o)).toBeUndefined();
        expect(cols.tagIds(o)).toBeUndefined();
        for (const c of [...columns, ...lists]) expect(cols.names(c, o)).toEqual([]);
        continue;
      }
      const want = expected(v);
      expect(cols.live[o]).toBe(1);
      expect(cols.titles.get(o)).toBe(want.title);
      expect(cols.dateMs[o]).toBe(v.dateMs);
      expect(cols.year[o]).toBe(v.dateMs > 0 ? new Date(v.dateMs).getUTCFullYear() : -1);
      for (const c of ['date', 'created', 'amount'] as const) expect(Array.from(cols.numbers(c, o) ?? [])).toEqual(want[c]);
      for (const c of [...columns, ...lists]) expect(cols.names(c, o)).toEqual(want[c]);
    }
  });

  it("numbersOf gives each listed ordinal's numbers end to end, as numbers() and the values say", () => {
    const r = rng(7);
    const cols = new TenantColumns();
    const model = new Map<string, DocValues | undefined>();
    for (let step = 0; step < 30_000; step++) {
      if (step === 1_000) for (const _ of cols.presize(20_000));
      const id = `doc-${r(8_000)}`;
      const v = r(8) === 0 ? undefined : randomValues(r, step);
      cols.set(id, v);
      model.set(id, v);
    }
    // A segment's local docs in some order, with docs this process has no values for (NONE) among them.
    const ids = [...model.keys()];
    const ords = Int32Array.from({ length: 12_000 }, (_, d) => (d % 97 === 0 ? -1 : cols.ordinal(ids[r(ids.length)]!)));
    for (const column of ['date', 'created', 'amount'] as const) {
      const { start, values } = cols.numbersOf(column, ords);
      expect(start.length).toBe(ords.length + 1);
      expect(start[ords.length]).toBe(values.length);
      for (let d = 0; d < ords.length; d++) {
        const got = Array.from(values.subarray(start[d]!, start[d + 1]!));
        const o = ords[d]!;
        const v = o === -1 ? undefined : model.get(cols.ids.get(o)!);
        expect(got, `${column} of doc ${d}`).toEqual(v === undefined ? [] : expected(v)[column]);
        expect(got).toEqual(Array.from((o === -1 ? undefined : cols.numbers(column, o)) ?? []));
      }
    }
  });
});
