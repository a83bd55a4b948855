import type { Command } from 'commander';
import { globalOptions } from '../client-options.js';
import { printJson } from '../output.js';
import { documentJson, documentLines } from './document-format.js';
import { withDocumentsClient } from './documents-client.js';

/** `archivar get ID`: one document's status, metadata, tags, children and previews. */
export function registerGetCommand(program: Command): void {
  program
    .command('get')
    .description('show one document: status, metadata, tags, children, previews')
    .argument('<id>', 'document id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const { json } = globalOptions(cmd);
      const doc = await withDocumentsClient(cmd, (client, signal) => client.get(id, { signal }));
      if (json) printJson(documentJson(doc));
      else process.stdout.write(`${documentLines(doc).join('\n')}\n`);
    });
}
