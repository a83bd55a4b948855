import fs from 'node:fs/promises';
import path from 'node:path';
import { requireAdmin } from '../accounts/index.js';
import type { AdminServiceService } from '../gen/archivar/v1/admin.js';
import type { AppContext } from '../server/app-context.js';
import type { AsyncService } from '../server/handler.js';

/**
 * Handlers of archivar.v1.AdminService. Every RPC starts with `requireAdmin`. Retention, billing, stats
 * and locked records are here; Reprocess, Reindex and RotateMasterKey belong to the documents, index and
 * key parts and answer UNIMPLEMENTED until they are added below.
 */
export function createAdminService(app: AppContext): AsyncService<typeof AdminServiceService> {
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
        jobs: {},
        indexTerms: 0n,
        databaseBytes: BigInt(dbBytes),
        poolThreads: app.pool.threads,
        poolQueueDepth: app.pool.queueDepth,
      };
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
