import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli, spawnServer } from '../helpers/test-server.js';
import { untar } from './helpers.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('archivar account and consent commands against a spawned server', () => {
  const data = tempDir('archivar-cli-data-');
  const home = tempDir('archivar-cli-home-');
  let server: ChildProcess;
  let env: NodeJS.ProcessEnv;
  const tokenFile = () => path.join(home.path, 'archivar', 'token');
  const cli = (args: string[], input?: string) => runCli(args, env, input);

  beforeAll(async () => {
    const adminPassword = path.join(home.path, 'admin-password');
    fs.writeFileSync(adminPassword, 'operator passphrase 42\n', { mode: 0o600 });
    const spawned = await spawnServer(data.path, [
      '--scrypt-log-n',
      '10',
      '--lmdb-map-size',
      String(2 ** 28),
      '--admin-email',
      'ops@archivar.example',
      '--admin-password-file',
      adminPassword,
    ]);
    server = spawned.child;
    env = { ARCHIVAR_SERVER: spawned.address, XDG_CONFIG_HOME: home.path };
  });
  afterAll(async () => {
    server.kill('SIGTERM');
    await once(server, 'exit');
    data.cleanup();
    home.cleanup();
  });

  it('registers, logs in, shows and corrects the profile, changes the password, exports, logs out and deletes', async () => {
    const register = [
      '--json',
      'account',
      'register',
      '--email',
      'cli@example.org',
      '--first-name',
      'Clara',
      '--last-name',
      'Kommando',
    ];
    // Registering is agreeing to the end-user licence agreement: without one the CLI asks for it.
    const noTerms = await cli(register, 'a good long passphrase\n');
    expect(noTerms.code).toBe(2);
    expect(noTerms.stderr).toMatch(/--terms-version/);
    const eula = path.join(home.path, 'eula.txt');
    fs.writeFileSync(eula, 'Endbenutzerlizenzvereinbarung, Fassung 7');
    const reg = await cli([...register, '--terms-version', '7', '--terms-file', eula], 'a good long passphrase\n');
    expect(reg.stderr).toBe('');
    expect(JSON.parse(reg.stdout)).toMatchObject({ email: 'cli@example.org', role: 'owner', firstName: 'Clara' });

    // Passwords never come from a flag.
    const flag = await cli(['account', 'login', '--email', 'cli@example.org', '--password', 'x']);
    expect(flag.code).toBe(2);

    const wrong = await cli(['account', 'login', '--email', 'cli@example.org'], 'not the passphrase\n');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('UNAUTHENTICATED: wrong e-mail or password');

    const login = await cli(['--json', 'account', 'login', '--email', 'cli@example.org'], 'a good long passphrase\n');
    expect(login.code).toBe(0);
    const { token } = JSON.parse(login.stdout) as { token: string };
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fs.readFileSync(tokenFile(), 'utf8').trim()).toBe(token);
    expect(fs.statSync(tokenFile()).mode & 0o777).toBe(0o600);

    // ARCHIVAR_TOKEN wins over the token file: with a bogus token in the file, only the env token can work.
    fs.writeFileSync(tokenFile(), 'bogus-token-that-no-session-has-0123456789\n');
    const bogus = await cli(['account', 'whoami']);
    expect(bogus.code).toBe(1);
    expect(bogus.stderr).toContain('UNAUTHENTICATED: the session is invalid or has expired; log in again');
    const who = await runCli(['account', 'whoami'], { ...env, ARCHIVAR_TOKEN: token });
    expect(who.code).toBe(0);
    expect(who.stdout).toContain('Clara Kommando <cli@example.org> (owner');
    expect(who.stdout).not.toContain('restricted');
    fs.writeFileSync(tokenFile(), `${token}\n`);

    // Restriction of processing (GDPR Art. 18): set, shown by whoami, lifted.
    const restrict = await cli(['--json', 'account', 'restrict']);
    expect(JSON.parse(restrict.stdout)).toMatchObject({ processingRestricted: true });
    expect((await cli(['account', 'whoami'])).stdout).toContain('processing is restricted');
    const lift = await cli(['account', 'unrestrict']);
    expect(lift.code).toBe(0);
    expect((await cli(['account', 'whoami'])).stdout).not.toContain('restricted');

    const moved = await cli(
      ['--json', 'account', 'update', '--last-name', 'Zeile', '--email', 'cli2@example.org'],
      'a good long passphrase\n',
    );
    expect(JSON.parse(moved.stdout)).toMatchObject({ email: 'cli2@example.org', lastName: 'Zeile' });

    const textFile = path.join(home.path, 'terms.txt');
    fs.writeFileSync(textFile, 'Nutzungsbedingungen, Fassung 2');
    const give = await cli(['consent', 'give', '--purpose', 'terms', '--text-version', '2', '--text-file', textFile]);
    expect(give.code).toBe(0);
    expect(give.stdout).toMatch(/given\s+terms\s+v2\s+via cli/);
    const revoke = await cli(['consent', 'revoke', '--purpose', 'terms']);
    expect(revoke.stdout).toMatch(/revoked\s+terms/);
    const list = await cli(['--json', 'consent', 'list']);
    // The first record is the agreement given at registration, with the digest of the file agreed to.
    expect(JSON.parse(list.stdout)).toMatchObject([
      { purpose: 'terms', textVersion: '7', textSha256: sha256('Endbenutzerlizenzvereinbarung, Fassung 7'), channel: 'cli' },
      { purpose: 'terms', textVersion: '2', granted: true },
      { purpose: 'terms', textVersion: '2', granted: false },
    ]);

    const passwd = await cli(['--json', 'account', 'passwd'], 'a good long passphrase\nan even better passphrase\n');
    expect(passwd.stderr).toBe('');
    expect(JSON.parse(passwd.stdout)).toEqual({ sessionsEnded: 0 });

    const out = path.join(home.path, 'export.tar');
    const exported = await cli(['account', 'export', '--out', out]);
    expect(exported.code).toBe(0);
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    const json = JSON.parse(untar(fs.readFileSync(out)).get('export.json')?.toString() ?? '{}');
    expect(json).toMatchObject({ schema: 'archivar.export/v1', account: { email: 'cli2@example.org', lastName: 'Zeile' } });
    expect(json.consents).toHaveLength(3);

    const logout = await cli(['account', 'logout']);
    expect(logout.code).toBe(0);
    expect(fs.existsSync(tokenFile())).toBe(false);

    // Agreeing to an agreement at login (a member's first login; here a newer text): recorded in the consent log.
    const halfTerms = await cli(['account', 'login', '--email', 'cli2@example.org', '--terms-sha256', 'a'.repeat(64)]);
    expect(halfTerms.code).toBe(2);
    expect(halfTerms.stderr).toMatch(/need --terms-version/);
    const eula8 = path.join(home.path, 'eula8.txt');
    fs.writeFileSync(eula8, 'Endbenutzerlizenzvereinbarung, Fassung 8');
    const relogin = await cli(
      ['account', 'login', '--email', 'cli2@example.org', '--terms-version', '8', '--terms-file', eula8],
      'an even better passphrase\n',
    );
    expect(relogin.stderr).toBe('');
    expect(JSON.parse((await cli(['--json', 'consent', 'list'])).stdout).at(-1)).toMatchObject({
      purpose: 'terms',
      textVersion: '8',
      textSha256: sha256('Endbenutzerlizenzvereinbarung, Fassung 8'),
      granted: true,
      channel: 'cli',
    });
    const del = await cli(['--json', 'account', 'delete'], 'an even better passphrase\n');
    expect(del.stderr).toBe('');
    expect(JSON.parse(del.stdout)).toEqual({ deleted: true, lockedRecords: 0, lockedUntilMs: 0 });
    expect(fs.existsSync(tokenFile())).toBe(false);
  }, 150_000);

  it('an operator exports and erases a person’s account on their written request', async () => {
    const eula = path.join(home.path, 'eula-request.txt');
    fs.writeFileSync(eula, 'Endbenutzerlizenzvereinbarung, Fassung 7');
    const person = ['account', 'register', '--email', 'request@example.org', '--first-name', 'Rita', '--last-name', 'Anfrage'];
    expect((await cli([...person, '--terms-version', '7', '--terms-file', eula], 'a good long passphrase\n')).code).toBe(0);
    expect((await cli(['account', 'login', '--email', 'ops@archivar.example'], 'operator passphrase 42\n')).code).toBe(0);

    const out = path.join(home.path, 'request.tar');
    const exported = await cli(['--json', 'admin', 'export', '--email', 'request@example.org', '--out', out]);
    expect(exported.stderr).toBe('');
    expect(JSON.parse(exported.stdout)).toMatchObject({ file: out });
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    const json = JSON.parse(untar(fs.readFileSync(out)).get('export.json')?.toString() ?? '{}');
    expect(json).toMatchObject({
      requestedBy: 'operator',
      account: { email: 'request@example.org', firstName: 'Rita' },
      consents: [{ purpose: 'terms', textVersion: '7' }],
      documents: null,
    });

    const erased = await cli(['--json', 'admin', 'erase', '--email', 'request@example.org']);
    expect(erased.stderr).toBe('');
    expect(JSON.parse(erased.stdout)).toMatchObject({
      tenantId: json.account.tenantId,
      userId: json.account.id,
      tenantErased: true,
    });
    const gone = await cli(['admin', 'export', '--email', 'request@example.org', '--out', out]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('NOT_FOUND: no account has this e-mail address');
  }, 60_000);
});
