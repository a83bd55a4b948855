import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compress } from 'zstd-napi';
import { generateX25519KeyPair, openStream, sealBuffer, splitSealed } from '../../src/crypto/index.js';
import { DocumentStatus } from '../../src/gen/archivar/v1/common.js';
import type { UploadRequest } from '../../src/gen/archivar/v1/documents.js';
import { type Connection, connect, unary } from '../../src/sdk/index.js';
import { chunkMessages, headerMessage, rawUpload, sealForServer } from '../helpers/raw-upload.js';
import { LIST_ALL, startTestServer, TEST_PRINCIPAL, TEST_TOKEN, type TestServer, testVerifier } from '../helpers/test-server.js';

const OTHER_TOKEN = 'other-tenant-token-0123456789';

describe('Documents upload, download and delete', () => {
  let t: TestServer;
  let serverKey: Buffer;
  let other: Connection;

  beforeAll(async () => {
    t = await startTestServer(
      { 'max-upload-bytes': String(4 * 1024 * 1024), 'max-document-bytes': String(8 * 1024 * 1024) },
      testVerifier({
        [TEST_TOKEN]: TEST_PRINCIPAL,
        [OTHER_TOKEN]: { userId: 'u2', tenantId: 't2', role: 'owner', sessionId: 's2' },
      }),
    );
    other = connect({ server: t.address, insecure: true, token: OTHER_TOKEN });
    serverKey = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
  });
  afterAll(async () => {
    other.close();
    await t.stop();
  });

  function seal(plaintext: Buffer | string) {
    return sealForServer(plaintext, serverKey);
  }

  async function upload(plaintext: Buffer | string, extra = {}) {
    const s = seal(plaintext);
    return rawUpload(t.client, [headerMessage(s.headerBytes, extra), ...chunkMessages(s.body)]);
  }

  it('stores a sealed upload, processes it to INDEXED, and round-trips the bytes both ways', async () => {
    const plaintext = Buffer.from(`Rechnung RE-2024-0042 über 1.234,56 €\n${'Zeile\n'.repeat(50_000)}`);
    const res = await upload(plaintext, { declaredSize: BigInt(plaintext.byteLength), tags: ['b', 'a', 'a'] });
    expect(res.status).toBe(DocumentStatus.DOCUMENT_STATUS_QUEUED);
    expect(res.duplicate).toBe(false);
    expect(res.contentId).toMatch(/^[0-9a-f]{64}$/);
    await t.server.runner.whenIdle();
    const got = await unary(t.client.documents.get.bind(t.client.documents), { documentId: res.documentId });
    expect([got.document?.status, got.document?.statusReason]).toEqual([DocumentStatus.DOCUMENT_STATUS_INDEXED, '']);
    expect(got.document?.size).toBe(BigInt(plaintext.byteLength));
    expect(got.document?.tags).toEqual(['a', 'b']);

    // Plaintext download.
    const plain = await download(t.client, { documentId: res.documentId, plaintext: true });
    expect(Buffer.concat(plain.chunks).equals(plaintext)).toBe(true);
    // Sealed download re-wrapped to an ephemeral key of ours.
    const mine = generateX25519KeyPair();
    const sealed = await download(t.client, { documentId: res.documentId, recipientPublicKey: mine.publicKey });
    const opened: Buffer[] = [];
    for await (const p of openStream(
      sealed.header,
      sealed.chunks,
      { x25519: mine },
      { maxPlaintextBytes: 1 << 24, context: { kind: 'original' } },
    ))
      opened.push(p);
    expect(Buffer.concat(opened).equals(plaintext)).toBe(true);
    // A 32-byte key no key agreement works with (all zeros, a low-order point) is the caller's to fix.
    await expect(download(t.client, { documentId: res.documentId, recipientPublicKey: Buffer.alloc(32) })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/^recipient_public_key is not a usable X25519 key/),
    });
  });

  it('returns the same document for a repeated idempotency key, and flags duplicate content', async () => {
    const a = await upload('same idempotency', { idempotencyKey: 'key-1' });
    const b = await upload('different bytes, same key', { idempotencyKey: 'key-1' });
    expect(b.documentId).toBe(a.documentId);
    const c = await upload('same idempotency');
    expect(c).toMatchObject({ documentId: a.documentId, duplicate: true });
    // The key names one upload: another file (name or declared size) under it is refused, nothing stored.
    await expect(upload('another file', { idempotencyKey: 'key-1', fileName: 'other.txt' })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/idempotency key was used for another upload \("doc.txt", 16 bytes\)/),
    });
    await expect(upload('same idempotencyX', { idempotencyKey: 'key-1', declaredSize: 17n })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    // The same content again with new tags: the stored document takes them (in any case, once).
    const d = await upload('same idempotency', { tags: ['Neu', 'neu'] });
    expect(d).toMatchObject({ documentId: a.documentId, duplicate: true });
    const got = await unary(t.client.documents.get.bind(t.client.documents), { documentId: a.documentId });
    expect(got.document?.tags).toEqual(['Neu']);
  });

  it('refuses an empty file, and keeps nothing of it', async () => {
    const before = await unary(t.client.documents.list.bind(t.client.documents), { ...LIST_ALL, pageSize: 100 });
    await expect(upload('', { fileName: 'empty.txt' })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/the file is empty/),
    });
    const after = await unary(t.client.documents.list.bind(t.client.documents), { ...LIST_ALL, pageSize: 100 });
    expect(after.documents.length).toBe(before.documents.length);
  });

  it('refuses an empty document id, and answers NOT_FOUND for one no document has', async () => {
    const get = (documentId: string) => unary(t.client.documents.get.bind(t.client.documents), { documentId });
    await expect(get('')).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'document_id is required' });
    await expect(get('not-an-id')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    // Every RPC that names a document says so, not NOT_FOUND 'no document ""'.
    const c = t.client.documents;
    const required = { code: grpc.status.INVALID_ARGUMENT, details: 'document_id is required' };
    await expect(unary(c.delete.bind(c), { documentId: '' })).rejects.toMatchObject(required);
    await expect(unary(c.tag.bind(c), { documentId: '', add: ['x'], remove: [] })).rejects.toMatchObject(required);
    const drain = async (call: AsyncIterable<unknown>) => {
      for await (const _ of call);
    };
    await expect(
      drain(c.download({ documentId: '', kind: 0, plaintext: true, page: 0, recipientPublicKey: Buffer.alloc(0) })),
    ).rejects.toMatchObject(required);
    // WatchProcessing is the exception: an empty id watches every document of the tenant.
  });

  it('refuses a created range that ends before it starts', async () => {
    const list = (startMs: bigint, endMs: bigint) =>
      unary(t.client.documents.list.bind(t.client.documents), { ...LIST_ALL, created: { startMs, endMs } });
    await expect(list(2000n, 1000n)).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/must end after it starts/),
    });
    await expect(list(-1n, 0n)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect((await list(1n, 0n)).documents.length).toBeGreaterThan(0);
    expect((await list(0n, 1n)).documents).toEqual([]);
  });

  it('hides one tenant’s documents from another (NOT_FOUND like an unknown id)', async () => {
    const res = await upload('tenant one secret');
    const err = (await unary(other.documents.get.bind(other.documents), { documentId: res.documentId }).catch(
      (e) => e,
    )) as grpc.ServiceError;
    const unknown = (await unary(other.documents.get.bind(other.documents), { documentId: 'doc_nope' }).catch(
      (e) => e,
    )) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
    const list = await unary(other.documents.list.bind(other.documents), LIST_ALL);
    expect(list.documents).toEqual([]);
    await expect(download(other, { documentId: res.documentId, plaintext: true })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
  });

  describe('bad input gets a clear status and leaves nothing behind', () => {
    const cases: Array<[string, () => Promise<UploadRequest[]>, grpc.status, RegExp]> = [
      [
        'no header',
        async () => chunkMessages(Buffer.from('x')),
        grpc.status.INVALID_ARGUMENT,
        /first upload message must be the header/,
      ],
      [
        'two headers',
        async () => {
          const s = seal('two');
          return [headerMessage(s.headerBytes), headerMessage(s.headerBytes), ...chunkMessages(s.body)];
        },
        grpc.status.INVALID_ARGUMENT,
        /second header/,
      ],
      [
        'a flipped bit',
        async () => {
          const s = seal('flip me please');
          const body = Buffer.from(s.body);
          body[5] = (body[5] ?? 0) ^ 1;
          return [headerMessage(s.headerBytes), ...chunkMessages(body)];
        },
        grpc.status.DATA_LOSS,
        /authentication|sealed upload/,
      ],
      [
        'a truncated stream',
        async () => {
          const s = seal(Buffer.alloc(600_000, 7));
          return [headerMessage(s.headerBytes), ...chunkMessages(s.body.subarray(0, s.body.byteLength - 20))];
        },
        grpc.status.DATA_LOSS,
        /sealed upload/,
      ],
      [
        'reordered chunks',
        async () => {
          const s = seal(Buffer.from(randomBytes(700_000)));
          const cs = Math.ceil(s.body.byteLength / 3);
          const parts = [s.body.subarray(cs, 2 * cs), s.body.subarray(0, cs), s.body.subarray(2 * cs)];
          return [headerMessage(s.headerBytes), ...parts.map((p) => ({ part: { $case: 'chunk' as const, value: p } }))];
        },
        grpc.status.DATA_LOSS,
        /sealed upload/,
      ],
      [
        'a chunk from another file',
        async () => {
          const a = seal('file A content');
          const b = seal('file B content');
          return [headerMessage(a.headerBytes), ...chunkMessages(b.body)];
        },
        grpc.status.DATA_LOSS,
        /sealed upload/,
      ],
      [
        'the wrong server key',
        async () => {
          const k = generateX25519KeyPair();
          const s = splitSealed(sealBuffer('x', { serverPublicKey: k.publicKey, context: { kind: 'original' } }));
          return [headerMessage(s.headerBytes), ...chunkMessages(s.body)];
        },
        grpc.status.INVALID_ARGUMENT,
        /not wrapped to this server/,
      ],
      [
        'a declared size that differs',
        async () => {
          const s = seal('twelve bytes');
          return [headerMessage(s.headerBytes, { declaredSize: 13n }), ...chunkMessages(s.body)];
        },
        grpc.status.INVALID_ARGUMENT,
        /declared size 13/,
      ],
      [
        'an unknown format version',
        async () => {
          const s = seal('v');
          const h = Buffer.from(s.headerBytes);
          h[4] = 9;
          return [headerMessage(h), ...chunkMessages(s.body)];
        },
        grpc.status.INVALID_ARGUMENT,
        /version|sealed header/,
      ],
      [
        'a sealed header that is no header at all',
        async () => {
          const s = seal('garbage header');
          return [headerMessage(Buffer.from('nope')), ...chunkMessages(s.body)];
        },
        grpc.status.INVALID_ARGUMENT,
        /sealed header/,
      ],
      [
        'an upload over the size limit',
        async () => {
          const s = seal(Buffer.from(randomBytes(5 * 1024 * 1024)));
          return [headerMessage(s.headerBytes), ...chunkMessages(s.body, 1024 * 1024)];
        },
        grpc.status.RESOURCE_EXHAUSTED,
        /exceeds the limit/,
      ],
      [
        'a decompression bomb',
        async () => {
          const s = seal(Buffer.alloc(9 * 1024 * 1024));
          return [headerMessage(s.headerBytes), ...chunkMessages(s.body)];
        },
        grpc.status.RESOURCE_EXHAUSTED,
        /over the limit/,
      ],
      [
        'a path in the file name',
        async () => {
          const s = seal('p');
          return [headerMessage(s.headerBytes, { fileName: '../etc/passwd' }), ...chunkMessages(s.body)];
        },
        grpc.status.INVALID_ARGUMENT,
        /path separators/,
      ],
    ];
    it.each(cases)('%s', async (_name, build, code, message) => {
      const before = blobCount(t);
      const err = (await rawUpload(t.client, await build()).catch((e) => e)) as grpc.ServiceError;
      expect(err.code).toBe(code);
      expect(err.details).toMatch(message);
      expect(blobCount(t)).toBe(before);
      // The server keeps serving.
      expect((await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey.byteLength).toBe(32);
    });

    it('an upload cancelled half way', async () => {
      const before = blobCount(t);
      const s = seal(Buffer.from(randomBytes(1_000_000)));
      const err = (await rawUpload(t.client, [headerMessage(s.headerBytes), ...chunkMessages(s.body)], { cancelAfter: 5 }).catch(
        (e) => e,
      )) as grpc.ServiceError;
      expect(err.code).toBe(grpc.status.CANCELLED);
      // The server notices the cancel asynchronously; wait until its cleanup has run.
      await expect.poll(() => blobCount(t), { timeout: 5000 }).toBe(before);
    });
  });

  it('deletes a document: NOT_FOUND afterwards, its bytes gone', async () => {
    const res = await upload('delete me');
    await t.server.runner.whenIdle();
    const deleted = await unary(t.client.documents.delete.bind(t.client.documents), { documentId: res.documentId });
    expect(deleted.deletedIds).toEqual([res.documentId]);
    await expect(unary(t.client.documents.get.bind(t.client.documents), { documentId: res.documentId })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
    expect([...t.server.documents.deps.blobs.read('t1', res.documentId, 'original')]).toEqual([]);
  });

  it('streams processing events until the final state', async () => {
    const res = await upload(`watch ${Date.now()}`);
    const events: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = t.client.documents.watchProcessing({ documentId: res.documentId });
      call.on('data', (e: { step: string }) => events.push(e.step));
      call.on('end', resolve);
      call.on('error', reject);
    });
    expect(events.at(-1)).toBe('INDEXED');
  });

  it('answers DATA_LOSS for a record that fails authentication (modified on disk), and keeps serving', async () => {
    const res = await upload(`tamper ${Date.now()}`);
    await t.server.runner.whenIdle();
    const raw = t.server.app.store.db<Buffer>('documents');
    const key = [TEST_PRINCIPAL.tenantId, res.documentId];
    const good = raw.get(key) as Buffer;
    const bad = Buffer.from(good);
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0x01;
    await raw.put(key, bad);
    try {
      const dataLoss = { code: grpc.status.DATA_LOSS, details: expect.stringContaining(`document ${res.documentId}`) };
      await expect(unary(t.client.documents.get.bind(t.client.documents), { documentId: res.documentId })).rejects.toMatchObject(
        dataLoss,
      );
      await expect(unary(t.client.documents.list.bind(t.client.documents), LIST_ALL)).rejects.toMatchObject(dataLoss);
    } finally {
      await raw.put(key, good);
    }
    const got = await unary(t.client.documents.get.bind(t.client.documents), { documentId: res.documentId });
    expect(got.document?.id).toBe(res.documentId);
  });

  it('keeps no plaintext at rest: a unique marker is nowhere under the data dir, compressed or not', async () => {
    const marker = `MARKER-${Math.random().toString(36).slice(2)}-Vertraulich`;
    const plaintext = Buffer.from(`${marker}\n`.repeat(2000));
    // The marker also sits in the file name, a tag and the idempotency key (document record and lookups).
    await upload(plaintext, { fileName: `${marker}-Name.txt`, tags: [`${marker}-Tag`], idempotencyKey: `${marker}-Idem` });
    await t.server.runner.whenIdle();
    const needles = [Buffer.from(marker), compress(plaintext).subarray(4, 40)];
    for (const file of walk(t.dataDir)) {
      const bytes = fs.readFileSync(file);
      for (const n of needles) expect(bytes.includes(n), `${file} holds the marker`).toBe(false);
    }
  });
});

