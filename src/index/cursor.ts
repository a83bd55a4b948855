/**
 * Result cursors. In score order a cursor names the last hit returned — its score and document id, the
 * order TopK ranks ties in (equal scores by id ascending, whatever segment holds them) — and the next page
 * continues strictly after it, so documents added or deleted meanwhile, merges and a reindex neither repeat
 * nor skip hits (an offset would shift by one per write above the page; a tie-break by segment and local
 * doc, as before, moved tied documents past the cursor or back before it when a merge renumbered them).
 * It also carries the statistics the first page was scored with (documents, field lengths, each term's
 * document frequency): BM25 scores move with them, by another factor for each word, so a write between
 * pages could otherwise reorder what was shown against what was not. Offset cursors ({o}) stay accepted
 * for orders that have no such key.
 */
import { createHash } from 'node:crypto';
import { NUM_FIELDS } from './postings-codec.js';

/** A cursor that cannot page this query: not ours or damaged, of another sort order, or of another query. */
export class CursorError extends Error {
  constructor(readonly reason: 'invalid' | 'other-order' | 'other-query') {
    super(
      reason === 'invalid'
        ? 'invalid cursor'
        : `invalid cursor: it belongs to another ${reason === 'other-order' ? 'sort order' : 'query'}`,
    );
    this.name = 'CursorError';
  }
}

/**
 * What the engine hands out: `key.how.page`, where `key` names the query (whitespace aside) and its sort order
 * by a short hash, `how` says whether the typo retry answered it (`t`: later pages run the retry at once, as
 * the original query finds nothing), and `page` is the cursor of the order (score or keyset). A cursor sent
 * with another query would otherwise page on through that query from a foreign position.
 */
export function wrapCursor(query: string, sort: string, retried: boolean, page: string): string {
  return `${queryKey(query, sort)}.${retried ? 't' : 'q'}.${page}`;
}

/** The page cursor inside a wrapped one, checked against the query and sort order it is sent with. */
export function unwrapCursor(
  cursor: string,
  query: string,
  sort: string,
  sorts: readonly string[],
): { page: string; retried: boolean } {
  const m = /^([\w-]{11})\.([qt])\.(.+)$/su.exec(cursor);
  if (m === null) throw new CursorError('invalid');
  if (m[1] !== queryKey(query, sort))
    throw new CursorError(sorts.some((s) => s !== sort && queryKey(query, s) === m[1]) ? 'other-order' : 'other-query');
  return { page: m[3]!, retried: m[2] === 't' };
}

function queryKey(query: string, sort: string): string {
  return createHash('sha256')
    .update(`${sort}\n${query.trim().replace(/\s+/gu, ' ')}`)
    .digest('base64url')
    .slice(0, 11);
}

export interface CursorKey {
  /** Score of the last hit. */
  s: number;
  /** Its segment id and local doc when the page was made (the tie-break of a cursor without `d`). */
  g: number;
  l: number;
  /**
   * Its document id: the tie-break (equal scores in id order), and the next page re-scores it where it is
   * now (an update changes it, merges move it).
   */
  d?: string;
  /** The statistics every page of this result is scored with: the first page's. */
  st?: ScoringStats;
}

/** What BM25F scores depend on beyond the document: the tenant's documents and lengths, the terms' df. */
export interface ScoringStats {
  /** Documents. */
  n: number;
  /** Sum of each field's lengths. */
  ls: number[];
  /** Document frequency of each term of the query. */
  df: Record<string, number>;
}

export interface Cursor {
  offset: number;
  after?: CursorKey;
}

/** Where a hit sits: [segment id, local doc]. */
export type HitKey = readonly [number, number];

export function encodeCursor(offset: number, last?: { docId: string; score: number; at?: HitKey }, st?: ScoringStats): string {
  const body =
    last?.at !== undefined
      ? { s: last.score, g: last.at[0], l: last.at[1], d: last.docId, ...(st ? { st } : {}) }
      : { o: offset };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): Cursor {
  if (cursor === undefined || cursor === '') return { offset: 0 };
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as {
      o?: unknown;
      s?: unknown;
      g?: unknown;
      l?: unknown;
      d?: unknown;
      st?: unknown;
    };
    if (typeof c.o === 'number' && Number.isInteger(c.o) && c.o >= 0) return { offset: c.o };
    if (typeof c.s === 'number' && Number.isInteger(c.g) && Number.isInteger(c.l) && (c.st === undefined || isStats(c.st)))
      return {
        offset: 0,
        after: {
          s: c.s,
          g: c.g as number,
          l: c.l as number,
          ...(typeof c.d === 'string' ? { d: c.d } : {}),
          ...(c.st !== undefined ? { st: c.st as ScoringStats } : {}),
        },
      };
  } catch {
    // fall through
  }
  throw new CursorError('invalid');
}

function isStats(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const { n, ls, df } = v as { n?: unknown; ls?: unknown; df?: unknown };
  const count = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  return (
    count(n) &&
    Array.isArray(ls) &&
    ls.length === NUM_FIELDS &&
    ls.every(count) &&
    typeof df === 'object' &&
    df !== null &&
    !Array.isArray(df) &&
    Object.values(df).every(count)
  );
}

/**
 * Whether a hit comes strictly after the cursor in (score desc, document id asc) order. `id` is asked only
 * for a hit tied with the cursor's score. A cursor without an id (none is handed out) keeps the old
 * (segment asc, doc asc) tie-break.
 */
export function isAfter(after: CursorKey, score: number, id: () => string, segmentId: number, doc: number): boolean {
  if (score !== after.s) return score < after.s;
  if (after.d !== undefined) return id() > after.d;
  return segmentId !== after.g ? segmentId > after.g : doc > after.l;
}
