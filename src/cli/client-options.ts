import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { type Connection, connect } from '../sdk/index.js';
import { CliError, EXIT_USAGE } from './output.js';

/** Options every client command shares (declared once on the root program). */
export interface GlobalOptions {
  server: string;
  tlsCa?: string;
  insecure?: boolean;
  json?: boolean;
}

export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

/** Where `archivar account login` keeps the session token (mode 0600 in a 0700 folder). */
export function tokenFile(): string {
  const base = process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config');
  return path.join(base, 'archivar', 'token');
}

export function readToken(): string | undefined {
  if (process.env.ARCHIVAR_TOKEN) return process.env.ARCHIVAR_TOKEN;
  try {
    return fs.readFileSync(tokenFile(), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export function saveToken(token: string): void {
  const file = tokenFile();
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

export function removeToken(): void {
  fs.rmSync(tokenFile(), { force: true });
}

/**
 * Connects with the global options: TLS with --tls-ca, or with the system CAs for remote servers;
 * plaintext for loopback servers (as `archivar serve` runs by default) or with --insecure.
 */
export function openConnection(cmd: Command): Connection {
  const opts = globalOptions(cmd);
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(opts.server)) {
    throw new CliError(`--server must be HOST:PORT, got "${opts.server}"`, EXIT_USAGE);
  }
  const host = opts.server.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || host.startsWith('127.');
  const token = readToken();
  return connect({
    server: opts.server,
    ...(opts.tlsCa ? { tlsCa: opts.tlsCa } : {}),
    insecure: !opts.tlsCa && (opts.insecure === true || loopback),
    ...(token ? { token } : {}),
  });
}
