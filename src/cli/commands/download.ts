import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ArtifactKind } from '../../gen/archivar/v1/common.js';
import { globalOptions } from '../client-options.js';
import { CliError, EXIT_USAGE, printJson } from '../output.js';
import { KIND_NAMES, parseKind, parsePositiveInt } from './document-format.js';
import { withDocumentsClient } from './documents-client.js';

interface DownloadCliOptions {
  kind: string;
  page?: string;
  plaintext?: boolean;
  output: string;
}

/** `archivar download ID -o FILE`: fetches an original or preview, verified before it is kept. */
export function registerDownloadCommand(program: Command): void {
  program
    .command('download')
    .description('download a document or one of its previews; sealed end to end unless --plaintext')
    .argument('<id>', 'document id')
    .option('--kind <kind>', `what to download (${KIND_NAMES.join(', ')})`, 'original')
    .option('--page <n>', '1-based page (for --kind page)')
    .option('--plaintext', 'let the server open it and send plaintext over TLS (previews always are)')
    .requiredOption('-o, --output <file>', 'where to write it ("-" = stdout)')
    .action(async (id: string, opts: DownloadCliOptions, cmd: Command) => {
      const { json } = globalOptions(cmd);
      const kind = parseKind(opts.kind);
      const page = opts.page === undefined ? undefined : parsePositiveInt(opts.page, '--page');
      if (kind === ArtifactKind.ARTIFACT_KIND_PAGE && page === undefined)
        throw new CliError('--kind page needs --page N', EXIT_USAGE);
      if (kind !== ArtifactKind.ARTIFACT_KIND_PAGE && page !== undefined)
        throw new CliError('--page only goes with --kind page', EXIT_USAGE);
      const toStdout = opts.output === '-';
      if (!toStdout) checkOutputPath(opts.output);
      const result = await withDocumentsClient(cmd, (client, signal) =>
        client.download(id, {
          kind,
          page,
          ...(opts.plaintext ? { plaintext: true } : {}),
          to: toStdout ? process.stdout : opts.output,
          end: false,
          signal,
        }),
      );
      const summary = {
        id,
        file: toStdout ? '-' : opts.output,
        bytes: result.bytes,
        contentId: result.contentId,
        mediaType: result.mediaType,
        fileName: result.fileName,
      };
      // With -o - stdout carries the bytes, so a --json summary goes to stderr and a human one is left out.
      if (json && toStdout) process.stderr.write(`${JSON.stringify(summary)}\n`);
      else if (json) printJson(summary);
      else if (!toStdout) process.stdout.write(`wrote ${result.bytes} bytes to ${opts.output}\n`);
    });
}

/** Where -o points can take a file: not a folder, in a folder that exists (said before anything is fetched). */
function checkOutputPath(output: string): void {
  if (fs.statSync(output, { throwIfNoEntry: false })?.isDirectory())
    throw new CliError(`-o ${output}: is a folder; give a file name`, EXIT_USAGE);
  const dir = path.dirname(path.resolve(output));
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory())
    throw new CliError(`-o ${output}: there is no folder ${dir}`, EXIT_USAGE);
}
