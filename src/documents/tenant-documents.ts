import type { DocumentSummary, TenantDocuments } from '../accounts/ports.js';
import { isSealedFormatError } from '../crypto/index.js';
import { hasOriginal } from '../store/document-store.js';
import type { Documents } from './documents.js';

/** The documents part as the accounts part sees it: listing and opening for export, deletion on erasure. */
export function tenantDocumentsOf(documents: Documents): TenantDocuments {
  const { deps } = documents;
  return {
    async *list(tenantId: string, signal: AbortSignal): AsyncIterable<DocumentSummary> {
      for (const id of deps.documents.ids(tenantId)) {
        signal.throwIfAborted();
        const d = deps.documents.get(tenantId, id);
        if (!d) continue;
        yield {
          id: d.id,
          fileName: d.fileName,
          mediaType: d.mediaType,
          sizeBytes: hasOriginal(d) ? d.size : 0,
          createdMs: d.createdMs,
          metadata: { ...d.metadata, tags: d.tags, status: d.status, statusReason: d.statusReason, parentId: d.parentId },
          stored: hasOriginal(d),
        };
      }
    },
    async *open(tenantId: string, documentId: string, signal: AbortSignal): AsyncIterable<Buffer> {
      const artifact = await documents.original(tenantId, documentId, 'plaintext');
      for await (const piece of artifact.body) {
        signal.throwIfAborted();
        yield piece;
      }
    },
    async deleteTenant(tenantId: string): Promise<number> {
      // Runs after the tenant key is gone: nothing of the tenant can be opened, so its keys are deleted as ranges.
      return documents.eraseTenant(tenantId);
    },
    async stats() {
      // storedSize is inside each sealed record: every tenant's keys are loaded to add them up. What is left
      // of an erased tenant, or a record that fails authentication, counts as a document without bytes.
      let storedBytes = 0;
      for (const tenantId of [...deps.documents.tenants()]) {
        if (!(await deps.keyring.recordsReady(tenantId))) continue;
        for (const id of deps.documents.ids(tenantId)) {
          try {
            storedBytes += deps.documents.get(tenantId, id)?.storedSize ?? 0;
          } catch (err) {
            if (!isSealedFormatError(err)) throw err;
          }
        }
      }
      return { documents: deps.documents.count(), storedBytes };
    },
  };
}
