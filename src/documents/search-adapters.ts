import { analyseInThread } from '../index/analyse-document.js';
import type { DocValues, ValuedIndexDoc } from '../index/doc-values.js';
import type { AnalyserLanguage, IndexDoc, SearchIndex, TextStore } from '../index/index.js';
import { RANGE_END } from '../index/index-store.js';
import {
  buildSegment,
  finishSegment,
  SEGMENT_TASK_CHARS,
  type SegmentBuild,
  SegmentBuilder,
  sealedIf,
} from '../index/segment-writer.js';
import { code, writtenAmount, writtenDay } from '../index/value-fields.js';
import { type RecognizedValue, recognizeValues } from '../pipeline/recognize.js';
import type { Logger } from '../server/logger.js';
import type { DocumentRecord } from '../store/document-store.js';
import type { WorkerPool } from '../workers/pool.js';
import type { Documents } from './documents.js';
import { type DocumentIndexer, type IndexedDocument, indexedDocument, openOrSkip, TEXT_KIND, WORDS_KIND } from './processing.js';
import { IDENTITY_BYTES, TextCache } from './text-cache.js';

/**
 * Snippet text for the index, read from the tenant-sealed text artifact (UTF-8, form feed between pages)
 * and opened in memory only when a hit needs a snippet. The index never holds document text itself.
 * Opened texts are kept in `cache` (text-cache.ts) while the stored text stays the same sealing; the index
 * tells the store when a document or a tenant goes, and their texts leave the cache with it.
 */
export function sealedTextStore(documents: Documents, cache = new TextCache(0)): TextStore {
  const { blobs, keyring } = documents.deps;
  return {
    async get(tenantId, docId, wanted) {
      // The sealed header's first bytes name the stored sealing: enough to find it in the cache.
      const head = blobs.head(tenantId, docId, TEXT_KIND, IDENTITY_BYTES);
      if (head === undefined) {
        cache.delete(tenantId, docId);
        return undefined;
      }
      const open = async () => {
        const pieces = [...blobs.read(tenantId, docId, TEXT_KIND)];
        // blobs.read hands out copies: a one-piece text (most) is opened as it is, not copied again.
        const sealed = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
        return { identity: sealed, plain: await keyring.openForTenant(tenantId, sealed, { kind: TEXT_KIND, id: docId }) };
      };
      return cache.pages(tenantId, docId, head, open, wanted);
    },
    // The text itself is written sealed by processing; a document indexed again (reprocessed) has a new one.
    put: (tenantId, docId) => cache.delete(tenantId, docId),
    delete: (tenantId, docId) => cache.delete(tenantId, docId),
    dropTenant: (tenantId) => cache.dropTenant(tenantId),
  };
}

/**
 * Document analysis and segment building for the index in the worker pool, so the thread that writes the
 * index (and serves every RPC) only seals and writes. A batch of up to SEGMENT_TASK_CHARS of text is one
 * task that builds the whole segment; a larger one (Reindex) is analysed in pieces on every thread and its
 * segment built here. When the pool cannot take it (queue full, shutting down, a worker lost) the work is
 * done here instead: indexing never fails for want of a thread.
 */
export function poolAnalyser(pool: Pick<WorkerPool, 'run'>, log: Logger, segmentTaskChars = SEGMENT_TASK_CHARS): SegmentBuild {
  const fallback = (err: unknown, docs: readonly IndexDoc[]) =>
    log.warn(
      { err, documents: docs.length },
      'the pool could not analyse documents for the index; analysing them in the main thread',
    );
  return async (docs, defaultLanguage, sealing) => {
    if (textChars(docs) <= segmentTaskChars) {
      try {
        const task = { type: 'build-segment' as const, docs: docs.map(plainIndexDoc), defaultLanguage };
        if (sealing === undefined) return (await pool.run(task)).segment;
        // A copy of the key moved to the thread (which zeroes it), as a job's file key is; the fallback
        // below still has the caller's.
        const moved = { ...sealing, key: sealing.key.slice() };
        try {
          return (await pool.run({ ...task, sealing: moved }, { transfer: [moved.key.buffer] })).segment;
        } finally {
          // Empty (its buffer detached) once moved; still here if the pool refused the task. fill() on a
          // detached buffer throws.
          if (moved.key.byteLength > 0) moved.key.fill(0);
        }
      } catch (err) {
        fallback(err, docs);
        return sealedIf(buildSegment(docs, defaultLanguage), sealing);
      }
    }
    const parts = await Promise.all(
      chunks(docs).map(async (part) => {
        try {
          return (await pool.run({ type: 'analyse-documents', docs: part.map(plainIndexDoc), defaultLanguage })).docs;
        } catch (err) {
          fallback(err, part);
          return analyseInThread(part, defaultLanguage);
        }
      }),
    );
    const builder = new SegmentBuilder();
    for (const part of parts) for (const d of part) builder.add(d);
    return sealedIf(finishSegment(builder), sealing);
  };
}

