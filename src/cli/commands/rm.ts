import type { Command } from 'commander';
import { globalOptions } from '../client-options.js';
import { CliError, fromGrpcError, printJson } from '../output.js';
import { withDocumentsClient } from './documents-client.js';

/** `archivar rm ID…`: deletes documents with their children, previews and index entries. */
export function registerRmCommand(program: Command): void {
  program
    .command('rm')
    .description('delete documents (with their attachments, previews and index entries)')
    .argument('<ids...>', 'document ids')
    .action(async (ids: string[], _opts: unknown, cmd: Command) => {
      const { json } = globalOptions(cmd);
      let failed = 0;
      await withDocumentsClient(cmd, async (client, signal) => {
        for (const id of ids) {
          try {
            const deleted = await client.delete(id, { signal });
            if (json) printJson({ id, deletedIds: deleted });
            else process.stdout.write(`deleted ${deleted.join(' ')}\n`);
          } catch (err) {
            if (signal.aborted) throw err;
            failed++;
            const message = fromGrpcError(err).message;
            if (json) printJson({ id, error: message });
            process.stderr.write(`archivar: ${id}: ${message}\n`);
          }
        }
      });
      if (failed > 0) throw new CliError(`${failed} of ${ids.length} deletions failed`);
    });
}
