import { Command, Option } from 'commander';
import { registerAccountCommand } from './commands/account.js';
import { registerAdminCommand } from './commands/admin.js';
import { registerConsentCommand } from './commands/consent.js';
import { registerDownloadCommand } from './commands/download.js';
import { registerGetCommand } from './commands/get.js';
import { registerHealthCommand } from './commands/health.js';
import { registerImapCommand } from './commands/imap.js';
import { registerIngestCommand } from './commands/ingest.js';
import { registerLsCommand } from './commands/ls.js';
import { registerRmCommand } from './commands/rm.js';
import { registerSearchCommand } from './commands/search.js';
import { registerServeCommand } from './commands/serve.js';
import { registerTagCommand } from './commands/tag.js';

/** The `archivar` command tree; each command registers itself from its own file. */
export function buildProgram(): Command {
  const program = new Command('archivar')
    .description('Archivar: full-text search and OCR engine for documents (gRPC server and client)')
    .addOption(new Option('--server <host:port>', 'server to talk to').env('ARCHIVAR_SERVER').default('127.0.0.1:50051'))
    .addOption(new Option('--tls-ca <file>', 'PEM CA that signed the server certificate').env('ARCHIVAR_TLS_CA'))
    .addOption(
      new Option('--tls-client-cert <file>', 'PEM client certificate, for a server that requires one (mTLS)').env(
        'ARCHIVAR_TLS_CLIENT_CERT',
      ),
    )
    .addOption(new Option('--tls-client-key <file>', 'PEM private key of --tls-client-cert').env('ARCHIVAR_TLS_CLIENT_KEY'))
    .addOption(
      new Option('--tls-server-name <name>', 'name the server certificate must carry, when not the host of --server').env(
        'ARCHIVAR_TLS_SERVER_NAME',
      ),
    )
    .option('--insecure', 'plaintext gRPC to a non-loopback server')
    .option('--json', 'machine-readable output (one JSON value per line)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(`archivar: ${str.replace(/^error: /, '')}`) });
  registerServeCommand(program);
  registerHealthCommand(program);
  registerAccountCommand(program);
  registerConsentCommand(program);
  registerAdminCommand(program);
  registerImapCommand(program);
  registerIngestCommand(program);
  registerGetCommand(program);
  registerDownloadCommand(program);
  registerLsCommand(program);
  registerRmCommand(program);
  registerSearchCommand(program);
  registerTagCommand(program);
  // Sub-commands inherit the error handling of the root.
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}
