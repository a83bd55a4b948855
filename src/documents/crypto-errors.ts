import { isSealedFormatError } from '../crypto/index.js';
import { AppError, dataLoss, invalidArgument, resourceExhausted } from '../server/errors.js';

/** Maps a sealed-format failure to the status the API documents; other errors pass through. */
export function mapSealedError(err: unknown, what: string): unknown {
  if (!isSealedFormatError(err)) return err;
  switch (err.kind) {
    case 'invalid-header':
    case 'unsupported-version':
      return invalidArgument(`${what}: ${err.message}`);
    case 'wrong-key':
      return invalidArgument(`${what}: sealed to another key (fetch the current one with GetServerKey): ${err.message}`);
    case 'too-large':
      return resourceExhausted(`${what}: ${err.message}`);
    case 'authentication-failed':
    case 'truncated':
    case 'digest-mismatch':
    case 'invalid-payload':
      return dataLoss(`${what}: ${err.message}`);
  }
  return err;
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
