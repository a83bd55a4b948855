#!/usr/bin/env node
import { CommanderError } from 'commander';
import { CliError, EXIT_FAILED, EXIT_USAGE } from './output.js';
import { buildProgram } from './program.js';

/**
 * grpc-js sets the TLS server name (SNI) to the host it dials even when that is an IP address, such as
 * 127.0.0.1 in the Docker health check; Node then leaves SNI out, as it should, but warns DEP0123 on
 * stderr, which would be the only line of output of a TLS command. That one warning is dropped; all others
 * are printed as usual.
 */
function dropIpServernameWarning(): void {
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((...args: unknown[]) => {
    const [, typeOrOptions, code] = args;
    const warningCode =
      typeof typeOrOptions === 'object' && typeOrOptions !== null ? (typeOrOptions as { code?: unknown }).code : code;
    if (warningCode === 'DEP0123') return;
    emitWarning(...args);
  }) as typeof process.emitWarning;
}

/** `archivar`: exit 0 on success, 1 when the operation failed, 2 for usage errors. */
async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed the message (or the help text).
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (err instanceof CliError) {
      process.stderr.write(`archivar: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`archivar: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILED;
  }
}

/**
 * A reader that stops early (`archivar search x | head -3`) closes the pipe: the rest of the output has
 * nowhere to go, which is no failure of the command, so it ends quietly instead of with a stack trace.
 */
function quietOnClosedPipe(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(0);
  });
}

dropIpServernameWarning();
quietOnClosedPipe();
main(process.argv).then((code) => {
  process.exitCode = code;
});
