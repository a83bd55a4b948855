import { Metadata, makeGenericClientConstructor, type ServiceError } from '@grpc/grpc-js';
import type { Command } from 'commander';
import { service as healthService } from 'grpc-health-check';
import { channelCredentials, tlsChannelOptions } from '../../sdk/index.js';
import { connectionSettings, globalOptions, withTlsSettings } from '../client-options.js';
import { CliError, connectionFailure, EXIT_USAGE, printJson } from '../output.js';

interface HealthOptions {
  service: string;
  timeout: string;
}

/**
 * `archivar health`: grpc.health.v1 check; exit 0 only when SERVING (used by the Docker HEALTHCHECK, which
 * runs it against 127.0.0.1 inside the container with the global --tls-server-name and, for a server that
 * requires one, --tls-client-cert/--tls-client-key). It connects with the same global options and the same
 * credentials as every other client command.
 */
export function registerHealthCommand(program: Command): void {
  program
    .command('health')
    .description('check that the server answers and is SERVING')
    .option('--service <name>', 'service to check (default: the whole server)', '')
    .option('--timeout <ms>', 'give up after this many milliseconds', '3000')
    .action(async (opts: HealthOptions, cmd: Command) => {
      const settings = connectionSettings(cmd);
      const timeoutMs = Number(opts.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
        throw new CliError(`--timeout must be a positive whole number of milliseconds, got "${opts.timeout}"`, EXIT_USAGE);
      }
      const creds = withTlsSettings(() => channelCredentials(settings));
      const Client = makeGenericClientConstructor(healthService as never, 'Health');
      const client = new Client(settings.server, creds, tlsChannelOptions(settings));
      try {
        const res = await new Promise<{ status: string }>((resolve, reject) => {
          (client as unknown as Record<string, (...a: unknown[]) => void>).check?.(
            { service: opts.service },
            new Metadata(),
            { deadline: new Date(Date.now() + timeoutMs) },
            (err: ServiceError | null, r: { status: string }) => (err ? reject(err) : resolve(r)),
          );
        });
        if (globalOptions(cmd).json) printJson({ status: res.status });
        else process.stdout.write(`${res.status}\n`);
        if (res.status !== 'SERVING') process.exitCode = 1;
      } catch (err) {
        throw new CliError(`health check failed: ${connectionFailure((err as ServiceError).details ?? String(err))}`);
      } finally {
        client.close();
      }
    });
}
