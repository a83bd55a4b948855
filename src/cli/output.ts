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
    // No token sent at all: the CLI's own doing, said in its terms.
    if (err.code === status.UNAUTHENTICATED && details.startsWith('missing "authorization'))
      return new CliError(`${name}: not logged in; run archivar account login (or set ARCHIVAR_TOKEN)`);
    return new CliError(`${name}: ${err.code === status.UNAVAILABLE ? connectionFailure(details) : details}`);
  }
  return new CliError(err instanceof Error ? err.message : String(err));
}

/**
 * One line from grpc-js's account of a failed connection, which spans lines and carries a timestamp, an
 * empty "Resolution note" and OpenSSL's error-queue format: `No connection established. Last error:
 * 80…:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:…:SSL alert number 116
 * (2026-…Z). Resolution note: ` becomes `cannot connect: tlsv13 alert certificate required (the server
 * requires a client certificate: --tls-client-cert and --tls-client-key)`. Other details pass unchanged.
 */
export function connectionFailure(details: string): string {
  const m = /^No connection established\. Last error: ([\s\S]*)$/.exec(details.trim());
  if (!m) return details.replace(/\s*\n\s*/g, ' ').trim();
  let reason = (m[1] as string)
    .replace(/\s*Resolution note:[\s\S]*$/, '')
    .replace(/\s*\(\d{4}-\d\d-\d\dT[\d:.]+Z\)\.?\s*$/, '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\.$/, '');
  // OpenSSL: <thread>:error:<code>:<library>:<function>:<reason>:<file>:<line>:<data>
  reason = reason.replace(/^[0-9A-F]+:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):.*$/, '$1');
  reason = reason.replace(/^Error( \[[A-Z_]+\])?: /, '');
  let hint = '';
  if (reason === 'Failed to connect') {
    // grpc-js: the (TLS) connection closed before the server's HTTP/2 settings arrived.
    reason = 'the server closed the connection before answering';
    hint = ' (as a TLS server does to plaintext, and an mTLS server to a client certificate it does not accept)';
  } else if (/certificate required/.test(reason)) {
    hint = ' (the server requires a client certificate: --tls-client-cert and --tls-client-key)';
  } else if (/altnames|hostname/i.test(reason)) {
    hint = ' (--tls-server-name sets the name to expect)';
  } else if (/unknown ca|unable to get local issuer|self[- ]signed|unable to verify/i.test(reason)) {
    hint = ' (--tls-ca names the CA that signed the server certificate)';
  }
  return `cannot connect: ${reason || 'no reason given'}${hint}`;
}

/** Prints `value` as one JSON line (for --json), converting bigints to numbers or strings. */
export function printJson(value: unknown): void {
  process.stdout.write(
    `${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v))}\n`,
  );
}

/**
 * Text from a document (a title, a snippet) as one line for a terminal: runs of whitespace become one space,
 * and the other control characters are dropped — an e-mail subject or a text can carry ESC sequences that
 * would recolour, clear or retitle the user's terminal — and so are the bidirectional overrides and
 * isolates, with which a name like "invoice\u202Efdp.exe" shows as "invoiceexe.pdf".
 */
export function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
  return text.replace(/\s+/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '');
}
