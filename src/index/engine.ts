/**
 * The search engine users talk to: the LMDB index (search-index.ts) plus what the query language needs
 * around it — value fields and facets from per-document values (doc-values.ts), typo tolerance from the
 * term dictionary (term-dictionary.ts, fuzzy.ts), date/title sort orders with keyset cursors, "did you
 * mean", and as-you-type suggestions (suggest.ts). See docs/search.md.
 *
 * Those need per-tenant caches in memory, built from LMDB after a start by a warm-up in time slices
 * (warm-up.ts): `warmUp` builds them for every tenant in the background, and a tenant's query or Suggest
 * awaits its own (starting it, ahead of the others, if it had not started) instead of building them on the
 * request path. Order per tenant: values columns, facets, term dictionary (a query's needs), then titles
 * and words (Suggest's).
 */
import type { RootDatabase } from 'lmdb';
import { type AnalyserLanguage, analyse, analyseQueryText, normaliseWord } from './analyser.js';
import { CursorError, unwrapCursor, wrapCursor } from './cursor.js';
import { wordOfTerm } from './decompound.js';
import {
  type DocValues,
  DocValuesStore,
  FACET_FIELDS,
  type FacetField,
  type FacetResult,
  titleOf,
  type ValuedIndexDoc,
  valuesFromIndexDoc,
} from './doc-values.js';
import { fuzzySearch, lowerBound } from './fuzzy.js';
import { NONE } from './ordinal-slices.js';
import type { ExpandedNode, FuzzyNode, PrefixNode, QueryNode } from './query-ast.js';
import { parseQuery, QuerySyntaxError } from './query-parser.js';
import { compileQuery, NO_HIGHLIGHTS, prefixOf } from './query-plan.js';
import { type PartWords, type SearchHit, SearchIndex, type SearchIndexOptions } from './search-index.js';
import type { ValuePlaces } from './snippets.js';
import { Suggester, type Suggestion } from './suggest.js';
import { TermDictionary } from './term-dictionary.js';
import type { TextStore } from './text-store.js';
import { valueClause, type WrittenKind, writtenValues } from './value-fields.js';
import { type Between, Slicer } from './warm-up.js';
import { WordList } from './word-list.js';

export const SORT_ORDERS = ['score', 'date_desc', 'date_asc', 'title'] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];

export interface EngineSearchOptions {
  limit?: number;
  cursor?: string;
  sort?: SortOrder;
  facets?: readonly FacetField[];
  snippets?: boolean;
  /** Snippets per hit at most (default: the index's maxSnippets, 2). */
  maxSnippets?: number;
  /** Retry words of 5+ letters typo tolerant when nothing matches (default true). */
  autoTypos?: boolean;
}

export interface EngineSearchResult {
  total: number;
  totalExact: boolean;
  hits: SearchHit[];
  nextCursor?: string;
  tookMicros: number;
  facets: FacetResult[];
  /** The corrected query when typo tolerance found what the exact query did not. */
  didYouMean?: string;
}

export interface SearchEngineOptions extends Omit<SearchIndexOptions, 'hooks'> {
  /** "Now" for relative dates (`created:last-week`). */
  clock?: () => number;
  /**
   * Milliseconds the warm-up works before the event loop gets a turn (default 5; 0 yields at every step:
   * tests use it to write between steps).
   */
  warmSliceMs?: number;
  /**
   * Where values of `kinds` are written on a page (the pipeline's recogniser, pipeline/recognize.ts
   * `placedValues`): a hit of a value clause (`amount:>100`) then shows the value in its snippet. Without it,
   * such a hit without matched words shows the opening of its first page.
   */
  findValues?: FindValues;
}

/** A page's values of `kinds`: their kind, normalised form and place, text[start, end). */
export type FindValues = (
  page: string,
  kinds: ReadonlySet<WrittenKind>,
) => readonly { kind: string; normalized: string; start: number; end: number }[];

