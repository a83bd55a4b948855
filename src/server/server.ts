import fs from 'node:fs';
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { Accounts, type Clock, systemClock } from '../accounts/index.js';
import { Documents } from '../documents/documents.js';
import { ProcessingEvents } from '../documents/events.js';
import type { DocumentIndexer } from '../documents/processing.js';
import {
  poolAnalyser,
  rebuildIndexes,
  repairIndexes,
  sealedTextStore,
  searchIndexer,
  TenantReindexes,
} from '../documents/search-adapters.js';
import { tenantDocumentsOf } from '../documents/tenant-documents.js';
import { TextCache } from '../documents/text-cache.js';
import { sweepPendingUploads } from '../documents/upload.js';
import { AccountsServiceService } from '../gen/archivar/v1/accounts.js';
import { AdminServiceService } from '../gen/archivar/v1/admin.js';
import { DocumentsServiceService } from '../gen/archivar/v1/documents.js';
import { SearchServiceService } from '../gen/archivar/v1/search.js';
import { ImapWatchers } from '../imap/index.js';
import { SearchEngine } from '../index/engine.js';
import { checkOcrModels } from '../pipeline/ocr-models.js';
import { placedValues } from '../pipeline/recognize.js';
import { createAccountsService, PUBLIC_METHODS } from '../services/accounts-service.js';
import { createAdminService } from '../services/admin-service.js';
import { createDocumentsService } from '../services/documents-service.js';
import { createSearchService } from '../services/search-service.js';
import { BlobStore } from '../store/blob-store.js';
import { DocumentStore } from '../store/document-store.js';
import { isStorageFailure, Store } from '../store/index.js';
import { JobQueue } from '../store/job-queue.js';
import { Keyring, TenantErasedError } from '../store/keyring.js';
import { JobRunner } from '../workers/job-runner.js';
import { WorkerPool } from '../workers/pool.js';
import type { AppContext } from './app-context.js';
import type { SessionVerifier } from './call-context.js';
import { byIndexField, type Config } from './config.js';
import { AppError } from './errors.js';
import { bindService } from './handler.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { apiServiceNames, loadApiDefinition } from './proto-files.js';

