import type { Command } from 'commander';
import { unary } from '../../sdk/index.js';
import { globalOptions } from '../client-options.js';
import { printJson } from '../output.js';
import { printLockedRecords, saveArchive, withConnection } from './account.js';

/**
 * `archivar admin …`: what an operator does on a person's written request (statement sections 5–7), for
 * someone who cannot or will not log in. Needs an operator's session (`archivar account login`).
 */
export function registerAdminCommand(program: Command): void {
  const admin = program.command('admin').description("operator requests: a person's data export or erasure, by e-mail");

  admin
    .command('export')
    .description("write a person's export.json (Art. 15/20 GDPR; without the tenant's documents, which they export themselves)")
    .requiredOption('--email <email>', 'e-mail address of the account')
    .requiredOption('--out <file>', 'where to write the archive ("-" for standard output)')
    .option('--format <format>', 'tar or zip', 'tar')
    .action(async (opts: { email: string; out: string; format: string }, cmd: Command) => {
      await saveArchive(cmd, opts, (c) => c.admin.exportAccount({ email: opts.email, archiveFormat: opts.format }));
    });

  admin
    .command('erase')
    .description(
      "erase a person's account (Art. 17 GDPR) as their own `account delete` would; --tenant erases their tenant (owners)",
    )
    .requiredOption('--email <email>', 'e-mail address of the account')
    .option('--tenant', 'delete the whole tenant with every member and document')
    .action(async (opts: { email: string; tenant?: boolean }, cmd: Command) => {
      const res = await withConnection(cmd, (c) =>
        unary(c.admin.eraseAccount.bind(c.admin), { email: opts.email, deleteTenant: opts.tenant === true }),
      );
      const out = {
        tenantId: res.tenantId,
        userId: res.userId,
        tenantErased: res.tenantErased,
        lockedRecords: res.lockedRecords,
        lockedUntilMs: Number(res.lockedUntilMs),
      };
      if (globalOptions(cmd).json) printJson(out);
      else {
        process.stdout.write(
          `erased ${out.tenantErased ? `tenant ${out.tenantId}` : `user ${out.userId} of tenant ${out.tenantId}`}\n`,
        );
        printLockedRecords(out);
      }
    });
}
