/** Shapes shared by the harness and every benchmark module. */

export interface Machine {
  readonly cores: number;
  readonly node: string;
  readonly cpu: string;
  readonly memoryGb: number;
  readonly platform: string;
  /** 1-minute load average when the run started: other work on a shared machine skews absolute numbers. */
  readonly loadavg1: number;
}

/** Spread of repeated measurements of one side (ours or the reference). */
export interface Spread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly samples: number;
}

/** One measured figure: our value next to its reference, measured in the same run. */
export interface Figure {
  readonly name: string;
  readonly unit: string;
  /** Median of ours. */
  readonly ours: number;
  /** What ours was compared with, e.g. `zstd -3`; null when a figure has only a bar. */
  readonly reference: string | null;
  readonly reference_value: number | null;
  /** ours ÷ reference (whatever the direction; see higher_is_better). */
  readonly ratio: number | null;
  readonly higher_is_better: boolean;
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly samples: number;
  /** The bar this figure is judged against, in words, and whether it passed. */
  readonly bar?: string | undefined;
  readonly pass?: boolean | undefined;
  readonly note?: string | undefined;
  readonly machine: Machine;
}

export type Mode = 'quick' | 'full';

export interface BenchContext {
  readonly mode: Mode;
  readonly machine: Machine;
  /** Scratch directory of this benchmark (removed after it ran). */
  readonly tmp: string;
  /** Progress lines for the human (stderr), never mixed into --json output. */
  log(message: string): void;
  /** Records a figure (printed as it arrives and collected for --out/--compare). */
  record(figure: FigureInput): void;
}

/** What a benchmark reports; the harness fills in the spread, ratio and machine. */
export interface FigureInput {
  readonly name: string;
  readonly unit: string;
  readonly higherIsBetter: boolean;
  readonly ours: readonly number[] | Spread;
  readonly reference?: { readonly label: string; readonly values: readonly number[] | Spread } | undefined;
  /** Pass/fail against a bar: `ratio` compares ours÷reference, `value` compares ours' median. */
  readonly bar?:
    | {
        readonly text: string;
        readonly ratioAtLeast?: number;
        readonly atLeast?: number;
        readonly atMost?: number;
        /** Ours' median at least as good as the reference's, in the figure's direction. */
        readonly notWorseThanReference?: boolean;
      }
    | undefined;
  readonly note?: string | undefined;
}

/** A benchmark module: runs our work and its reference on the same input in the same run. */
export interface Benchmark {
  readonly name: string;
  readonly description: string;
  /** Undefined = always available; otherwise a reason why it cannot run here (missing tool or part). */
  available?(): Promise<string | undefined>;
  quick(ctx: BenchContext): Promise<void>;
  full?(ctx: BenchContext): Promise<void>;
}
