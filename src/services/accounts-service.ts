import { AccountsServiceService } from '../gen/archivar/v1/accounts.js';
import type { AppContext } from '../server/app-context.js';
import type { AsyncService } from '../server/handler.js';

/** The only RPCs that work without a session (health is a separate service and needs none either). */
export const PUBLIC_METHODS: ReadonlySet<string> = new Set([
  AccountsServiceService.register.path,
  AccountsServiceService.login.path,
]);

/** Handlers of archivar.v1.AccountsService; RPCs not listed here answer UNIMPLEMENTED. */
export function createAccountsService(_app: AppContext): AsyncService<typeof AccountsServiceService> {
  return {};
}
