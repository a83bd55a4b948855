import type { GetImapStatusResponse, ImapSettings } from '../../src/gen/archivar/v1/accounts.js';
import { ImapTlsMode } from '../../src/gen/archivar/v1/accounts.js';
import type { Document } from '../../src/gen/archivar/v1/documents.js';
import { type Connection, unary } from '../../src/sdk/index.js';
import type { Dovecot } from '../helpers/dovecot.js';
import { LIST_ALL } from '../helpers/test-server.js';

/** A plain mail (CRLF line ends); `extra` adds headers. */
export function mail(opts: { subject: string; body: string; from?: string; messageId?: string; extra?: string }): string {
  const id = opts.messageId ?? `<${Math.random().toString(36).slice(2)}@example.test>`;
  return [
    `From: ${opts.from ?? 'Erika Mustermann <erika@example.test>'}`,
    'To: archiv@example.test',
    `Subject: ${opts.subject}`,
    'Date: Sat, 15 Mar 2025 12:00:00 +0100',
    `Message-ID: ${id}`,
    ...(opts.extra ? [opts.extra] : []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    opts.body,
    '',
  ].join('\r\n');
}

/** Stores IMAP settings for the session's tenant pointing at the test dovecot. */
export async function setImap(
  c: Connection,
  d: Dovecot,
  user: string,
  password: string,
  overrides: Partial<ImapSettings> = {},
): Promise<void> {
  await unary(c.accounts.setImapSettings.bind(c.accounts), {
    settings: {
      host: '127.0.0.1',
      port: d.port,
      tls: ImapTlsMode.IMAP_TLS_MODE_NONE,
      user,
      caPem: '',
      folders: [],
      autoImport: false,
      intervalMinutes: 0,
      filterFrom: '',
      filterSubjectContains: '',
      filterHasAttachment: false,
      ...overrides,
    },
    password,
  });
}

export function imapStatus(c: Connection): Promise<GetImapStatusResponse> {
  return unary(c.accounts.getImapStatus.bind(c.accounts), {});
}

/** Triggers a run and waits until it has finished; returns the status after it. */
export async function importNow(c: Connection, timeoutMs = 30_000): Promise<GetImapStatusResponse> {
  await unary(c.accounts.triggerImapImport.bind(c.accounts), {});
  // From the trigger on, a run is running until ours has ended (a queued one starts as the one before it
  // ends). Our run's id may never be seen finished: a request during it (IDLE reporting new mail) queues a
  // run whose id the status shows from then on, as `archivar imap import-now --wait` knows.
  return waitFor(c, (s) => !s.running, timeoutMs);
}

/** Polls the status until `done` holds. */
export async function waitFor(
  c: Connection,
  done: (s: GetImapStatusResponse) => boolean,
  timeoutMs = 30_000,
): Promise<GetImapStatusResponse> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await imapStatus(c);
    if (done(s)) return s;
    if (Date.now() > until) throw new Error(`IMAP status did not reach the expected state: ${JSON.stringify(s, big)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function big(_k: string, v: unknown) {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** Top-level documents of the tenant (mails, not their attachments). */
export async function mailDocuments(c: Connection): Promise<Document[]> {
  const res = await unary(c.documents.list.bind(c.documents), { ...LIST_ALL, pageSize: 1000 });
  return res.documents.filter((d: Document) => d.parentId === '');
}
