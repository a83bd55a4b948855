import tls from 'node:tls';
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import type { ImapConfig } from '../accounts/index.js';

/** What a connection attempt failed on, as TestImapSettings and the status report it. */
export type ErrorKind = 'dns' | 'refused' | 'timeout' | 'tls' | 'auth' | 'protocol';

export interface Credentials {
  config: ImapConfig;
  password: string;
}

/** Builds an imapflow client: implicit TLS, required STARTTLS or (loopback only) none; certificates checked. */
export function createClient(c: Credentials, limits: { timeoutMs: number; maxMessageBytes: number; idle: boolean }): ImapFlow {
  const { timeoutMs } = limits;
  const { config } = c;
  const options: ImapFlowOptions = {
    host: config.host,
    port: config.port,
    secure: config.tls === 'implicit',
    // STARTTLS is required when chosen: a server (or attacker) that does not offer it fails the login.
    doSTARTTLS: config.tls === 'starttls' ? true : config.tls === 'none' ? false : undefined,
    auth: { user: config.user, pass: c.password },
    logger: false,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: Math.max(timeoutMs, 5 * 60_000),
    // Watchers IDLE on their automatic-import folder between runs; tests and one-off checks do not.
    disableAutoIdle: !limits.idle,
    maxIdleTime: 20 * 60_000,
    // A server cannot make us buffer more than one allowed message (plus framing).
    maxLiteralSize: limits.maxMessageBytes + 64 * 1024,
    maxResponseSize: 2 * (limits.maxMessageBytes + 64 * 1024),
    clientInfo: { name: 'Archivar' },
    tls: {
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      // `ca` replaces the system store, so a trusted CA for a self-hosted server comes on top of it.
      ...(config.caPem ? { ca: [...tls.rootCertificates, config.caPem] } : {}),
      ...(isIp(config.host) ? {} : { servername: config.host }),
    },
  };
  return new ImapFlow(options);
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

/**
 * Everything a login depends on: a failed login is retried early only when this changes. It includes the
 * password, so it is only ever stored blinded (ImportLedger.loginFingerprint, an HMAC under the tenant key).
 */
export function loginInputs(c: Credentials): unknown[] {
  return [c.config.host, c.config.port, c.config.tls, c.config.user, c.config.caPem, c.password];
}

interface ErrorLike {
  code?: string;
  message?: string;
  authenticationFailed?: boolean;
  tlsFailed?: boolean;
  responseText?: string;
  serverResponseCode?: string;
  cause?: unknown;
  _err?: unknown;
}

/** Classifies a connection or login failure; the message is safe to show (no password, no mail content). */
export function classifyError(err: unknown): { kind: ErrorKind; message: string } {
  const e = (err ?? {}) as ErrorLike;
  const inner = (e._err ?? e.cause ?? {}) as ErrorLike;
  const code = e.code ?? inner.code ?? '';
  const text = `${e.message ?? ''} ${inner.message ?? ''}`;
  if (e.authenticationFailed || e.serverResponseCode === 'AUTHENTICATIONFAILED') {
    const said = e.responseText ? `: ${e.responseText}` : '';
    return { kind: 'auth', message: `the server refused the login${said}` };
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' || code === 'EAI_NODATA') {
    return { kind: 'dns', message: `the host name does not resolve (${code})` };
  }
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL') {
    return { kind: 'refused', message: `the server refused or could not be reached (${code})` };
  }
  if (code === 'GREETING_TIMEOUT') {
    // Connected but no greeting: most often a port that waits for a TLS handshake (993) dialled without it.
    return {
      kind: 'timeout',
      message:
        'the server accepted the connection but sent no IMAP greeting in time (GREETING_TIMEOUT); ' +
        'if this port expects TLS from the first byte (usually 993), use TLS mode implicit',
    };
  }
  if (/TIMEOUT|ETIMEDOUT/.test(code) || /timed? ?out/i.test(text)) {
    return { kind: 'timeout', message: `the server did not answer in time (${code || 'timeout'})` };
  }
  if (/wrong version number|packet length too long|http request/i.test(text)) {
    // OpenSSL's words for a peer that answered the handshake with plain text (an IMAP greeting).
    return {
      kind: 'tls',
      message:
        'TLS failed: the server does not speak TLS on this port; for a plain IMAP port (usually 143) use TLS mode starttls',
    };
  }
  if (
    e.tlsFailed ||
    /^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|ERR_OSSL)/.test(code) ||
    /certificate|ssl|tls|wrong version number|STARTTLS/i.test(text)
  ) {
    return { kind: 'tls', message: `TLS failed: ${(inner.message ?? e.message ?? code).slice(0, 200)}` };
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'NoConnection' || code === 'EConnectionClosed') {
    return { kind: 'refused', message: `the connection was closed (${code})` };
  }
  return { kind: 'protocol', message: `IMAP error: ${(e.responseText ?? e.message ?? String(err)).slice(0, 200)}` };
}

/** Errors that mean the connection is gone (the run stops and resumes later), not that one message is bad. */
export function isConnectionError(err: unknown): boolean {
  const e = (err ?? {}) as ErrorLike;
  const code = e.code ?? '';
  return (
    /^(ECONN|EPIPE|ETIMEDOUT|EHOST|ENET|NoConnection|EConnectionClosed|StateLogout|ClosedAfter|CONNECT_TIMEOUT|GREETING_TIMEOUT|ETIMEOUT|UPGRADE_TIMEOUT)/.test(
      code,
    ) || /connection (not available|closed)|socket closed|unexpected close/i.test(e.message ?? '')
  );
}

/** A configured name (levels separated by `/`) as path segments for imapflow, which adds the delimiter. */
export function folderSegments(name: string): string[] {
  return name.split('/').filter((s) => s.length > 0);
}
