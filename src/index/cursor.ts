/**
 * Result cursors. In score order a cursor names the last hit returned — (score, segment id, local doc),
 * the order TopK ranks ties in — and the next page continues strictly after it, so documents added or
 * deleted meanwhile neither repeat nor skip hits (an offset would shift by one per write above the page).
 * Offset cursors ({o}) stay accepted for orders that have no such key.
 */
export interface CursorKey {
  /** Score of the last hit. */
  s: number;
  /** Its segment id and local doc: the tie-break (ids grow, so the order is stable between pages). */
  g: number;
  l: number;
  /** Its document id: the next page re-scores it where it is now (writes shift scores, merges move it). */
  d?: string;
}

export interface Cursor {
  offset: number;
  after?: CursorKey;
}

/** Where a hit sits: [segment id, local doc]. */
export type HitKey = readonly [number, number];

export function encodeCursor(offset: number, last?: { docId: string; score: number; at?: HitKey }): string {
  const body = last?.at !== undefined ? { s: last.score, g: last.at[0], l: last.at[1], d: last.docId } : { o: offset };
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
    };
    if (typeof c.o === 'number' && Number.isInteger(c.o) && c.o >= 0) return { offset: c.o };
    if (typeof c.s === 'number' && Number.isInteger(c.g) && Number.isInteger(c.l))
      return { offset: 0, after: { s: c.s, g: c.g as number, l: c.l as number, ...(typeof c.d === 'string' ? { d: c.d } : {}) } };
  } catch {
    // fall through
  }
  throw new Error('invalid cursor');
}

/** Whether a hit comes strictly after the cursor in (score desc, segment asc, doc asc) order. */
export function isAfter(after: CursorKey, score: number, segmentId: number, doc: number): boolean {
  if (score !== after.s) return score < after.s;
  return segmentId !== after.g ? segmentId > after.g : doc > after.l;
}
