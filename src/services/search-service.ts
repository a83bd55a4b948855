import { requireTenantUser } from '../accounts/authorize.js';
import type { Documents } from '../documents/documents.js';
import { clipText } from '../documents/metadata-limits.js';
import { documentDateMs, inheritedDateMs, sealedWords, type WordsPage } from '../documents/search-adapters.js';
import type { SearchServiceService } from '../gen/archivar/v1/search.js';
import { SortOrder } from '../gen/archivar/v1/search.js';
import { FACET_FIELDS, type FacetField } from '../index/doc-values.js';
import type { EngineSearchResult, SortOrder as EngineSort, SearchEngine } from '../index/engine.js';
import { snippetBoxes } from '../index/hit-boxes.js';
import { CursorError, QuerySyntaxError } from '../index/index.js';
import type { AppContext } from '../server/app-context.js';
import { invalidArgument } from '../server/errors.js';
import type { AsyncService } from '../server/handler.js';

const MAX_QUERY_CHARS = 1024;
const MAX_PREFIX_CHARS = 256;
const CURSOR_MESSAGES: Record<CursorError['reason'], string> = {
  invalid: 'the cursor is not one this server handed out',
  'other-order': 'the cursor belongs to another sort order: page on in the order it came from',
  'other-query': 'the cursor belongs to another query: send it with the query (and sort order) it came from',
};

const SORTS: Partial<Record<SortOrder, EngineSort>> = {
  [SortOrder.SORT_ORDER_UNSPECIFIED]: 'score',
  [SortOrder.SORT_ORDER_SCORE]: 'score',
  [SortOrder.SORT_ORDER_DATE_DESC]: 'date_desc',
  [SortOrder.SORT_ORDER_DATE_ASC]: 'date_asc',
  [SortOrder.SORT_ORDER_TITLE]: 'title',
};

/** Handlers of archivar.v1.SearchService: ranked search and suggestions over the caller's tenant only. */
export function createSearchService(
  app: AppContext,
  engine: SearchEngine,
  documents: Documents,
): AsyncService<typeof SearchServiceService> {
  return {
    async search(req, ctx) {
      const p = requireTenantUser(ctx);
      const query = req.query.trim();
      if (query.length === 0 || query.length > MAX_QUERY_CHARS)
        throw invalidArgument(`query must be 1..${MAX_QUERY_CHARS} characters`);
      const limit = req.limit === 0 ? 10 : req.limit;
      if (limit > 100) throw invalidArgument('limit must be at most 100');
      if (req.snippets > 5) throw invalidArgument('snippets must be at most 5');
      const perHit = req.noSnippets ? 0 : req.snippets === 0 ? 2 : req.snippets;
      const sort = SORTS[req.sort];
      if (sort === undefined) throw invalidArgument('unknown sort order');
      for (const f of req.facets)
        if (!FACET_FIELDS.includes(f as FacetField))
          throw invalidArgument(`unknown facet ${JSON.stringify(f.slice(0, 20))}: use ${FACET_FIELDS.join(', ')}`);
      const startMs = documents.deps.clock();
      let result: EngineSearchResult;
      try {
        result = await engine.search(p.tenantId, query, {
          limit,
          sort,
          facets: req.facets as FacetField[],
          ...(req.cursor ? { cursor: req.cursor } : {}),
          snippets: perHit > 0,
          maxSnippets: perHit,
        });
      } catch (err) {
        if (err instanceof QuerySyntaxError) {
          // The position counts in the query as sent, whose leading blanks were trimmed before parsing.
          const lead = req.query.length - req.query.trimStart().length;
          throw invalidArgument(`query syntax: ${err.reason} (at position ${err.position + lead})`);
        }
        if (err instanceof CursorError) throw invalidArgument(CURSOR_MESSAGES[err.reason]);
        throw err;
      }
      await app.accounts.usage.record({
        tenantId: p.tenantId,
        userId: p.userId,
        kind: 'searches',
        quantity: 1,
        startMs,
        endMs: documents.deps.clock(),
      });
      const hits = [];
      for (const h of result.hits) {
        // A document deleted after the index snapshot was read is simply left out.
        const doc = app.store.db('documents').doesExist([p.tenantId, h.docId]) ? documents.get(p.tenantId, h.docId) : undefined;
        if (!doc) continue;
        const meta = doc.metadata as Record<string, unknown>;
        const snippets = h.snippets;
        // Hit boxes only for documents with OCR word boxes, placed in the page text the snippets were cut
        // from (the engine's, not opened again); the words opened only for the hits on this page.
        let words: WordsPage[] | undefined;
        const pages = h.pages;
        if (doc.artifacts.includes('words') && snippets.length > 0) {
          words = await sealedWords(documents, p.tenantId, doc.id).catch(() => undefined);
        }
        hits.push({
          documentId: doc.id,
          score: h.score,
          // Cut again: a record stored before the worker cut titles may carry megabytes (metadata-limits.ts).
          title: typeof meta.title === 'string' && meta.title ? clipText(meta.title) : doc.fileName,
          fileName: doc.fileName,
          mediaType: doc.mediaType,
          createdMs: BigInt(doc.createdMs),
          documentDateMs: BigInt(documentDateMs(meta) ?? inheritedDateMs(documents, doc) ?? 0),
          pageCount: typeof meta.pageCount === 'number' ? meta.pageCount : 0,
          parentId: doc.parentId ?? '',
          snippets: snippets.map((s) => {
            const wp = words?.find((w) => w.page === s.page);
            const pageText = pages?.[s.page - 1];
            return {
              text: s.text,
              page: s.page,
              highlights: s.highlights,
              boxes: wp && pageText !== undefined ? snippetBoxes(pageText, s, wp) : [],
              cutBefore: s.cutBefore,
              cutAfter: s.cutAfter,
            };
          }),
        });
      }
      return {
        total: BigInt(result.total),
        totalExact: result.totalExact,
        tookMicros: BigInt(Math.round(result.tookMicros)),
        nextCursor: result.nextCursor ?? '',
        facets: result.facets.map((f) => ({
          field: f.field,
          buckets: f.buckets.map((b) => ({ value: b.value, count: BigInt(b.count) })),
        })),
        didYouMean: result.didYouMean ?? '',
        hits,
      };
    },

    async suggest(req, ctx) {
      const p = requireTenantUser(ctx);
      if (req.prefix.trim().length === 0 || req.prefix.length > MAX_PREFIX_CHARS)
        throw invalidArgument(`prefix must be 1..${MAX_PREFIX_CHARS} characters`);
      const limit = req.limit === 0 ? 8 : req.limit;
      if (limit > 20) throw invalidArgument('limit must be at most 20');
      const r = await engine.suggest(p.tenantId, req.prefix, limit);
      return {
        suggestions: r.suggestions.map((s) => ({ text: clipText(s.text), kind: s.kind, documentId: s.docId ?? '' })),
        tookMicros: BigInt(r.tookMicros),
      };
    },
  };
}
