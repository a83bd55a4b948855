import type { AnalyserLanguage, SearchIndex, TextStore } from '../index/index.js';
import type { Documents } from './documents.js';
import { type DocumentIndexer, indexedDocument, TEXT_KIND } from './processing.js';

/**
 * Snippet text for the index, read from the tenant-sealed text artifact (UTF-8, form feed between pages)
 * and opened in memory only when a hit needs a snippet. The index never holds document text itself.
 */
export function sealedTextStore(documents: Documents): TextStore {
  const { blobs, keyring } = documents.deps;
  return {
    async get(tenantId, docId) {
      const pieces = [...blobs.read(tenantId, docId, TEXT_KIND)];
      if (pieces.length === 0) return undefined;
      const plain = await keyring.openForTenant(tenantId, Buffer.concat(pieces), { kind: TEXT_KIND, id: docId });
      return plain.toString('utf8').split('\f');
    },
  };
}

const LANGUAGES = new Set<string>(['deu', 'eng', 'deu+eng']);

/** The processing pipeline's index hook, backed by our LMDB search index. */
export function searchIndexer(index: SearchIndex): DocumentIndexer {
  return {
    async add(tenantId, doc) {
      await index.addDocuments(tenantId, [
        {
          docId: doc.docId,
          ...(LANGUAGES.has(doc.language) ? { language: doc.language as AnalyserLanguage } : {}),
          fields: doc.fields,
          createdMs: doc.createdMs,
          mediaType: doc.mediaType,
        },
      ]);
    },
    async remove(tenantId, docId) {
      await index.deleteDocument(tenantId, docId);
    },
  };
}

/**
 * Admin.Reindex: drops the tenant's index and rebuilds it from the stored documents (their sealed text),
 * in batches so no write transaction grows without bound. Returns the documents indexed.
 */
export async function reindexTenant(
  documents: Documents,
  index: SearchIndex,
  tenantId: string,
  signal: AbortSignal,
): Promise<number> {
  const text = sealedTextStore(documents);
  await index.dropTenant(tenantId);
  let batch: Parameters<SearchIndex['addDocuments']>[1][number][] = [];
  let n = 0;
  for (const id of [...documents.deps.documents.ids(tenantId)]) {
    signal.throwIfAborted();
    const doc = documents.deps.documents.get(tenantId, id);
    if (!doc || doc.status !== 'INDEXED') continue;
    const pages = await text.get(tenantId, id);
    if (!pages) continue;
    const d = indexedDocument(doc, [...pages]);
    batch.push({
      docId: d.docId,
      ...(LANGUAGES.has(d.language) ? { language: d.language as AnalyserLanguage } : {}),
      fields: d.fields,
      createdMs: d.createdMs,
      mediaType: d.mediaType,
    });
    if (batch.length === 200) {
      n += (await index.addDocuments(tenantId, batch)).docs;
      batch = [];
    }
  }
  if (batch.length > 0) n += (await index.addDocuments(tenantId, batch)).docs;
  return n;
}
