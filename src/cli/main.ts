#!/usr/bin/env node
import { CommanderError } from 'commander';
import { CliError, EXIT_FAILED, EXIT_USAGE } from './output.js';
import { buildProgram } from './program.js';

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

main(process.argv).then((code) => {
  process.exitCode = code;
});
