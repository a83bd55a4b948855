import fs from 'node:fs/promises';
import path from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { DocumentStatus } from '../../gen/archivar/v1/common.js';
import type { Document } from '../../gen/archivar/v1/documents.js';
import type { ArchivarClient } from '../../sdk/index.js';
import { globalOptions } from '../client-options.js';
import { CliError, fromGrpcError, printJson } from '../output.js';
import { formatBytes, parsePositiveInt, statusName } from './document-format.js';
import { withDocumentsClient } from './documents-client.js';

interface IngestOptions {
  concurrency: string;
  tag: string[];
  wait?: boolean;
  progress: boolean;
}

interface FileEntry {
  path: string;
  size: number;
}

interface FileResult {
  file: string;
  id?: string;
  contentId?: string;
  duplicate?: boolean;
  status?: string;
  statusReason?: string;
  bytes: number;
  error?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** A --json line: every key on every line (null where a file has no value), so a script reads each the same way. */
function jsonLine(r: FileResult): Record<keyof FileResult, unknown> {
  return {
    file: r.file,
    id: r.id ?? null,
    contentId: r.contentId ?? null,
    duplicate: r.duplicate ?? null,
    status: r.status ?? null,
    statusReason: r.statusReason ?? null,
    bytes: r.bytes,
    error: r.error ?? null,
  };
}

/**
 * Expands the arguments into regular files: folders recursively, in name order. Symlinks to files are
 * followed; symlinked folders are not (no cycles). Hidden entries in a folder (a leading dot: .DS_Store,
 * .git/) are skipped — they are the system's or a tool's, not documents; named as an argument they are
 * uploaded. Unreadable arguments become failed results.
 */
export async function collectFiles(args: readonly string[]): Promise<{ files: FileEntry[]; missing: FileResult[] }> {
  const files: FileEntry[] = [];
  const missing: FileResult[] = [];
  async function walk(dir: string): Promise<void> {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) files.push({ path: p, size: (await fs.stat(p)).size });
      else if (e.isSymbolicLink()) {
        const st = await fs.stat(p).catch(() => undefined);
        if (st?.isFile()) files.push({ path: p, size: st.size });
      }
    }
  }
  for (const arg of args) {
    try {
      const st = await fs.stat(arg);
      if (st.isDirectory()) await walk(arg);
      else if (st.isFile()) files.push({ path: arg, size: st.size });
      else missing.push({ file: arg, bytes: 0, error: 'not a regular file or folder' });
    } catch (err) {
      missing.push({
        file: arg,
        bytes: 0,
        error: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : String((err as Error).message),
      });
    }
  }
  return { files, missing };
}

/** Progress on stderr (TTY only): files done, bytes sealed and sent, rate. */
class IngestProgress {
  private readonly bar: cliProgress.SingleBar | undefined;
  private readonly started = Date.now();
  private bytes = 0;
  private filesDone = 0;

