import type { Command } from 'commander';
import { ConfigError, loadConfig, SETTINGS } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { startServer } from '../../server/server.js';
import { CliError, EXIT_USAGE } from '../output.js';

/** `archivar serve`: every server setting is a flag here and an ARCHIVAR_* variable (see --help). */
export function registerServeCommand(program: Command): void {
  const cmd = program.command('serve').description('run the gRPC server (Ctrl-C or SIGTERM stops it gracefully)');
  for (const s of SETTINGS) {
    if (s.flag === 'master-key') continue; // env only: a secret never belongs on a command line
    const boolean = s.flag === 'insecure';
    cmd.option(boolean ? `--${s.flag}` : `--${s.flag} <value>`, `${s.help}${s.default ? ` (default ${s.default || '""'})` : ''}`);
  }
  cmd.action(async (opts: Record<string, string | boolean | undefined>) => {
    const flags: Record<string, string> = {};
    for (const s of SETTINGS) {
      const key = s.flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
      const v = opts[key];
      if (v !== undefined) flags[s.flag] = String(v);
    }
    let config: ReturnType<typeof loadConfig>;
    try {
      config = loadConfig(flags);
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(`invalid configuration: ${err.message}`, EXIT_USAGE);
      throw err;
    }
    const log = createLogger(config.logLevel);
    const running = await startServer(config, { log });
    // Parent processes (tests, supervisors) read the bound port from this line.
    process.stdout.write(
      `${JSON.stringify({ listening: `${config.listen.host}:${running.port}`, metricsPort: running.metricsPort })}\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info({ signal }, 'signal received');
        running.shutdown().then(resolve, (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exitCode = 1;
          resolve();
        });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  });
}
