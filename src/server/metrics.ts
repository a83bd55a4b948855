import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { status } from '@grpc/grpc-js';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolObserver } from '../workers/pool.js';
import type { RpcObserver } from './handler.js';

const CODE_NAMES = Object.fromEntries(Object.entries(status).map(([k, v]) => [v, k])) as Record<number, string>;

/** Prometheus metrics of one server: RPCs by method and code, pool queue depth and task durations. */
export class Metrics implements RpcObserver, PoolObserver {
  readonly registry = new Registry();
  readonly #rpcs = new Counter({
    name: 'archivar_rpc_total',
    help: 'Finished RPCs',
    labelNames: ['method', 'code'],
    registers: [this.registry],
  });
  readonly #rpcSeconds = new Histogram({
    name: 'archivar_rpc_duration_seconds',
    help: 'RPC latency from arrival to status',
    labelNames: ['method', 'code'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
    registers: [this.registry],
  });
  readonly #taskSeconds = new Histogram({
    name: 'archivar_pool_task_duration_seconds',
    help: 'Worker pool task duration, queue wait included',
    labelNames: ['task', 'outcome'],
    buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });

  constructor(queueDepth: () => number) {
    new Gauge({
      name: 'archivar_pool_queue_depth',
      help: 'Tasks waiting for a worker thread',
      registers: [this.registry],
      collect() {
        this.set(queueDepth());
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'archivar_' });
  }

  rpcFinished(method: string, code: status, seconds: number): void {
    const labels = { method, code: CODE_NAMES[code] ?? String(code) };
    this.#rpcs.inc(labels);
    this.#rpcSeconds.observe(labels, seconds);
  }

  taskFinished(type: string, seconds: number, ok: boolean): void {
    this.#taskSeconds.observe({ task: type, outcome: ok ? 'ok' : 'error' }, seconds);
  }

  /** Serves `GET /metrics` in the Prometheus text format. */
  async listen(host: string, port: number): Promise<{ port: number; close: () => Promise<void> }> {
    const server = http.createServer((req, res) => {
      if (req.method !== 'GET' || req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return {
      port: (server.address() as AddressInfo).port,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }
}
