import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Connection, connect, unary } from '../src/sdk/index.js';
import { Rng } from './harness/data.js';
import type { LmdbBreakdown } from './harness/lmdb-stats.js';
import { describeMachine } from './harness/machine.js';
import { runLoad } from './load/generator.js';
import { summarise } from './load/histogram.js';
import { parseMix, picker } from './load/ops.js';
import { openLoadSession } from './load/session.js';

/**
 * Soak: a mixed open-loop load in back-to-back windows for N minutes against a server this starts,
 * sampling the server process's RSS, heap, active handles, LMDB file size and the pages and entries of
 * every LMDB sub-database after every window.
 * Bars: RSS/heap/handles/LMDB size flat (last quarter vs first quarter after warm-up), zero errors.
 *
 * `churn` (upload + delete) keeps the stored documents steady, so LMDB must reuse its freed pages. Every
 * upload also writes a usage record for billing (src/accounts/usage-ledger.ts), which is kept on purpose
 * until its billing period is closed and its retention has passed (≤ 6 months after the invoice). So that
 * the file can be judged flat, the soak does what an operator does, compressed into one window: after each
 * window it closes the billing period that ended (Admin.CloseBillingPeriod) and runs retention
 * (Admin.RunRetention) on a server started with `--usage-retention-months 0`, so the window's usage records
 * are deleted once invoiced. What stays is one invoice per window (invoices are kept 10 years by law).
 * `keepUsage` leaves billing alone: the ledger then grows by one record per upload, by design.
 */

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const WINDOW_MS = 15_000;
const MIX = 'get=45,list=25,churn=20,download=10';
const RATE = 40;
/** The billing records: growth here is data kept on purpose, not a leak (see above). */
const BILLING_DBS = ['accountUsage', 'accountInvoices'];

export interface SoakOptions {
  /** Never close a billing period: usage records accumulate as they would between two invoices. */
  keepUsage?: boolean;
}

interface Sample {
  rss: number;
  heap: number;
  handles: number;
  lmdb: number;
  /** Pages of the file not held by the billing records (the file's pages minus BILLING_DBS's). */
  nonBillingPages: number;
  breakdown: LmdbBreakdown;
}

