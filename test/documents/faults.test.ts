import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UploadResponse } from '../../src/gen/archivar/v1/documents.js';
import { unary } from '../../src/sdk/index.js';
import { chunkMessages, headerMessage, sealForServer, uploadPlaintext } from '../helpers/raw-upload.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const blobCount = (t: TestServer) => t.server.app.store.db('blobs').getKeysCount();

describe('a client that stops sending', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.stop();
  });

  it('runs into its deadline; nothing is left behind and the server keeps serving', async () => {
    const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
    const before = blobCount(t);
    const s = sealForServer(randomBytes(600_000), key);
    const [first, second] = chunkMessages(s.body);
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      const call = t.client.documents.upload({ deadline: new Date(Date.now() + 800) }, (e) => resolve(e as grpc.ServiceError));
      call.write(headerMessage(s.headerBytes));
      if (first) call.write(first);
      if (second) call.write(second);
      // …and then nothing: no end, no more chunks.
    });
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await expect.poll(() => blobCount(t), { timeout: 5000 }).toBe(before);
    expect(t.server.app.store.db('pendingUploads').getKeysCount()).toBe(0);
    const ok = await uploadPlaintext(t.client, key, 'still serving');
    expect(ok.documentId).toMatch(/^doc_/);
  });
});

/** A data directory on a small tmpfs (root only: CI runs as root; elsewhere the case says why it skips). */
function mountSmallDisk(): { dir: string; unmount: () => void } | string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archivar-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    fs.rmSync(dir, { recursive: true, force: true });
    return 'mounting a small tmpfs needs root';
  }
  return {
    dir,
    unmount: () => {
      // Lazy: the server may still hold the failed environment's file open.
      execFileSync('umount', ['-l', dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const disk = mountSmallDisk();
if (typeof disk === 'string' && process.env.CI === 'true') throw new Error(`the disk-full test cannot run in CI: ${disk}`);

describe.skipIf(typeof disk === 'string')(
  `disk full while writing${typeof disk === 'string' ? ` (skipped: ${disk})` : ''}`,
  () => {
    let t: TestServer;
    beforeAll(async () => {
      if (typeof disk === 'string') return;
      t = await startTestServer({ data: path.join(disk.dir, 'data'), 'lmdb-map-size': String(2 ** 30) });
    });
    afterAll(async () => {
      if (typeof disk === 'string') return;
      await t.server.shutdown();
      disk.unmount();
    });

    it('answers RESOURCE_EXHAUSTED, keeps earlier documents intact, and keeps serving', async () => {
      const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
      const earlier = await uploadPlaintext(t.client, key, 'Vertrag, vor dem vollen Datenträger gespeichert');
      await t.server.runner.whenIdle();
      const big = randomBytes(40 * 1024 * 1024);
      const err = (await uploadPlaintext(t.client, key, big).catch((e) => e)) as grpc.ServiceError | UploadResponse;
      expect(err).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
      expect((err as grpc.ServiceError).details).toMatch(/storage is full or failing/);
      // The earlier document is intact and the server answers.
      const got = await unary(t.client.documents.get.bind(t.client.documents), { documentId: earlier.documentId });
      expect(got.document?.contentId).toBe(earlier.contentId);
      const plain = await t.server.documents.original('t1', earlier.documentId, 'plaintext');
      const parts: Buffer[] = [];
      for await (const p of plain.body) parts.push(p);
      expect(Buffer.concat(parts).toString('utf8')).toBe('Vertrag, vor dem vollen Datenträger gespeichert');
      expect((await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey.byteLength).toBe(32);
    });
  },
);
