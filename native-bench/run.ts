/**
 * `npm run bench [-- options]`: the stage benchmarks against their native references, the gRPC load
 * generator (--load), scaling curves (--scaling) and soak (--soak MINUTES). See docs/performance.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { describeMachine } from './harness/machine.js';
import { startLauncher } from './harness/native.js';
import { findRegressions, formatTable, readResults, toFigure, writeResults } from './harness/report.js';
import type { BenchContext, Figure, Mode } from './harness/types.js';
import { BENCHMARKS } from './stages/all.js';

const USAGE = `usage: npm run bench -- [options]
  (no mode flag)        run the stage benchmarks (quick; --full for the big inputs)
  --full                bigger inputs and more repetitions
  --only NAME[,NAME]    run only these benchmarks (${BENCHMARKS.map((b) => b.name).join(', ')})
  --json                one JSON object per figure on stdout (progress goes to stderr)
  --out FILE            write the figures as JSON lines
  --compare FILE        compare with an earlier --out file; regressions > 10 % are flagged (exit 4)
  --list                list the benchmarks
  --load ...            gRPC load generator (see --load --help)
  --scaling             throughput against pool threads 1..cores; CSV + SVG in native-bench/results
  --soak MINUTES        mixed load for MINUTES, sampling RSS, heap, handles, LMDB size and pages per
                        sub-database; bills and runs retention after every window (see soak.ts)
  --soak-keep-usage     with --soak: never bill, so usage records accumulate (one per upload)`;

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  // The load generator and soak have their own options; hand them the rest of the command line.
  if (argv.includes('--load')) {
    const { loadMain } = await import('./load/main.js');
    return loadMain(argv.filter((a) => a !== '--load'));
  }
  const { values } = parseArgs({
    args: argv,
    options: {
      full: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      out: { type: 'string' },
      compare: { type: 'string' },
      only: { type: 'string', multiple: true },
      list: { type: 'boolean', default: false },
      scaling: { type: 'boolean', default: false },
      soak: { type: 'string' },
      'soak-keep-usage': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.list) {
    for (const b of BENCHMARKS) console.log(`${b.name.padEnd(12)} ${b.description}`);
    return 0;
  }
  if (values.soak !== undefined) {
    const minutes = Number(values.soak);
    if (!Number.isFinite(minutes) || minutes <= 0) throw new Error('--soak needs a positive number of minutes');
    const { runSoak } = await import('./soak.js');
    return runSoak(minutes, { keepUsage: values['soak-keep-usage'] });
  }
  if (values.scaling) {
    const { runScaling } = await import('./scaling.js');
    return runScaling(values.full ? 'full' : 'quick');
  }

  const mode: Mode = values.full ? 'full' : 'quick';
  const only = new Set((values.only ?? []).flatMap((o) => o.split(',')).filter(Boolean));
  for (const name of only) {
    if (!BENCHMARKS.some((b) => b.name === name)) throw new Error(`unknown benchmark ${name}; --list shows them`);
  }
  // Before any stage grows this process: reference tools are started from the launcher, never forked from here.
  startLauncher();
  const machine = describeMachine();
  const figures: Figure[] = [];
  const skipped: string[] = [];
  console.error(`archivar bench (${mode}) on ${machine.cores} cores, ${machine.cpu}, node ${machine.node}`);
  const started = Date.now();
  for (const bench of BENCHMARKS) {
    if (only.size > 0 && !only.has(bench.name)) continue;
    const reason = await bench.available?.();
    if (reason) {
      skipped.push(`${bench.name}: ${reason}`);
      console.error(`-- ${bench.name}: skipped (${reason})`);
      continue;
    }
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `archivar-bench-${bench.name}-`));
    const own: Figure[] = [];
    const ctx: BenchContext = {
      mode,
      machine,
      tmp,
      log: (m) => console.error(`   ${bench.name}: ${m}`),
      record(input) {
        const f = toFigure(input, machine);
        own.push(f);
        figures.push(f);
        if (values.json) console.log(JSON.stringify(f));
      },
    };
    console.error(`-- ${bench.name}: ${bench.description}`);
    const t0 = Date.now();
    try {
      await (mode === 'full' && bench.full ? bench.full(ctx) : bench.quick(ctx));
    } catch (err) {
      skipped.push(`${bench.name}: failed: ${err instanceof Error ? err.message : String(err)}`);
      console.error(`-- ${bench.name}: FAILED`, err);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    console.error(`-- ${bench.name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (!values.json && own.length > 0) console.log(`\n${formatTable(own)}\n`);
  }
  if (!values.json) {
    console.log(
      `\nall figures (${mode}, ${((Date.now() - started) / 1000).toFixed(0)} s, ${machine.cores} cores, ${machine.cpu}, node ${machine.node}):\n`,
    );
    console.log(formatTable(figures));
    for (const note of figures.filter((f) => f.note)) console.log(`  ${note.name}: ${note.note}`);
  }
  for (const s of skipped) console.error(`not run: ${s}`);
  if (values.out) writeResults(values.out, figures);
  let code = skipped.some((s) => s.includes('failed:')) ? 1 : 0;
  if (values.compare) {
    const regressions = findRegressions(figures, readResults(values.compare));
    for (const r of regressions) {
      console.error(
        `REGRESSION ${r.name}: ${r.previous.toPrecision(4)} → ${r.current.toPrecision(4)} ${r.unit} (${(r.worse * 100).toFixed(0)} % worse)`,
      );
    }
    if (regressions.length === 0) console.error(`no regression > 10 % against ${values.compare}`);
    else code = code || 4;
  }
  return code;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 2;
  },
);
