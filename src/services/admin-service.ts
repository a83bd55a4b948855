import fs from 'node:fs/promises';
import path from 'node:path';
import { requireAdmin } from '../accounts/index.js';
import type { Documents } from '../documents/documents.js';
import { reprocess } from '../documents/processing.js';
import type { TenantReindexes } from '../documents/search-adapters.js';
import type { AdminServiceService } from '../gen/archivar/v1/admin.js';
import type { SearchEngine } from '../index/engine.js';
import type { AppContext } from '../server/app-context.js';
import { failedPrecondition, invalidArgument, notFound } from '../server/errors.js';
import type { AsyncService } from '../server/handler.js';
import { RotationUnavailableError } from '../store/keyring.js';

/**
 * Handlers of archivar.v1.AdminService. Every RPC starts with `requireAdmin`. Retention, billing, stats,
 * locked records and a person's erasure or export on their written request are here, and Reprocess (re-queues documents through src/documents/processing.ts);
 * Reindex (rebuilds a tenant's index from its sealed text) and RotateMasterKey (re-wraps keys, never blobs).
 */
export function createAdminService(
  app: AppContext,
  documents?: Documents,
  search?: SearchEngine,
  reindexes?: TenantReindexes,
): AsyncService<typeof AdminServiceService> {
  const { accounts } = app;
  return {
    async runRetention(_req, ctx) {
      requireAdmin(ctx);
      return accounts.retention.run();
    },
    async closeBillingPeriod(req, ctx) {
      requireAdmin(ctx);
      const invoices = await accounts.usage.closePeriod(Number(req.startMs), Number(req.endMs), Number(req.sendMs));
      return {
        invoices: invoices.map((i) => ({
          id: i.id,
          tenantId: i.tenantId,
          startMs: BigInt(i.startMs),
          endMs: BigInt(i.endMs),
          sentMs: BigInt(i.sentMs),
          totals: Object.fromEntries(Object.entries(i.totals).map(([k, v]) => [k, BigInt(v)])),
        })),
      };
    },
    async getStats(_req, ctx) {
      requireAdmin(ctx);
      const { tenants, users } = accounts.counts();
      const docs = await accounts.documentStats();
      const dbBytes = await fs.stat(path.join(app.config.dataDir, 'archivar.mdb')).then(
        (s) => s.size,
        () => 0,
      );
      return {
        tenants: BigInt(tenants),
        users: BigInt(users),
        documents: BigInt(docs.documents),
        storedBytes: BigInt(docs.storedBytes),
        jobs: Object.fromEntries(Object.entries(documents?.deps.jobs.countByState() ?? {}).map(([k, v]) => [k, BigInt(v)])),
        indexTerms: BigInt(search?.termCount() ?? 0),
        databaseBytes: BigInt(dbBytes),
        poolThreads: app.pool.threads,
        poolQueueDepth: app.pool.queueDepth,
      };
    },
    async reprocess(req, ctx) {
      requireAdmin(ctx);
      if (!documents) throw invalidArgument('reprocessing is not available on this server');
      const scope = req.scope;
      let enqueued: number;
      if (scope?.$case === 'all' && scope.value) enqueued = await reprocess(documents.deps, 'all');
      else if (scope?.$case === 'tenantId' && scope.value) enqueued = await reprocess(documents.deps, { tenantId: scope.value });
      else if (scope?.$case === 'document' && scope.value.tenantId && scope.value.documentId)
        enqueued = await reprocess(documents.deps, { tenantId: scope.value.tenantId, documentId: scope.value.documentId });
      else throw invalidArgument('give a document (tenant_id and document_id), a tenant_id, or all');
      return { jobsEnqueued: BigInt(enqueued) };
    },
    async reindex(req, ctx) {
      requireAdmin(ctx);
      if (!reindexes) throw invalidArgument('reindexing is not available on this server');
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(req.tenantId)) throw invalidArgument('tenant_id is required');
      // Loads the tenant's record keys (an operator's session belongs to another tenant); no key: erased or unknown.
      if (!(await app.keyring.recordsReady(req.tenantId))) throw notFound(`no tenant ${req.tenantId}`);
      // Not cut short with the call (a deadline, a cancel): the index is dropped first, and a rebuild stopped
      // half-way would leave the tenant's searches missing documents until the next start. A second call
      // joins the running one; a shutdown stops it, and the next start resumes it.
      const rebuild = reindexes.reindex(req.tenantId);
      rebuild.then(
        (n) =>
          ctx.signal.aborted && ctx.log.info({ tenantId: req.tenantId, documents: n }, 'reindex finished after its caller left'),
        (err: unknown) =>
          ctx.signal.aborted && ctx.log.error({ err, tenantId: req.tenantId }, 'reindex failed after its caller left'),
      );
      return { documents: BigInt(await rebuild) };
    },
    async rotateMasterKey(_req, ctx) {
      requireAdmin(ctx);
      try {
        const r = await app.keyring.rotateMasterKey();
        ctx.log.warn({ keyId: r.keyId }, 'master key rotated by an operator');
        return { keyId: r.keyId, tenantsRewrapped: r.tenantsRewrapped };
      } catch (err) {
        if (err instanceof RotationUnavailableError) throw failedPrecondition(err.message);
        throw err;
      }
    },
    async eraseAccount(req, ctx) {
      requireAdmin(ctx);
      const r = await accounts.eraseOnRequest(req.email, req.deleteTenant);
      // The operator's act is on record (ids only), beside the erasure's own line.
      ctx.log.warn({ tenantId: r.tenantId, userId: r.userId, tenantErased: r.tenantErased }, 'account erased by an operator');
      return { ...r, lockedUntilMs: BigInt(r.lockedUntilMs) };
    },
    async *exportAccount(req, ctx) {
      requireAdmin(ctx);
      const r = await accounts.exportOnRequest(req.email, req.archiveFormat, ctx.signal);
      // The operator's act is on record (ids only), as for EraseAccount.
      ctx.log.warn({ tenantId: r.tenantId, userId: r.userId }, 'account data exported by an operator');
      for await (const chunk of r.archive) yield { chunk };
    },
    async listLockedRecords(_req, ctx) {
      requireAdmin(ctx);
      return {
        records: accounts.retention
          .lockedRecords()
          .map((l) => ({ tenantId: l.tenantId, kind: l.kind, id: l.id, lockedUntilMs: BigInt(l.lockedUntilMs) })),
      };
    },
  };
}
