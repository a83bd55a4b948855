import type { AnalyserLanguage, SearchIndex, TextStore } from '../index/index.js';
import type { Documents } from './documents.js';
import { type DocumentIndexer, TEXT_KIND } from './processing.js';

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
