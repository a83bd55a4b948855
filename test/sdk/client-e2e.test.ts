/** ArchivarClient end to end against the real in-process server (LMDB, job queue, worker pool). */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactKind, DocumentStatus } from '../../src/gen/archivar/v1/common.js';
import { ArchivarClient, isFinalStatus } from '../../src/sdk/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

describe('ArchivarClient end to end', () => {
  let t: TestServer;
  let client: ArchivarClient;
  let dir: ReturnType<typeof tempDir>;

  beforeAll(async () => {
    t = await startTestServer();
    client = new ArchivarClient(t.client);
    dir = tempDir('archivar-sdk-e2e-');
  });

  afterAll(async () => {
    client.close();
    await t.stop();
    dir.cleanup();
  });

  const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  it('uploads a file and downloads it byte-identical, sealed and plaintext', async () => {
    const content = Buffer.concat([Buffer.from('Kontoauszug Müller GmbH\n'.repeat(50_000)), randomBytes(1_200_000)]);
    const file = path.join(dir.path, 'kontoauszug.txt');
    fs.writeFileSync(file, content);
    let lastProgress = 0;
    const res = await client.upload(file, { tags: ['bank'], onProgress: (p) => (lastProgress = p.plaintextBytes) });
    expect(res.documentId).not.toBe('');
    expect(res.contentId).toBe(sha256(content));
    expect(res.duplicate).toBe(false);
    expect(res.status).toBe(DocumentStatus.DOCUMENT_STATUS_QUEUED);
    expect(lastProgress).toBe(content.byteLength);

    const sealedOut = path.join(dir.path, 'sealed-copy.txt');
    const sealed = await client.download(res.documentId, { to: sealedOut });
    expect(sealed.sealed).toBe(true);
    expect(sealed.fileName).toBe('kontoauszug.txt');
    expect(fs.readFileSync(sealedOut).equals(content)).toBe(true);
    // An unspecified kind is the original, as the server takes it: sealed like it.
    const unspecified = await client.download(res.documentId, {
      to: path.join(dir.path, 'unspecified.txt'),
      kind: ArtifactKind.ARTIFACT_KIND_UNSPECIFIED,
    });
    expect(unspecified.sealed).toBe(true);

    const sink = new PassThrough();
    const parts: Buffer[] = [];
    sink.on('data', (d: Buffer) => parts.push(d));
    const plain = await client.download(res.documentId, { to: sink, plaintext: true });
    expect(plain.sealed).toBe(false);
    expect(Buffer.concat(parts).equals(content)).toBe(true);
    expect(plain.contentId).toBe(res.contentId);

    const doc = await client.get(res.documentId);
    expect(doc.fileName).toBe('kontoauszug.txt');
    expect(doc.size).toBe(BigInt(content.byteLength));
    expect(doc.tags).toEqual(['bank']);
  });

  it('the same idempotency key returns the same document; the same content elsewhere is a duplicate', async () => {
    const content = randomBytes(100_000);
    const first = await client.upload(content, { fileName: 'a.bin', idempotencyKey: 'idem-e2e-1' });
    const again = await client.upload(content, { fileName: 'a.bin', idempotencyKey: 'idem-e2e-1' });
    expect(again.documentId).toBe(first.documentId);
    const dup = await client.upload(content, { fileName: 'copy of a.bin' });
    expect(dup.duplicate).toBe(true);
    expect(dup.documentId).toBe(first.documentId);
    expect(dup.contentId).toBe(first.contentId);
  });

  it('watch and waitForFinalStatus see the document reach its final status', async () => {
    const res = await client.upload(Buffer.from('watch me\n'), { fileName: 'watch.txt' });
    const statuses: DocumentStatus[] = [];
    for await (const event of client.watch(res.documentId)) {
      expect(event.documentId).toBe(res.documentId);
      statuses.push(event.status);
    }
    const last = statuses.at(-1);
    expect(last !== undefined && isFinalStatus(last)).toBe(true);
    const doc = await client.waitForFinalStatus(res.documentId, { timeoutMs: 30_000 });
    expect(doc.status).toBe(last);
  });

  it('lists newest first across pages by cursor, with filters', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (
          await client.upload(Buffer.from(`page test ${i} ${randomBytes(8).toString('hex')}`), {
            fileName: `p${i}.txt`,
            tags: ['paged'],
          })
        ).documentId,
      );
    }
    const first = await client.listPage({ tag: 'paged' }, { pageSize: 2 });
    expect(first.documents.map((d) => d.id)).toEqual([ids[4], ids[3]]);
    expect(first.nextCursor).not.toBe('');
    const all: string[] = [];
    for await (const doc of client.list({ tag: 'paged' }, { pageSize: 2 })) all.push(doc.id);
    expect(all).toEqual([...ids].reverse());
    const none = await client.listPage({ tag: 'no-such-tag' });
    expect(none.documents).toEqual([]);
    expect(none.nextCursor).toBe('');
    // A tag is one tag whatever its case: in the filter, and on upload (the first spelling kept).
    expect((await client.listPage({ tag: 'PAGED' }, { pageSize: 10 })).documents.map((d) => d.id)).toEqual([...ids].reverse());
    const cased = await client.upload(Buffer.from(`cased ${randomBytes(8).toString('hex')}`), {
      fileName: 'cased.txt',
      tags: ['Ablage', 'ablage', 'ABLAGE'],
    });
    expect((await client.get(cased.documentId)).tags).toEqual(['Ablage']);
  });

  it('tags, deletes, and then answers NOT_FOUND', async () => {
    const res = await client.upload(Buffer.from(`delete me ${randomBytes(8).toString('hex')}`), { fileName: 'rm.txt' });
    expect(await client.tag(res.documentId, { add: ['b', 'a'] })).toEqual(['a', 'b']);
    expect(await client.tag(res.documentId, { remove: ['a'] })).toEqual(['b']);
    expect(await client.delete(res.documentId)).toContain(res.documentId);
    await expect(client.get(res.documentId)).rejects.toMatchObject({ code: status.NOT_FOUND });
    await expect(client.download(res.documentId, { to: path.join(dir.path, 'gone') })).rejects.toMatchObject({
      code: status.NOT_FOUND,
    });
    expect(fs.existsSync(path.join(dir.path, 'gone'))).toBe(false);
    await expect(client.delete(res.documentId)).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  it('a cancelled upload leaves no document behind', async () => {
    const controller = new AbortController();
    const source = new PassThrough();
    source.write(randomBytes(512 * 1024));
    const upload = client.upload(source, { fileName: 'cancelled.bin', signal: controller.signal, tags: ['cancelled'] });
    setTimeout(() => controller.abort(), 200);
    await expect(upload).rejects.toMatchObject({ code: status.CANCELLED });
    expect((await client.listPage({ tag: 'cancelled' })).documents).toEqual([]);
  });
});
