import fs from 'node:fs';
import path from 'node:path';
import type { DocumentStatus } from '../../src/gen/archivar/v1/common.js';
import { ArtifactKind } from '../../src/gen/archivar/v1/common.js';
import type { Document, DownloadResponse, WatchProcessingResponse } from '../../src/gen/archivar/v1/documents.js';
import { type Connection, unary } from '../../src/sdk/index.js';
import { uploadPlaintext } from '../helpers/raw-upload.js';
import type { TestServer } from '../helpers/test-server.js';

/** Upload + the server key, for one test server. */
export async function uploader(t: TestServer) {
  const serverKey = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
  return async (bytes: Buffer | string, fileName: string, mediaType = '') => {
    const res = await uploadPlaintext(t.client, serverKey, bytes, { fileName, mediaType });
    return res.documentId;
  };
}

export async function getDoc(client: Connection, documentId: string): Promise<Document> {
  const res = await unary(client.documents.get.bind(client.documents), { documentId });
  if (!res.document) throw new Error('no document in the response');
  return res.document;
}

export function statusOf(doc: Document): [DocumentStatus, string] {
  return [doc.status, doc.statusReason];
}

/** Downloads an artifact as plaintext; returns its bytes and header. */
export async function downloadKind(
  client: Connection,
  documentId: string,
  kind: ArtifactKind,
): Promise<{ bytes: Buffer; mediaType: string; fileName: string }> {
  const call = client.documents.download({ documentId, kind, plaintext: true, page: 0, recipientPublicKey: Buffer.alloc(0) });
  const chunks: Buffer[] = [];
  let mediaType = '';
  let fileName = '';
  for await (const m of call as AsyncIterable<DownloadResponse>) {
    if (m.part?.$case === 'header') {
      mediaType = m.part.value.mediaType;
      fileName = m.part.value.fileName;
    } else if (m.part?.$case === 'chunk') chunks.push(m.part.value);
  }
  return { bytes: Buffer.concat(chunks), mediaType, fileName };
}

export const TEXT = ArtifactKind.ARTIFACT_KIND_TEXT;
export const WORDS = ArtifactKind.ARTIFACT_KIND_WORDS;

/** Every WatchProcessing event of one document until its final state. */
export function watchAll(client: Connection, documentId: string): Promise<WatchProcessingResponse[]> {
  return new Promise((resolve, reject) => {
    const events: WatchProcessingResponse[] = [];
    const call = client.documents.watchProcessing({ documentId });
    call.on('data', (e: WatchProcessingResponse) => events.push(e));
    call.on('end', () => resolve(events));
    call.on('error', reject);
  });
}

/** Every regular file under `dir`. */
export function* walk(dir: string): Generator<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(p);
    else if (entry.isFile()) yield p;
  }
}

/** The word-box JSON served by Download kind `words` (docs/pipeline.md). */
export interface WordsJson {
  format: string;
  pages: {
    page: number;
    width: number;
    height: number;
    unit: 'px' | 'pt';
    dpi?: number;
    confidence?: number;
    words: [string, number, number, number, number, number][];
  }[];
}
