import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { status } from '@grpc/grpc-js';
import { generateX25519KeyPair, isSealedFormatError, type SealContext } from '../crypto/index.js';
import { ArtifactKind } from '../gen/archivar/v1/common.js';
import type { DocumentsServiceClient, DownloadHeader, DownloadResponse } from '../gen/archivar/v1/documents.js';
import { type CallSettings, callOptions, cancelOnAbort, throwIfAborted } from './call-settings.js';
import { ArchivarError } from './errors.js';
import { open } from './sealing.js';

export interface DownloadOptions extends CallSettings {
  /** @default ArtifactKind.ARTIFACT_KIND_ORIGINAL */
  kind?: ArtifactKind | undefined;
  /** 1-based page for ARTIFACT_KIND_PAGE. */
  page?: number | undefined;
  /**
   * Ask the server to open the artifact and stream plaintext over TLS. Otherwise the sealed form
   * comes re-wrapped to a fresh ephemeral key and is opened here. @default false for originals,
   * true for previews (whose binding names the tenant, which the client does not hold; pass
   * `context` to open them locally).
   */
  plaintext?: boolean | undefined;
  /** Binding of a sealed artifact. @default { kind: 'original' } */
  context?: SealContext | undefined;
  /** A file path (written to a temporary sibling, renamed once verified) or a Writable. */
  to: string | Writable;
  /** End the Writable when done. @default true (ignored for paths) */
  end?: boolean | undefined;
  /** Cap on the decompressed size when opening locally. */
  maxPlaintextBytes?: number | undefined;
}

export interface DownloadResult {
  readonly fileName: string;
  readonly mediaType: string;
  /** Hex SHA-256 of the plaintext, verified against what was written. */
  readonly contentId: string;
  /** Plaintext bytes written. */
  readonly bytes: number;
  /** Whether the bytes travelled sealed and were opened locally. */
  readonly sealed: boolean;
}

function protocolError(details: string): ArchivarError {
  return new ArchivarError(status.INTERNAL, `malformed Download stream: ${details}`);
}

/** The chunk payloads after the header, counted against the header's declared size. */
async function* chunkPayloads(messages: AsyncIterator<DownloadResponse>, header: DownloadHeader): AsyncGenerator<Buffer> {
  let received = 0n;
  for (;;) {
    const next = await messages.next();
    if (next.done) break;
    const part = next.value.part;
    if (part?.$case !== 'chunk') throw protocolError('a second header');
    received += BigInt(part.value.byteLength);
    if (received > header.size) throw protocolError('more bytes than the header announced');
    yield part.value;
  }
  if (received !== header.size) throw protocolError(`${received} of ${header.size} announced bytes arrived`);
}

async function* hashed(source: AsyncIterable<Buffer>, hash: ReturnType<typeof createHash>, count: (n: number) => void) {
  for await (const piece of source) {
    hash.update(piece);
    count(piece.byteLength);
    yield piece;
  }
}

/** Resolves on 'drain'; rejects when the Writable fails or closes first. Leaves no listeners behind. */
function drained(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      out.off('drain', onDrain);
      out.off('error', onError);
      out.off('close', onClose);
    };
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onError = (err: unknown) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('the output was closed before the download finished'));
    };
    out.on('drain', onDrain);
    out.on('error', onError);
    out.on('close', onClose);
  });
}

async function writeAll(source: AsyncIterable<Buffer>, out: Writable): Promise<void> {
  let failure: unknown;
  const onError = (err: unknown) => {
    failure = err;
  };
  out.on('error', onError);
  try {
    for await (const piece of source) {
      if (failure) throw failure;
      if (!out.write(piece)) await drained(out);
    }
    if (failure) throw failure;
  } finally {
    out.off('error', onError);
  }
}

/**
 * Downloads one artifact, verifies it (chunk tags and digest when sealed; SHA-256 and length when
 * plaintext) and writes it to `to`. A path is only created once everything verified.
 */
export async function downloadArtifact(
  documents: DocumentsServiceClient,
  documentId: string,
  options: DownloadOptions,
): Promise<DownloadResult> {
  throwIfAborted(options.signal);
  // Unspecified (0) is the original, as the server takes it.
  const kind = options.kind || ArtifactKind.ARTIFACT_KIND_ORIGINAL;
  const isOriginal = kind === ArtifactKind.ARTIFACT_KIND_ORIGINAL;
  const plaintext = options.plaintext ?? (!isOriginal && options.context === undefined);
  const recipient = plaintext ? undefined : generateX25519KeyPair();
  const call = documents.download(
    {
      documentId,
      kind,
      page: options.page ?? 0,
      plaintext,
      recipientPublicKey: recipient?.publicKey ?? Buffer.alloc(0),
    },
    callOptions(options),
  );
  const detach = cancelOnAbort(call, options.signal);
  const messages = (call as AsyncIterable<DownloadResponse>)[Symbol.asyncIterator]();

  let tempPath: string | undefined;
  let out: Writable | undefined;
  try {
    const first = await messages.next();
    if (first.done || first.value.part?.$case !== 'header') throw protocolError('no header');
    const header = first.value.part.value;
    const payload = chunkPayloads(messages, header);

    let bytes = 0;
    const hash = createHash('sha256');
    let plain: AsyncIterable<Buffer>;
    let opened: ReturnType<typeof open> | undefined;
    if (recipient) {
      if (header.sealedHeader.byteLength === 0) throw protocolError('no sealed header for a sealed download');
      opened = open(header.sealedHeader, payload, recipient, {
        context: options.context ?? { kind: 'original' },
        maxPlaintextBytes: options.maxPlaintextBytes,
      });
      plain = opened;
    } else {
      plain = payload;
    }

    if (typeof options.to === 'string') {
      tempPath = path.join(path.dirname(options.to), `.${path.basename(options.to)}.${randomBytes(6).toString('hex')}.part`);
      out = fs.createWriteStream(tempPath, { flags: 'wx', mode: 0o600 });
      await once(out, 'open');
    } else {
      out = options.to;
    }
    await writeAll(
      hashed(plain, hash, (n) => {
        bytes += n;
      }),
      out,
    );
    const contentId = hash.digest('hex');
    if (opened) await opened.summary; // the trailer digest, checked by the opener
    if (header.contentId !== '' && header.contentId !== contentId) {
      throw new ArchivarError(status.DATA_LOSS, 'downloaded bytes do not match the content id the server announced');
    }

    if (tempPath !== undefined && out) {
      const file = out as fs.WriteStream;
      file.end();
      await once(file, 'close');
      await fs.promises.rename(tempPath, options.to as string);
      tempPath = undefined;
    } else if (options.end !== false) {
      out.end();
    }
    return { fileName: header.fileName, mediaType: header.mediaType, contentId, bytes, sealed: recipient !== undefined };
  } catch (err) {
    call.cancel();
    if (isSealedFormatError(err)) {
      throw new ArchivarError(status.DATA_LOSS, `downloaded object failed verification: ${err.message}`, { cause: err });
    }
    throw err;
  } finally {
    detach();
    if (tempPath !== undefined) {
      if (out && !out.closed) {
        const closed = once(out, 'close').catch(() => {});
        out.destroy();
        await closed;
      }
      await fs.promises.rm(tempPath, { force: true });
    }
  }
}