export interface RunningServer {
  /** The bound gRPC port (useful with port 0). */
  readonly port: number;
  readonly metricsPort: number | null;
  readonly app: AppContext;
  readonly documents: Documents;
  /** The processing job runner (tests await `runner.whenIdle()`). */
  readonly runner: JobRunner;
  /** The IMAP mailbox watchers (tests set `imap.hooks`). */
  readonly imap: ImapWatchers;
  /** The search engine (tests look into the index). */
  readonly search: SearchEngine;
  /** Opened texts of search hits, in memory (tests check what it holds). */
  readonly textCache: TextCache;
  /** Settles when the indexes a layout change (or an interrupted rebuild) asked for are rebuilt: documents indexed. */
  readonly indexRebuild: Promise<number>;
  /** Settles when the index was compared with the records after the rebuild and a crash's gaps repaired. */
  readonly indexRepair: Promise<{ added: number; removed: number }>;
  /** Graceful: NOT_SERVING, stop accepting, drain calls (then abort them after the grace period), close pool and LMDB. */
  shutdown(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  /** Tests only: tokens this verifier accepts win; every other token goes to the real session check. */
  verifier?: SessionVerifier;
  /** Tests only: the time source of sessions, rate limits, billing and retention. */
  clock?: Clock;
  /** The search index's hook (fed after each processed document, told about deletes). */
  indexer?: DocumentIndexer;
}

/** The composition root: opens the store, starts the pool, binds every service and listens. */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const log = options.log ?? createLogger(config.logLevel);
  // Before anything is opened: without its models the server would accept scans it cannot read.
  checkOcrModels();
  const store = Store.open(config.dataDir, { mapSize: config.lmdbMapSizeBytes });
  const keyring = await Keyring.open(store, log, { masterKey: config.masterKey, masterKeyFile: config.masterKeyFile });
  let metrics: Metrics | undefined;
  const pool = new WorkerPool(
    { threads: config.pool.threads, maxQueue: config.pool.maxQueue, maxOldGenerationSizeMb: config.pool.maxHeapMb },
    {
      taskFinished: (t, s, ok) => metrics?.taskFinished(t, s, ok),
    },
  );
  metrics = new Metrics(() => pool.queueDepth);
  // Opened texts of search hits; a tenant's go as its key is shredded, a document's as it is deleted.
  const textCache = new TextCache(config.search.textCacheBytes);
  keyring.onShredded = (tenantId) => textCache.dropTenant(tenantId);
  const clock = options.clock ?? systemClock;
  let runner: JobRunner | undefined;
  let indexer: DocumentIndexer | undefined = options.indexer;
  const documents = new Documents({
    store,
    blobs: new BlobStore(store),
    documents: new DocumentStore(store, keyring.records),
    jobs: new JobQueue(store, config.jobs),
    keyring,
    config,
    events: new ProcessingEvents(),
    clock: () => clock.now(),
    log,
    onQueued: () => runner?.wake(),
    onDeleted: (doc) => {
      runner?.cancel(doc.id);
      textCache.delete(doc.tenantId, doc.id);
      // Awaited by the delete; a failure is logged, the document is deleted either way.
      return Promise.resolve(indexer?.remove(doc.tenantId, doc.id)).catch((err: unknown) =>
        log.error({ err, documentId: doc.id }, 'the search index did not forget a deleted document'),
      );
    },
  });
  // lmdb-js also rejects internal promises nobody awaits when a commit fails (disk full): log those
  // instead of dying; the write itself already failed with a clear status. Anything else still crashes.
  const onUnhandled = (reason: unknown) => {
    if (isStorageFailure(reason)) log.error({ err: reason }, 'an LMDB commit failed (disk full or I/O error)');
    else throw reason;
  };
  process.on('unhandledRejection', onUnhandled);
  const swept = await sweepPendingUploads(documents.deps);
  if (swept > 0) log.warn({ swept }, 'removed the stored bytes of uploads interrupted by a crash (none was acknowledged)');
  const { fieldWeights, fieldB, compoundPartWeight } = config.search;
  const searchEngine = new SearchEngine(store.root, {
    fieldWeights: byIndexField(fieldWeights),
    fieldB: byIndexField(fieldB),
    compoundPartWeight,
    cipher: keyring.records,
    analyser: poolAnalyser(pool, log),
    // Adds waiting for a thread join into one segment (SearchIndexOptions.buildsAtOnce).
    buildsAtOnce: pool.threads,
    textStore: sealedTextStore(documents, textCache),
    // A hit of `amount:>100` shows where its amount is written.
    findValues: placedValues,
    onBackgroundError: (err) => log.error({ err }, 'background index merge failed'),
    clock: () => clock.now(),
  });
  const searchIndex = searchEngine.index;
  // Every tenant's query caches, built in time slices in the background: a tenant's first query after a
  // start no longer holds the event loop for seconds (it awaits its own tenant's warm-up).
  void searchEngine.warmUp((tenantId, err) => log.error({ err, tenantId }, 'the search warm-up of a tenant failed'));
  indexer ??= searchIndexer(searchIndex, documents);
  // Tags live in the index's per-document values: a tag change rewrites them (no text re-analysis), from the
  // record as it is in the index's write transaction, which also clears the change's pending-tags note.
  // Awaited by the tag change; a failure is logged by Documents, the record keeps its tags and its note,
  // which the next start's repair applies.
  documents.onTagged = async (doc, settle) => {
    await searchEngine.setTags(doc.tenantId, doc.id, () => documents.deps.documents.get(doc.tenantId, doc.id)?.tags, settle);
  };
  documents.onTenantErased = (tenantId, ids) => {
    for (const id of ids) runner?.cancel(id);
    return searchIndex.dropTenant(tenantId);
  };
  const accounts = await Accounts.open({
    store,
    keyring,
    documents: tenantDocumentsOf(documents),
    // Read at export time, when `imap` (which needs the accounts) exists.
    mailImports: { status: (tenantId) => imap.ledger.status(tenantId) },
    clock,
    config: config.accounts,
    log,
  });
  runner = new JobRunner(documents, pool, log, {
    indexer,
    usage: accounts.usage,
    isRestricted: (tenantId, userId) => accounts.isProcessingRestricted(tenantId, userId),
  });
  if (config.accounts.adminEmail !== null && config.accounts.adminPasswordFile !== null) {
    const outcome = await accounts.ensureAdmin(config.accounts.adminEmail, config.accounts.adminPasswordFile);
    log.info({ outcome }, 'operator account from --admin-email');
  }
  const terms = config.accounts.terms;
  if (terms) log.info({ termsVersion: terms.textVersion, termsSha256: terms.textSha256 }, 'end-user licence agreement in force');
  else log.info('no --terms-version: registrations record the end-user licence agreement the client names');
  accounts.start();
  const imap = new ImapWatchers({ store, accounts, documents, config: config.imap, clock, log });
  const app: AppContext = { config, log, store, pool, keyring, accounts };

