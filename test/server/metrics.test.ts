import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unary } from '../../src/sdk/index.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

describe('metrics', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ 'metrics-listen': '127.0.0.1:0' });
  });
  afterAll(async () => {
    await t.stop();
  });

  const scrape = async () => {
    const res = await fetch(`http://127.0.0.1:${t.server.metricsPort}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  };

  it('serves RPC counts and latency by method and code, and the pool queue depth', async () => {
    // The test principal is a tenant owner, not an operator: GetStats answers PERMISSION_DENIED.
    await expect(unary(t.client.admin.getStats.bind(t.client.admin), {})).rejects.toMatchObject({
      code: status.PERMISSION_DENIED,
    });
    const text = await scrape();
    expect(text).toContain('archivar_rpc_total{method="/archivar.v1.AdminService/GetStats",code="PERMISSION_DENIED"} 1\n');
    expect(text).toContain(
      'archivar_rpc_duration_seconds_count{method="/archivar.v1.AdminService/GetStats",code="PERMISSION_DENIED"} 1\n',
    );
    expect(text).toContain(
      'archivar_rpc_duration_seconds_bucket{le="+Inf",method="/archivar.v1.AdminService/GetStats",code="PERMISSION_DENIED"} 1\n',
    );
    expect(text).toContain('archivar_pool_queue_depth 0\n');
    expect((await fetch(`http://127.0.0.1:${t.server.metricsPort}/other`)).status).toBe(404);
  });

  it('records the duration of pool tasks by task type and outcome', async () => {
    const pool = t.server.app.pool;
    const before = await scrape();
    expect(before).not.toContain('archivar_pool_task_duration_seconds_count{task="selftest"');

    // One task that runs on a worker thread for 50 ms, one that is aborted before it starts.
    const result = await pool.run({ type: 'selftest', delayMs: 50, payload: new Uint8Array(16) });
    expect(result.bytes).toBe(16);
    const aborted = AbortSignal.abort(new Error('not wanted'));
    await expect(pool.run({ type: 'selftest', delayMs: 0, payload: new Uint8Array(1) }, { signal: aborted })).rejects.toThrow(
      'not wanted',
    );

    const text = await scrape();
    expect(text).toContain('archivar_pool_task_duration_seconds_count{task="selftest",outcome="ok"} 1\n');
    expect(text).toContain('archivar_pool_task_duration_seconds_count{task="selftest",outcome="error"} 1\n');
    // The task waited 50 ms on its worker: none of it falls into the 10 ms bucket, and the sum is at least that.
    expect(text).toContain('archivar_pool_task_duration_seconds_bucket{le="0.01",task="selftest",outcome="ok"} 0\n');
    const sum = /archivar_pool_task_duration_seconds_sum\{task="selftest",outcome="ok"\} ([0-9.e+-]+)\n/.exec(text);
    expect(Number(sum?.[1])).toBeGreaterThanOrEqual(0.05);
  });
});
