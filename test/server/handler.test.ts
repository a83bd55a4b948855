import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminServiceService } from '../../src/gen/archivar/v1/admin.js';
import { connect, deadline, unary } from '../../src/sdk/index.js';
import { invalidArgument } from '../../src/server/errors.js';
import { bindService } from '../../src/server/handler.js';
import { createLogger } from '../../src/server/logger.js';
import { WorkerPool } from '../../src/workers/pool.js';
import { TEST_PRINCIPAL, TEST_TOKEN, testVerifier } from '../helpers/test-server.js';

/**
 * The adapter on a real grpc-js server with a real worker pool: a service whose handlers misbehave on
 * purpose, reached through the generated client.
 */
describe('handler adapter', () => {
  const pool = new WorkerPool({ threads: 1, maxQueue: 1 });
  const server = new grpc.Server();
  const shutdown = new AbortController();
  const logged: string[] = [];
  const log = createLogger('error', { write: (line: string) => logged.push(line) } as unknown as NodeJS.WritableStream);
  let aborted: Promise<unknown> = Promise.resolve();
  let client: ReturnType<typeof connect>;

  beforeAll(async () => {
    bindService(
      server,
      AdminServiceService,
      {
        getStats: async () => {
          throw new Error('secret internal detail /var/lib/x');
        },
        runRetention: async () => {
          throw invalidArgument('the period must end after it starts');
        },
        reindex: async (_req, ctx) => {
          // A slow pool task tied to the call's signal.
          const task = pool.run({ type: 'selftest', delayMs: 30_000, payload: new Uint8Array(8) }, { signal: ctx.signal });
          aborted = task.then(
            () => 'finished',
            (e: unknown) => e,
          );
          await task;
          return { documents: 0n };
        },
        reprocess: async (_req, ctx) => {
          const payload = new Uint8Array(1024);
          const r = await pool.run(
            { type: 'selftest', delayMs: 400, payload },
            { signal: ctx.signal, transfer: [payload.buffer] },
          );
          // Transferred: the main thread's view is detached.
          if (payload.byteLength !== 0) throw new Error('payload was copied, not transferred');
          return { jobsEnqueued: BigInt(r.bytes) };
        },
      },
      {
        verifier: testVerifier({ [TEST_TOKEN]: TEST_PRINCIPAL }),
        publicMethods: new Set(),
        log,
        observer: { rpcFinished() {} },
        shutdown: shutdown.signal,
      },
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    client = connect({ server: `127.0.0.1:${port}`, insecure: true, token: TEST_TOKEN });
  });

  afterAll(async () => {
    client.close();
    await new Promise<void>((r) => server.tryShutdown(() => r()));
    await pool.close();
  });

  it('turns an unexpected error into INTERNAL without its message, and logs the stack', async () => {
    const err = (await unary(client.admin.getStats.bind(client.admin), {}).catch((e) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.INTERNAL);
    expect(err.details).not.toContain('secret');
    expect(err.details).toBe('internal error; the failure has been logged');
    expect(logged.join('\n')).toContain('secret internal detail');
    expect(logged.join('\n')).toContain('handler.test.ts');
  });

  it('keeps the code and message of a domain error', async () => {
    await expect(unary(client.admin.runRetention.bind(client.admin), {})).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'the period must end after it starts',
    });
  });

  it('answers UNIMPLEMENTED for a method the service does not provide', async () => {
    await expect(unary(client.admin.rotateMasterKey.bind(client.admin), {})).rejects.toMatchObject({
      code: grpc.status.UNIMPLEMENTED,
    });
  });

  it('answers DEADLINE_EXCEEDED when the deadline is shorter than a pool task, and aborts the task', async () => {
    const started = Date.now();
    await expect(unary(client.admin.reindex.bind(client.admin), { tenantId: 't' }, deadline(300))).rejects.toMatchObject({
      code: grpc.status.DEADLINE_EXCEEDED,
    });
    const reason = await aborted;
    expect(reason).toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('transfers buffers to the worker and answers RESOURCE_EXHAUSTED when the queue is full', async () => {
    // One ready thread and a queue of one: the first task runs, the second waits, the third is refused.
    // (A thread that is still starting counts as capacity, so wait until it is up.)
    await pool.run({ type: 'selftest', delayMs: 0, payload: new Uint8Array(1) });
    const calls = [0, 1, 2].map(() =>
      unary(client.admin.reprocess.bind(client.admin), { scope: { $case: 'all', value: true } }).then(
        (r) => ({ ok: r.jobsEnqueued }),
        (e: grpc.ServiceError) => ({ code: e.code, details: e.details }),
      ),
    );
    const results = await Promise.all(calls);
    expect(results.filter((r) => 'ok' in r)).toEqual([{ ok: 1024n }, { ok: 1024n }]);
    expect(results.filter((r) => 'code' in r)).toEqual([
      { code: grpc.status.RESOURCE_EXHAUSTED, details: 'the processing queue is full; retry later' },
    ]);
  });
});
