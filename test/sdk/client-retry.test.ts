/**
 * ArchivarClient against a scripted DocumentsService (a real grpc-js server on 127.0.0.1:0): retry
 * policy of Upload, what is never retried, cancellation, message sizes, and download verification.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  generateX25519KeyPair,
  openStream,
  rewrapHeaderForRecipient,
  sealBuffer,
  splitSealed,
  verifySealedChunks,
} from '../../src/crypto/index.js';
import { DocumentStatus } from '../../src/gen/archivar/v1/common.js';
import {
  DocumentsServiceService,
  type DownloadRequest,
  type DownloadResponse,
  type UploadHeader,
  type UploadRequest,
  type UploadResponse,
} from '../../src/gen/archivar/v1/documents.js';
import {
  ArchivarClient,
  backoffMs,
  DEFAULT_RETRY_POLICY,
  MAX_UPLOAD_MESSAGE_BYTES,
  type RetryPolicy,
  withRetry,
} from '../../src/sdk/index.js';
import { tempDir } from '../helpers/temp-dir.js';

const FAST: RetryPolicy = { maxAttempts: 4, initialBackoffMs: 5, maxBackoffMs: 20, multiplier: 2 };
const serverKey = generateX25519KeyPair();

interface ReceivedUpload {
  header: UploadHeader;
  body: Buffer;
  messageSizes: number[];
  authorization: string;
}

/** What the scripted server does with the n-th upload attempt (1-based). */
type UploadScript = (attempt: number, received: ReceivedUpload) => grpc.ServiceError | 'hang' | null;

function fail(code: grpc.status, details: string, pushbackMs?: string): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  if (pushbackMs !== undefined) metadata.set('grpc-retry-pushback-ms', pushbackMs);
  return Object.assign(new Error(details), { code, details, metadata });
}