/** A tenant's warm-up: `search` once a query can run, `all` (begun by a Suggest or `warmUp`) once Suggest can too. */
interface TenantWarmUp {
  search: Promise<void>;
  all?: Promise<void>;
}

/** Fuzzy matches rank below exact ones: their score is scaled by this per edit. */
const FUZZY_BOOST = [1, 0.3, 0.1];
const MAX_FUZZY_EXPANSIONS = 24;
/** Dictionary matches read per expansion place: some may be held by deleted documents only. */
const FUZZY_CANDIDATES = 4;
/** Words of the word list read for a prefix's stems, and stems kept (beside the index's own expansion). */
const PREFIX_WORD_SCAN = 4096;
const PREFIX_WORDS_ANALYSED = 512;
const MAX_PREFIX_STEMS = 64;
/** Letters beyond a prefix a stemmer may cut into it from (inflections: -en, -ern, -ing, -es). */
const SUFFIX_CUT = 3;
/** A folded umlaut in a prefix (ä ö ü → ae oe ue): German stems keep the plain vowel there. */
const UMLAUT_FOLD_RE = /[aou]e/;
const KEYSET_PREFIX = 'k.';

export class SearchEngine {
  readonly index: SearchIndex;
  readonly values: DocValuesStore;
  readonly dictionary: TermDictionary;
  readonly words: WordList;
  readonly suggester: Suggester;
  readonly #clock: () => number;
  readonly #textStore: TextStore | undefined;
  readonly #language: AnalyserLanguage;
  readonly #warmSliceMs: number;
  readonly #warming = new Map<string, TenantWarmUp>();
  readonly #stopWarming = new AbortController();
  readonly #between: Between;
  readonly #findValues: FindValues | undefined;

  constructor(root: RootDatabase, options: SearchEngineOptions) {
    const { clock, warmSliceMs, findValues, ...indexOptions } = options;
    this.#clock = clock ?? Date.now;
    this.#findValues = findValues;
    this.#warmSliceMs = warmSliceMs ?? 5;
    this.#textStore = options.textStore;
    this.#language = options.queryLanguage ?? 'deu+eng';
    // The hooks run inside the index's write transactions (see SearchIndexOptions.hooks).
    this.index = new SearchIndex(root, {
      ...indexOptions,
      // Ids of kept matches from the value columns (a filter test built the segment's ordinals already).
      segmentIds: (tenantId, segment, transaction) => {
        if (!this.values.loaded(tenantId)) return undefined;
        const ords = this.values.segmentOrdinals(tenantId, segment, transaction);
        const ids = this.values.columns(tenantId).ids;
        return (local) => {
          const o = ords[local];
          return o === undefined || o === NONE ? undefined : ids.get(o);
        };
      },
      hooks: {
        added: (tenantId, segmentId, docs, newWords) => {
          const ids = docs.map((d) => d.docId);
          const values = (docs as readonly ValuedIndexDoc[]).map((d) => {
            const v = d.values ?? valuesFromIndexDoc(d);
            const tags = d.freshTags?.();
            if (tags) v.tags = [...tags];
            return v;
          });
          this.values.addSegment(tenantId, segmentId, ids, values);
          for (let i = 0; i < ids.length; i++) this.suggester.titleChanged(tenantId, ids[i]!, titleOf(values[i]!));
          this.dictionary.segmentAdded(tenantId, segmentId);
          this.words.added(tenantId, newWords);
        },
        deleted: (tenantId, docId) => {
          this.values.removed(tenantId, docId);
          this.suggester.titleChanged(tenantId, docId, undefined);
        },
        dropped: (tenantId) => {
          this.values.dropped(tenantId);
          this.dictionary.dropped(tenantId);
          this.suggester.dropped(tenantId);
        },
      },
    });
    this.values = new DocValuesStore(this.index.store);
    this.dictionary = new TermDictionary(this.index.store);
    this.words = new WordList(this.index.store);
    this.suggester = new Suggester(this.values, this.dictionary, this.words, (t) => this.index.liveTerms(t));
    this.#between = (fn) => this.index.exclusive(fn);
  }

