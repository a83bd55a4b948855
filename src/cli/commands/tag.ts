import type { Command } from 'commander';
import { globalOptions } from '../client-options.js';
import { CliError, EXIT_USAGE, oneLine, printJson } from '../output.js';
import { withDocumentsClient } from './documents-client.js';

const collect = (value: string, previous: string[]) => [...previous, value];

/** `archivar tag ID --add T --remove T`: changes a document's tags (searchable as tag:T at once). */
export function registerTagCommand(program: Command): void {
  program
    .command('tag')
    .description('add or remove tags of a document (then: archivar search "tag:NAME")')
    .argument('<id>', 'document id')
    .option('--add <tag>', 'tag to add (repeatable)', collect, [] as string[])
    .option('--remove <tag>', 'tag to remove (repeatable)', collect, [] as string[])
    .action(async (id: string, opts: { add: string[]; remove: string[] }, cmd: Command) => {
      const { json } = globalOptions(cmd);
      if (opts.add.length === 0 && opts.remove.length === 0)
        throw new CliError('nothing to do: give --add TAG and/or --remove TAG', EXIT_USAGE);
      await withDocumentsClient(cmd, async (client, signal) => {
        const tags = await client.tag(id, { add: opts.add, remove: opts.remove }, { signal });
        if (json) printJson({ id, tags });
        // Tags may hold spaces: a comma keeps them apart, as `get` prints them.
        else process.stdout.write(`${id}: ${tags.length > 0 ? tags.map(oneLine).join(', ') : '(no tags)'}\n`);
      });
    });
}
