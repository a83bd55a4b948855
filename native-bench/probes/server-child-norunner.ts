/**
 * Ad-hoc probe child: the real server with its job runner stopped right after start, so uploads are
 * measured without the processing they trigger (jobs stay queued). Same IPC as harness/server-child.ts.
 */
import http2 from 'node:http2';
import { loadConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/logger.js';
import { startServer } from '../../src/server/server.js';

// WINDOW=bytes: widen the server's HTTP/2 receive windows (stream and connection), which grpc-js leaves at 64 KiB.
const window = Number(process.env.WINDOW ?? 0);
if (window > 0) {
  const create = http2.createServer;
  (http2 as { createServer: unknown }).createServer = (options: http2.ServerOptions, ...rest: unknown[]) => {
    const server = (create as (...a: unknown[]) => http2.Http2Server)(
      { ...options, settings: { ...options.settings, initialWindowSize: window } },
      ...rest,
    );
    server.on('session', (session: http2.ServerHttp2Session) => {
      session.once('localSettings', () => session.setLocalWindowSize(window));
    });
    return server;
  };
}
const settings = JSON.parse(process.argv[2] ?? '{}') as Record<string, string>;
const config = loadConfig({ listen: '127.0.0.1:0', 'log-level': 'silent', 'retention-interval-ms': '0', ...settings }, {});
const server = await startServer(config, { log: createLogger('silent') });
await server.runner.stop();
process.on('message', (m: { type: string; id: number }) => {
  if (m.type === 'idle') process.send?.({ type: 'idle', id: m.id });
  else if (m.type === 'shutdown') void server.shutdown().then(() => process.exit(0));
});
process.on('disconnect', () => void server.shutdown().then(() => process.exit(0)));
process.send?.({ type: 'ready', port: server.port, sinkPort: 0, pid: process.pid });