  /**
   * Builds every tenant's caches in the background, one tenant after the other (those a query asked for
   * first are already under way). Resolves when all are built; a tenant that fails is reported to
   * `onError` and skipped.
   */
  async warmUp(onError: (tenantId: string, err: unknown) => void = () => {}): Promise<void> {
    for (const t of this.index.tenants()) {
      if (this.#stopWarming.signal.aborted) return;
      try {
        await this.ready(t);
      } catch (err) {
        if (!this.#stopWarming.signal.aborted) onError(t, err);
      }
    }
  }

  /**
   * Resolves once the tenant's caches are built: for 'search' those a query reads, for 'all' Suggest's too.
   * Starts the tenant's warm-up if it had not started. A drop of the tenant during it starts it over.
   */
  async ready(tenantId: string, what: keyof TenantWarmUp = 'all'): Promise<void> {
    // Checked first: every query comes through here, and once built there is no run to look up.
    while (!this.#built(tenantId, what)) {
      const w = this.#warmUpOf(tenantId, what);
      await w[what];
      if (this.#built(tenantId, what)) return;
      // Something was not built (a drop before its load began): let this run end, then start another.
      await Promise.allSettled([w.search, w.all]);
      if (this.#warming.get(tenantId) === w) this.#warming.delete(tenantId);
    }
  }

  #built(tenantId: string, what: keyof TenantWarmUp): boolean {
    const search = this.values.loaded(tenantId) && this.dictionary.loaded(tenantId);
    return search && (what === 'search' || (this.suggester.loaded(tenantId) && this.words.loaded(tenantId)));
  }

  /**
   * Stops the warm-up (a shutdown): what is under way ends at its next slice, its snapshots released, before
   * this resolves (LMDB may then close); queries still waiting for it fail.
   */
  async stopWarmUp(): Promise<void> {
    this.#stopWarming.abort(new Error('the search engine is closing'));
    await Promise.allSettled([...this.#warming.values()].flatMap((w) => [w.search, w.all]));
  }

  #warmUpOf(tenantId: string, what: keyof TenantWarmUp): TenantWarmUp {
    const slicer = new Slicer(this.#warmSliceMs, this.#stopWarming.signal);
    let run = this.#warming.get(tenantId);
    // A failed run is forgotten, so the next query tries again (and gets its own error).
    const forget = () => {
      if (this.#warming.get(tenantId) === run) this.#warming.delete(tenantId);
    };
    if (run === undefined) {
      const search = (async () => {
        await this.index.store.cipher.ready(tenantId);
        await this.values.load(tenantId, slicer, this.#between);
        await this.values.warmFacets(tenantId, slicer);
        await this.dictionary.load(tenantId, slicer, this.#between);
        // The segments' norms (the index's own cache): every query reads them, so the first need not build them.
        await this.index.warmNorms(tenantId, slicer);
      })();
      run = { search };
      this.#warming.set(tenantId, run);
      search.catch(forget);
    }
    if (what === 'all' && run.all === undefined) {
      const search = run.search;
      run.all = (async () => {
        await search;
        await this.suggester.load(tenantId, slicer);
        await this.words.load(tenantId, slicer, this.#between);
      })();
      run.all.catch(forget);
    }
    return run;
  }

  /**
   * Tags changed on a document: searchable (`tag:`) and faceted at once; false if it is not indexed.
   * `within` runs in the same write transaction (DocValuesStore.setTags).
   */
  async setTags(
    tenantId: string,
    docId: string,
    tags: readonly string[] | (() => readonly string[] | undefined),
    within?: () => void,
  ): Promise<boolean> {
    await this.index.store.cipher.ready(tenantId);
    return this.values.setTags(tenantId, docId, tags, within);
  }

  /** Distinct index terms, summed over the tenants whose term dictionaries are loaded (all, after the warm-up). */
  termCount(): number {
    let n = 0;
    for (const t of this.index.tenants())
      if (this.dictionary.loaded(t)) for (const list of this.dictionary.lists(t)) n += list.length;
    return n;
  }

  async suggest(tenantId: string, typed: string, limit = 8): Promise<{ suggestions: Suggestion[]; tookMicros: number }> {
    await this.index.store.cipher.ready(tenantId);
    await this.ready(tenantId);
    const t0 = process.hrtime.bigint();
    const suggestions = this.suggester.suggest(tenantId, typed, limit);
    return { suggestions, tookMicros: Number((process.hrtime.bigint() - t0) / 1000n) };
  }

  async search(tenantId: string, query: string, options: EngineSearchOptions = {}): Promise<EngineSearchResult> {
    await this.index.store.cipher.ready(tenantId);
    await this.ready(tenantId, 'search');
    const t0 = process.hrtime.bigint();
    const ast = parseQuery(query);
    // A prefix also reaches the stems of the words as written that start with it: the word list is Suggest's.
    if (hasPrefix(ast)) await this.ready(tenantId);
    const now = this.#clock();
    const resolved = this.#resolve(tenantId, ast, now, new Map());
    const values = this.#valuePlaces(ast, now);
    // Only punctuation (`!!!`, `...`): nothing could match; say so rather than answer "0 hits".
    if (compileQuery(resolved, this.#language) === undefined)
      throw new QuerySyntaxError('nothing to search for: the query has no words', 0);
    const sort = options.sort ?? 'score';
    const page = options.cursor ? unwrapCursor(options.cursor, query, sort, SORT_ORDERS) : undefined;
    const { cursor: _, ...rest } = options;
    const pageOptions: EngineSearchOptions = page ? { ...rest, cursor: page.page } : rest;
    // A page of a typo-corrected result runs the correction at once: the query as typed finds nothing.
    let result = page?.retried ? undefined : await this.#run(tenantId, resolved, pageOptions, values);
    let retried = false;
    if (options.autoTypos !== false && (result === undefined || (result.total === 0 && page === undefined))) {
      const rewrites = new Map<QueryNode, string[]>();
      const typo = retypo(ast, this.#language);
      if (typo !== ast) {
        const resolved = this.#resolve(tenantId, typo, now, rewrites);
        const retry = await this.#run(tenantId, resolved, pageOptions, values);
        if (retry.total > 0) {
          // The correction is read from the best hits' highlights (the words as written): without snippets
          // asked for, or on a later page, from a first page of its own.
          const shown =
            options.snippets === false || page !== undefined
              ? (await this.#run(tenantId, resolved, { limit: 3, snippets: true, maxSnippets: 1 })).hits
              : retry.hits;
          retry.didYouMean = didYouMean(query, rewrites, shown, this.#language);
        }
        if (retry.total > 0 || result === undefined) {
          result = retry;
          retried = true;
        }
      }
    }
    result ??= await this.#run(tenantId, resolved, pageOptions, values);
    if (result.nextCursor !== undefined) result.nextCursor = wrapCursor(query, sort, retried, result.nextCursor);
    result.tookMicros = Number((process.hrtime.bigint() - t0) / 1000n);
    return result;
  }

  /**
   * Where the values the query's positive value clauses accept are written on a page, for the hits'
   * snippets; undefined when it has none that a written value answers (or no recogniser was given).
   */
  #valuePlaces(ast: QueryNode, now: number): ValuePlaces | undefined {
    const find = this.#findValues;
    if (find === undefined) return undefined;
    const tests: { kinds: readonly WrittenKind[]; accepts: (normalized: string) => boolean }[] = [];
    const walk = (node: QueryNode): void => {
      if (node.kind === 'and' || node.kind === 'or') node.children.forEach(walk);
      else if (node.kind === 'field' && !('child' in node)) {
        const test = writtenValues(valueClause(node.field, node.value, node.valuePosition, now));
        if (test !== undefined) tests.push(test);
      }
      // An excluded value (`-amount:>100`) is no reason a hit matched.
    };
    walk(ast);
    if (tests.length === 0) return undefined;
    const kinds = new Set(tests.flatMap((t) => t.kinds));
    return (page) =>
      find(page, kinds).filter((v) => tests.some((t) => t.kinds.includes(v.kind as WrittenKind) && t.accepts(v.normalized)));
  }

  /** Fuzzy words → their dictionary matches; value fields → per-segment filters. */
  #resolve(tenantId: string, node: QueryNode, now: number, rewrites: Map<QueryNode, string[]>): QueryNode {
    switch (node.kind) {
      case 'fuzzy': {
        const words = analyseQueryText(node.text, this.#language);
        // A token that splits into several words (`foo:bar~`, `e-mail~`): each of them typo tolerant, all required.
        if (words.length > 1)
          return {
            kind: 'and',
            children: words.map((alternatives) => this.#fuzzyTerms(tenantId, alternatives, alternatives[0]!, node)),
            position: node.position,
          };
        const expanded = this.#fuzzyTerms(tenantId, words[0] ?? [], normaliseWord(node.text), node);
        rewrites.set(
          node,
          expanded.terms.map((t) => t.term),
        );
        return expanded;
      }
      case 'prefix':
        return this.#withStems(tenantId, node);
      case 'field': {
        if ('child' in node) {
          const child =
            node.child.kind === 'fuzzy' || node.child.kind === 'prefix'
              ? this.#resolve(tenantId, node.child, now, rewrites)
              : node.child;
          return { ...node, child: child as typeof node.child };
        }
        // Dates and amounts are ranges over per-segment number columns; the rest test interned names.
        const clause = valueClause(node.field, node.value, node.valuePosition, now);
        const filter =
          clause.kind === 'range'
            ? this.values.rangeFilter(tenantId, clause.column, clause.from, clause.to)
            : this.values.namesFilter(tenantId, clause.column, clause.accepts);
        return { kind: 'filter', filter, position: node.position };
      }
      case 'and':
      case 'or':
        return { ...node, children: node.children.map((c) => this.#resolve(tenantId, c, now, rewrites)) };
      case 'not':
        return { ...node, child: this.#resolve(tenantId, node.child, now, rewrites) };
      default:
        return node;
    }
  }

  /** The dictionary's terms within `node.maxEdits` of the word's stems (or of `folded`), best first. */
  #fuzzyTerms(tenantId: string, alternatives: readonly string[], folded: string, node: FuzzyNode): ExpandedNode {
    const terms = new Map<string, number>();
    const add = (term: string, distance: number) => {
      const boost = FUZZY_BOOST[distance] ?? 0.05;
      if ((terms.get(term) ?? 0) < boost) terms.set(term, boost);
    };
    for (const word of new Set([...alternatives, folded]))
      for (const l of this.dictionary.lists(tenantId))
        for (const m of fuzzySearch(l, word, node.maxEdits, { limit: MAX_FUZZY_EXPANSIONS * FUZZY_CANDIDATES }))
          add(m.term, m.distance);
    // The words as the documents wrote them (Suggest's list, folded) too, each taken as its terms: a typo
    // inside an inflection is near the word, not its stem ("Kündigng" is one edit from "Kündigung", two
    // from its stem "kundig", and found nothing).
    if (this.words.loaded(tenantId))
      for (const l of this.words.lists(tenantId))
        for (const m of fuzzySearch(l, folded, node.maxEdits, { limit: FUZZY_CANDIDATES })) {
          if (m.distance === 0) continue;
          for (const group of analyseQueryText(this.words.written(tenantId, m.term) ?? m.term, this.#language))
            for (const t of group) add(t, m.distance);
        }
    // The dictionary keeps a deleted document's terms until its next load: only terms a live document holds
    // take one of the capped places (deleted documents' words next to the typed one crowded the live ones out).
    const list: [string, number][] = [];
    const live = this.index.liveTerms(tenantId);
    try {
      for (const entry of [...terms].sort((a, b) => b[1] - a[1])) {
        if (list.length >= MAX_FUZZY_EXPANSIONS) break;
        if (live.holds(entry[0])) list.push(entry);
      }
    } finally {
      live.done();
    }
    return { kind: 'expanded', terms: list.map(([term, boost]) => ({ term, boost })), position: node.position };
  }

  /**
   * The prefix with the stems of the tenant's words (as written, folded) that start with it and whose stems
   * do not: `katze*` reaches "Katzen" (stem "katz"), `mül*` "Müller" (German stem "mull"). Only the first
   * PREFIX_WORD_SCAN words of the range are read (PREFIX_WORDS_ANALYSED analysed); the index's own expansion
   * stays capped as before. A stem falls short of the prefix only where the stemmer cut into it: for words at
   * most SUFFIX_CUT letters longer than the prefix, or anywhere under a folded umlaut (the German stemmer
   * keeps "ü" as "u", folding makes it "ue"), so only those words are analysed. The stems found are kept
   * until a word is added to the tenant's words (WordList.derived): as-you-type queries repeat prefixes.
   */
  #withStems(tenantId: string, node: PrefixNode): PrefixNode {
    const prefix = prefixOf(node.text);
    if (prefix.length === 0 || !this.words.loaded(tenantId)) return node;
    const stems = this.words.derived(tenantId, `stems\0${prefix}`, () => this.#prefixStems(tenantId, prefix));
    return stems.length === 0 ? node : { ...node, stems };
  }

  #prefixStems(tenantId: string, prefix: string): string[] {
    const maxLength = UMLAUT_FOLD_RE.test(prefix) ? Number.POSITIVE_INFINITY : prefix.length + SUFFIX_CUT;
    const stems = new Set<string>();
    let scanned = 0;
    let analysed = 0;
    for (const list of this.words.lists(tenantId)) {
      for (let i = lowerBound(list, prefix); i < list.length && scanned < PREFIX_WORD_SCAN; i++, scanned++) {
        const folded = list[i]!;
        if (!folded.startsWith(prefix)) break;
        if (folded.length > maxLength) continue;
        if (++analysed > PREFIX_WORDS_ANALYSED) break;
        // The word's own stems (as a query analyses it: no compound parts); a code of several words adds none.
        const words = analyseQueryText(this.words.written(tenantId, folded) ?? folded, this.#language);
        if (words.length === 1) for (const t of words[0]!) if (!t.startsWith(prefix)) stems.add(t);
      }
    }
    return [...stems].sort((a, b) => a.length - b.length || (a < b ? -1 : 1)).slice(0, MAX_PREFIX_STEMS);
  }

  /** The dictionary's compound part words as a search option, once loaded (SearchOptions.partWords). */
  #partWords(tenantId: string): { partWords?: PartWords } {
    const partWords = this.dictionary.partWords(tenantId);
    return partWords === undefined ? {} : { partWords };
  }

  async #run(tenantId: string, ast: QueryNode, options: EngineSearchOptions, values?: ValuePlaces): Promise<EngineSearchResult> {
    const sort = options.sort ?? 'score';
    const facets = (options.facets ?? []).filter((f, i, a) => FACET_FIELDS.includes(f) && a.indexOf(f) === i);
    const limit = Math.max(1, Math.min(options.limit ?? 10, 1000));
    const keyset = sort !== 'score';
    const collector = facets.length > 0 || keyset ? this.values.collector(tenantId, facets, keyset) : undefined;
    if (!keyset) {
      const r = await this.index.search(
        tenantId,
        { ast },
        {
          limit,
          ...(options.cursor ? { cursor: options.cursor } : {}),
          snippets: options.snippets !== false,
          ...(options.maxSnippets !== undefined ? { maxSnippets: options.maxSnippets } : {}),
          ...(collector ? { visitor: collector.visitor } : {}),
          ...(values ? { values } : {}),
          ...this.#partWords(tenantId),
        },
      );
      return { ...r, facets: collector?.facets() ?? [] };
    }
    const after = decodeKeyset(options.cursor, sort);
    const r = await this.index.search(
      tenantId,
      { ast },
      { limit: 1, snippets: false, visitor: collector!.visitor, ...this.#partWords(tenantId) },
    );
    const cols = this.values.columns(tenantId);
    const key = (o: number): number | string => {
      if (sort !== 'title') return cols.dateMs[o]!;
      const title = cols.titles.get(o);
      return title ? normaliseWord(title) : '';
    };
    const order = (ka: number | string, kb: number | string): number => {
      const c = ka === kb ? 0 : ka < kb ? -1 : 1;
      return sort === 'date_desc' ? -c : c;
    };
    const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    const cmp = (ka: number | string, ida: string, kb: number | string, idb: string): number => order(ka, kb) || byId(ida, idb);
    // One pass keeping the best `limit + 1` after the cursor (small sorted array: limit ≤ 1000). Indexed, and
    // a date worse than the last kept one is dropped as a plain number before any key is made: iterating
    // the ordinals and boxing each date cost ~8 MB of garbage per query over 100k matches at 1M.
    const best: { k: number | string; id: string }[] = [];
    const ordinals = collector!.ordinals();
    const dates = cols.dateMs;
    for (let j = 0; j < ordinals.length; j++) {
      const o = ordinals[j]!;
      if (sort !== 'title' && best.length > limit) {
        const worst = best[limit]!.k as number;
        if (sort === 'date_desc' ? dates[o]! < worst : dates[o]! > worst) continue;
      }
      const k = key(o);
      // The id (decoded from the ids column) only breaks ties of the key, and names what is kept.
      let id: string | undefined;
      if (after && (order(k, after.k) || byId((id ??= cols.ids.get(o)!), after.id)) <= 0) continue;
      const last = best.length > limit ? best[best.length - 1]! : undefined;
      if (last && (order(k, last.k) || byId((id ??= cols.ids.get(o)!), last.id)) >= 0) continue;
      id ??= cols.ids.get(o)!;
      let i = best.length;
      while (i > 0 && cmp(k, id, best[i - 1]!.k, best[i - 1]!.id) < 0) i--;
      best.splice(i, 0, { k, id });
      if (best.length > limit + 1) best.pop();
    }
    const page = best.slice(0, limit);
    const withSnippets = this.#textStore !== undefined && options.snippets !== false;
    const highlights = withSnippets
      ? await this.index.highlights(
          tenantId,
          page.map((b) => b.id),
          r.highlight ?? NO_HIGHLIGHTS,
        )
      : [];
    const hits: SearchHit[] = [];
    for (const [i, b] of page.entries())
      hits.push(await this.index.hitWithSnippets(tenantId, b.id, 0, highlights[i], options.maxSnippets, values));
    const last = page[page.length - 1];
    return {
      total: r.total,
      totalExact: r.totalExact,
      hits,
      ...(best.length > limit && last ? { nextCursor: encodeKeyset(sort, last.k, last.id) } : {}),
      tookMicros: 0,
      facets: collector!.facets(),
    };
  }
}

function encodeKeyset(sort: SortOrder, k: number | string, id: string): string {
  return KEYSET_PREFIX + Buffer.from(JSON.stringify({ s: sort, k, id })).toString('base64url');
}

/** A cursor of another sort order never gets here: its wrapper's key (cursor.ts) names the order. */
function decodeKeyset(cursor: string | undefined, sort: SortOrder): { k: number | string; id: string } | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    if (cursor.startsWith(KEYSET_PREFIX)) {
      const c = JSON.parse(Buffer.from(cursor.slice(KEYSET_PREFIX.length), 'base64url').toString()) as {
        s?: unknown;
        k?: unknown;
        id?: unknown;
      };
      if (c.s === sort && (typeof c.k === 'number' || typeof c.k === 'string') && typeof c.id === 'string')
        return { k: c.k, id: c.id };
    }
  } catch {
    // fall through
  }
  throw new CursorError('invalid');
}

const LETTERS_RE = /\p{L}/gu;

/** Whether the query has a prefix anywhere (it then needs the tenant's word list). */
function hasPrefix(node: QueryNode): boolean {
  switch (node.kind) {
    case 'prefix':
      return true;
    case 'field':
      return 'child' in node && node.child.kind === 'prefix';
    case 'and':
    case 'or':
      return node.children.some(hasPrefix);
    case 'not':
      return hasPrefix(node.child);
    default:
      return false;
  }
}

/**
 * The query with every positive plain word of 5+ letters made typo tolerant (1 edit, 2 from 9 letters). A
 * token that is several words (`foo:bar`, a code) stays as typed.
 */
function retypo(node: QueryNode, language: AnalyserLanguage): QueryNode {
  switch (node.kind) {
    case 'term': {
      const letters = node.text.match(LETTERS_RE)?.length ?? 0;
      if (letters < 5 || analyseQueryText(node.text, language).length !== 1) return node;
      return { kind: 'fuzzy', text: node.text, maxEdits: letters >= 9 ? 2 : 1, position: node.position };
    }
    case 'field':
      if ('child' in node && node.child.kind === 'term') {
        const child = retypo(node.child, language);
        return child === node.child ? node : { ...node, child: child as typeof node.child };
      }
      return node;
    case 'and':
    case 'or': {
      const children = node.children.map((c) => retypo(c, language));
      return children.some((c, i) => c !== node.children[i]) ? { ...node, children } : node;
    }
    default:
      return node; // phrases, prefixes, exclusions stay as typed
  }
}

/**
 * The query with each corrected word replaced by the word the best hit actually contains (read back from
 * its highlights, so users see "Rechnung", not the stem "rechnung"), else by the closest dictionary term.
 */
function didYouMean(
  query: string,
  rewrites: Map<QueryNode, string[]>,
  hits: readonly SearchHit[],
  language: AnalyserLanguage,
): string {
  const edits: { at: number; len: number; word: string }[] = [];
  // Each highlighted word by the terms it is asked as (`own`) and by all it is indexed as (`parts`: with a
  // compound's parts): a compound that merely contains the corrected word ("Stromrechnung") is named only
  // when no highlighted word is the word itself ("Rechnung").
  const highlighted: { word: string; own: Set<string>; parts: Set<string> }[] = [];
  for (const h of hits.slice(0, 3))
    for (const s of h.snippets)
      for (const hl of s.highlights) {
        const word = s.text.slice(hl.start, hl.end);
        const own = new Set<string>();
        const parts = new Set<string>();
        analyse(word, language, (t) => own.add(t), 'query');
        analyse(word, language, (t) => parts.add(wordOfTerm(t)), 'index');
        highlighted.push({ word, own, parts });
      }
  for (const [node, terms] of rewrites) {
    if (node.kind !== 'fuzzy') continue;
    const exact = new Set(analyseQueryText(node.text, language)[0] ?? []);
    const corrected = terms.filter((t) => !exact.has(t));
    if (corrected.length === 0) continue;
    const seen =
      highlighted.find((h) => corrected.some((t) => h.own.has(t))) ??
      highlighted.find((h) => corrected.some((t) => h.parts.has(t)));
    const at = query.indexOf(node.text, node.position);
    edits.push({ at: at < 0 ? node.position : at, len: node.text.length, word: seen ? seen.word.toLowerCase() : corrected[0]! });
  }
  let out = query;
  for (const e of edits.sort((a, b) => b.at - a.at)) out = out.slice(0, e.at) + e.word + out.slice(e.at + e.len);
  return out;
}

export type { DocValues, FacetField, FacetResult, Suggestion };
export { QuerySyntaxError };
