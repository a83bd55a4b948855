import { createHash } from 'node:crypto';
import { mapSealedError } from './crypto-errors.js';
import type { Artifact, Documents } from './documents.js';

/**
 * Extracted text (UTF-8, form feed between pages) or word boxes (JSON, docs/pipeline.md), opened from
 * their tenant-sealed blob and served as plaintext (over TLS).
 */
export async function extractedArtifact(
  documents: Documents,
  tenantId: string,
  id: string,
  kind: 'text' | 'words',
): Promise<Artifact> {
  const doc = documents.get(tenantId, id);
  documents.requireArtifact(doc, kind);
  const { blobs, keyring } = documents.deps;
  const sealed = Buffer.concat([...blobs.read(tenantId, id, kind)]);
  let plain: Buffer;
  try {
    plain = await keyring.openForTenant(tenantId, sealed, { kind, id });
  } catch (err) {
    throw mapSealedError(err, `stored ${kind}`);
  }
  const base = doc.fileName.replace(/\.[^.]*$/, '') || doc.fileName;
  return {
    fileName: kind === 'text' ? `${base}.txt` : `${base}.words.json`,
    mediaType: kind === 'text' ? 'text/plain; charset=utf-8' : 'application/json',
    size: plain.byteLength,
    contentId: createHash('sha256').update(plain).digest('hex'),
    sealedHeader: Buffer.alloc(0),
    body: (async function* () {
      yield plain;
    })(),
  };
}