describe('ArchivarClient against a scripted server', () => {
  let server: grpc.Server;
  let address: string;
  let script: UploadScript = () => null;
  let uploads: ReceivedUpload[] = [];
  let cancelledUploads = 0;
  let downloadReply: (req: DownloadRequest) => DownloadResponse[] = () => [];
  let maxUploadBytes = 0n;

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(DocumentsServiceService, {
      getServerKey: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, { publicKey: serverKey.publicKey, keyId: serverKey.keyId, formatVersion: 1, maxUploadBytes }),
      upload: (call: grpc.ServerReadableStream<UploadRequest, UploadResponse>, cb: grpc.sendUnaryData<UploadResponse>) => {
        const parts: Buffer[] = [];
        const received: ReceivedUpload = {
          header: undefined as unknown as UploadHeader,
          body: Buffer.alloc(0),
          messageSizes: [],
          authorization: String(call.metadata.get('authorization')[0] ?? ''),
        };
        call.on('cancelled', () => cancelledUploads++);
        call.on('data', (m: UploadRequest) => {
          if (m.part?.$case === 'header') received.header = m.part.value;
          else if (m.part?.$case === 'chunk') {
            parts.push(m.part.value);
            received.messageSizes.push(m.part.value.byteLength);
          }
        });
        call.on('end', async () => {
          received.body = Buffer.concat(parts);
          uploads.push(received);
          const outcome = script(uploads.length, received);
          if (outcome === 'hang') return;
          if (outcome) return cb(outcome);
          const summary = await verifySealedChunks(
            received.header.sealedHeader,
            [received.body],
            { x25519: serverKey },
            {
              context: { kind: 'original' },
            },
          );
          cb(null, {
            documentId: `doc-for-${received.header.idempotencyKey}`,
            contentId: summary.contentId,
            storedSize: BigInt(received.body.byteLength),
            status: DocumentStatus.DOCUMENT_STATUS_QUEUED,
            duplicate: uploads.length > 1,
          });
        });
      },
      download: (call: grpc.ServerWritableStream<DownloadRequest, DownloadResponse>) => {
        for (const m of downloadReply(call.request)) call.write(m);
        call.end();
      },
    } as unknown as grpc.UntypedServiceImplementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    address = `127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  afterEach(() => {
    script = () => null;
    uploads = [];
    cancelledUploads = 0;
    maxUploadBytes = 0n;
  });

  const client = (policy: RetryPolicy = FAST) =>
    new ArchivarClient({ server: address, insecure: true, token: 'tok' }, { retry: policy, unaryTimeoutMs: 5000 });

  function openReceived(r: ReceivedUpload): Promise<Buffer> {
    return (async () => {
      const parts: Buffer[] = [];
      for await (const p of openStream(
        r.header.sealedHeader,
        [r.body],
        { x25519: serverKey },
        {
          maxPlaintextBytes: 1 << 30,
          context: { kind: 'original' },
        },
      ))
        parts.push(p);
      return Buffer.concat(parts);
    })();
  }

  it('retries an UNAVAILABLE upload with the same idempotency key and re-reads the file', async () => {
    const dir = tempDir();
    try {
      const file = path.join(dir.path, 'Rechnung März.pdf');
      const content = Buffer.concat([randomBytes(1_500_000), Buffer.alloc(2_000_000, 'a')]);
      fs.writeFileSync(file, content);
      script = (n) => (n === 1 ? fail(grpc.status.UNAVAILABLE, 'restarting') : null);
      const progress: number[] = [];
      const c = client();
      const res = await c.upload(file, { tags: ['inbox'], onProgress: (p) => progress.push(p.plaintextBytes) });
      c.close();

      expect(res.attempts).toBe(2);
      expect(uploads).toHaveLength(2);
      const [first, second] = uploads as [ReceivedUpload, ReceivedUpload];
      expect(second.header.idempotencyKey).toBe(first.header.idempotencyKey);
      expect(res.idempotencyKey).toBe(first.header.idempotencyKey);
      expect(res.documentId).toBe(`doc-for-${res.idempotencyKey}`);
      expect(second.header.fileName).toBe('Rechnung März.pdf');
      expect(second.header.tags).toEqual(['inbox']);
      expect(second.header.declaredSize).toBe(BigInt(content.byteLength));
      expect(second.authorization).toBe('Bearer tok');
      expect((await openReceived(second)).equals(content)).toBe(true);
      // Every chunk message is at most 1 MiB.
      expect(Math.max(...second.messageSizes)).toBeLessThanOrEqual(MAX_UPLOAD_MESSAGE_BYTES);
      expect(progress.at(-1)).toBe(content.byteLength);
    } finally {
      dir.cleanup();
    }
  });

  it('retries RESOURCE_EXHAUSTED, honours the server pushback, and gives up after maxAttempts', async () => {
    script = (n) => (n < 3 ? fail(grpc.status.RESOURCE_EXHAUSTED, 'queue full', '1') : null);
    const c = client();
    const res = await c.upload(Buffer.from('x'.repeat(1000)), { fileName: 'a.txt', idempotencyKey: 'key-1' });
    expect(res.attempts).toBe(3);
    expect(uploads.map((u) => u.header.idempotencyKey)).toEqual(['key-1', 'key-1', 'key-1']);

    uploads = [];
    script = () => fail(grpc.status.UNAVAILABLE, 'down');
    await expect(c.upload(Buffer.from('y'), { fileName: 'b.txt' })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(uploads).toHaveLength(FAST.maxAttempts);
    c.close();
  });

  it('never retries errors that are not transient, nor a one-shot stream it already consumed', async () => {
    const c = client();
    script = () => fail(grpc.status.INVALID_ARGUMENT, 'bad header');
    await expect(c.upload(Buffer.from('z'), { fileName: 'c.txt' })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect(uploads).toHaveLength(1);

    uploads = [];
    script = () => fail(grpc.status.UNAVAILABLE, 'down');
    await expect(c.upload(Readable.from([Buffer.from('once')]), { fileName: 'd.txt' })).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
    expect(uploads).toHaveLength(1);

    // A factory opens a fresh stream per attempt, so it is retried.
    uploads = [];
    script = (n) => (n === 1 ? fail(grpc.status.UNAVAILABLE, 'down') : null);
    const res = await c.upload(() => Readable.from([Buffer.from('again')]), { fileName: 'e.txt', declaredSize: 5 });
    expect(res.attempts).toBe(2);
    expect((await openReceived(uploads[1] as ReceivedUpload)).toString()).toBe('again');
    expect(uploads[1]?.header.declaredSize).toBe(5n);
    c.close();
  });

  it('stops before sending more than the server accepts, without retrying', async () => {
    maxUploadBytes = 64n * 1024n;
    const c = client();
    await expect(c.upload(randomBytes(300_000), { fileName: 'big.bin' })).rejects.toMatchObject({
      code: grpc.status.RESOURCE_EXHAUSTED,
      details: expect.stringMatching(/upload limit/),
    });
    c.close();
  });

  it('an aborted signal cancels the upload call on the server', async () => {
    script = () => 'hang';
    const c = client();
    const controller = new AbortController();
    const source = new PassThrough();
    source.write(randomBytes(10_000));
    const upload = c.upload(source, { fileName: 'slow.bin', signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(upload).rejects.toMatchObject({ code: grpc.status.CANCELLED });
    await new Promise((r) => setTimeout(r, 100));
    expect(cancelledUploads).toBe(1);
    c.close();
  });

  it('a deadline ends a stalled upload with DEADLINE_EXCEEDED and is not retried', async () => {
    script = () => 'hang';
    const c = client();
    await expect(c.upload(Buffer.from('abc'), { fileName: 'x', timeoutMs: 200 })).rejects.toMatchObject({
      code: grpc.status.DEADLINE_EXCEEDED,
    });
    expect(uploads).toHaveLength(1);
    c.close();
  });

  describe('download', () => {
    const content = Buffer.concat([randomBytes(600_000), Buffer.alloc(900_000, 'b')]);
    const stored = sealBuffer(content, { serverPublicKey: serverKey.publicKey, context: { kind: 'original' } });
    const { header: storedHeader, body } = splitSealed(stored);
    const contentId = '';

    function reply(opts: { tamper?: boolean; wrongContentId?: boolean } = {}) {
      return (req: DownloadRequest): DownloadResponse[] => {
        const sealedHeader = req.plaintext
          ? Buffer.alloc(0)
          : rewrapHeaderForRecipient(storedHeader, { x25519: serverKey }, req.recipientPublicKey);
        const payload = Buffer.from(req.plaintext ? content : body);
        if (opts.tamper) payload[payload.byteLength - 100] = (payload[payload.byteLength - 100] ?? 0) ^ 1;
        const digest = opts.wrongContentId ? 'f'.repeat(64) : contentId;
        const out: DownloadResponse[] = [
          {
            part: {
              $case: 'header',
              value: {
                fileName: 'a.bin',
                mediaType: 'application/octet-stream',
                size: BigInt(payload.byteLength),
                sealedHeader,
                contentId: digest,
              },
            },
          },
        ];
        for (let i = 0; i < payload.byteLength; i += 1 << 20)
          out.push({ part: { $case: 'chunk', value: payload.subarray(i, i + (1 << 20)) } });
        return out;
      };
    }

    it('opens the sealed stream with an ephemeral key into a file, and plaintext into a Writable', async () => {
      const dir = tempDir();
      const c = client();
      try {
        downloadReply = reply();
        const to = path.join(dir.path, 'out.bin');
        const res = await c.download('d1', { to });
        expect(res.sealed).toBe(true);
        expect(fs.readFileSync(to).equals(content)).toBe(true);
        expect(fs.readdirSync(dir.path)).toEqual(['out.bin']);

        const sink = new PassThrough();
        const parts: Buffer[] = [];
        sink.on('data', (d: Buffer) => parts.push(d));
        const plain = await c.download('d1', { to: sink, plaintext: true });
        expect(plain.sealed).toBe(false);
        expect(Buffer.concat(parts).equals(content)).toBe(true);
      } finally {
        c.close();
        dir.cleanup();
      }
    });

    it('a tampered stream or a wrong content id is DATA_LOSS and leaves no file behind', async () => {
      const dir = tempDir();
      const c = client();
      try {
        const to = path.join(dir.path, 'out.bin');
        downloadReply = reply({ tamper: true });
        await expect(c.download('d1', { to })).rejects.toMatchObject({ code: grpc.status.DATA_LOSS });
        downloadReply = reply({ wrongContentId: true });
        await expect(c.download('d1', { to, plaintext: true })).rejects.toMatchObject({ code: grpc.status.DATA_LOSS });
        expect(fs.readdirSync(dir.path)).toEqual([]);
      } finally {
        c.close();
        dir.cleanup();
      }
    });
  });
});

describe('retry policy', () => {
  it('backs off exponentially with full jitter, capped', () => {
    expect(backoffMs(DEFAULT_RETRY_POLICY, 1, () => 0.999)).toBe(249);
    expect(backoffMs(DEFAULT_RETRY_POLICY, 3, () => 0.5)).toBe(500);
    expect(backoffMs(DEFAULT_RETRY_POLICY, 20, () => 0.999)).toBe(4995);
    expect(backoffMs(DEFAULT_RETRY_POLICY, 2, () => 0)).toBe(0);
  });

  it('stops on a negative pushback and on abort during the wait', async () => {
    let calls = 0;
    const negative = withRetry(
      async () => {
        calls++;
        throw fail(grpc.status.UNAVAILABLE, 'x', '-1');
      },
      { policy: FAST, shouldRetry: () => true },
    );
    await expect(negative).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(calls).toBe(1);

    const controller = new AbortController();
    const slow: RetryPolicy = { ...FAST, initialBackoffMs: 10_000, maxBackoffMs: 10_000 };
    const waiting = withRetry(
      async () => {
        throw fail(grpc.status.UNAVAILABLE, 'x');
      },
      { policy: slow, signal: controller.signal, shouldRetry: () => true, random: () => 1 },
    );
    setTimeout(() => controller.abort(), 20);
    await expect(waiting).rejects.toMatchObject({ code: grpc.status.CANCELLED });
  });
});
