import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stderr. Paths that could ever hold a secret are redacted so that a careless
 * `log.info({ req })` cannot leak a password, token or key.
 */
export function createLogger(level: string, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    {
      level,
      base: { service: 'archivar' },
      redact: {
        paths: [
          'password',
          '*.password',
          'newPassword',
          '*.newPassword',
          'currentPassword',
          '*.currentPassword',
          'token',
          '*.token',
          'authorization',
          '*.authorization',
          'masterKey',
          '*.masterKey',
        ],
        censor: '[redacted]',
      },
    },
    destination as pino.DestinationStream,
  );
}
