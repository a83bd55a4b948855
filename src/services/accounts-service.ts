import { type ImapConfig, type ImapTls, requireOwner, requireTenantUser, type UserView } from '../accounts/index.js';
import type { StoredConsent } from '../accounts/records.js';
import { AccountsServiceService, type ConsentRecord, type ImapSettings, ImapTlsMode } from '../gen/archivar/v1/accounts.js';
import { Role } from '../gen/archivar/v1/common.js';
import type { ImapWatchers } from '../imap/index.js';
import type { AppContext } from '../server/app-context.js';
import { requirePrincipal } from '../server/call-context.js';
import { invalidArgument } from '../server/errors.js';
import type { AsyncService } from '../server/handler.js';

/** The only RPCs that work without a session (health is a separate service and needs none either). */
export const PUBLIC_METHODS: ReadonlySet<string> = new Set([
  AccountsServiceService.register.path,
  AccountsServiceService.login.path,
]);

/** Handlers of archivar.v1.AccountsService; IMAP test/import/status go to the IMAP watchers (src/imap). */
export function createAccountsService(app: AppContext, imap: ImapWatchers): AsyncService<typeof AccountsServiceService> {
  const { accounts } = app;
  return {
    async register(req, ctx) {
      const user = await accounts.register(
        { email: req.email, password: req.password, firstName: req.firstName, lastName: req.lastName },
        req.terms,
        ctx.peer,
      );
      return { user: toUser(user) };
    },
    async login(req, ctx) {
      const { token, expiresMs, user } = await accounts.login(req.email, req.password, ctx.peer, req.terms);
      return { token, expiresMs: BigInt(expiresMs), user: toUser(user) };
    },
    async logout(_req, ctx) {
      await accounts.logout(requirePrincipal(ctx));
      return {};
    },
    async getProfile(_req, ctx) {
      return { user: toUser(await accounts.profile(requirePrincipal(ctx))) };
    },
    async updateProfile(req, ctx) {
      const user = await accounts.updateProfile(requirePrincipal(ctx), {
        firstName: req.firstName,
        lastName: req.lastName,
        email: req.email,
        currentPassword: req.currentPassword,
      });
      return { user: toUser(user) };
    },
    async changePassword(req, ctx) {
      const ended = await accounts.changePassword(requirePrincipal(ctx), req.currentPassword, req.newPassword);
      return { sessionsEnded: ended };
    },
    async addMember(req, ctx) {
      const owner = requireOwner(ctx);
      const role =
        req.role === Role.ROLE_OWNER
          ? 'owner'
          : req.role === Role.ROLE_MEMBER || req.role === Role.ROLE_UNSPECIFIED
            ? 'member'
            : null;
      if (role === null) throw invalidArgument('role must be ROLE_MEMBER or ROLE_OWNER');
      const user = await accounts.addMember(
        owner,
        { email: req.email, password: req.password, firstName: req.firstName, lastName: req.lastName },
        role,
      );
      return { user: toUser(user) };
    },
    async removeMember(req, ctx) {
      await accounts.removeMember(requireOwner(ctx), req.userId);
      return {};
    },
    async listMembers(_req, ctx) {
      return { members: (await accounts.listMembers(requireTenantUser(ctx))).map(toUser) };
    },
    async recordConsent(req, ctx) {
      const p = requireTenantUser(ctx);
      const record = await accounts.consents.give(p.tenantId, p.userId, {
        purpose: req.purpose,
        textVersion: req.textVersion,
        textSha256: req.textSha256,
        channel: req.channel,
      });
      return { record: toConsent(record) };
    },
    async revokeConsent(req, ctx) {
      const p = requireTenantUser(ctx);
      return { record: toConsent(await accounts.consents.revoke(p.tenantId, p.userId, req.purpose, req.channel)) };
    },
    async listConsents(_req, ctx) {
      const p = requireTenantUser(ctx);
      return { records: accounts.consents.list(p.tenantId, p.userId).map(toConsent) };
    },
    async setImapSettings(req, ctx) {
      const p = requireOwner(ctx);
      if (!req.settings) throw invalidArgument('settings are required');
      const saved = await accounts.imap.set(p.tenantId, fromImapSettings(req.settings), req.password);
      return { settings: toImapSettings(saved) };
    },
    async getImapSettings(_req, ctx) {
      const p = requireTenantUser(ctx);
      const { config, passwordStored } = await accounts.imap.getOrThrow(p.tenantId);
      return { settings: toImapSettings(config), passwordStored };
    },
    async deleteImapSettings(_req, ctx) {
      await imap.removeSettings(requireOwner(ctx).tenantId);
      return {};
    },
    async testImapSettings(_req, ctx) {
      const p = requireOwner(ctx);
      return imap.test(p.tenantId);
    },
    async triggerImapImport(_req, ctx) {
      const p = requireTenantUser(ctx);
      return { runId: await imap.trigger(p.tenantId, p.userId) };
    },
    async getImapStatus(_req, ctx) {
      const p = requireTenantUser(ctx);
      const s = await imap.status(p.tenantId);
      return {
        lastRunMs: BigInt(s.lastRunStartMs),
        nextRunMs: BigInt(s.nextRunMs),
        imported: BigInt(s.imported),
        failed: BigInt(s.failed),
        skipped: BigInt(s.skipped),
        lastError: s.lastError,
        running: s.running,
        lastRunId: s.lastRunId,
        duplicates: BigInt(s.duplicates),
        lastRunDuplicates: BigInt(s.lastRunDuplicates),
      };
    },
    async listUsage(req, ctx) {
      const p = requireTenantUser(ctx);
      // Billing is per tenant: owners see the tenant's usage, members their own.
      const page = accounts.usage.list(
        p.tenantId,
        p.role === 'owner' ? null : p.userId,
        { startMs: Number(req.range?.startMs ?? 0n), endMs: Number(req.range?.endMs ?? 0n) },
        req.pageSize,
        req.cursor,
      );
      return {
        records: page.records.map((r) => ({
          id: r.id,
          userId: r.userId,
          kind: r.kind,
          quantity: BigInt(r.quantity),
          startMs: BigInt(r.startMs),
          endMs: BigInt(r.endMs),
          invoiceId: r.invoiceId,
        })),
        nextCursor: page.nextCursor,
      };
    },
    async *exportMyData(req, ctx) {
      const p = requireTenantUser(ctx);
      const chunks = accounts.exportMyData(p, { includeDocuments: req.includeDocuments, format: req.archiveFormat }, ctx.signal);
      for await (const chunk of chunks) yield { chunk };
    },
    async deleteAccount(req, ctx) {
      const result = await accounts.deleteAccount(requireTenantUser(ctx), req.password, req.deleteTenant);
      return { lockedRecords: result.lockedRecords, lockedUntilMs: BigInt(result.lockedUntilMs) };
    },
    async setProcessingRestriction(req, ctx) {
      return { user: toUser(await accounts.setRestriction(requireTenantUser(ctx), req.restricted)) };
    },
  };
}

