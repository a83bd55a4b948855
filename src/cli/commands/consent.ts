import type { Command } from 'commander';
import type { ConsentRecord } from '../../gen/archivar/v1/accounts.js';
import { unary } from '../../sdk/index.js';
import { globalOptions } from '../client-options.js';
import { printJson } from '../output.js';
import { textDigest, withConnection } from './account.js';

function describe(r: ConsentRecord | undefined): Record<string, unknown> {
  return {
    id: r?.id,
    purpose: r?.purpose,
    textVersion: r?.textVersion,
    textSha256: r?.textSha256,
    granted: r?.granted,
    channel: r?.channel,
    atMs: Number(r?.atMs ?? 0n),
  };
}

function line(r: ConsentRecord | undefined): string {
  const d = describe(r);
  return `${new Date(d.atMs as number).toISOString()}  ${d.granted ? 'given  ' : 'revoked'}  ${d.purpose}  v${d.textVersion}  via ${d.channel}\n`;
}

/** `archivar consent give|revoke|list`: the append-only consent log. */
export function registerConsentCommand(program: Command): void {
  const consent = program.command('consent').description('your consent log: give, revoke (for the future), list');

  consent
    .command('give')
    .description('record that you agree to a text (give the text file, or its SHA-256)')
    .requiredOption('--purpose <purpose>', 'e.g. terms, privacy, imap-import')
    .requiredOption('--text-version <version>', 'version of the text you agree to')
    .option('--text-file <file>', 'the text itself (its SHA-256 is recorded)')
    .option('--text-sha256 <hex>', 'SHA-256 of the text, 64 hex characters')
    .option('--channel <channel>', 'where consent was given', 'cli')
    .action(
      async (
        opts: { purpose: string; textVersion: string; textFile?: string; textSha256?: string; channel: string },
        cmd: Command,
      ) => {
        const textSha256 = textDigest(opts.textFile, opts.textSha256, '--text-file', '--text-sha256');
        const res = await withConnection(cmd, (c) =>
          unary(c.accounts.recordConsent.bind(c.accounts), {
            purpose: opts.purpose,
            textVersion: opts.textVersion,
            textSha256,
            channel: opts.channel,
          }),
        );
        if (globalOptions(cmd).json) printJson(describe(res.record));
        else process.stdout.write(line(res.record));
      },
    );

  consent
    .command('revoke')
    .description('revoke your consent for a purpose, effective from now on')
    .requiredOption('--purpose <purpose>', 'the purpose to revoke')
    .option('--channel <channel>', 'where it was revoked', 'cli')
    .action(async (opts: { purpose: string; channel: string }, cmd: Command) => {
      const res = await withConnection(cmd, (c) =>
        unary(c.accounts.revokeConsent.bind(c.accounts), { purpose: opts.purpose, channel: opts.channel }),
      );
      if (globalOptions(cmd).json) printJson(describe(res.record));
      else process.stdout.write(line(res.record));
    });

  consent
    .command('list')
    .description('your consent log, oldest first')
    .action(async (_opts: unknown, cmd: Command) => {
      const res = await withConnection(cmd, (c) => unary(c.accounts.listConsents.bind(c.accounts), {}));
      if (globalOptions(cmd).json) printJson(res.records.map(describe));
      else for (const r of res.records) process.stdout.write(line(r));
    });
}