function textChars(docs: readonly IndexDoc[]): number {
  let n = 0;
  for (const d of docs) for (const p of d.fields.body ?? []) n += p.length;
  return n;
}

/** Text per pool task: big enough to amortise the hand-over, small enough to spread a batch over threads. */
const CHUNK_CHARS = 1 << 20;

function chunks(docs: readonly IndexDoc[]): IndexDoc[][] {
  const out: IndexDoc[][] = [];
  let cur: IndexDoc[] = [];
  let chars = 0;
  for (const d of docs) {
    cur.push(d);
    chars += (d.fields.body ?? []).reduce((n, p) => n + p.length, 0);
    if (chars >= CHUNK_CHARS) {
      out.push(cur);
      cur = [];
      chars = 0;
    }
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** Only what analysis reads: ValuedIndexDocs also carry values and a function, which do not clone. */
function plainIndexDoc({ docId, language, fields, createdMs, mediaType }: IndexDoc): IndexDoc {
  return {
    docId,
    fields,
    ...(language !== undefined ? { language } : {}),
    ...(createdMs !== undefined ? { createdMs } : {}),
    ...(mediaType !== undefined ? { mediaType } : {}),
  };
}

/** One page of the sealed `words` artifact (docs/pipeline.md): `[text, x, y, w, h, confidence]`. */
export interface WordsPage {
  page: number;
  width: number;
  height: number;
  words: [string, number, number, number, number, number][];
}

/** The OCR word boxes of a document (pages without OCR have no words); undefined when it has none. */
export async function sealedWords(documents: Documents, tenantId: string, docId: string): Promise<WordsPage[] | undefined> {
  const { blobs, keyring } = documents.deps;
  const pieces = [...blobs.read(tenantId, docId, WORDS_KIND)];
  if (pieces.length === 0) return undefined;
  const plain = await keyring.openForTenant(tenantId, Buffer.concat(pieces), { kind: WORDS_KIND, id: docId });
  const parsed = JSON.parse(plain.toString('utf8')) as { pages?: WordsPage[] };
  return Array.isArray(parsed.pages) ? parsed.pages : undefined;
}

const LANGUAGES = new Set<string>(['deu', 'eng', 'deu+eng']);

/**
 * A document's own date: from its metadata (a PDF's creation date, an e-mail's sent date, a photo's camera
 * date), else the date recognised in its text (`documentDate`, the pipeline's pick); undefined when it has
 * none. The index sorts, facets and filters (`date:`) on it, falling back to the upload time; search hits
 * report it as it is (0 = none).
 */
export function documentDateMs(metadata: Record<string, unknown>, documentDate = metadata.documentDate): number | undefined {
  const own = [metadata.createdMs, metadata.sentMs, metadata.cameraDateMs].find(
    (v): v is number => typeof v === 'number' && v > 0,
  );
  return own ?? (typeof documentDate === 'string' ? writtenDay(documentDate) : undefined);
}

/**
 * The date of the document `doc` came out of, from the first ancestor that has one: an attachment without a
 * date of its own (none in its metadata or text) is dated as the e-mail that brought it, not by its import.
 */
export function inheritedDateMs(documents: Documents | undefined, doc: DocumentRecord): number | undefined {
  let parentId = doc.parentId;
  for (let depth = 0; documents !== undefined && parentId && depth < MAX_ANCESTORS; depth++) {
    const parent = documents.deps.documents.get(doc.tenantId, parentId);
    if (parent === undefined) return undefined;
    const own = documentDateMs(parent.metadata);
    if (own !== undefined) return own;
    parentId = parent.parentId;
  }
  return undefined;
}

/** Ancestors asked for a date (a mail in a zip in a mail is three). */
const MAX_ANCESTORS = 8;

/**
 * The per-document values value fields and facets read (doc-values.ts), from the record and the text:
 * recognised values from the metadata when the pipeline stored them, else recognised here from the pages
 * (pipeline/recognize.ts is pure and linear).
 */
export function documentValues(doc: DocumentRecord, d: IndexedDocument, documents?: Documents): DocValues {
  const m = doc.metadata;
  const str = (k: string) => (typeof m[k] === 'string' ? (m[k] as string) : '');
  const strs = (k: string) => (Array.isArray(m[k]) ? (m[k] as unknown[]).filter((x): x is string => typeof x === 'string') : []);
  let recognised: RecognizedValue[];
  let documentDate: string | undefined;
  if (Array.isArray(m.recognized)) {
    recognised = m.recognized as RecognizedValue[];
    documentDate = typeof m.documentDate === 'string' ? m.documentDate : undefined;
  } else {
    const lang = LANGUAGES.has(d.language) ? (d.language as 'deu' | 'eng' | 'deu+eng') : 'und';
    const r = recognizeValues(d.fields.body, { language: lang, maxValues: 200 });
    recognised = r.values;
    documentDate = r.documentDate;
  }
  const of = (kinds: string[]) => recognised.filter((v) => kinds.includes(v.kind)).map((v) => v.normalized);
  return {
    title: str('title'),
    fileName: doc.fileName,
    subject: str('subject'),
    from: str('from'),
    to: [...strs('to'), ...strs('cc')],
    dateMs: documentDateMs(m, documentDate) ?? inheritedDateMs(documents, doc) ?? doc.createdMs,
    createdMs: doc.createdMs,
    mediaType: doc.mediaType,
    lang: d.language,
    source: doc.source,
    tags: [...doc.tags],
    dates: of(['date'])
      .map(writtenDay)
      .filter((t): t is number => t !== undefined),
    amounts: of(['amount']).map(writtenAmount).filter(Number.isFinite),
    ibans: of(['iban']).map(code),
    invoices: of(['invoice_number', 'customer_number']).map((s) => s.toUpperCase()),
  };
}

function valuedDoc(
  d: IndexedDocument,
  record: DocumentRecord | undefined,
  documents?: Documents,
  tenantId?: string,
): ValuedIndexDoc {
  return {
    ...(documents && tenantId ? { freshTags: () => documents.deps.documents.get(tenantId, d.docId)?.tags } : {}),
    docId: d.docId,
    ...(LANGUAGES.has(d.language) ? { language: d.language as AnalyserLanguage } : {}),
    fields: d.fields,
    createdMs: d.createdMs,
    mediaType: d.mediaType,
    ...(record ? { values: documentValues(record, d, documents) } : {}),
  };
}

/** The processing pipeline's index hook, backed by our LMDB search index. */
export function searchIndexer(index: SearchIndex, documents?: Documents): DocumentIndexer {
  return {
    async add(tenantId, doc) {
      // The record as it is now (tags may have changed since processing read it). A Delete that landed
      // after the processing commit has already asked the index to forget the document, before this add
      // joined the index's write queue: indexing it now would leave a ghost. Reading the record and
      // enqueueing the add happen in one synchronous step, so a later Delete's remove queues behind it.
      const record = documents?.deps.documents.get(tenantId, doc.docId);
      if (documents && !record) return;
      await index.addDocuments(tenantId, [valuedDoc(doc, record, documents, tenantId)]);
    },
    async remove(tenantId, docId) {
      await index.deleteDocument(tenantId, docId);
    },
  };
}

/** Documents per index write when indexing stored documents (Reindex, a rebuild, the repair): one segment each. */
const INDEX_BATCH = 200;

/**
 * Adds the tenant's INDEXED documents among `ids` to the index from their sealed text, INDEX_BATCH to a
 * write, so no write transaction grows without bound and a segment is not written per document. `step` runs
 * before each record is read (the abort check, a yield). Returns the documents indexed.
 */
async function indexStored(
  documents: Documents,
  index: SearchIndex,
  tenantId: string,
  ids: Iterable<string>,
  step: () => Promise<void>,
): Promise<number> {
  const { deps } = documents;
  const text = sealedTextStore(documents);
  let batch: { doc: ValuedIndexDoc; record: DocumentRecord }[] = [];
  let again: string[] = [];
  let n = 0;
  const add = async () => {
    const read = batch;
    batch = [];
    // Checked in the index's write queue, in the step that queues the add: every write queued before has
    // landed (the job runner's add of a document it just processed), and a later one (a delete, a
    // reprocess's add) queues behind this add.
    const write = await index.exclusive(() => {
      const docs: ValuedIndexDoc[] = [];
      for (const { doc, record } of read) {
        const now = openOrSkip(deps, tenantId, doc.docId);
        // Deleted since it was read: it has already asked the index to forget it.
        if (!now) continue;
        // Changed since (a reprocess committed new text and queued its add; a tag): read again, or this add
        // would put the old text over the new one.
        if (now.updatedMs !== record.updatedMs || now.jobId !== record.jobId) again.push(doc.docId);
        // In the index by now (the job runner added it): not missing, not counted.
        else if (!index.store.ids.doesExist([tenantId, doc.docId])) docs.push(doc);
      }
      // Not awaited here: the add takes its place in the queue behind this step.
      return { added: docs.length > 0 ? index.addDocuments(tenantId, docs) : undefined };
    });
    if (write.added) n += (await write.added).docs;
  };
  const readAll = async (list: Iterable<string>) => {
    for (const id of list) {
      await step();
      // A record failing authentication is logged and left out, not the end of every other document's turn.
      const doc = openOrSkip(deps, tenantId, id);
      if (!doc || doc.status !== 'INDEXED') continue;
      // An indexed mail without body text has no stored text: it is indexed by its headers alone.
      const pages = doc.artifacts.includes(TEXT_KIND) ? await text.get(tenantId, id) : [];
      if (!pages) continue;
      // Tags are read again in the add's transaction: a Tag meanwhile may have found nothing to rewrite.
      batch.push({ doc: valuedDoc(indexedDocument(doc, [...pages]), doc, documents, tenantId), record: doc });
      if (batch.length === INDEX_BATCH) await add();
    }
    if (batch.length > 0) await add();
  };
  await readAll(ids);
  for (let round = 0; again.length > 0 && round < REREADS; round++) {
    const changed = again;
    again = [];
    await readAll(changed);
  }
  if (again.length > 0)
    deps.log?.warn(
      { tenantId, documents: again.length },
      'documents changed each time they were read for the search index; the next start repairs them',
    );
  return n;
}

/** Times a document changed while it was read for the index is read again. */
const REREADS = 3;

/**
 * Admin.Reindex: drops the tenant's index and rebuilds it from the stored documents (their sealed text).
 * The drop lists the tenant for rebuild until the last document is in: cut short (shutdown, kill), the next
 * start resumes it (`rebuildIndexes`). Returns the documents indexed.
 */
export async function reindexTenant(
  documents: Documents,
  index: SearchIndex,
  tenantId: string,
  signal: AbortSignal,
): Promise<number> {
  // A call that reaches here as the server shuts down does not drop an index only to leave it to the next start.
  signal.throwIfAborted();
  await index.dropTenant(tenantId, { rebuild: true });
  const n = await indexStored(documents, index, tenantId, [...documents.deps.documents.ids(tenantId)], async () =>
    signal.throwIfAborted(),
  );
  await index.rebuilt(tenantId);
  return n;
}

/**
 * The server's reindexes: one at a time per tenant, so a second Admin.Reindex (a client retrying after its
 * deadline) joins the running one instead of dropping the index again, and the start-up rebuild and a
 * Reindex of one tenant do not run at once. All stop when `signal` aborts (the server's shutdown): the
 * tenant stays listed for rebuild and the next start resumes it.
 */
export class TenantReindexes {
  readonly #running = new Map<string, Promise<number>>();

  constructor(
    readonly documents: Documents,
    readonly index: SearchIndex,
    readonly signal: AbortSignal,
  ) {}

  /** Reindex the tenant, or join its running reindex; resolves with the documents indexed. */
  reindex(tenantId: string): Promise<number> {
    let run = this.#running.get(tenantId);
    if (run === undefined) {
      run = reindexTenant(this.documents, this.index, tenantId, this.signal).finally(() => this.#running.delete(tenantId));
      this.#running.set(tenantId, run);
    }
    return run;
  }

  /** Settles when no reindex is running. */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running.values()]);
  }
}

