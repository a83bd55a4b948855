import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { type Connection, type ConnectOptions, connect } from '../sdk/index.js';
import { CliError, EXIT_USAGE } from './output.js';

/** Options every client command shares (declared once on the root program). */
export interface GlobalOptions {
  server: string;
  tlsCa?: string;
  tlsClientCert?: string;
  tlsClientKey?: string;
  tlsServerName?: string;
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

/** A PEM file's bytes, or undefined when the option is absent; an unreadable file is a usage error. */
function readPem(file: string | undefined, flag: string): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new CliError(`${flag}: cannot read ${file}: ${(err as Error).message}`, EXIT_USAGE);
  }
}

/**
 * The SDK connection settings of the global options (without the token), checked and with the PEM files
 * read (usage errors, exit 2). Any TLS option (--tls-ca, --tls-client-cert/--tls-client-key,
 * --tls-server-name) means TLS, verified with --tls-ca or the system CAs; otherwise plaintext for a loopback
 * server (as `archivar serve` runs by default) or with --insecure, and TLS for anything else.
 */
export function connectionSettings(cmd: Command): ConnectOptions {
  const opts = globalOptions(cmd);
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(opts.server)) {
    throw new CliError(`--server must be HOST:PORT, got "${opts.server}"`, EXIT_USAGE);
  }
  // An empty value (e.g. an environment variable set to nothing) counts as absent, as it always has for --tls-ca.
  const [caFile, certFile, keyFile, serverName] = [opts.tlsCa, opts.tlsClientCert, opts.tlsClientKey, opts.tlsServerName].map(
    (v) => v || undefined,
  );
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new CliError('--tls-client-cert and --tls-client-key must be given together', EXIT_USAGE);
  }
  const host = opts.server.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || host.startsWith('127.');
  if (caFile === undefined && certFile === undefined && serverName === undefined) {
    return { server: opts.server, insecure: opts.insecure === true || loopback };
  }
  const ca = readPem(caFile, '--tls-ca');
  const cert = readPem(certFile, '--tls-client-cert');
  const key = readPem(keyFile, '--tls-client-key');
  return {
    server: opts.server,
    insecure: false,
    ...(ca ? { tlsCa: ca } : {}),
    ...(cert && key ? { tlsClientCert: cert, tlsClientKey: key } : {}),
    ...(serverName ? { tlsServerName: serverName } : {}),
  };
}

/**
 * Runs `build` (which makes the channel credentials from `connectionSettings`): a PEM file that was read
 * but is not a usable certificate or key is a usage error too.
 */
export function withTlsSettings<T>(build: () => T): T {
  try {
    return build();
  } catch (err) {
    throw new CliError(
      `cannot use the TLS files (not PEM, or a key that does not match its certificate): ${(err as Error).message}`,
      EXIT_USAGE,
    );
  }
}

/** Connects with the global options (see `connectionSettings`) and the session token. */
export function openConnection(cmd: Command): Connection {
  const settings = connectionSettings(cmd);
  const token = readToken();
  return withTlsSettings(() => connect({ ...settings, ...(token ? { token } : {}) }));
}