/** Pieces of originals (extracted text of earlier documents may be written meanwhile). */
function blobCount(t: TestServer): number {
  let n = 0;
  for (const key of t.server.app.store.db('blobs').getKeys()) if ((key as unknown[])[2] === 'original') n++;
  return n;
}

function* walk(dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else yield p;
  }
}

async function download(client: Connection, req: { documentId: string; plaintext?: boolean; recipientPublicKey?: Buffer }) {
  return new Promise<{ header: Buffer; chunks: Buffer[] }>((resolve, reject) => {
    const call = client.documents.download({
      documentId: req.documentId,
      kind: 0,
      page: 0,
      plaintext: req.plaintext ?? false,
      recipientPublicKey: req.recipientPublicKey ?? Buffer.alloc(0),
    });
    let h: Buffer = Buffer.alloc(0);
    const cs: Buffer[] = [];
    call.on('data', (m: { part?: { $case: string; value: Buffer | { sealedHeader: Buffer } } }) => {
      if (m.part?.$case === 'header') h = (m.part.value as { sealedHeader: Buffer }).sealedHeader;
      else if (m.part?.$case === 'chunk') cs.push(m.part.value as Buffer);
    });
    call.on('end', () => resolve({ header: h, chunks: cs }));
    call.on('error', reject);
  });
}
