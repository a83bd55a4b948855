/**
 * TLS and mTLS end to end: certificates made with openssl, `archivar serve` started with its TLS flags, and
 * the clients a user or an operator runs (the CLI's health check and its other commands, which share the
 * global TLS options, the Dockerfile's HEALTHCHECK command, the SDK's connect() and grpc-js clients with and
 * without a client certificate).
 */
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountsServiceClient } from '../../src/gen/archivar/v1/accounts.js';
import { channelCredentials, connect, unary } from '../../src/sdk/index.js';
import { makePki, type TestPki } from '../helpers/certs.js';
import { tempDir } from '../helpers/temp-dir.js';
import { REPO_ROOT, runCli, spawnServer, TERMS } from '../helpers/test-server.js';

const HealthClient = grpc.makeGenericClientConstructor(healthService as never, 'Health');

/** grpc.health.v1 Check over the given credentials; resolves to the status or rejects with the gRPC error. */
async function check(address: string, creds: grpc.ChannelCredentials): Promise<string> {
  const client = new HealthClient(address, creds);
  try {
    return await new Promise<string>((resolve, reject) =>
      (client as unknown as Record<string, (...a: unknown[]) => void>).check?.(
        { service: '' },
        new grpc.Metadata(),
        { deadline: new Date(Date.now() + 5000) },
        (err: grpc.ServiceError | null, res: { status: string }) => (err ? reject(err) : resolve(res.status)),
      ),
    );
  } finally {
    client.close();
  }
}

/** The shell command of the Dockerfile's HEALTHCHECK (continuation lines joined, as Docker does). */
function dockerHealthcheck(): string {
  const lines = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.startsWith('HEALTHCHECK '));
  expect(start).toBeGreaterThanOrEqual(0);
  let instruction = '';
  for (let i = start; i < lines.length; i++) {
    const line = lines[i] as string;
    if (!line.endsWith('\\')) {
      instruction += line;
      break;
    }
    instruction += `${line.slice(0, -1)} `;
  }
  const m = /^HEALTHCHECK (?:--\S+ )*CMD (.*)$/.exec(instruction);
  const command = m?.[1] ?? '';
  // Shell form (`CMD ["…"]` would not expand the variables it reads).
  expect(command.startsWith('[')).toBe(false);
  return command;
}

