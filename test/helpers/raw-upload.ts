import { sealBuffer, splitSealed } from '../../src/crypto/index.js';
import type { UploadHeader, UploadRequest, UploadResponse } from '../../src/gen/archivar/v1/documents.js';
import type { Connection } from '../../src/sdk/index.js';

/** Sends upload messages as given (so tests can send what a correct SDK never would). */
export function rawUpload(
  client: Connection,
  messages: UploadRequest[],
  options: { cancelAfter?: number } = {},
): Promise<UploadResponse> {
  return new Promise((resolve, reject) => {
    const call = client.documents.upload((err, res) => (err ? reject(err) : resolve(res as UploadResponse)));
    messages.forEach((m, i) => {
      if (options.cancelAfter === i) call.cancel();
      else if (options.cancelAfter === undefined || i < options.cancelAfter) call.write(m);
    });
    if (options.cancelAfter === undefined) call.end();
  });
}

export function headerMessage(sealedHeader: Buffer, extra: Partial<UploadHeader> = {}): UploadRequest {
  return {
    part: {
      $case: 'header',
      value: { fileName: 'doc.txt', mediaType: 'text/plain', tags: [], idempotencyKey: '', sealedHeader, ...extra },
    },
  };
}

export function chunkMessages(body: Buffer, size = 64 * 1024): UploadRequest[] {
  const out: UploadRequest[] = [];
  for (let i = 0; i < body.byteLength; i += size) out.push({ part: { $case: 'chunk', value: body.subarray(i, i + size) } });
  return out;
}

/** Seals like a client does (to the server's public key, bound to kind 'original'). */
export function sealForServer(plaintext: Buffer | string, serverPublicKey: Uint8Array) {
  return splitSealed(sealBuffer(plaintext, { serverPublicKey, context: { kind: 'original' } }));
}

/** Seals and uploads a whole document. */
export function uploadPlaintext(
  client: Connection,
  serverPublicKey: Uint8Array,
  plaintext: Buffer | string,
  extra: Partial<UploadHeader> = {},
) {
  const s = sealForServer(plaintext, serverPublicKey);
  return rawUpload(client, [headerMessage(s.headerBytes, extra), ...chunkMessages(s.body)]);
}