/**
 * Rebuild the indexes `SearchIndex.prepareFormat` lists (a layout change, or a rebuild or Reindex a crash
 * cut short), one tenant after another, in the background of a running server; a tenant without a record
 * key (erased) only loses its listing. Stops when the reindexes' signal aborts; what is left resumes at the
 * next start.
 */
export async function rebuildIndexes(reindexes: TenantReindexes, tenants: readonly string[]): Promise<number> {
  let n = 0;
  for (const t of tenants) {
    reindexes.signal.throwIfAborted();
    if (await reindexes.documents.deps.keyring.recordsReady(t)) n += await reindexes.reindex(t);
    else await reindexes.index.rebuilt(t);
  }
  return n;
}

/** Keys looked at between two turns of the event loop while comparing records with the index. */
const REPAIR_STEP = 1024;

/**
 * After a crash: a processing commit and its index write are two transactions, as are a delete and its
 * tombstone, so a kill between them leaves an INDEXED document missing from the index (never found) or a
 * deleted one still live there (counted in totals and facets). Compares each tenant's record ids with the
 * index's live ids (keys only, in steps) and repairs the difference: a missing INDEXED document is added
 * from its sealed text (in batches, as Reindex does), an id without a record is deleted. Tenants without a
 * record key (erased) are skipped, and so are tenants listed for rebuild (they are rebuilt whole).
 *
 * A Tag's record commit and the index's rewrite of the tags are two transactions too, and the ids agree
 * either way: the record commit leaves a pending-tags note that the index write clears, and every note left
 * (a kill between them, a failed index write) has the index re-read the record's tags
 * (`Documents.applyPendingTags`, through `onTagged`). This costs a read of the notes, not of every record.
 * Returns what it changed (`retagged`: the noted tag changes handed to the index again).
 */