  const shutdownController = new AbortController();
  const server = new Server({
    'grpc.max_receive_message_length': config.grpc.maxMessageBytes,
    'grpc.max_send_message_length': config.grpc.maxMessageBytes,
    'grpc.max_concurrent_streams': config.grpc.maxConcurrentStreams,
    'grpc.keepalive_time_ms': config.grpc.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': config.grpc.keepaliveTimeoutMs,
    'grpc.max_connection_idle_ms': config.grpc.maxConnectionIdleMs,
    'grpc.max_connection_age_ms': config.grpc.maxConnectionAgeMs,
    'grpc.max_connection_age_grace_ms': config.shutdownGraceMs,
    'grpc-node.max_session_memory': config.grpc.maxSessionMemoryMb,
    // Clients may ping every 10 s without a call in flight (desktop clients keep a channel open).
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
  });

  const override = options.verifier;
  const sessions: SessionVerifier = override
    ? { verify: async (token, signal) => (await override.verify(token, signal)) ?? accounts.verify(token) }
    : accounts;
  // Every authenticated call of a tenant has its record keys loaded here, once, so the handlers may read and
  // write sealed records synchronously (inside LMDB transactions). A tenant erased meanwhile has no session.
  const verifier: SessionVerifier = {
    verify: async (token, signal) => {
      const principal = await sessions.verify(token, signal);
      if (principal === null) return null;
      try {
        await keyring.records.ready(principal.tenantId);
      } catch (err) {
        if (err instanceof TenantErasedError) return null;
        throw err;
      }
      return principal;
    },
  };
  // Start-up rebuilds and Admin.Reindex, stopped at the start of a shutdown (the next start resumes them).
  const rebuildAbort = new AbortController();
  const reindexes = new TenantReindexes(documents, searchIndex, rebuildAbort.signal);
  const bind = { verifier, log, observer: metrics, shutdown: shutdownController.signal, publicMethods: PUBLIC_METHODS };
  bindService(server, DocumentsServiceService, createDocumentsService(app, documents), bind);
  bindService(server, SearchServiceService, createSearchService(app, searchEngine, documents), bind);
  bindService(server, AccountsServiceService, createAccountsService(app, imap), bind);
  bindService(server, AdminServiceService, createAdminService(app, documents, searchEngine, reindexes), bind);