  constructor(
    enabled: boolean,
    private readonly totalFiles: number,
    private readonly totalBytes: number,
  ) {
    if (!enabled) return;
    this.bar = new cliProgress.SingleBar(
      {
        format:
          ' {bar} {percentage}% | {filesDone}/{totalFiles} files | {bytesDone}/{bytesTotal} | {rate}/s | ETA {eta_formatted}',
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(Math.max(1, totalBytes), 0, this.payload());
  }

  private payload() {
    const seconds = Math.max(0.001, (Date.now() - this.started) / 1000);
    return {
      filesDone: this.filesDone,
      totalFiles: this.totalFiles,
      bytesDone: formatBytes(this.bytes),
      bytesTotal: formatBytes(this.totalBytes),
      rate: formatBytes(Math.round(this.bytes / seconds)),
    };
  }

  /** `delta` may be negative: a retried upload starts over. */
  addBytes(delta: number): void {
    this.bytes += delta;
    this.bar?.update(Math.min(this.bytes, Math.max(1, this.totalBytes)), this.payload());
  }

  fileDone(): void {
    this.filesDone++;
    this.bar?.update(Math.min(this.bytes, Math.max(1, this.totalBytes)), this.payload());
  }

  stop(): void {
    this.bar?.stop();
  }

  get elapsedSeconds(): number {
    return (Date.now() - this.started) / 1000;
  }
}

/** Runs at most `n` of the given tasks at a time. */
function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async (task) => {
    if (active >= n) await new Promise<void>((resolve) => queue.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

/** Watch streams held open at once under --wait (each waits for one document). */
const MAX_CONCURRENT_WAITS = 16;

async function uploadOne(
  client: ArchivarClient,
  entry: FileEntry,
  opts: { tags: string[]; signal: AbortSignal; progress: IngestProgress },
): Promise<FileResult> {
  let counted = 0;
  try {
    const res = await client.upload(entry.path, {
      tags: opts.tags,
      signal: opts.signal,
      onProgress: (p) => {
        opts.progress.addBytes(p.plaintextBytes - counted);
        counted = p.plaintextBytes;
      },
    });
    opts.progress.addBytes(entry.size - counted);
    return {
      file: entry.path,
      id: res.documentId,
      contentId: res.contentId,
      duplicate: res.duplicate,
      status: statusName(res.status),
      bytes: entry.size,
    };
  } catch (err) {
    opts.progress.addBytes(-counted);
    return { file: entry.path, bytes: entry.size, error: fromGrpcError(err).message };
  }
}

/**
 * Attachments and archive members are processed after the document they came out of: --wait waits for them
 * too (and theirs), so what it returns from is searchable whole. Their own failures show in `get`, not here.
 */
async function waitForDescendants(client: ArchivarClient, doc: Document, signal: AbortSignal): Promise<void> {
  for (const child of doc.children)
    await waitForDescendants(client, await client.waitForFinalStatus(child.id, { signal }), signal);
}

/** --wait: the final status replaces the upload's; a FAILED document counts as a failed file. */
async function waitFinal(client: ArchivarClient, result: FileResult, signal: AbortSignal): Promise<FileResult> {
  if (result.error || !result.id) return result;
  try {
    const doc = await client.waitForFinalStatus(result.id, { signal });
    await waitForDescendants(client, doc, signal);
    const done: FileResult = { ...result, status: statusName(doc.status) };
    if (doc.statusReason) done.statusReason = doc.statusReason;
    if (doc.status === DocumentStatus.DOCUMENT_STATUS_FAILED)
      done.error = `processing failed: ${doc.statusReason || 'no reason given'}`;
    return done;
  } catch (err) {
    return { ...result, error: `stored, but waiting for processing failed: ${fromGrpcError(err).message}` };
  }
}

/** `archivar ingest <files or folders…>`: seal and upload in parallel, with a summary. */
export function registerIngestCommand(program: Command): void {
  program
    .command('ingest')
    .description('seal and upload files and folders (recursively), in parallel')
    .argument('<paths...>', 'files or folders (recursively; hidden entries in folders, such as .DS_Store or .git, are skipped)')
    .option('-c, --concurrency <n>', 'uploads at the same time', '4')
    .option('--tag <tag>', 'tag to attach (repeatable)', collect, [])
    .option('--wait', 'wait until every document reached a final status')
    .option('--no-progress', 'no progress bar (it only shows when stderr is a terminal)')
    .action(async (paths: string[], opts: IngestOptions, cmd: Command) => {
      const { json } = globalOptions(cmd);
      const concurrency = parsePositiveInt(opts.concurrency, '--concurrency');
      const { files, missing } = await collectFiles(paths);
      if (files.length === 0 && missing.length === 0) throw new CliError('no files to ingest');
      const showBar = opts.progress && process.stderr.isTTY === true && files.length > 0;

      const results: FileResult[] = [];
      const report = (r: FileResult) => {
        results.push(r);
        if (json) printJson(jsonLine(r));
        // A live bar owns the terminal; failures are listed after it stops.
        else if (!showBar) {
          const what = r.error ? 'failed' : r.duplicate ? 'duplicate' : 'stored';
          process.stdout.write(`${what}  ${r.id ?? '-'}  ${r.status ?? ''}  ${r.file}${r.error ? `: ${r.error}` : ''}\n`);
        }
      };
      for (const m of missing) report(m);

      const totalBytes = files.reduce((n, f) => n + f.size, 0);
      const progress = new IngestProgress(showBar, files.length, totalBytes);
      try {
        if (files.length > 0) {
          await withDocumentsClient(cmd, async (client, signal) => {
            await client.serverKey({ signal }); // fail once, early, when the server is unreachable
            const waitSlot = limiter(MAX_CONCURRENT_WAITS);
            const waits: Promise<void>[] = [];
            let next = 0;
            const worker = async () => {
              while (next < files.length && !signal.aborted) {
                const entry = files[next++] as FileEntry;
                const uploaded = await uploadOne(client, entry, { tags: opts.tag, signal, progress });
                progress.fileDone();
                if (opts.wait && !uploaded.error) waits.push(waitSlot(() => waitFinal(client, uploaded, signal)).then(report));
                else report(uploaded);
              }
            };
            await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
            await Promise.all(waits);
          });
        }
      } finally {
        progress.stop();
      }

      const failed = results.filter((r) => r.error);
      if (showBar && !json) for (const r of failed) process.stderr.write(`archivar: ${r.file}: ${r.error}\n`);
      const duplicates = results.filter((r) => !r.error && r.duplicate).length;
      const stored = results.length - failed.length - duplicates;
      const bytes = results.filter((r) => !r.error).reduce((n, r) => n + r.bytes, 0);
      const seconds = progress.elapsedSeconds;
      const rate = formatBytes(Math.round(bytes / Math.max(seconds, 0.001)));
      const line = `${stored} stored, ${duplicates} duplicate, ${failed.length} failed — ${formatBytes(bytes)} in ${seconds.toFixed(1)} s (${rate}/s)`;
      // Under --json stdout holds only the per-file objects.
      (json ? process.stderr : process.stdout).write(`${line}\n`);
      if (failed.length > 0) process.exitCode = 1;
    });
}