export async function repairIndexes(
  documents: Documents,
  index: SearchIndex,
  signal: AbortSignal,
): Promise<{ added: number; removed: number; retagged: number }> {
  const { store, keyring } = documents.deps;
  const records = store.db('documents');
  const tenants = new Set([...documents.deps.documents.tenants(), ...index.tenants()]);
  // A tenant still listed for rebuild is rebuilt whole (a Reindex running now, or at the next start).
  const rebuilding = new Set(index.rebuildsPending());
  let added = 0;
  let removed = 0;
  let steps = 0;
  const step = async () => {
    if (++steps % REPAIR_STEP === 0) await new Promise((r) => setImmediate(r));
    signal.throwIfAborted();
  };
  for (const t of tenants) {
    if (rebuilding.has(t) || !(await keyring.recordsReady(t))) continue;
    const missing: string[] = [];
    for (const id of documents.deps.documents.ids(t)) {
      if (!index.store.ids.doesExist([t, id])) missing.push(id);
      await step();
    }
    const ghosts: string[] = [];
    for (const key of index.store.ids.getKeys({ start: [t], end: [t, RANGE_END] })) {
      const id = (key as [string, string])[1];
      if (!records.doesExist([t, id])) ghosts.push(id);
      await step();
    }
    try {
      if (ghosts.length > 0) removed += await index.deleteDocuments(t, ghosts);
      // Every record missing from the index is opened (most are legitimately not indexed: stored, failed,
      // queued), in steps like the key scans.
      added += await indexStored(documents, index, t, missing, step);
    } catch (err) {
      if (signal.aborted) throw err;
      // One tenant's failure (a text that does not open) does not keep the others unrepaired.
      documents.deps.log?.error({ err, tenantId: t }, 'repairing the search index of a tenant failed; going on with the next');
    }
  }
  // After the adds: a document just added has its current tags already, and rewriting them changes nothing.
  const retagged = await documents.applyPendingTags((t) => keyring.recordsReady(t), step);
  return { added, removed, retagged };
}
