import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';

/**
 * A real dovecot (Debian `dovecot-imapd`) for the IMAP tests: a minimal config in a temp dir, passwd-file
 * users, Maildir under the temp dir, plain IMAP and IMAPS (self-signed certificate made here with openssl)
 * on free 127.0.0.1 ports, run in the foreground (`dovecot -F`), no systemd.
 */

const CANDIDATES = ['/usr/sbin/dovecot', '/usr/local/sbin/dovecot'];

/** The dovecot binary, or null where it is not installed. */
export function findDovecot(): string | null {
  for (const c of CANDIDATES) if (fs.existsSync(c)) return c;
  try {
    return execFileSync('sh', ['-c', 'command -v dovecot'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/**
 * Whether the IMAP suites run: without dovecot they skip with a message, except in CI (`CI=true`) where a
 * missing dovecot is a failure (`.ci/run` installs it).
 */
export function dovecotAvailable(): boolean {
  const bin = findDovecot();
  if (bin) return true;
  if (process.env.CI === 'true') {
    throw new Error('dovecot is not installed but CI=true: .ci/run must apt-get install dovecot-imapd');
  }
  console.warn('IMAP tests skipped: dovecot is not installed (apt-get install dovecot-imapd)');
  return false;
}

export interface DovecotUser {
  user: string;
  password: string;
}

export interface Dovecot {
  host: '127.0.0.1';
  /** Plain IMAP (STARTTLS offered). */
  port: number;
  /** Implicit TLS. */
  tlsPort: number;
  /** PEM of the self-signed certificate (CN localhost, SAN 127.0.0.1): the CA to trust. */
  caPem: string;
  dir: string;
  /** Each user's Maildir on disk. */
  maildir(user: string): string;
  /** An imapflow client logged in as `user` (plain port), for setting up and checking mailboxes. */
  client(user: DovecotUser): Promise<ImapFlow>;
  /** Appends a raw message to a folder (created if missing); returns its UID. */
  append(user: DovecotUser, folder: string, raw: string | Buffer): Promise<number>;
  /** UIDs currently in a folder (empty when it does not exist). */
  uids(user: DovecotUser, folder: string): Promise<number[]>;
  /** Lines of dovecot's log that match. */
  logLines(match: RegExp): string[];
  /** Stops the server (SIGTERM to the master, clients are disconnected). */
  stop(): Promise<void>;
  /** Starts it again on the same ports with the same mailboxes. */
  restart(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Waits until the port accepts (and, for plain IMAP, greets). */
async function waitForPort(port: number, ms: number, greeting: boolean): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      if (!greeting)
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
      s.once('data', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.setTimeout(1000, () => {
        s.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`dovecot did not answer on port ${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Process ids below `root` (from /proc), children first found breadth-first. */
function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const p = queue.shift() as number;
    for (const [pid, ppid] of parentOf)
      if (ppid === p) {
        out.push(pid);
        queue.push(pid);
      }
  }
  return out;
}

function lookupId(kind: 'u' | 'g', name: string): number {
  return Number(execFileSync('id', [`-${kind}`, name], { encoding: 'utf8' }).trim());
}

/** Starts dovecot with the given users. */
export async function startDovecot(users: DovecotUser[]): Promise<Dovecot> {
  const bin = findDovecot();
  if (!bin) throw new Error('dovecot is not installed');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dovecot-'));
  // dovecot's auth process runs as user `dovecot` and must reach the users file (see the field notes).
  fs.chmodSync(dir, 0o755);
  const root = process.getuid?.() === 0;
  const me = os.userInfo().username;
  const mailUid = root ? lookupId('u', 'nobody') : (process.getuid?.() ?? 0);
  const mailGid = root ? lookupId('g', 'nobody') : (process.getgid?.() ?? 0);

  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  const usersFile = path.join(dir, 'users');
  fs.writeFileSync(usersFile, users.map((u) => `${u.user}:{PLAIN}${u.password}::::::\n`).join(''), { mode: 0o640 });
  if (root) execFileSync('chown', ['root:dovecot', usersFile]);
  const mailRoot = path.join(dir, 'mail');
  fs.mkdirSync(mailRoot, { mode: 0o755 });
  for (const u of users) {
    fs.mkdirSync(path.join(mailRoot, u.user), { mode: 0o700 });
    fs.chownSync(path.join(mailRoot, u.user), mailUid, mailGid);
  }
  const port = await freePort();
  const tlsPort = await freePort();
  const logFile = path.join(dir, 'dovecot.log');
  const conf = path.join(dir, 'dovecot.conf');
  fs.writeFileSync(
    conf,
    `# written by test/helpers/dovecot.ts
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${logFile}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <${certFile}
ssl_key = <${keyFile}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
# No anvil auth penalty for the tests' loopback logins (it delays a login after a failed one by seconds).
login_trusted_networks = 127.0.0.0/8
auth_verbose = yes
default_login_user = ${root ? 'dovenull' : me}
default_internal_user = ${root ? 'dovecot' : me}
first_valid_uid = 1
mail_location = maildir:${mailRoot}/%u/Maildir
mail_uid = ${mailUid}
mail_gid = ${mailGid}
mail_privileged_group =
shutdown_clients = yes
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${usersFile}
}
userdb {
  driver = static
  args = home=${mailRoot}/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${tlsPort}
    ssl = yes
  }
}
`,
  );
  fs.mkdirSync(path.join(dir, 'state'), { mode: 0o755 });

  let child: ChildProcess | null = null;
  let stderr = '';
  const start = async () => {
    stderr = '';
    child = spawn(bin, ['-F', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<never>((_, reject) =>
      child?.once('exit', (code) => reject(new Error(`dovecot exited with ${code}: ${stderr}${readLog()}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([Promise.all([waitForPort(port, 15_000, true), waitForPort(tlsPort, 15_000, false)]), exited]);
  };
  const readLog = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');
  const stop = async () => {
    const c = child as ChildProcess | null;
    child = null;
    if (!c || c.exitCode !== null) return;
    // Running imap processes outlive their master; a real restart ends every session, so end them too.
    const children = c.pid ? descendants(c.pid) : [];
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
    for (const pid of children) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  await start();

  const client = async (u: DovecotUser) => {
    const c = new ImapFlow({
      host: '127.0.0.1',
      port,
      secure: false,
      doSTARTTLS: false,
      auth: { user: u.user, pass: u.password },
      logger: false,
    });
    await c.connect();
    return c;
  };
  return {
    host: '127.0.0.1',
    port,
    tlsPort,
    caPem: fs.readFileSync(certFile, 'utf8'),
    dir,
    maildir: (user) => path.join(mailRoot, user, 'Maildir'),
    client,
    async append(u, folder, raw) {
      const c = await client(u);
      try {
        const list = await c.list();
        if (!list.some((m) => m.path === folder)) await c.mailboxCreate(folder);
        const res = await c.append(folder, raw);
        if (!res || res.uid === undefined) throw new Error('APPEND returned no UID');
        return res.uid;
      } finally {
        await c.logout();
      }
    },
    async uids(u, folder) {
      const c = await client(u);
      try {
        const list = await c.list();
        if (!list.some((m) => m.path === folder)) return [];
        const lock = await c.getMailboxLock(folder);
        try {
          const found = await c.search({ all: true }, { uid: true });
          return Array.isArray(found) ? found : [];
        } finally {
          lock.release();
        }
      } finally {
        await c.logout();
      }
    },
    logLines: (match) =>
      readLog()
        .split('\n')
        .filter((l) => match.test(l)),
    stop,
    restart: start,
  };
}

/** Stops dovecot and removes its temp dir. */
export async function destroyDovecot(d: Dovecot | undefined): Promise<void> {
  if (!d) return;
  await d.stop();
  fs.rmSync(d.dir, { recursive: true, force: true });
}
