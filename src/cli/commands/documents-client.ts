import { setMaxListeners } from 'node:events';
import type { Command } from 'commander';
import { ArchivarClient } from '../../sdk/index.js';
import { openConnection } from '../client-options.js';
import { CliError, fromGrpcError } from '../output.js';

/**
 * Runs `fn` with an ArchivarClient on the global connection options; gRPC and SDK errors become
 * one-line CLI errors (exit 1), and Ctrl-C cancels the calls in flight instead of killing them.
 */
export async function withDocumentsClient<T>(
  cmd: Command,
  fn: (client: ArchivarClient, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const connection = openConnection(cmd);
  const client = new ArchivarClient(connection);
  const controller = new AbortController();
  // Every call in flight listens on it (`ingest --wait`: uploads and waits side by side), more than Node's
  // default of 10 before it warns of a leak; each call removes its listener when it ends.
  setMaxListeners(0, controller.signal);
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    return await fn(client, controller.signal);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw fromGrpcError(err);
  } finally {
    process.off('SIGINT', onSigint);
    connection.close();
  }
}
