import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, unary } from '../../src/sdk/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli, spawnServer } from '../helpers/test-server.js';

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
    // Serving: a public RPC gets an answer from the handler.
    const answered = await unary(client.accounts.login.bind(client.accounts), { email: 'x@example.org', password: 'y' }).catch(
      (e) => e,
    );
    expect(answered).toBeDefined();
    client.close();
    child.kill('SIGTERM');
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    expect(signal).toBeNull();
    expect(code).toBe(0);
    const fs = await import('node:fs');
    expect(fs.existsSync(`${dir.path}/archivar.mdb`)).toBe(true);
  });

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

  it('health exits 1 with a message when nothing listens', async () => {
    const r = await runCli(['health', '--server', '127.0.0.1:1', '--timeout', '500']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^archivar: health check failed/);
  });
});
