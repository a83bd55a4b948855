import { status } from '@grpc/grpc-js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** An error the CLI reports as one line on stderr, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILED,
  ) {
    super(message);
  }
}

/** Turns a gRPC error into a CLI error with the status name, e.g. `NOT_FOUND: no such document`. */
export function fromGrpcError(err: unknown): CliError {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'number') {
    const name = status[err.code] ?? String(err.code);
    const details = 'details' in err && typeof err.details === 'string' ? err.details : '';
    return new CliError(`${name}: ${details}`);
  }
  return new CliError(err instanceof Error ? err.message : String(err));
}

/** Prints `value` as one JSON line (for --json), converting bigints to numbers or strings. */
export function printJson(value: unknown): void {
  process.stdout.write(
    `${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v))}\n`,
  );
}
