import { Metadata, makeGenericClientConstructor, type ServiceError } from '@grpc/grpc-js';
import type { Command } from 'commander';
import { service as healthService } from 'grpc-health-check';
import { channelCredentials } from '../../sdk/index.js';
import { globalOptions } from '../client-options.js';
import { CliError, printJson } from '../output.js';

/** `archivar health`: grpc.health.v1 check; exit 0 only when SERVING (used by the Docker HEALTHCHECK). */
export function registerHealthCommand(program: Command): void {
  program
    .command('health')
    .description('check that the server answers and is SERVING')
    .option('--service <name>', 'service to check (default: the whole server)', '')
    .option('--timeout <ms>', 'give up after this many milliseconds', '3000')
    .action(async (opts: { service: string; timeout: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const Client = makeGenericClientConstructor(healthService as never, 'Health');
      const loopback = /^(127\.|localhost|\[::1\])/.test(g.server);
      const client = new Client(
        g.server,
        channelCredentials({ ...(g.tlsCa ? { tlsCa: g.tlsCa } : {}), insecure: !g.tlsCa && (g.insecure === true || loopback) }),
      );
      try {
        const res = await new Promise<{ status: string }>((resolve, reject) => {
          (client as unknown as Record<string, (...a: unknown[]) => void>).check?.(
            { service: opts.service },
            new Metadata(),
            { deadline: new Date(Date.now() + Number(opts.timeout)) },
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
