import { unwrapFileKeyForTenant } from '../crypto/index.js';
import type { DocumentsDeps } from '../documents/deps.js';
import type { DocumentRecord } from '../store/document-store.js';
import type { SealedInput } from './tasks.js';

/**
 * A stored original ready to move into a worker: its file key unwrapped with the tenant key, its sealed
 * body read into one buffer. `transfer` lists what the pool moves instead of copying (unusable here after).
 */
export async function sealedInputOf(
  deps: DocumentsDeps,
  doc: DocumentRecord,
): Promise<{ input: SealedInput; transfer: ArrayBuffer[] }> {
  const tenantKey = await deps.keyring.tenantKey(doc.tenantId);
  const key = unwrapFileKeyForTenant(doc.header, tenantKey, { tenantId: doc.tenantId, documentId: doc.id, kind: 'original' });
  // Own ArrayBuffers (not Node's shared pool), so they can be moved to the worker.
  const fileKey = new Uint8Array(key);
  key.fill(0);
  const body = new Uint8Array(doc.storedSize);
  let offset = 0;
  for (const piece of deps.blobs.read(doc.tenantId, doc.id, 'original')) {
    body.set(piece, offset);
    offset += piece.byteLength;
  }
  return {
    input: {
      fileKey,
      header: new Uint8Array(doc.header),
      body,
      contentId: doc.contentId,
      maxPlaintextBytes: deps.config.documents.maxDocumentBytes,
    },
    transfer: [fileKey.buffer, body.buffer],
  };
}
