import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import type { User } from '../../gen/archivar/v1/accounts.js';
import { roleToJSON } from '../../gen/archivar/v1/common.js';
import { type Connection, unary } from '../../sdk/index.js';
import { globalOptions, openConnection, removeToken, saveToken } from '../client-options.js';
import { CliError, EXIT_USAGE, fromGrpcError, printJson } from '../output.js';

/**
 * Reads passwords: from a prompt with echo off on a terminal, otherwise one per line from standard input.
 * Never from a flag (flags end up in shell history and `ps`).
 */
export async function readPasswords(prompts: string[]): Promise<string[]> {
  if (process.stdin.isTTY) {
    const answers: string[] = [];
    for (const prompt of prompts) answers.push(await promptHidden(prompt));
    return answers;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const lines = Buffer.concat(chunks).toString('utf8').split(/\r?\n/);
  const answers = prompts.map((_, i) => lines[i] ?? '');
  if (answers.some((a) => a === '')) {
    throw new CliError(`expected ${prompts.length} password line(s) on standard input`, EXIT_USAGE);
  }
  return answers;
}

async function promptHidden(prompt: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  process.stderr.write(prompt);
  muted = true;
  const answer = new Promise<string>((resolve) => rl.question('', resolve));
  const value = await answer;
  rl.close();
  process.stderr.write('\n');
  return value;
}

/** On a terminal a new password is typed twice. */
async function readNewPassword(label: string): Promise<string> {
  if (!process.stdin.isTTY) return (await readPasswords([label]))[0] ?? '';
  const [a, b] = await readPasswords([`${label}: `, 'Repeat it: ']);
  if (a !== b) throw new CliError('the two passwords differ');
  return a ?? '';
}

/** Runs `fn` with a connection and turns gRPC errors into CLI errors. */
export async function withConnection<T>(cmd: Command, fn: (c: Connection) => Promise<T>): Promise<T> {
  const c = openConnection(cmd);
  try {
    return await fn(c);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw fromGrpcError(err);
  } finally {
    c.close();
  }
}

function describeUser(u: User | undefined): Record<string, unknown> {
  return {
    id: u?.id,
    tenantId: u?.tenantId,
    email: u?.email,
    firstName: u?.firstName,
    lastName: u?.lastName,
    role: roleToJSON(u?.role ?? 0)
      .replace(/^ROLE_/, '')
      .toLowerCase(),
    createdMs: Number(u?.createdMs ?? 0n),
    processingRestricted: u?.processingRestricted ?? false,
  };
}

function printUser(cmd: Command, u: User | undefined, headline: string): void {
  const d = describeUser(u);
  if (globalOptions(cmd).json) printJson(d);
  else
    process.stdout.write(
      `${headline}: ${d.firstName} ${d.lastName} <${d.email}> (${d.role}, user ${d.id}, tenant ${d.tenantId})\n` +
        (d.processingRestricted
          ? 'processing is restricted: no uploads, OCR or mail import until `archivar account unrestrict`\n'
          : ''),
    );
}

interface RegisterOptions {
  email: string;
  firstName: string;
  lastName: string;
  termsVersion: string;
  termsFile?: string;
  termsSha256?: string;
}

/** The SHA-256 of a text the user agrees to: from exactly one of its file and its given digest. */
export function textDigest(file: string | undefined, sha256: string | undefined, fileFlag: string, shaFlag: string): string {
  if ((file === undefined) === (sha256 === undefined))
    throw new CliError(`give exactly one of ${fileFlag} and ${shaFlag}`, EXIT_USAGE);
  if (sha256 !== undefined) return sha256;
  try {
    return createHash('sha256')
      .update(fs.readFileSync(file as string))
      .digest('hex');
  } catch {
    throw new CliError(`cannot read ${fileFlag} ${file}`, EXIT_USAGE);
  }
}

/** Writes an export archive streamed by the server to `out` (mode 0600; "-" is standard output). */
export async function saveArchive(
  cmd: Command,
  opts: { out: string; format: string },
  open: (c: Connection) => AsyncIterable<unknown>,
): Promise<void> {
  if (opts.format !== 'tar' && opts.format !== 'zip') throw new CliError('--format must be tar or zip', EXIT_USAGE);
  const bytes = await withConnection(cmd, async (c) => {
    const stream = open(c);
    let total = 0;
    const sink = opts.out === '-' ? process.stdout : fs.createWriteStream(opts.out, { mode: 0o600 });
    async function* chunks() {
      for await (const m of stream) {
        const chunk = (m as { chunk: Buffer }).chunk;
        total += chunk.byteLength;
        yield chunk;
      }
    }
    await pipeline(chunks, sink, { end: opts.out !== '-' });
    return total;
  });
  if (opts.out !== '-') {
    if (globalOptions(cmd).json) printJson({ file: opts.out, bytes });
    else process.stdout.write(`wrote ${bytes} bytes to ${opts.out}\n`);
  }
}

/** What an erasure left locked under a legal obligation (account delete, admin erase). */
export function printLockedRecords(out: { lockedRecords: number; lockedUntilMs: number }): void {
  if (out.lockedRecords === 0) return;
  // Each record has its own period (usage 6 months after its invoice, invoices 10 years): the time is the last one's.
  process.stdout.write(
    `${out.lockedRecords} record(s) kept under a legal obligation (invoices, the usage billed on them, the billing contact), each locked until its own period ends, the last on ${new Date(out.lockedUntilMs).toISOString()}\n`,
  );
}

/** `archivar account …`: registration, sessions, profile, password, export and deletion. */
export function registerAccountCommand(program: Command): void {
  const account = program.command('account').description('your account: register, log in, profile, export, delete');

  account
    .command('register')
    .description(
      'create an account (and a tenant you own), agreeing to the end-user licence agreement (recorded in your consent log); the password is read from a prompt or stdin',
    )
    .requiredOption('--email <email>', 'your e-mail address')
    .requiredOption('--first-name <name>', 'first name')
    .requiredOption('--last-name <name>', 'last name')
    .requiredOption('--terms-version <version>', 'version of the end-user licence agreement you agree to')
    .option('--terms-file <file>', 'the agreement itself (its SHA-256 is recorded)')
    .option('--terms-sha256 <hex>', 'SHA-256 of the agreement, 64 hex characters')
    .action(async (opts: RegisterOptions, cmd: Command) => {
      const textSha256 = textDigest(opts.termsFile, opts.termsSha256, '--terms-file', '--terms-sha256');
      const password = await readNewPassword('New password');
      const res = await withConnection(cmd, (c) =>
        unary(c.accounts.register.bind(c.accounts), {
          email: opts.email,
          password,
          firstName: opts.firstName,
          lastName: opts.lastName,
          terms: { textVersion: opts.termsVersion, textSha256, channel: 'cli' },
        }),
      );
      printUser(cmd, res.user, 'registered');
    });

  account
    .command('login')
    .description(
      'log in and keep the session token in ~/.config/archivar/token (mode 0600); at your first login as a member an owner added, agree to the end-user licence agreement with --terms-version and --terms-file or --terms-sha256',
    )
    .requiredOption('--email <email>', 'your e-mail address')
    .option('--terms-version <version>', 'version of the end-user licence agreement you agree to now')
    .option('--terms-file <file>', 'the agreement itself (its SHA-256 is recorded)')
    .option('--terms-sha256 <hex>', 'SHA-256 of the agreement, 64 hex characters')
    .action(
      async (
        opts: Omit<RegisterOptions, 'firstName' | 'lastName' | 'termsVersion'> & { termsVersion?: string },
        cmd: Command,
      ) => {
        let terms: { textVersion: string; textSha256: string; channel: string } | undefined;
        if (opts.termsVersion !== undefined)
          terms = {
            textVersion: opts.termsVersion,
            textSha256: textDigest(opts.termsFile, opts.termsSha256, '--terms-file', '--terms-sha256'),
            channel: 'cli',
          };
        else if (opts.termsFile !== undefined || opts.termsSha256 !== undefined)
          throw new CliError('--terms-file and --terms-sha256 need --terms-version', EXIT_USAGE);
        const [password = ''] = await readPasswords(['Password: ']);
        const res = await withConnection(cmd, (c) =>
          unary(c.accounts.login.bind(c.accounts), { email: opts.email, password, terms }),
        );
        saveToken(res.token);
        if (globalOptions(cmd).json)
          printJson({ token: res.token, expiresMs: Number(res.expiresMs), user: describeUser(res.user) });
        else
          process.stdout.write(
            `logged in as ${res.user?.email}; the session ends ${new Date(Number(res.expiresMs)).toISOString()}\n`,
          );
      },
    );

  account
    .command('logout')
    .description('end the session and forget its token')
    .action(async (_opts: unknown, cmd: Command) => {
      try {
        await withConnection(cmd, (c) => unary(c.accounts.logout.bind(c.accounts), {}));
      } finally {
        removeToken();
      }
      if (globalOptions(cmd).json) printJson({ loggedOut: true });
      else process.stdout.write('logged out\n');
    });

  account
    .command('whoami')
    .description('show your profile')
    .action(async (_opts: unknown, cmd: Command) => {
      const res = await withConnection(cmd, (c) => unary(c.accounts.getProfile.bind(c.accounts), {}));
      printUser(cmd, res.user, 'you are');
    });

  for (const [name, restricted, description] of [
    ['restrict', true, 'restrict the processing of your data (GDPR Art. 18): no uploads, OCR or mail import until lifted'],
    ['unrestrict', false, 'lift the restriction of processing'],
  ] as const)
    account
      .command(name)
      .description(description)
      .action(async (_opts: unknown, cmd: Command) => {
        const res = await withConnection(cmd, (c) => unary(c.accounts.setProcessingRestriction.bind(c.accounts), { restricted }));
        printUser(cmd, res.user, restricted ? 'restricted' : 'lifted');
      });

  account
    .command('update')
    .description('correct your names or e-mail (a new e-mail needs your password from a prompt or stdin)')
    .option('--first-name <name>', 'new first name')
    .option('--last-name <name>', 'new last name')
    .option('--email <email>', 'new e-mail address')
    .action(async (opts: { firstName?: string; lastName?: string; email?: string }, cmd: Command) => {
      if (opts.firstName === undefined && opts.lastName === undefined && opts.email === undefined) {
        throw new CliError('give at least one of --first-name, --last-name, --email', EXIT_USAGE);
      }
      const currentPassword = opts.email === undefined ? '' : ((await readPasswords(['Current password: ']))[0] ?? '');
      const res = await withConnection(cmd, (c) =>
        unary(c.accounts.updateProfile.bind(c.accounts), {
          firstName: opts.firstName ?? '',
          lastName: opts.lastName ?? '',
          email: opts.email ?? '',
          currentPassword,
        }),
      );
      printUser(cmd, res.user, 'updated');
    });

  account
    .command('passwd')
    .description('change your password (ends your other sessions); stdin: current, then new, one per line')
    .action(async (_opts: unknown, cmd: Command) => {
      let current = '';
      let next = '';
      if (process.stdin.isTTY) {
        [current = ''] = await readPasswords(['Current password: ']);
        next = await readNewPassword('New password');
      } else {
        [current = '', next = ''] = await readPasswords(['current password', 'new password']);
      }
      const res = await withConnection(cmd, (c) =>
        unary(c.accounts.changePassword.bind(c.accounts), { currentPassword: current, newPassword: next }),
      );
      if (globalOptions(cmd).json) printJson({ sessionsEnded: res.sessionsEnded });
      else process.stdout.write(`password changed; ${res.sessionsEnded} other session(s) ended\n`);
    });

  account
    .command('export')
    .description('download everything held about you (export.json, and your documents with --documents)')
    .requiredOption('--out <file>', 'where to write the archive ("-" for standard output)')
    .option('--documents', 'include the documents themselves')
    .option('--format <format>', 'tar or zip', 'tar')
    .action(async (opts: { out: string; documents?: boolean; format: string }, cmd: Command) => {
      await saveArchive(cmd, opts, (c) =>
        c.accounts.exportMyData({ includeDocuments: opts.documents === true, archiveFormat: opts.format }),
      );
    });

  account
    .command('delete')
    .description('erase your account (password from a prompt or stdin); --tenant erases the whole tenant (owners)')
    .option('--tenant', 'delete the whole tenant with every member and document')
    .action(async (opts: { tenant?: boolean }, cmd: Command) => {
      const [password = ''] = await readPasswords(['Password (to confirm the erasure): ']);
      const res = await withConnection(cmd, (c) =>
        unary(c.accounts.deleteAccount.bind(c.accounts), { password, deleteTenant: opts.tenant === true }),
      );
      removeToken();
      const out = { deleted: true, lockedRecords: res.lockedRecords, lockedUntilMs: Number(res.lockedUntilMs) };
      if (globalOptions(cmd).json) printJson(out);
      else {
        process.stdout.write('account deleted\n');
        printLockedRecords(out);
      }
    });
}
