import type { AdminServiceService } from '../gen/archivar/v1/admin.js';
import type { AppContext } from '../server/app-context.js';
import type { AsyncService } from '../server/handler.js';

/** Handlers of archivar.v1.AdminService; RPCs not listed here answer UNIMPLEMENTED. */
export function createAdminService(_app: AppContext): AsyncService<typeof AdminServiceService> {
  return {};
}
