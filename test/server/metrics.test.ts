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

  it('serves RPC counts and latency by method and code, and the pool queue depth', async () => {
    await unary(t.client.admin.getStats.bind(t.client.admin), {}).catch(() => undefined);
    const res = await fetch(`http://127.0.0.1:${t.server.metricsPort}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/archivar_rpc_total\{method="\/archivar.v1.AdminService\/GetStats",code="[A-Z_]+"\} 1/);
    expect(text).toContain('archivar_rpc_duration_seconds_bucket{le="0.0005",method="/archivar.v1.AdminService/GetStats"');
    expect(text).toContain('archivar_pool_queue_depth 0');
    expect((await fetch(`http://127.0.0.1:${t.server.metricsPort}/other`)).status).toBe(404);
  });
});
