import type { SearchServiceService } from '../gen/archivar/v1/search.js';
import type { AppContext } from '../server/app-context.js';
import type { AsyncService } from '../server/handler.js';

/** Handlers of archivar.v1.SearchService; RPCs not listed here answer UNIMPLEMENTED. */
export function createSearchService(_app: AppContext): AsyncService<typeof SearchServiceService> {
  return {};
}