  const definition = loadApiDefinition();
  const serviceNames = apiServiceNames(definition);
  const health = new HealthImplementation({ '': 'SERVING', ...Object.fromEntries(serviceNames.map((n) => [n, 'SERVING'])) });
  health.addToServer(server);
  // Reflection describes the health service too, so `grpcurl … describe` shows everything served.
  new ReflectionService({ ...definition, ...protoLoader.loadSync(healthProtoPath) }).addToServer(server);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${formatHost(config.listen.host)}:${config.listen.port}`, credentials(config), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  // An index written in an older layout (or a rebuild cut short) is dropped now, before the runner adds to
  // it, and rebuilt from the stored documents in the background: the server answers meanwhile and a tenant's
  // results fill up as its documents come back.
  const rebuildTenants = await searchIndex.prepareFormat();
  if (rebuildTenants.length > 0)
    log.warn(
      { tenants: rebuildTenants.length },
      'the search index is in an older layout (or its rebuild was interrupted): rebuilding it from the stored documents',
    );
  const rebuild = rebuildIndexes(reindexes, rebuildTenants);
  const indexRebuild = rebuild.then(
    (n) => {
      if (rebuildTenants.length > 0) log.info({ documents: n }, 'search index rebuilt');
      return n;
    },
    (err: unknown) => {
      if (!rebuildAbort.signal.aborted) log.error({ err }, 'rebuilding the search index failed; the next start resumes it');
      return 0;
    },
  );
  // A crash between a document's commit and its index write (an add or a tombstone) is repaired after the
  // rebuild, in the background: records and the index's ids are compared by key. Not after a failed rebuild:
  // its tenants stay listed and are rebuilt whole at the next start, not repaired one document at a time.
  const indexRepair = rebuild
    .then(
      () => repairIndexes(documents, searchIndex, rebuildAbort.signal),
      () => ({ added: 0, removed: 0, retagged: 0 }),
    )
    .then(
      (r) => {
        if (r.added + r.removed + r.retagged > 0)
          log.warn(r, 'the search index missed documents or tag changes a crash left between two writes: repaired');
        return r;
      },
      (err: unknown) => {
        if (!rebuildAbort.signal.aborted) log.error({ err }, 'comparing the search index with the documents failed');
        return { added: 0, removed: 0, retagged: 0 };
      },
    );
  await runner.start();
  imap.start();
  const metricsServer = config.metricsListen ? await metrics.listen(config.metricsListen.host, config.metricsListen.port) : null;
  log.info(
    { listen: `${config.listen.host}:${port}`, tls: config.tls !== null, dataDir: config.dataDir, threads: pool.threads },
    'archivar serving',
  );

  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      log.info('shutting down: draining calls');
      // A running Reindex would hold the drain for the whole grace period; it resumes at the next start.
      rebuildAbort.abort(new AppError(status.UNAVAILABLE, 'the server is shutting down; the next start resumes the reindex'));
      for (const name of ['', ...serviceNames]) health.setStatus(name, 'NOT_SERVING');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          log.warn('grace period over: aborting remaining calls');
          shutdownController.abort(new AppError(status.UNAVAILABLE, 'the server is shutting down; retry'));
          // Cutting the connections in the same tick would drop the statuses the aborted calls just sent.
          setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 100);
        }, config.shutdownGraceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await metricsServer?.close();
      await imap.stop();
      accounts.close();
      await runner?.stop();
      await indexRebuild;
      await indexRepair;
      await reindexes.idle();
      await pool.close();
      await searchEngine.stopWarmUp();
      await searchIndex.close();
      textCache.clear();
      if (!(await store.close())) log.warn('LMDB did not close cleanly (a write could not land); committed data is safe');
      process.off('unhandledRejection', onUnhandled);
      log.info('shut down');
    })();
    return stopping;
  };
  return {
    port,
    metricsPort: metricsServer?.port ?? null,
    app,
    documents,
    runner,
    imap,
    search: searchEngine,
    textCache,
    indexRebuild,
    indexRepair,
    shutdown,
  };
}

function credentials(config: Config): ServerCredentials {
  if (config.tls === null) return ServerCredentials.createInsecure();
  const ca = config.tls.clientCaFile ? fs.readFileSync(config.tls.clientCaFile) : null;
  return ServerCredentials.createSsl(
    ca,
    [{ cert_chain: fs.readFileSync(config.tls.certFile), private_key: fs.readFileSync(config.tls.keyFile) }],
    ca !== null,
  );
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
