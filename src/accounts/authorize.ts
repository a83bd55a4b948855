import { type CallContext, type Principal, requirePrincipal } from '../server/call-context.js';
import { permissionDenied } from '../server/errors.js';

/**
 * The one place that decides who may touch tenant data. Every handler of documents, search, IMAP and the
 * tenant parts of accounts calls `requireTenantUser`: operators (admins) run the server but never read or
 * search a tenant's documents.
 */
export function requireTenantUser(ctx: CallContext): Principal & { role: 'owner' | 'member' } {
  const p = requirePrincipal(ctx);
  if (p.role === 'admin') throw permissionDenied('operator accounts cannot access tenant data');
  return p as Principal & { role: 'owner' | 'member' };
}

/** Owner-only calls (members, tenant deletion, IMAP settings). */
export function requireOwner(ctx: CallContext): Principal & { role: 'owner' } {
  const p = requireTenantUser(ctx);
  if (p.role !== 'owner') throw permissionDenied('only an owner of the tenant may do this');
  return p as Principal & { role: 'owner' };
}

/** Every AdminService RPC. */
export function requireAdmin(ctx: CallContext): Principal & { role: 'admin' } {
  const p = requirePrincipal(ctx);
  if (p.role !== 'admin') throw permissionDenied('this call needs an operator (admin) account');
  return p as Principal & { role: 'admin' };
}
