import { requireTenantUser } from '../accounts/authorize.js';
import type { Documents } from '../documents/documents.js';
import type { SearchServiceService } from '../gen/archivar/v1/search.js';
import { QuerySyntaxError, type SearchIndex } from '../index/index.js';
import type { AppContext } from '../server/app-context.js';
import { invalidArgument, unimplemented } from '../server/errors.js';
import type { AsyncService } from '../server/handler.js';

const MAX_QUERY_CHARS = 1024;

/** Handlers of archivar.v1.SearchService: ranked search over the caller's tenant only. */
export function createSearchService(
  app: AppContext,
  index: SearchIndex,
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
      if (req.sort > 1) throw unimplemented('sorting by date or title is not available yet; sort by score');
      if (req.facets.length > 0) throw unimplemented('facets are not available yet');
      const startMs = Date.now();
      let result: Awaited<ReturnType<SearchIndex['search']>>;
      try {
        result = await index.search(p.tenantId, query, { limit, ...(req.cursor ? { cursor: req.cursor } : {}), snippets: true });
      } catch (err) {
        if (err instanceof QuerySyntaxError) throw invalidArgument(`query syntax: ${err.message}`);
        if (err instanceof Error && /cursor/i.test(err.message))
          throw invalidArgument('the cursor is not one this server handed out');
        throw err;
      }
      await app.accounts.usage.record({
        tenantId: p.tenantId,
        userId: p.userId,
        kind: 'searches',
        quantity: 1,
        startMs,
        endMs: Date.now(),
      });
      return {
        total: BigInt(result.total),
        totalExact: result.totalExact,
        tookMicros: BigInt(Math.round(result.tookMicros)),
        nextCursor: result.nextCursor ?? '',
        facets: [],
        didYouMean: '',
        hits: result.hits.flatMap((h) => {
          // A document deleted after the index snapshot was read is simply left out.
          const doc = app.store.db('documents').doesExist([p.tenantId, h.docId]) ? documents.get(p.tenantId, h.docId) : undefined;
          if (!doc) return [];
          const meta = doc.metadata as Record<string, unknown>;
          const snippets = h.snippets.slice(0, req.snippets === 0 ? 2 : req.snippets);
          return [
            {
              documentId: doc.id,
              score: h.score,
              title: typeof meta.title === 'string' && meta.title ? meta.title : doc.fileName,
              fileName: doc.fileName,
              mediaType: doc.mediaType,
              createdMs: BigInt(doc.createdMs),
              documentDateMs: BigInt(typeof meta.createdMs === 'number' ? meta.createdMs : 0),
              pageCount: typeof meta.pageCount === 'number' ? meta.pageCount : 0,
              snippets: snippets.map((s) => ({ text: s.text, page: s.page, highlights: s.highlights, boxes: [] })),
            },
          ];
        }),
      };
    },
  };
}
