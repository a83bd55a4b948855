import type BetterSqlite3 from 'better-sqlite3';

/** better-sqlite3's Database constructor: SQLite FTS5, the reference of the search benchmarks. */
export type SqliteCtor = typeof BetterSqlite3;

/**
 * better-sqlite3 with FTS5 (and the given tokenizer), or why it cannot be used here; the benchmarks then
 * run our side alone and say so.
 */
export async function loadSqlite(tokenize = 'unicode61'): Promise<SqliteCtor | string> {
  try {
    const mod = (await import('better-sqlite3')) as unknown as { default: SqliteCtor };
    const probe = new mod.default(':memory:');
    try {
      probe.exec(`CREATE VIRTUAL TABLE t USING fts5(x, tokenize='${tokenize}')`);
    } finally {
      probe.close();
    }
    return mod.default;
  } catch (err) {
    return `better-sqlite3 cannot load (npm run bench:setup): ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
}
