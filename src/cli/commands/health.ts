import fs from 'node:fs';
import {
  type ChannelCredentials,
  type ChannelOptions,
  credentials,
  Metadata,
  makeGenericClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import type { Command } from 'commander';
import { service as healthService } from 'grpc-health-check';
import { globalOptions } from '../client-options.js';
import { CliError, EXIT_USAGE, printJson } from '../output.js';

interface HealthOptions {
  service: string;
  timeout: string;
  tlsServerName?: string;
  tlsClientCert?: string;
  tlsClientKey?: string;
}

/**
 * `archivar health`: grpc.health.v1 check; exit 0 only when SERVING (used by the Docker HEALTHCHECK, which
 * runs it against 127.0.0.1 inside the container: hence the certificate-name override and the client
 * certificate for a server that requires one).
 */
export function registerHealthCommand(program: Command): void {
  program
    .command('health')
    .description('check that the server answers and is SERVING')
    .option('--service <name>', 'service to check (default: the whole server)', '')
    .option('--timeout <ms>', 'give up after this many milliseconds', '3000')
    .option('--tls-server-name <name>', 'name the server certificate must carry, when not the host of --server')
    .option('--tls-client-cert <file>', 'PEM client certificate, for a server that requires one (mTLS)')
    .option('--tls-client-key <file>', 'PEM private key of --tls-client-cert')
    .action(async (opts: HealthOptions, cmd: Command) => {
      const g = globalOptions(cmd);
      if ((opts.tlsClientCert === undefined) !== (opts.tlsClientKey === undefined)) {
        throw new CliError('--tls-client-cert and --tls-client-key must be given together', EXIT_USAGE);
      }
      const timeoutMs = Number(opts.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
        throw new CliError(`--timeout must be a positive whole number of milliseconds, got "${opts.timeout}"`, EXIT_USAGE);
      }
      // Any TLS option means TLS; otherwise plaintext to loopback (as `archivar serve` runs by default) or with
      // --insecure, and TLS verified with the system CAs for anything else.
      const tls = Boolean(g.tlsCa || opts.tlsServerName || opts.tlsClientCert);
      const loopback = /^(127\.|localhost:|\[::1\])/.test(g.server);
      const creds: ChannelCredentials =
        !tls && (g.insecure === true || loopback)
          ? credentials.createInsecure()
          : credentials.createSsl(
              read(g.tlsCa, '--tls-ca'),
              read(opts.tlsClientKey, '--tls-client-key'),
              read(opts.tlsClientCert, '--tls-client-cert'),
            );
      const channelOptions: ChannelOptions = opts.tlsServerName
        ? { 'grpc.ssl_target_name_override': opts.tlsServerName, 'grpc.default_authority': opts.tlsServerName }
        : {};
      const Client = makeGenericClientConstructor(healthService as never, 'Health');
      const client = new Client(g.server, creds, channelOptions);
      try {
        const res = await new Promise<{ status: string }>((resolve, reject) => {
          (client as unknown as Record<string, (...a: unknown[]) => void>).check?.(
            { service: opts.service },
            new Metadata(),
            { deadline: new Date(Date.now() + timeoutMs) },
            (err: ServiceError | null, r: { status: string }) => (err ? reject(err) : resolve(r)),
          );
        });
        if (g.json) printJson({ status: res.status });
        else process.stdout.write(`${res.status}\n`);
        if (res.status !== 'SERVING') process.exitCode = 1;
      } catch (err) {
        throw new CliError(`health check failed: ${(err as ServiceError).details ?? String(err)}`);
      } finally {
        client.close();
      }
    });
}

/** A PEM file's bytes, or null when the option is absent; a missing file is a usage error. */
function read(file: string | undefined, flag: string): Buffer | null {
  if (file === undefined) return null;
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new CliError(`${flag}: cannot read ${file}: ${(err as Error).message}`, EXIT_USAGE);
  }
}
