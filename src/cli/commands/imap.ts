import fs from 'node:fs';
import { type Command, Option } from 'commander';
import { type GetImapStatusResponse, ImapTlsMode } from '../../gen/archivar/v1/accounts.js';
import { type Connection, unary } from '../../sdk/index.js';
import { globalOptions } from '../client-options.js';
import { CliError, EXIT_USAGE, printJson } from '../output.js';
import { readPasswords, withConnection } from './account.js';

const TLS_MODES = {
  implicit: ImapTlsMode.IMAP_TLS_MODE_IMPLICIT,
  starttls: ImapTlsMode.IMAP_TLS_MODE_STARTTLS,
  none: ImapTlsMode.IMAP_TLS_MODE_NONE,
};

interface SetOptions {
  host: string;
  port: string;
  tls: keyof typeof TLS_MODES;
  ca?: string;
  user: string;
  folders?: string;
  auto?: boolean;
  interval?: string;
  filterFrom?: string;
  filterSubject?: string;
  filterHasAttachment?: boolean;
  keepPassword?: boolean;
}

/** `archivar imap …`: the tenant's mailbox to import from. */
export function registerImapCommand(program: Command): void {
  const imap = program.command('imap').description('import e-mail from your IMAP mailbox');

  imap
    .command('set')
    .description('store the IMAP account (owners); the password is read from a prompt or stdin')
    .requiredOption('--host <host>', 'IMAP server')
    .requiredOption('--port <port>', 'port (993 for implicit TLS, 143 for STARTTLS)')
    .addOption(new Option('--tls <mode>', 'transport security').choices(Object.keys(TLS_MODES)).makeOptionMandatory())
    .option('--ca <file>', 'PEM of a CA to trust in addition to the system ones (self-hosted servers)')
    .requiredOption('--user <user>', 'login name')
    .option('--folders <list>', 'comma-separated folders for automatic import (default INBOX)')
    .option('--auto', 'import new mail in those folders automatically')
    .option('--interval <minutes>', 'minutes between runs (default 15)')
    .option('--filter-from <text>', 'automatic import only from senders containing this')
    .option('--filter-subject <text>', 'automatic import only when the subject contains this')
    .option('--filter-has-attachment', 'automatic import only of mail with attachments')
    .option('--keep-password', 'keep the stored password instead of reading a new one')
    .action(async (opts: SetOptions, cmd: Command) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CliError('--port must be 1..65535', EXIT_USAGE);
      const interval = opts.interval === undefined ? 0 : Number(opts.interval);
      if (!Number.isInteger(interval) || interval < 0) throw new CliError('--interval must be whole minutes', EXIT_USAGE);
      let caPem = '';
      if (opts.ca) {
        try {
          caPem = fs.readFileSync(opts.ca, 'utf8');
        } catch {
          throw new CliError(`cannot read --ca ${opts.ca}`, EXIT_USAGE);
        }
      }
      const password = opts.keepPassword ? '' : ((await readPasswords(['IMAP password: ']))[0] ?? '');
      const folders = (opts.folders ?? '')
        .split(',')
        .map((f) => f.trim())
        .filter((f) => f.length > 0);
      const res = await withConnection(cmd, (c) =>
        unary(c.accounts.setImapSettings.bind(c.accounts), {
          settings: {
            host: opts.host,
            port,
            tls: TLS_MODES[opts.tls],
            user: opts.user,
            caPem,
            folders,
            autoImport: opts.auto ?? false,
            intervalMinutes: interval,
            filterFrom: opts.filterFrom ?? '',
            filterSubjectContains: opts.filterSubject ?? '',
            filterHasAttachment: opts.filterHasAttachment ?? false,
          },
          password,
        }),
      );
      const s = res.settings;
      if (globalOptions(cmd).json) printJson({ stored: true, ...s, caPem: s?.caPem ? '(set)' : '' });
      // Without --auto nothing is imported until mail is moved into the import folder: say so, or an
      // import-now that finds the inbox full reports 0 imported with no hint why.
      else
        process.stdout.write(
          `stored ${s?.user}@${s?.host}:${s?.port}\n` +
            `imports mail you move into the import folder (Archivar/Import unless the server names another) every ${s?.intervalMinutes} min, or at once with archivar imap import-now\n` +
            `automatic import of new mail: ${s?.autoImport ? `on (${(s?.folders.length ? s.folders : ['INBOX']).join(', ')})` : 'off (--auto)'}\n`,
        );
    });

  imap
    .command('remove')
    .description('stop importing and delete the stored IMAP account, its password and import records (owners)')
    .action(async (_opts: unknown, cmd: Command) => {
      await withConnection(cmd, (c) => unary(c.accounts.deleteImapSettings.bind(c.accounts), {}));
      if (globalOptions(cmd).json) printJson({ removed: true });
      else process.stdout.write('IMAP account, password and import records deleted; imported documents are kept\n');
    });

  imap
    .command('test')
    .description('connect, log in and list the folders; says what failed (dns, refused, timeout, tls, auth)')
    .action(async (_opts: unknown, cmd: Command) => {
      const res = await withConnection(cmd, (c) => unary(c.accounts.testImapSettings.bind(c.accounts), {}));
      if (globalOptions(cmd).json) printJson(res);
      else if (res.ok)
        process.stdout.write(
          `ok: ${res.folders.length} folder${res.folders.length === 1 ? '' : 's'}\n${res.folders.map((f) => `  ${f}\n`).join('')}`,
        );
      if (!res.ok) throw new CliError(`${res.errorKind}: ${res.errorMessage}`);
    });

  imap
    .command('import-now')
    .description('start an import run now')
    .option('--wait', 'wait until the run has finished and print its outcome')
    .option('--timeout <seconds>', 'give up waiting after this long', '600')
    .action(async (opts: { wait?: boolean; timeout: string }, cmd: Command) => {
      const json = globalOptions(cmd).json;
      await withConnection(cmd, async (c) => {
        const before = await status(c);
        const { runId } = await unary(c.accounts.triggerImapImport.bind(c.accounts), {});
        if (!opts.wait) {
          if (json) printJson({ runId });
          else process.stdout.write(`started run ${runId}\n`);
          return;
        }
        const until = Date.now() + Number(opts.timeout) * 1000;
        let s = await status(c);
        // From the trigger on, our run is running or queued, and a queued run starts as the one before it
        // ends: so "not running" means it has finished. Its id may never be seen finished: another request
        // during it (a second client, new mail in IDLE) queues a run whose id the status shows from then on.
        while (s.running) {
          if (Date.now() > until) throw new CliError(`run ${runId} did not finish within ${opts.timeout} s`);
          await new Promise((r) => setTimeout(r, 300));
          s = await status(c);
        }
        const delta = {
          imported: Number(s.imported - before.imported),
          failed: Number(s.failed - before.failed),
          skipped: Number(s.skipped - before.skipped),
          duplicates: Number(s.duplicates - before.duplicates),
        };
        if (json) printJson({ runId, ...delta, lastError: s.lastError });
        else
          process.stdout.write(
            `run ${runId}: ${delta.imported} imported, ${delta.failed} failed, ${delta.skipped} skipped, ` +
              `${delta.duplicates} duplicates (already imported)\n`,
          );
        if (s.lastError && delta.imported === 0 && delta.failed === 0) throw new CliError(s.lastError);
      });
    });

  imap
    .command('status')
    .description('last run, next run, counts (duplicates: copies of imported mail, not imported again) and the last error')
    .action(async (_opts: unknown, cmd: Command) => {
      const s = await withConnection(cmd, status);
      const view = {
        running: s.running,
        lastRunId: s.lastRunId,
        lastRun: time(s.lastRunMs),
        nextRun: time(s.nextRunMs),
        imported: Number(s.imported),
        failed: Number(s.failed),
        skipped: Number(s.skipped),
        duplicates: Number(s.duplicates),
        lastRunDuplicates: Number(s.lastRunDuplicates),
        lastError: s.lastError,
      };
      if (globalOptions(cmd).json) printJson(view);
      else
        process.stdout.write(
          `${s.running ? 'running' : 'idle'}; last run ${view.lastRun || 'never'}; next run ${view.nextRun || '—'}\n` +
            `imported ${view.imported}, failed ${view.failed}, skipped ${view.skipped}\n` +
            `duplicates (already imported, not imported again) ${view.duplicates}, in the last run ${view.lastRunDuplicates}\n` +
            (view.lastError ? `last error: ${view.lastError}\n` : ''),
        );
    });
}

function status(c: Connection): Promise<GetImapStatusResponse> {
  return unary(c.accounts.getImapStatus.bind(c.accounts), {});
}

function time(ms: bigint): string {
  return ms > 0n ? new Date(Number(ms)).toISOString() : '';
}
