import type { DocumentsServiceService } from '../gen/archivar/v1/documents.js';
import type { AppContext } from '../server/app-context.js';
import type { AsyncService } from '../server/handler.js';

/** Handlers of archivar.v1.DocumentsService; RPCs not listed here answer UNIMPLEMENTED. */
export function createDocumentsService(_app: AppContext): AsyncService<typeof DocumentsServiceService> {
  return {};
}
