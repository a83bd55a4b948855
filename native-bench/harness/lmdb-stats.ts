import type { Database, RootDatabase } from 'lmdb';

/** Entries and pages of one named sub-database (mdb_stat). */
export interface SubDatabaseStats {
  entries: number;
  /** Branch + leaf + overflow pages. */
  pages: number;
  overflowPages: number;
}

/**
 * Where the pages of an LMDB environment are: per named sub-database, in LMDB's own trees (the main DB
 * that names the sub-databases, the freelist DB) and free. `freePages` is derived: every page below the
 * last page that no tree holds (2 meta pages aside) is on the freelist or was freed by a transaction a
 * reader may still see. It is what a file that grows "because nothing is reused" shows.
 */
export interface LmdbBreakdown {
  pageSize: number;
  /** Pages in use up to the end of the data: lastPageNumber + 1. */
  totalPages: number;
  lastTxnId: number;
  /** Pages held by the main DB (the names of the sub-databases) and by the freelist DB. */
  mainPages: number;
  freelistTreePages: number;
  /** Records in the freelist DB (one per transaction that freed pages and has not been reused yet). */
  freelistEntries: number;
  freePages: number;
  numReaders: number;
  /** Transactions between the oldest open reader's snapshot and the last commit (0 without readers). */
  oldestReaderLag: number;
  dbs: Record<string, SubDatabaseStats>;
}

interface LmdbStat {
  pageSize: number;
  treeBranchPageCount: number;
  treeLeafPageCount: number;
  overflowPages: number;
  entryCount: number;
}
interface LmdbEnvStats extends LmdbStat {
  root: LmdbStat;
  free: LmdbStat;
  lastPageNumber: number;
  lastTxnId: number;
  numReaders: number;
}

const handles = new WeakMap<RootDatabase, Map<string, Database>>();
const pagesOf = (s: LmdbStat) => s.treeBranchPageCount + s.treeLeafPageCount + s.overflowPages;

/**
 * Reads the breakdown through lmdb-js (`getStats()` on the root and on each sub-database; the names are
 * the keys of the main DB). Cheap enough to call every few seconds on a live server: one short read
 * transaction, no data read.
 */
export function lmdbBreakdown(root: RootDatabase): LmdbBreakdown {
  const env = root.getStats() as LmdbEnvStats;
  const dbs: Record<string, SubDatabaseStats> = {};
  let namedPages = 0;
  const opened = handles.get(root) ?? new Map<string, Database>();
  handles.set(root, opened);
  for (const key of root.getKeys({ snapshot: false })) {
    const name = String(key);
    // Same name, same handle in LMDB; the encoding only matters for values, which are not read here.
    const db = opened.get(name) ?? root.openDB({ name });
    opened.set(name, db);
    const s = db.getStats() as LmdbStat;
    const pages = pagesOf(s);
    namedPages += pages;
    dbs[name] = { entries: s.entryCount, pages, overflowPages: s.overflowPages };
  }
  const totalPages = env.lastPageNumber + 1;
  const mainPages = pagesOf(env.root);
  const freelistTreePages = pagesOf(env.free);
  let oldest = Number.POSITIVE_INFINITY;
  // readerList(): a header line, then "pid thread txnid" per reader slot in use.
  for (const line of root.readerList().split('\n').slice(1)) {
    const txn = Number(line.trim().split(/\s+/)[2]);
    if (Number.isFinite(txn) && line.trim() !== '') oldest = Math.min(oldest, txn);
  }
  return {
    pageSize: env.pageSize,
    totalPages,
    lastTxnId: env.lastTxnId,
    mainPages,
    freelistTreePages,
    freelistEntries: env.free.entryCount,
    freePages: totalPages - 2 - mainPages - freelistTreePages - namedPages,
    numReaders: env.numReaders,
    oldestReaderLag: Number.isFinite(oldest) ? env.lastTxnId - oldest : 0,
    dbs,
  };
}
