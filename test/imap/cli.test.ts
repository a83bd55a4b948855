import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unary } from '../../src/sdk/index.js';
import { type AccountsServer, type Session, startAccountsServer } from '../accounts/helpers.js';
import { type Dovecot, destroyDovecot, dovecotAvailable, startDovecot } from '../helpers/dovecot.js';
import { runCli } from '../helpers/test-server.js';
import { mail } from './helpers.js';

const available = dovecotAvailable();
const PASS = 'imap-cli-secret';

describe.skipIf(!available)('archivar imap (CLI against a real server and dovecot)', () => {
  let d: Dovecot;
  let t: AccountsServer;
  let env: NodeJS.ProcessEnv;
  let caFile: string;
  let session: Session;

  beforeAll(async () => {
    d = await startDovecot([{ user: 'cli', password: PASS }]);
    t = await startAccountsServer({ 'imap-rescan-ms': '0' });
    session = await t.signUp('cli@example.test');
    env = { ARCHIVAR_SERVER: t.address, ARCHIVAR_TOKEN: session.token, XDG_CONFIG_HOME: d.dir };
    caFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'imap-ca-')), 'ca.pem');
    fs.writeFileSync(caFile, d.caPem);
  });
  afterAll(async () => {
    await t?.stop();
    await destroyDovecot(d);
    if (caFile) fs.rmSync(path.dirname(caFile), { recursive: true, force: true });
  });

  it('set (password from stdin), test, import-now --wait and status --json', async () => {
    const set = await runCli(
      ['imap', 'set', '--host', '127.0.0.1', '--port', String(d.tlsPort), '--tls', 'implicit', '--ca', caFile, '--user', 'cli'],
      env,
      `${PASS}\n`,
    );
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/^stored cli@127\.0\.0\.1:\d+$/m);
    // Without --auto only mail moved into the import folder is imported: the user is told where to put it.
    expect(set.stdout).toMatch(
      /^imports mail you move into the import folder \(Archivar\/Import .*\) every 15 min, or at once with archivar imap import-now$/m,
    );
    expect(set.stdout).toMatch(/^automatic import of new mail: off \(--auto\)$/m);

    const test = await runCli(['imap', 'test'], env);
    expect(test.code).toBe(0);
    expect(test.stdout).toMatch(/^ok: (1 folder|([02-9]|\d\d+) folders)\n/);

    await d.append({ user: 'cli', password: PASS }, 'Archivar.Import', mail({ subject: 'Per CLI', body: 'Hallo' }));
    const run = await runCli(['--json', 'imap', 'import-now', '--wait'], env);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ imported: 1, failed: 0, skipped: 0, lastError: '' });

    const status = await runCli(['--json', 'imap', 'status'], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      running: false,
      imported: 1,
      failed: 0,
      skipped: 0,
      duplicates: 0,
      lastRunDuplicates: 0,
      lastError: '',
    });

    // A copy of the imported mail put back into the import folder is recognised by its Message-ID.
    const c = await d.client({ user: 'cli', password: PASS });
    await c.mailboxOpen('Archivar.Imported');
    await c.messageCopy('1:*', 'Archivar.Import');
    await c.logout();
    const again = await runCli(['imap', 'import-now', '--wait'], env);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^run run_\S+: 0 imported, 0 failed, 0 skipped, 1 duplicates \(already imported\)\n$/);
    const text = await runCli(['imap', 'status'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      'imported 1, failed 0, skipped 0\nduplicates (already imported, not imported again) 1, in the last run 1\n',
    );
    expect(JSON.parse((await runCli(['--json', 'imap', 'status'], env)).stdout)).toMatchObject({
      imported: 1,
      duplicates: 1,
      lastRunDuplicates: 1,
    });
  }, 120_000);

  it('import-now --wait ends with its run when another request queues a run behind it', async () => {
    await d.append({ user: 'cli', password: PASS }, 'Archivar.Import', mail({ subject: 'Während eines Laufs', body: 'x' }));
    // Hold the CLI's run in its first message until a second request (another client, or IDLE) is queued.
    let entered!: () => void;
    const inRun = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    t.server.imap.hooks.afterMessage = async () => {
      entered();
      await held;
    };
    try {
      const run = runCli(['--json', 'imap', 'import-now', '--wait', '--timeout', '20'], env);
      await inRun;
      await unary(session.c.accounts.triggerImapImport.bind(session.c.accounts), {});
      release();
      const done = await run;
      expect(done.stderr).toBe('');
      expect(done.code).toBe(0);
      expect(JSON.parse(done.stdout)).toMatchObject({ imported: 1, failed: 0, lastError: '' });
    } finally {
      delete t.server.imap.hooks.afterMessage;
      release();
    }
  }, 120_000);

  it('remove deletes the stored account; afterwards status and a second remove say there is none', async () => {
    const removed = await runCli(['imap', 'remove'], env);
    expect(removed.stderr).toBe('');
    expect(removed.code).toBe(0);
    expect(removed.stdout).toBe('IMAP account, password and import records deleted; imported documents are kept\n');
    const status = await runCli(['imap', 'status'], env);
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(/NOT_FOUND: no IMAP settings are stored/);
    const again = await runCli(['imap', 'remove'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/NOT_FOUND: no IMAP settings are stored/);
  }, 60_000);
});
