import { type Command, Option } from 'commander';
import type { DocumentStatus } from '../../gen/archivar/v1/common.js';
import { globalOptions } from '../client-options.js';
import { CliError, EXIT_USAGE, oneLine, printJson } from '../output.js';
import { documentJson, formatBytes, parsePositiveInt, parseStatus, STATUS_NAMES, statusName } from './document-format.js';
import { withDocumentsClient } from './documents-client.js';

interface LsOptions {
  status: string[];
  tag?: string;
  type: string[];
  limit: string;
}

const collect = (value: string, previous: string[]) => [...previous, ...value.split(',').filter((v) => v !== '')];

/** `archivar ls`: documents newest first, paged by cursor until --limit. */
export function registerLsCommand(program: Command): void {
  program
    .command('ls')
    .description('list documents, newest first')
    .addOption(
      new Option('--status <status>', `only this status, repeatable or comma-separated (${STATUS_NAMES.join(', ')})`)
        .argParser(collect)
        .default([]),
    )
    .option('--tag <tag>', 'only documents carrying this tag')
    .addOption(new Option('--type <media-type>', 'only this sniffed media type, repeatable').argParser(collect).default([]))
    .option('--limit <n>', 'at most this many documents (0 = all)', '50')
    .action(async (opts: LsOptions, cmd: Command) => {
      const { json } = globalOptions(cmd);
      const limit = parsePositiveInt(opts.limit, '--limit', true);
      const statuses: DocumentStatus[] = opts.status.map(parseStatus);
      // Media types match exactly: `--type pdf` (search's `type:pdf`) would list nothing, silently.
      for (const t of opts.type)
        if (!/^[\w.+-]+\/[\w.+-]+$/.test(t))
          throw new CliError(`--type takes a media type such as application/pdf or image/png, got "${t}"`, EXIT_USAGE);
      const pageSize = limit === 0 ? 1000 : Math.min(limit, 1000);
      await withDocumentsClient(cmd, async (client, signal) => {
        let shown = 0;
        const rows: string[][] = [];
        for await (const doc of client.list({ statuses, tag: opts.tag, mediaTypes: opts.type }, { pageSize, signal })) {
          if (json) printJson(documentJson(doc));
          else
            rows.push([
              doc.id,
              statusName(doc.status),
              formatBytes(doc.size),
              Number(doc.createdMs) > 0 ? new Date(Number(doc.createdMs)).toISOString().slice(0, 16).replace('T', ' ') : '',
              // A name from outside (an attachment, an archive member): no control characters for the terminal.
              oneLine(doc.fileName),
            ]);
          if (limit !== 0 && ++shown >= limit) break;
        }
        if (!json) printTable(['ID', 'STATUS', 'SIZE', 'CREATED (UTC)', 'NAME'], rows);
      });
    });
}

function printTable(head: string[], rows: string[][]): void {
  // Said on stderr: a script reading the table gets no line for no document.
  if (rows.length === 0) {
    process.stderr.write('no documents\n');
    return;
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${[line(head), ...rows.map(line)].join('\n')}\n`);
}
