import type { DocumentSummary, TenantDocuments } from '../accounts/ports.js';
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
      // Top-level documents first; delete() takes each one's descendants with it.
      let n = 0;
      for (const id of [...deps.documents.ids(tenantId)]) {
        const doc = deps.documents.get(tenantId, id);
        if (doc && doc.parentId === null) n += (await documents.delete(tenantId, id)).length;
      }
      // Orphans (a child whose parent vanished mid-way) go too.
      for (const id of [...deps.documents.ids(tenantId)]) n += (await documents.delete(tenantId, id)).length;
      // Deletes leave tombstones until a merge; erasure removes the tenant's whole index at once.
      await documents.onTenantErased?.(tenantId);
      return n;
    },
    async stats() {
      let storedBytes = 0;
      for (const { value } of deps.store.db<{ storedSize: number }>('documents').getRange()) storedBytes += value.storedSize;
      return { documents: deps.documents.count(), storedBytes };
    },
  };
}
