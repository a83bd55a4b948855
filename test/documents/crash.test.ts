import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { DocumentStatus } from '../../src/gen/archivar/v1/common.js';
import { type Connection, connect, deadline, unary } from '../../src/sdk/index.js';
import { uploadPlaintext } from '../helpers/raw-upload.js';
import { tempDir } from '../helpers/temp-dir.js';
import { spawnServer, TERMS } from '../helpers/test-server.js';

const CYCLES = 6;
const SERVER_ARGS = ['--scrypt-log-n', '10', '--pool-threads', '1', '--retention-interval-ms', '0', '--job-backoff-ms', '100'];
const USER = { email: 'crash@example.org', password: 'kill-9-survivor-pw', firstName: 'Crash', lastName: 'Test' };

/**
 * kill -9 the server at random moments while a client uploads in a loop; after every restart every
 * acknowledged upload is there and opens to the same bytes, and every job finishes.
 */
describe('crash safety', () => {
  it(`keeps every acknowledged upload across ${CYCLES} kill -9 restarts`, async () => {
    const dir = tempDir('archivar-crash-');
    const acked = new Map<string, string>(); // document id → sha256 of the plaintext
    try {
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const { child, address } = await spawnServer(dir.path, SERVER_ARGS);
        const client = await session(address, cycle === 0);
        await verifyAll(client, acked);
        const serverKey = (await unary(client.documents.getServerKey.bind(client.documents), {})).publicKey;
        // Upload until the kill lands; only acknowledged uploads count. The kill comes at a random moment
        // after the first acknowledgement of this cycle, so every cycle has something to lose.
        const killed = once(child, 'exit');
        let serverGone = false;
        killed.then(() => {
          serverGone = true;
        });
        let firstAck: () => void = () => {};
        const acknowledged = new Promise<void>((resolve) => {
          firstAck = resolve;
        });
        let timer: NodeJS.Timeout | undefined;
        acknowledged.then(() => {
          timer = setTimeout(() => child.kill('SIGKILL'), 50 + Math.floor(Math.random() * 600));
        });
        const uploaders = [0, 1].map(async () => {
          while (!serverGone) {
            const plaintext = randomBytes(1024 + Math.floor(Math.random() * 200_000));
            try {
              const res = await uploadPlaintext(client, serverKey, plaintext);
              acked.set(res.documentId, sha256(plaintext));
              firstAck();
            } catch (err) {
              if (!serverGone && (err as grpc.ServiceError).code !== grpc.status.UNAVAILABLE) throw err;
              await new Promise((r) => setTimeout(r, 20));
            }
          }
        });
        await Promise.all([killed, ...uploaders]);
        if (timer) clearTimeout(timer);
        client.close();
      }
      // Final start: everything acknowledged is there and every job reaches a final state.
      const { child, address } = await spawnServer(dir.path, SERVER_ARGS);
      const client = await session(address, false);
      await verifyAll(client, acked);
      await expect
        .poll(
          async () => {
            const statuses = await Promise.all(
              [...acked.keys()].map(
                async (id) => (await unary(client.documents.get.bind(client.documents), { documentId: id })).document?.status,
              ),
            );
            // Random bytes have no text: the pipeline finishes them as UNSUPPORTED.
            return statuses.filter(
              (s) =>
                s !== DocumentStatus.DOCUMENT_STATUS_STORED &&
                s !== DocumentStatus.DOCUMENT_STATUS_INDEXED &&
                s !== DocumentStatus.DOCUMENT_STATUS_UNSUPPORTED,
            ).length;
          },
          { timeout: 60_000, interval: 500 },
        )
        .toBe(0);
      expect(acked.size).toBeGreaterThanOrEqual(CYCLES);
      client.close();
      child.kill('SIGTERM');
      await once(child, 'exit');
    } finally {
      dir.cleanup();
    }
  }, 240_000);
});

async function session(address: string, register: boolean): Promise<Connection> {
  const client = connect({ server: address, insecure: true });
  if (register) await unary(client.accounts.register.bind(client.accounts), { ...USER, terms: TERMS });
  const login = await unary(
    client.accounts.login.bind(client.accounts),
    { email: USER.email, password: USER.password, terms: undefined },
    deadline(10_000),
  );
  client.setToken(login.token);
  return client;
}

async function verifyAll(client: Connection, acked: Map<string, string>): Promise<void> {
  for (const [id, digest] of acked) {
    const got = await unary(client.documents.get.bind(client.documents), { documentId: id });
    expect(got.document?.contentId).toBe(digest);
    const bytes = await downloadPlaintext(client, id);
    expect(sha256(bytes)).toBe(digest);
  }
}

function downloadPlaintext(client: Connection, documentId: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const call = client.documents.download({
      documentId,
      kind: 0,
      page: 0,
      plaintext: true,
      recipientPublicKey: Buffer.alloc(0),
    });
    const parts: Buffer[] = [];
    call.on('data', (m: { part?: { $case: string; value: unknown } }) => {
      if (m.part?.$case === 'chunk') parts.push(m.part.value as Buffer);
    });
    call.on('end', () => resolve(Buffer.concat(parts)));
    call.on('error', reject);
  });
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
