import { parseArgs } from 'node:util';
import { Rng } from '../harness/data.js';
import { describeMachine } from '../harness/machine.js';
import { type LoadResult, type LoadSpec, runLoad } from './generator.js';
import { summarise } from './histogram.js';
import { OPS, parseMix, picker } from './ops.js';
import { openLoadSession } from './session.js';

const USAGE = `usage: npm run bench -- --load [options]
  --mode open|closed     open: fixed arrival rate (latency from the intended send time); closed: fixed concurrency
  --rate N               requests/s in open mode (default 100)
  --concurrency N        callers in closed mode (default 16)
  --duration S           seconds (default 20)
  --warmup S             first run the same load this long unrecorded (JIT, server caches; default 0)
  --requests N           stop after N requests (whichever comes first; default no limit)
  --mix op=w,...         ops: ${OPS.join(', ')} (default get=60,list=30,upload=10)
  --connections N        HTTP/2 connections (default 2)
  --upload-bytes N       plaintext size of each upload and seeded document (default 10240)
  --seed-docs N          documents uploaded before the run for get/download (default 50)
  --seed-text uniform|zipf   seeded text: --upload-bytes of ~60 words drawn evenly (default), or the index
                         benchmark's Zipf corpus (short documents, realistic word frequencies)
  --settle-ms N          wait this long after the seeded documents are processed, so the run sees the index
                         after the burst's background merges (default 0: right after processing)
  --deadline-ms N        per-request deadline (default 10000)
  --max-in-flight N      open mode: sends beyond this are counted as CLIENT_SATURATED (default 5000)
  --target HOST:PORT     use a running server (default: start one on loopback)
  --tls-ca FILE | --insecure   credentials for --target
  --token T              session token for --target (default: register and log in a fresh user)
  --allow-remote         allow a non-loopback --target
  --pool-threads N       pool threads of the server this starts
  --server-settings k=v,...   other \`archivar serve\` settings of the server this starts (e.g. text-cache-mb=0)
  --json                 one JSON object per op and one for the total`;

export function printLoad(result: LoadResult, json: boolean, label = 'load'): void {
  const rows = [...result.byOp.entries()].map(([op, r]) => ({ op, r })).concat([{ op: 'total' as never, r: result.all }]);
  const machine = describeMachine();
  const secs = result.elapsedMs / 1000;
  if (json) {
    for (const { op, r } of rows) {
      console.log(
        JSON.stringify({
          name: `${label}.${op}`,
          mode: result.spec.mode,
          ...(result.spec.mode === 'open' ? { rate: result.spec.rate } : { concurrency: result.spec.concurrency }),
          seconds: Math.round(secs * 100) / 100,
          ok: r.ok,
          throughput_per_s: Math.round((r.ok / secs) * 10) / 10,
          errors: Object.fromEntries(r.errors),
          ...summarise(r.histogram),
          machine,
        }),
      );
    }
    return;
  }
  const what =
    result.spec.mode === 'open' ? `open loop at ${result.spec.rate}/s` : `closed loop, ${result.spec.concurrency} callers`;
  console.log(`\n${label}: ${what}, ${secs.toFixed(1)} s, ${result.sent} sent (latency ms; open loop from intended send time)`);
  const head = ['op', 'ok', 'ok/s', 'p50', 'p90', 'p99', 'p99.9', 'max', 'errors'];
  const body = rows.map(({ op, r }) => {
    const s = summarise(r.histogram);
    const errs = [...r.errors.entries()].map(([k, v]) => `${k}=${v}`).join(' ') || '0';
    return [
      String(op),
      String(r.ok),
      (r.ok / secs).toFixed(1),
      ...[s.p50_ms, s.p90_ms, s.p99_ms, s.p999_ms, s.max_ms].map((v) => v.toFixed(2)),
      errs,
    ];
  });
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((r) => (r[i] ?? '').length)));
  for (const r of [head, ...body]) console.log(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '));
}

export async function loadMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string', default: 'closed' },
      rate: { type: 'string', default: '100' },
      concurrency: { type: 'string', default: '16' },
      duration: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '0' },
      requests: { type: 'string', default: '0' },
      mix: { type: 'string', default: 'get=60,list=30,upload=10' },
      connections: { type: 'string', default: '2' },
      'upload-bytes': { type: 'string', default: '10240' },
      'seed-docs': { type: 'string', default: '50' },
      'seed-text': { type: 'string', default: 'uniform' },
      'settle-ms': { type: 'string', default: '0' },
      'deadline-ms': { type: 'string', default: '10000' },
      'max-in-flight': { type: 'string', default: '5000' },
      target: { type: 'string' },
      'tls-ca': { type: 'string' },
      insecure: { type: 'boolean', default: false },
      token: { type: 'string' },
      'allow-remote': { type: 'boolean', default: false },
      'pool-threads': { type: 'string' },
      'server-settings': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const num = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}`);
    return n;
  };
  if (values.mode !== 'open' && values.mode !== 'closed') throw new Error('--mode is open or closed');
  const spec: LoadSpec = {
    mode: values.mode,
    rate: num('rate', values.rate, 0.001),
    concurrency: num('concurrency', values.concurrency, 1),
    durationMs: num('duration', values.duration, 0.1) * 1000,
    requests: num('requests', values.requests, 0),
    maxInFlight: num('max-in-flight', values['max-in-flight'], 1),
    drainMs: num('deadline-ms', values['deadline-ms'], 1) + 5000,
    warmupMs: num('warmup', values.warmup, 0) * 1000,
  };
  const mix = parseMix(values.mix);
  if (values.target && (values['server-settings'] || values['pool-threads']))
    throw new Error('--server-settings and --pool-threads set up the server this starts; not with --target');
  const session = await openLoadSession({
    target: values.target,
    tlsCa: values['tls-ca'],
    insecure: values.insecure,
    allowRemote: values['allow-remote'],
    token: values.token ?? process.env.ARCHIVAR_TOKEN,
    connections: num('connections', values.connections, 1),
    seedDocs: num('seed-docs', values['seed-docs'], 0),
    seedText: seedText(values['seed-text']),
    settleMs: num('settle-ms', values['settle-ms'], 0),
    uploadBytes: num('upload-bytes', values['upload-bytes'], 1),
    deadlineMs: num('deadline-ms', values['deadline-ms'], 1),
    serverSettings: {
      ...serverSettings(values['server-settings']),
      ...(values['pool-threads'] ? { 'pool-threads': values['pool-threads'] } : {}),
    },
  });
  try {
    console.error(
      `load: ${spec.mode} loop against ${session.address}${session.server ? ' (started here)' : ''}, mix ${values.mix}`,
    );
    const result = await runLoad(spec, session.contexts, picker(mix, new Rng(42)));
    printLoad(result, values.json);
    return 0;
  } finally {
    await session.close();
  }
}

/** `k=v,...` as settings of `archivar serve` (flag names without the dashes). */
function serverSettings(list: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of (list ?? '').split(',').filter((x) => x.trim() !== '')) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`--server-settings wants k=v pairs, got ${JSON.stringify(item)}`);
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return out;
}

function seedText(v: string): 'uniform' | 'zipf' {
  if (v !== 'uniform' && v !== 'zipf') throw new Error('--seed-text is uniform or zipf');
  return v;
}
