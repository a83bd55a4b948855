import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../../src/accounts/index.js';
import type { ListRequest } from '../../src/gen/archivar/v1/documents.js';
import { type Connection, connect } from '../../src/sdk/index.js';
import type { Principal, SessionVerifier } from '../../src/server/call-context.js';
import { loadConfig } from '../../src/server/config.js';
import { createLogger, type Logger } from '../../src/server/logger.js';
import { type RunningServer, startServer } from '../../src/server/server.js';
import { tempDir } from './temp-dir.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Accepts exactly the tokens it was given (the real session check belongs to the accounts service). */
export function testVerifier(tokens: Record<string, Principal>): SessionVerifier {
  return { verify: async (token) => tokens[token] ?? null };
}

/** The end-user licence agreement every test registration agrees to (Register requires one). */
export const EULA_TEXT = 'Endbenutzerlizenzvereinbarung, Fassung 2025-03 (test)';
export const TERMS = {
  textVersion: '2025-03',
  textSha256: createHash('sha256').update(EULA_TEXT).digest('hex'),
  channel: 'test',
};

export const TEST_TOKEN = 'test-token-0123456789abcdef';
export const TEST_PRINCIPAL: Principal = { userId: 'u1', tenantId: 't1', role: 'owner', sessionId: 's1' };

/** Documents.List without filters, first page of the default size: spread and override what a test needs. */
export const LIST_ALL: ListRequest = {
  pageSize: 0,
  cursor: '',
  statuses: [],
  mediaTypes: [],
  tag: '',
  created: undefined,
  parentId: '',
};

export interface TestServer {
  server: RunningServer;
  address: string;
  dataDir: string;
  /** A connection authenticated with TEST_TOKEN. */
  client: Connection;
  stop(): Promise<void>;
}

/**
 * Starts a real server in this process on 127.0.0.1:0 with a temp data dir, cheap scrypt and no scheduled
 * retention. `verifier` accepts extra tokens before the real session check (default: TEST_TOKEN); pass
 * null to use real accounts only. `clock` replaces the time source of accounts.
 */
export async function startTestServer(
  settings: Record<string, string> = {},
  verifier: SessionVerifier | null = testVerifier({ [TEST_TOKEN]: TEST_PRINCIPAL }),
  options: {
    clock?: Clock;
    /** The server's logger (default: silent). */
    log?: Logger;
    /** Serve from this data directory and keep it on stop (restart tests); default: a fresh temp dir, removed on stop. */
    dataDir?: string;
  } = {},
): Promise<TestServer> {
  const dir = options.dataDir === undefined ? tempDir('archivar-server-') : { path: options.dataDir, cleanup: () => {} };
  const config = loadConfig(
    {
      listen: '127.0.0.1:0',
      data: dir.path,
      'pool-threads': '1',
      'shutdown-grace-ms': '2000',
      'scrypt-log-n': '10',
      'retention-interval-ms': '0',
      ...settings,
    },
    {},
  );
  const server = await startServer(config, {
    log: options.log ?? createLogger('silent'),
    ...(verifier ? { verifier } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const address = `127.0.0.1:${server.port}`;
  const client = connect({ server: address, insecure: true, token: TEST_TOKEN });
  return {
    server,
    address,
    dataDir: dir.path,
    client,
    async stop() {
      client.close();
      await server.shutdown();
      dir.cleanup();
    },
  };
}

/** Runs the `archivar` CLI from source (through tsx) as a child process. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  // CI sets TEST_CLI_FROM_DIST=1 after `npm run build`: the tests then run the built `archivar` bin (what
  // users run, and it starts in a fraction of the time tsx needs to compile the sources).
  const entry =
    process.env.TEST_CLI_FROM_DIST === '1'
      ? [path.join(REPO_ROOT, 'dist/cli/main.js')]
      : ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/main.ts')];
  return spawn(process.execPath, [...entry, ...args], {
    cwd: REPO_ROOT,
    env: { ...cleanEnv(), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs the CLI to completion and collects its output. */
export async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin?.end(input ?? '');
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** Starts `archivar serve` as a child process and resolves once it printed its listening line. */
export async function spawnServer(
  dataDir: string,
  extraArgs: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; address: string }> {
  const child = spawnCli(['serve', '--listen', '127.0.0.1:0', '--data', dataDir, '--log-level', 'warn', ...extraArgs], env);
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const address = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { listening?: string };
        if (msg.listening) resolve(msg.listening);
      } catch {
        // not the listening line
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening: ${stderr}`)));
  });
  return { child, address };
}

/** The environment without ARCHIVAR_* variables of the developer's shell. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ARCHIVAR_')));
}
