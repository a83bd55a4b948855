import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { WatchProcessingResponse } from '../../src/gen/archivar/v1/documents.js';
import { ArchivarClient, connect, unary } from '../../src/sdk/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli, spawnServer, TERMS } from '../helpers/test-server.js';

describe('archivar serve as a process', () => {
  const dirs: Array<{ cleanup: () => void }> = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) d.cleanup();
  });

  it('drains and exits 0 on SIGTERM, and created its LMDB on first start', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const { child, address } = await spawnServer(dir.path, ['--metrics-listen', '127.0.0.1:0']);
    const client = connect({ server: address, insecure: true });
    // Serving: a public RPC gets the handler's answer.
    await expect(
      unary(client.accounts.login.bind(client.accounts), { email: 'x@example.org', password: 'y', terms: undefined }),
    ).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: 'wrong e-mail or password' });
    client.close();
    child.kill('SIGTERM');
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(fs.existsSync(`${dir.path}/archivar.mdb`)).toBe(true);
  });

  it('on SIGTERM turns health NOT_SERVING, ends an open WatchProcessing stream with a status, and exits 0', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const { child, address } = await spawnServer(dir.path, [
      '--scrypt-log-n',
      '10',
      '--pool-threads',
      '1',
      '--shutdown-grace-ms',
      '1500',
    ]);
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    const client = connect({ server: address, insecure: true });
    const credentials = { email: 'drain@example.org', password: 'a good long passphrase' };
    await unary(client.accounts.register.bind(client.accounts), {
      ...credentials,
      firstName: 'Dora',
      lastName: 'Drain',
      terms: TERMS,
    });
    const { token } = await unary(client.accounts.login.bind(client.accounts), { ...credentials, terms: undefined });
    client.setToken(token);

    // grpc.health.v1 Watch: SERVING now, and whatever changes later.
    const Health = grpc.makeGenericClientConstructor(healthService as never, 'Health');
    const health = new Health(address, grpc.credentials.createInsecure());
    const healthWatch = (
      health as unknown as { watch: (req: { service: string }) => grpc.ClientReadableStream<{ status: string }> }
    ).watch({ service: '' });
    const healthStatuses: string[] = [];
    const notServing = new Promise<void>((resolve) =>
      healthWatch.on('data', (m: { status: string }) => {
        healthStatuses.push(m.status);
        if (m.status === 'NOT_SERVING') resolve();
      }),
    );
    const healthEnded = new Promise<grpc.StatusObject>((resolve) => healthWatch.on('status', resolve));
    healthWatch.on('error', () => {});
    await once(healthWatch, 'data');

    // Every processing event of the tenant, until the client cancels: open until the server ends it.
    const watch = client.documents.watchProcessing({ documentId: '' });
    const events: WatchProcessingResponse[] = [];
    watch.on('data', (e: WatchProcessingResponse) => events.push(e));
    watch.on('error', () => {});
    const watchEnded = new Promise<grpc.StatusObject>((resolve) => watch.on('status', resolve));
    // The stream is live once it carries an event: upload a document and wait for its first one.
    const firstEvent = once(watch, 'data');
    const uploaded = await new ArchivarClient(client).upload(Buffer.from('Kündigung zum 31.12.\n'), { fileName: 'brief.txt' });
    await firstEvent;
    expect(events[0]?.documentId).toBe(uploaded.documentId);

    child.kill('SIGTERM');
    await notServing;
    expect(healthStatuses).toEqual(['SERVING', 'NOT_SERVING']);
    // The streams do not hang: after the grace period the server ends them with a status.
    const [ended] = await Promise.all([watchEnded, healthEnded]);
    // The aborted stream says why, so a client knows to retry elsewhere.
    expect({ code: grpc.status[ended.code], details: ended.details }).toEqual({
      code: 'UNAVAILABLE',
      details: 'the server is shutting down; retry',
    });
    const [code, signal] = await exited;
    expect(signal).toBeNull();
    expect(code).toBe(0);
    health.close();
    client.close();
  }, 120_000);

  it.each([
    [['--listen', 'nonsense'], /--listen must be HOST:PORT/],
    [['--listen', '0.0.0.0:0'], /refusing to serve plaintext gRPC on non-loopback address/],
    [['--pool-threads', '0'], /--pool-threads must be between 1 and 256/],
    [['--tls-cert', 'a.pem'], /--tls-cert and --tls-key must be given together/],
    [['--log-level', 'loud'], /--log-level must be one of/],
  ])('refuses bad configuration %j with a readable message and exit code 2', async (args, message) => {
    const dir = tempDir();
    dirs.push(dir);
    const r = await runCli(['serve', '--data', dir.path, ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^archivar: invalid configuration: /);
  });

  it('refuses an unknown ARCHIVAR_ variable', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const r = await runCli(['serve', '--data', dir.path, '--listen', '127.0.0.1:0'], { ARCHIVAR_POOL_THREDS: '2' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown environment variable ARCHIVAR_POOL_THREDS');
  });
});

describe('archivar CLI conventions', () => {
  it('prints help and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('serve');
    expect(r.stdout).toContain('--server');
    const serve = await runCli(['serve', '--help']);
    expect(serve.code).toBe(0);
    expect(serve.stdout).toContain('--metrics-listen');
  });

  it('exits 2 with a clear message for an unknown flag or command', async () => {
    const flag = await runCli(['serve', '--no-such-flag']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("unknown option '--no-such-flag'");
    const cmd = await runCli(['frobnicate']);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain("unknown command 'frobnicate'");
  });

  it('health exits 2 for a client certificate without its key, a bad timeout or an unreadable CA file', async () => {
    const [certOnly, timeout, missingCa] = await Promise.all([
      runCli(['health', '--tls-client-cert', 'client.pem']),
      runCli(['health', '--timeout', 'soon']),
      runCli(['health', '--tls-ca', '/nonexistent/ca.pem']),
    ]);
    expect(certOnly).toMatchObject({
      code: 2,
      stderr: 'archivar: --tls-client-cert and --tls-client-key must be given together\n',
    });
    expect(timeout).toMatchObject({
      code: 2,
      stderr: 'archivar: --timeout must be a positive whole number of milliseconds, got "soon"\n',
    });
    expect(missingCa.code).toBe(2);
    expect(missingCa.stderr).toMatch(/^archivar: --tls-ca: cannot read \/nonexistent\/ca\.pem: ENOENT/);
  });

  it('health exits 1 with a message when nothing listens', async () => {
    // A port that was free a moment ago: bound, then closed.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const r = await runCli(['health', '--server', `127.0.0.1:${port}`, '--timeout', '500']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^archivar: health check failed/);
  });
});