export async function runSoak(minutes: number, options: SoakOptions = {}): Promise<number> {
  const billing = !options.keepUsage;
  const adminDir = fs.mkdtempSync(path.join(os.tmpdir(), 'archivar-soak-admin-'));
  const admin = { email: 'soak-admin@example.org', password: `soak-${randomBytes(12).toString('hex')}-Zq9` };
  fs.writeFileSync(path.join(adminDir, 'password'), `${admin.password}\n`, { mode: 0o600 });
  const serverSettings: Record<string, string> = billing
    ? {
        'admin-email': admin.email,
        'admin-password-file': path.join(adminDir, 'password'),
        'usage-retention-months': '0',
      }
    : {};
  const session = await openLoadSession({
    connections: 2,
    seedDocs: 50,
    uploadBytes: 10 * 1024,
    deadlineMs: 10_000,
    serverSettings,
  });
  const server = session.server;
  if (!server) throw new Error('soak needs its own server');
  let adminConn: Connection | undefined;
  let billedUntil = 0;
  let invoices = 0;
  let usageDeleted = 0;
  const pick = picker(parseMix(MIX), new Rng(7));
  const endAt = Date.now() + minutes * 60_000;
  const rows: string[] = [
    'elapsed_s,rss_mb,heap_used_mb,external_mb,active_resources,lmdb_mb,ok,errors,p99_ms,live_docs,usage_records,lmdb_pages,non_billing_pages,free_pages,readers,oldest_reader_lag',
  ];
  // One row per window and sub-database: where the pages of the file are.
  const dbRows: string[] = ['elapsed_s,sub_database,entries,pages'];
  const samples: Sample[] = [];
  const errors = new Map<string, number>();
  let ok = 0;
  const t0 = Date.now();
  console.error(
    `soak: ${minutes} min, open loop ${RATE}/s, mix ${MIX}, windows of ${WINDOW_MS / 1000} s, ${
      billing ? 'billing period closed and retention run after every window' : 'usage records kept (no billing)'
    }`,
  );
  try {
    if (billing) {
      adminConn = connect({ server: session.address, insecure: true });
      const { token } = await unary(adminConn.accounts.login.bind(adminConn.accounts), { ...admin, terms: undefined });
      adminConn.close();
      adminConn = connect({ server: session.address, insecure: true, token });
    }
    while (Date.now() < endAt) {
      const r = await runLoad(
        {
          mode: 'open',
          rate: RATE,
          concurrency: 1,
          durationMs: Math.min(WINDOW_MS, endAt - Date.now()),
          requests: 0,
          maxInFlight: 2000,
          drainMs: 20_000,
        },
        session.contexts,
        pick,
      );
      ok += r.all.ok;
      for (const [k, v] of r.all.errors) errors.set(k, (errors.get(k) ?? 0) + v);
      if (adminConn) {
        // The period must have ended: bill up to a millisecond ago (server and soak share the clock).
        const endMs = Date.now() - 1;
        const closed = await unary(adminConn.admin.closeBillingPeriod.bind(adminConn.admin), {
          startMs: BigInt(billedUntil),
          endMs: BigInt(endMs),
          sendMs: 0n,
        });
        billedUntil = endMs;
        invoices += closed.invoices.length;
        const swept = await unary(adminConn.admin.runRetention.bind(adminConn.admin), {});
        usageDeleted += swept.usageRecordsDeleted;
      }
      const s = await server.stats();
      const mb = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
      const billingPages = BILLING_DBS.reduce((sum, name) => sum + (s.lmdb.dbs[name]?.pages ?? 0), 0);
      const nonBillingPages = s.lmdb.totalPages - billingPages;
      samples.push({
        rss: s.rssBytes,
        heap: s.heapUsedBytes,
        handles: s.activeResources,
        lmdb: s.lmdbFileBytes,
        nonBillingPages,
        breakdown: s.lmdb,
      });
      const errCount = [...r.all.errors.values()].reduce((a, b) => a + b, 0);
      const row = [
        ((Date.now() - t0) / 1000).toFixed(0),
        mb(s.rssBytes),
        mb(s.heapUsedBytes),
        mb(s.externalBytes),
        s.activeResources,
        mb(s.lmdbFileBytes),
        r.all.ok,
        errCount,
        summarise(r.all.histogram).p99_ms,
        s.lmdb.dbs.documents?.entries ?? 0,
        s.lmdb.dbs.accountUsage?.entries ?? 0,
        s.lmdb.totalPages,
        nonBillingPages,
        s.lmdb.freePages,
        s.lmdb.numReaders,
        s.lmdb.oldestReaderLag,
      ];
      rows.push(row.join(','));
      for (const [name, d] of Object.entries(s.lmdb.dbs)) dbRows.push([row[0], name, d.entries, d.pages].join(','));
      console.error(
        `soak ${row[0]} s: rss ${row[1]} MB, heap ${row[2]} MB, handles ${row[4]}, lmdb ${row[5]} MB (${row[11]} pages, ${row[12]} outside billing, ${row[13]} free), live docs ${row[9]}, usage records ${row[10]}, ok ${row[6]}, errors ${row[7]}, p99 ${row[8]} ms`,
      );
    }
  } finally {
    adminConn?.close();
    await session.close();
    fs.rmSync(adminDir, { recursive: true, force: true });
  }
  fs.mkdirSync(RESULTS, { recursive: true });
  const file = `${RESULTS}soak.csv`;
  fs.writeFileSync(file, `${rows.join('\n')}\n`);
  const dbFile = `${RESULTS}soak-lmdb.csv`;
  fs.writeFileSync(dbFile, `${dbRows.join('\n')}\n`);
  // Flatness: mean of the last quarter over the mean of the first quarter, skipping the first window (warm-up).
  const steady = samples.slice(1);
  const q = Math.max(1, Math.floor(steady.length / 4));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const growth = (key: 'rss' | 'heap' | 'handles' | 'lmdb' | 'nonBillingPages') => {
    const first = mean(steady.slice(0, q).map((s) => s[key]));
    const last = mean(steady.slice(-q).map((s) => s[key]));
    return first > 0 ? last / first - 1 : 0;
  };
  const pct = (x: number) => Math.round(x * 1000) / 10;
  const errorTotal = [...errors.values()].reduce((a, b) => a + b, 0);
  const firstB = steady[0]?.breakdown;
  const lastB = steady[steady.length - 1]?.breakdown;
  const summary = {
    name: 'soak',
    minutes,
    rate: RATE,
    mix: MIX,
    billing: billing ? 'closed + retention (0 months) after every window' : 'usage kept',
    ok,
    errors: Object.fromEntries(errors),
    rss_growth_pct: pct(growth('rss')),
    heap_growth_pct: pct(growth('heap')),
    handles_growth_pct: pct(growth('handles')),
    lmdb_growth_pct: pct(growth('lmdb')),
    // The file without the billing records: what must be flat whether or not billing runs.
    lmdb_non_billing_pages_growth_pct: pct(growth('nonBillingPages')),
    live_docs: [firstB?.dbs.documents?.entries ?? 0, lastB?.dbs.documents?.entries ?? 0],
    usage_records: [firstB?.dbs.accountUsage?.entries ?? 0, lastB?.dbs.accountUsage?.entries ?? 0],
    ...(billing ? { invoices, usage_records_deleted: usageDeleted } : {}),
    windows: samples.length,
    machine: describeMachine(),
  };
  console.log(JSON.stringify(summary));
  printGrowthBySubDatabase(steady);
  console.error(`wrote ${file} and ${dbFile}`);
  return errorTotal === 0 ? 0 : 1;
}

/** Pages and entries of each sub-database, first steady window → last, largest page growth first. */
function printGrowthBySubDatabase(steady: ReadonlyArray<{ breakdown: LmdbBreakdown }>): void {
  const first = steady[0]?.breakdown;
  const last = steady[steady.length - 1]?.breakdown;
  if (!first || !last) return;
  const names = new Set([...Object.keys(first.dbs), ...Object.keys(last.dbs)]);
  const lines = [...names]
    .map((name) => {
      const a = first.dbs[name] ?? { entries: 0, pages: 0 };
      const b = last.dbs[name] ?? { entries: 0, pages: 0 };
      return { name, a, b, dp: b.pages - a.pages };
    })
    .sort((x, y) => y.dp - x.dp || x.name.localeCompare(y.name));
  console.error('LMDB pages by sub-database, first steady window → last (entries in brackets):');
  for (const l of lines) {
    if (l.a.pages === 0 && l.b.pages === 0) continue;
    console.error(`  ${l.name.padEnd(22)} ${l.a.pages} → ${l.b.pages} pages (${l.a.entries} → ${l.b.entries})`);
  }
  const env = (b: LmdbBreakdown) => `${b.totalPages} pages, ${b.freePages} free, freelist records ${b.freelistEntries}`;
  console.error(`  environment            ${env(first)} → ${env(last)}`);
}
