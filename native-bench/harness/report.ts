import fs from 'node:fs';
import { formatNumber, isSpread, spreadOf } from './stats.js';
import type { Figure, FigureInput, Machine } from './types.js';

/** Turns what a benchmark reported into a full figure: spreads, ratio of medians, bar verdict. */
export function toFigure(input: FigureInput, machine: Machine): Figure {
  const ours = isSpread(input.ours) ? input.ours : spreadOf(input.ours);
  const ref = input.reference
    ? isSpread(input.reference.values)
      ? input.reference.values
      : spreadOf(input.reference.values)
    : null;
  const ratio = ref && ref.median !== 0 ? ours.median / ref.median : null;
  let pass: boolean | undefined;
  if (input.bar) {
    const checks: boolean[] = [];
    if (input.bar.ratioAtLeast !== undefined) checks.push(ratio !== null && ratio >= input.bar.ratioAtLeast);
    if (input.bar.atLeast !== undefined) checks.push(ours.median >= input.bar.atLeast);
    if (input.bar.atMost !== undefined) checks.push(ours.median <= input.bar.atMost);
    if (input.bar.notWorseThanReference && ref) {
      checks.push(input.higherIsBetter ? ours.median >= ref.median : ours.median <= ref.median);
    }
    pass = checks.length > 0 ? checks.every(Boolean) : undefined;
  }
  return {
    name: input.name,
    unit: input.unit,
    ours: ours.median,
    reference: input.reference?.label ?? null,
    reference_value: ref?.median ?? null,
    ratio,
    higher_is_better: input.higherIsBetter,
    min: ours.min,
    median: ours.median,
    max: ours.max,
    samples: ours.samples,
    ...(input.bar ? { bar: input.bar.text, pass } : {}),
    ...(input.note ? { note: input.note } : {}),
    machine,
  };
}

const COLUMNS = ['figure', 'ours', 'min..max', 'unit', 'reference', 'ref', 'ratio', 'bar'] as const;

function row(f: Figure): string[] {
  const better = f.higher_is_better ? '↑' : '↓';
  return [
    f.name,
    formatNumber(f.ours),
    `${formatNumber(f.min)}..${formatNumber(f.max)}`,
    `${f.unit} ${better}`,
    f.reference ?? '—',
    f.reference_value === null ? '—' : formatNumber(f.reference_value),
    f.ratio === null ? '—' : `${f.ratio.toFixed(2)}×`,
    f.bar === undefined ? '' : `${f.pass === true ? 'PASS' : f.pass === false ? 'FAIL' : '?'} ${f.bar}`,
  ];
}

/** A plain-text table, columns padded to their widest cell. */
export function formatTable(figures: readonly Figure[]): string {
  const rows = [COLUMNS as readonly string[], ...figures.map(row)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(rows[0] as readonly string[]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** Results files are JSON lines, one figure per line (the --json format). */
export function writeResults(file: string, figures: readonly Figure[]): void {
  fs.writeFileSync(file, figures.map((f) => JSON.stringify(f)).join('\n') + (figures.length > 0 ? '\n' : ''));
}

export function readResults(file: string): Figure[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as Figure);
}

export interface Regression {
  readonly name: string;
  readonly unit: string;
  readonly previous: number;
  readonly current: number;
  /** Relative change in the bad direction, e.g. 0.15 = 15 % worse. */
  readonly worse: number;
}

/** Figures that got worse by more than `threshold` (a fraction) against a previous results file. */
export function findRegressions(current: readonly Figure[], previous: readonly Figure[], threshold = 0.1): Regression[] {
  const before = new Map(previous.map((f) => [`${f.name}\u0000${f.unit}`, f]));
  const out: Regression[] = [];
  for (const f of current) {
    const p = before.get(`${f.name}\u0000${f.unit}`);
    if (!p || p.ours === 0) continue;
    const worse = f.higher_is_better ? (p.ours - f.ours) / p.ours : (f.ours - p.ours) / p.ours;
    if (worse > threshold) out.push({ name: f.name, unit: f.unit, previous: p.ours, current: f.ours, worse });
  }
  return out;
}