/** Runs the HEALTHCHECK command with `sh -c`, as Docker does, with the CLI the tests run in place of the image's. */
async function runDockerHealthcheck(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const command = dockerHealthcheck();
  const imageCli = 'node dist/cli/main.js';
  expect(command.split(imageCli)).toHaveLength(2);
  const cli =
    process.env.TEST_CLI_FROM_DIST === '1'
      ? `'${process.execPath}' '${path.join(REPO_ROOT, 'dist/cli/main.js')}'`
      : `'${process.execPath}' --import tsx '${path.join(REPO_ROOT, 'src/cli/main.ts')}'`;
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ARCHIVAR_')));
  return new Promise((resolve) => {
    execFile(
      'sh',
      ['-c', command.replace(imageCli, cli)],
      { cwd: REPO_ROOT, env: { ...baseEnv, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

// Each test runs several CLI processes (through tsx unless TEST_CLI_FROM_DIST=1) on a shared two-core machine.
const CLI_TIMEOUT_MS = 150_000;

describe('TLS and mTLS end to end', () => {
  const dir = tempDir('archivar-tls-');
  let pki: TestPki;
  /** A second, unrelated CA with its own server and client certificates. */
  let stranger: TestPki;
  let tls: { child: ChildProcess; address: string };
  let mtls: { child: ChildProcess; address: string };
  const port = (address: string) => address.slice(address.lastIndexOf(':') + 1);

  beforeAll(async () => {
    // The server certificate names 127.0.0.1 (what clients dial here) and archivar.test (to check the override).
    pki = makePki(dir.path, { serverAltNames: ['DNS:archivar.test', 'IP:127.0.0.1'] });
    stranger = makePki(dir.path, { name: 'stranger' });
    const serverArgs = [
      '--tls-cert',
      pki.serverCert,
      '--tls-key',
      pki.serverKey,
      '--pool-threads',
      '1',
      '--shutdown-grace-ms',
      '0',
      // Accounts are registered and logged in over mTLS below; the default scrypt cost only slows that down.
      '--scrypt-log-n',
      '10',
    ];
    fs.mkdirSync(path.join(dir.path, 'tls'));
    fs.mkdirSync(path.join(dir.path, 'mtls'));
    [tls, mtls] = await Promise.all([
      spawnServer(path.join(dir.path, 'tls'), serverArgs),
      spawnServer(path.join(dir.path, 'mtls'), [...serverArgs, '--tls-client-ca', pki.caCert]),
    ]);
  }, CLI_TIMEOUT_MS);

  afterAll(async () => {
    for (const s of [tls, mtls]) {
      if (!s || s.child.exitCode !== null) continue;
      s.child.kill('SIGTERM');
      await once(s.child, 'exit');
    }
    dir.cleanup();
  });

  it(
    'archivar health --tls-ca verifies the server and gets SERVING; plaintext and an unknown CA fail',
    async () => {
      const [ok, plaintext, unknownCa] = await Promise.all([
        runCli(['health', '--server', tls.address, '--tls-ca', pki.caCert]),
        // Loopback without --tls-ca: the CLI speaks plaintext, which a TLS server does not answer.
        runCli(['health', '--server', tls.address, '--timeout', '2000']),
        runCli(['health', '--server', tls.address, '--tls-ca', stranger.caCert, '--timeout', '2000']),
      ]);
      expect(ok).toMatchObject({ code: 0, stdout: 'SERVING\n' });
      expect(plaintext.code).toBe(1);
      expect(plaintext.stderr).toMatch(/^archivar: health check failed/m);
      expect(unknownCa.code).toBe(1);
      expect(unknownCa.stderr).toMatch(/^archivar: health check failed/m);

      // The same with grpc-js directly: TLS with the CA is served, plaintext is not.
      expect(await check(tls.address, grpc.credentials.createSsl(fs.readFileSync(pki.caCert)))).toBe('SERVING');
      await expect(check(tls.address, grpc.credentials.createInsecure())).rejects.toMatchObject({
        code: grpc.status.UNAVAILABLE,
      });
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'archivar health --tls-server-name checks the certificate against that name instead of the host',
    async () => {
      const [named, wrongName] = await Promise.all([
        runCli(['health', '--server', tls.address, '--tls-ca', pki.caCert, '--tls-server-name', 'archivar.test']),
        runCli([
          'health',
          '--server',
          tls.address,
          '--tls-ca',
          pki.caCert,
          '--tls-server-name',
          'other.test',
          '--timeout',
          '2000',
        ]),
      ]);
      expect(named).toMatchObject({ code: 0, stdout: 'SERVING\n' });
      expect(wrongName.code).toBe(1);
      expect(wrongName.stderr).toMatch(/^archivar: health check failed/m);
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'mTLS: a client without a certificate, or with one from another CA, is refused; one signed by the client CA is served',
    async () => {
      const ca = fs.readFileSync(pki.caCert);
      const withCert = (p: TestPki) =>
        grpc.credentials.createSsl(ca, fs.readFileSync(p.clientKey), fs.readFileSync(p.clientCert));
      await expect(check(mtls.address, grpc.credentials.createSsl(ca))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      await expect(check(mtls.address, withCert(stranger))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      expect(await check(mtls.address, withCert(pki))).toBe('SERVING');

      // The API itself (not only health) answers over mTLS: Login reaches its handler.
      const accounts = new AccountsServiceClient(mtls.address, withCert(pki));
      await expect(
        unary(accounts.login.bind(accounts), { email: 'nobody@example.org', password: 'not a password', terms: undefined }),
      ).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: 'wrong e-mail or password' });
      accounts.close();

      const [cli, cliWithoutCert] = await Promise.all([
        runCli([
          'health',
          '--server',
          mtls.address,
          '--tls-ca',
          pki.caCert,
          '--tls-client-cert',
          pki.clientCert,
          '--tls-client-key',
          pki.clientKey,
        ]),
        runCli(['health', '--server', mtls.address, '--tls-ca', pki.caCert, '--timeout', '2000']),
      ]);
      expect(cli).toMatchObject({ code: 0, stdout: 'SERVING\n' });
      expect(cliWithoutCert.code).toBe(1);
      expect(cliWithoutCert.stderr).toMatch(/^archivar: health check failed/m);
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'mTLS: every client command takes the global --tls-client-cert/--tls-client-key/--tls-server-name (flags or ARCHIVAR_* env)',
    async () => {
      const home = path.join(dir.path, 'cli-home');
      fs.mkdirSync(home);
      const env = { XDG_CONFIG_HOME: home };
      const ca = ['--server', mtls.address, '--tls-ca', pki.caCert];
      const clientCert = ['--tls-client-cert', pki.clientCert, '--tls-client-key', pki.clientKey];
      const cli = (args: string[], input?: string) => runCli(args, env, input);

      // Register and log in over mTLS (global options before the command), then use the saved token.
      const reg = await cli(
        [
          ...ca,
          ...clientCert,
          '--json',
          'account',
          'register',
          '--email',
          'mtls@example.org',
          '--first-name',
          'Mia',
          '--last-name',
          'Tls',
          '--terms-version',
          TERMS.textVersion,
          '--terms-sha256',
          TERMS.textSha256,
        ],
        'a good long passphrase\n',
      );
      expect(reg.stderr).toBe('');
      expect(reg.code).toBe(0);
      expect(JSON.parse(reg.stdout)).toMatchObject({ email: 'mtls@example.org' });
      const login = await cli(
        [...ca, ...clientCert, 'account', 'login', '--email', 'mtls@example.org'],
        'a good long passphrase\n',
      );
      expect(login).toMatchObject({ code: 0, stderr: '' });

      const [whoami, afterCommand, fromEnv, named, ls] = await Promise.all([
        cli([...ca, ...clientCert, 'account', 'whoami']),
        // Global options may also follow the (nested) command, as the Dockerfile passes them to `health`.
        cli(['account', 'whoami', ...ca, ...clientCert]),
        runCli(['account', 'whoami'], {
          ...env,
          ARCHIVAR_SERVER: mtls.address,
          ARCHIVAR_TLS_CA: pki.caCert,
          ARCHIVAR_TLS_CLIENT_CERT: pki.clientCert,
          ARCHIVAR_TLS_CLIENT_KEY: pki.clientKey,
          ARCHIVAR_TLS_SERVER_NAME: 'archivar.test',
        }),
        cli([...ca, ...clientCert, '--tls-server-name', 'archivar.test', 'account', 'whoami']),
        cli([...ca, ...clientCert, '--json', 'ls']),
      ]);
      for (const r of [whoami, afterCommand, fromEnv, named]) {
        expect(r).toMatchObject({ code: 0, stderr: '' });
        expect(r.stdout).toContain('Mia Tls <mtls@example.org> (owner');
      }
      expect(ls).toMatchObject({ code: 0, stdout: '', stderr: '' });
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'mTLS: client commands without an accepted client certificate fail with one clear line; bad TLS options are usage errors',
    async () => {
      const ca = ['--server', mtls.address, '--tls-ca', pki.caCert];
      const clientCert = ['--tls-client-cert', pki.clientCert, '--tls-client-key', pki.clientKey];
      const cli = (args: string[]) => runCli(args, { XDG_CONFIG_HOME: path.join(dir.path, 'no-home') });

      // Refused: no client certificate, one from another CA, a certificate name the server does not carry.
      // Each is one line on stderr (no stack) and exit 1.
      const [withoutCert, strangerCert, wrongName] = await Promise.all([
        cli([...ca, 'account', 'whoami']),
        cli([...ca, '--tls-client-cert', stranger.clientCert, '--tls-client-key', stranger.clientKey, 'account', 'whoami']),
        cli([...ca, ...clientCert, '--tls-server-name', 'other.test', 'account', 'whoami']),
      ]);
      for (const r of [withoutCert, strangerCert, wrongName]) {
        expect(r.code).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).not.toMatch(/^\s+at /m);
      }
      expect(withoutCert.stderr).toBe(
        'archivar: UNAVAILABLE: cannot connect: tlsv13 alert certificate required (the server requires a client certificate: --tls-client-cert and --tls-client-key)\n',
      );
      // The server drops the handshake; depending on timing the client sees a reset or an early close.
      expect(strangerCert.stderr).toMatch(
        /^archivar: UNAVAILABLE: cannot connect: (read ECONNRESET|the server closed the connection before answering \([^\n]+\))\n$/,
      );
      expect(wrongName.stderr).toMatch(
        /^archivar: UNAVAILABLE: cannot connect: Hostname\/IP does not match certificate's altnames: Host: other\.test\. [^\n]+ \(--tls-server-name sets the name to expect\)\n$/,
      );

      // Usage errors (exit 2), for any command as for health: a certificate without its key, a PEM file that
      // cannot be read, one that is not a certificate or key.
      const notPem = path.join(dir.path, 'not-a-key.pem');
      fs.writeFileSync(notPem, 'not a key\n');
      const [certOnly, keyOnly, missingKey, badKey, healthMissingCert] = await Promise.all([
        cli([...ca, '--tls-client-cert', pki.clientCert, 'account', 'whoami']),
        cli([...ca, '--tls-client-key', pki.clientKey, 'ls']),
        cli([...ca, '--tls-client-cert', pki.clientCert, '--tls-client-key', '/nonexistent/client.key', 'account', 'whoami']),
        cli([...ca, '--tls-client-cert', pki.clientCert, '--tls-client-key', notPem, 'account', 'whoami']),
        cli(['health', ...ca, '--tls-client-cert', '/nonexistent/client.pem', '--tls-client-key', pki.clientKey]),
      ]);
      for (const r of [certOnly, keyOnly]) {
        expect(r).toMatchObject({ code: 2, stderr: 'archivar: --tls-client-cert and --tls-client-key must be given together\n' });
      }
      expect(missingKey.code).toBe(2);
      expect(missingKey.stderr).toMatch(/^archivar: --tls-client-key: cannot read \/nonexistent\/client\.key: ENOENT[^\n]*\n$/);
      expect(badKey.code).toBe(2);
      expect(badKey.stderr).toMatch(
        /^archivar: cannot use the TLS files \(not PEM, or a key that does not match its certificate\): [^\n]+\n$/,
      );
      expect(healthMissingCert.code).toBe(2);
      expect(healthMissingCert.stderr).toMatch(
        /^archivar: --tls-client-cert: cannot read \/nonexistent\/client\.pem: ENOENT[^\n]*\n$/,
      );
    },
    CLI_TIMEOUT_MS,
  );

  it('mTLS: the SDK connect() presents tlsClientCert/tlsClientKey (files or bytes) and checks tlsServerName', async () => {
    const login = (c: ReturnType<typeof connect>) =>
      unary(c.accounts.login.bind(c.accounts), { email: 'nobody@example.org', password: 'not a password', terms: undefined });
    const reachesHandler = { code: grpc.status.UNAUTHENTICATED, details: 'wrong e-mail or password' };

    const fromFiles = connect({
      server: mtls.address,
      tlsCa: pki.caCert,
      tlsClientCert: pki.clientCert,
      tlsClientKey: pki.clientKey,
    });
    const fromBytes = connect({
      server: mtls.address,
      tlsCa: fs.readFileSync(pki.caCert),
      tlsClientCert: fs.readFileSync(pki.clientCert),
      tlsClientKey: fs.readFileSync(pki.clientKey),
      tlsServerName: 'archivar.test',
    });
    const withoutCert = connect({ server: mtls.address, tlsCa: pki.caCert });
    const wrongName = connect({
      server: mtls.address,
      tlsCa: pki.caCert,
      tlsClientCert: pki.clientCert,
      tlsClientKey: pki.clientKey,
      tlsServerName: 'other.test',
    });
    try {
      await expect(login(fromFiles)).rejects.toMatchObject(reachesHandler);
      await expect(login(fromBytes)).rejects.toMatchObject(reachesHandler);
      await expect(login(withoutCert)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      await expect(login(wrongName)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    } finally {
      for (const c of [fromFiles, fromBytes, withoutCert, wrongName]) c.close();
    }

    expect(() => connect({ server: mtls.address, tlsCa: pki.caCert, tlsClientCert: pki.clientCert })).toThrow(
      'tlsClientCert and tlsClientKey must be given together',
    );
    expect(() => channelCredentials({ insecure: true, tlsClientCert: pki.clientCert, tlsClientKey: pki.clientKey })).toThrow(
      /insecure \(plaintext\) cannot be combined/,
    );
    expect(() => channelCredentials({ insecure: true, tlsServerName: 'archivar.test' })).toThrow(/cannot be combined/);
  });

  it(
    'the Dockerfile HEALTHCHECK passes under TLS and mTLS as configured by ARCHIVAR_* and fails when it cannot verify',
    async () => {
      const server = (address: string) => ({
        ARCHIVAR_LISTEN: `0.0.0.0:${port(address)}`,
        ARCHIVAR_TLS_CERT: pki.serverCert,
        ARCHIVAR_TLS_KEY: pki.serverKey,
      });
      // A chain file that ends with its root: the check's default trust anchor when ARCHIVAR_TLS_CA is not set.
      const chain = path.join(dir.path, 'chain.pem');
      fs.writeFileSync(chain, Buffer.concat([fs.readFileSync(pki.serverCert), fs.readFileSync(pki.caCert)]));
      const mtlsEnv = { ...server(mtls.address), ARCHIVAR_TLS_CA: pki.caCert, ARCHIVAR_TLS_CLIENT_CA: pki.caCert };

      const [withCa, withChain, named, mutual] = await Promise.all([
        runDockerHealthcheck({ ...server(tls.address), ARCHIVAR_TLS_CA: pki.caCert }),
        runDockerHealthcheck({ ...server(tls.address), ARCHIVAR_TLS_CERT: chain }),
        runDockerHealthcheck({
          ...server(tls.address),
          ARCHIVAR_TLS_CA: pki.caCert,
          HEALTHCHECK_TLS_SERVER_NAME: 'archivar.test',
        }),
        runDockerHealthcheck({ ...mtlsEnv, HEALTHCHECK_TLS_CERT: pki.clientCert, HEALTHCHECK_TLS_KEY: pki.clientKey }),
      ]);
      expect(withCa).toMatchObject({ code: 0, stdout: 'SERVING\n' });
      expect(withChain).toMatchObject({ code: 0, stdout: 'SERVING\n' });
      expect(named).toMatchObject({ code: 0, stdout: 'SERVING\n' });
      expect(mutual).toMatchObject({ code: 0, stdout: 'SERVING\n' });

      const [plaintext, wrongName, noClientCert] = await Promise.all([
        // TLS not configured in the environment: the check speaks plaintext to a TLS server.
        runDockerHealthcheck({ ARCHIVAR_LISTEN: `0.0.0.0:${port(tls.address)}` }),
        runDockerHealthcheck({ ...server(tls.address), ARCHIVAR_TLS_CA: pki.caCert, HEALTHCHECK_TLS_SERVER_NAME: 'other.test' }),
        runDockerHealthcheck(mtlsEnv),
      ]);
      expect(plaintext.code).toBe(1);
      expect(plaintext.stderr).toMatch(/health check failed/);
      expect(wrongName.code).toBe(1);
      expect(wrongName.stderr).toMatch(/health check failed/);
      expect(noClientCert.code).not.toBe(0);
      expect(noClientCert.stderr).toContain('HEALTHCHECK_TLS_CERT: is needed for the health check under mTLS');
    },
    CLI_TIMEOUT_MS,
  );
});