const ROLES = { owner: Role.ROLE_OWNER, member: Role.ROLE_MEMBER, admin: Role.ROLE_ADMIN } as const;

function toUser(u: UserView) {
  return {
    id: u.id,
    tenantId: u.tenantId,
    email: u.email,
    firstName: u.firstName,
    lastName: u.lastName,
    role: ROLES[u.role],
    createdMs: BigInt(u.createdMs),
    processingRestricted: u.restricted,
  };
}

function toConsent(r: StoredConsent): ConsentRecord {
  return { ...r, atMs: BigInt(r.atMs) };
}

const TLS_FROM_PROTO: Partial<Record<ImapTlsMode, ImapTls>> = {
  [ImapTlsMode.IMAP_TLS_MODE_IMPLICIT]: 'implicit',
  [ImapTlsMode.IMAP_TLS_MODE_STARTTLS]: 'starttls',
  [ImapTlsMode.IMAP_TLS_MODE_NONE]: 'none',
};
const TLS_TO_PROTO: Record<ImapTls, ImapTlsMode> = {
  implicit: ImapTlsMode.IMAP_TLS_MODE_IMPLICIT,
  starttls: ImapTlsMode.IMAP_TLS_MODE_STARTTLS,
  none: ImapTlsMode.IMAP_TLS_MODE_NONE,
};

function fromImapSettings(s: ImapSettings): ImapConfig {
  const tls = TLS_FROM_PROTO[s.tls];
  if (!tls) throw invalidArgument('settings.tls must be IMPLICIT, STARTTLS or NONE');
  return {
    host: s.host,
    port: s.port,
    tls,
    user: s.user,
    caPem: s.caPem,
    folders: s.folders,
    autoImport: s.autoImport,
    intervalMinutes: s.intervalMinutes,
    filterFrom: s.filterFrom,
    filterSubjectContains: s.filterSubjectContains,
    filterHasAttachment: s.filterHasAttachment,
  };
}

function toImapSettings(c: ImapConfig): ImapSettings {
  return { ...c, tls: TLS_TO_PROTO[c.tls] };
}
