/**
 * Probe: what loopback grpc-js alone carries for 1 MiB uploads on this machine — the ceiling for the
 * upload bar (issue 3: ≥ 200 files/s of 1 MiB on 2 cores). The bench's Sink service (harness/sink.ts: a
 * client-streaming call whose server counts and drops the bytes) in a bare grpc-js server in a child
 * process, no Archivar code; 150 files per setting, message sizes 1 MiB … 16 KiB, 1 and 8 in flight.
 *   flock /tmp/bench.lock npx tsx native-bench/probes/grpc-transport.ts
 */
import { fork } from 'node:child_process';
import { credentials, Server, ServerCredentials } from '@grpc/grpc-js';
import { SINK_SERVICE, SinkClient, sinkHandlers, sinkUpload } from '../harness/sink.js';

if (process.argv[2] === 'server') {
  const s = new Server({ 'grpc.max_receive_message_length': -1 });
  s.addService(SINK_SERVICE, sinkHandlers);
  s.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => process.send?.(err ? -1 : port));
} else {
  const child = fork(new URL(import.meta.url).pathname, ['server'], { execArgv: ['--import', 'tsx'] });
  const port = await new Promise<number>((r) => child.once('message', (m) => r(m as number)));
  const client = new SinkClient(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
  const data = Buffer.alloc(1 << 20, 7);
  for (const msg of [1 << 20, 256 << 10, 64 << 10, 16 << 10]) {
    for (const inflight of [1, 8]) {
      const n = 150;
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: inflight }, async () => {
          while (next++ < n) await sinkUpload(client, data, msg);
        }),
      );
      const s = (performance.now() - t0) / 1000;
      console.log(`msg ${msg >> 10} KiB, ${inflight} in flight: ${(n / s).toFixed(1)} files/s`);
    }
  }
  client.close();
  child.kill();
}
