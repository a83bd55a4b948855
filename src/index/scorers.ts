/**
 * Doc-at-a-time scorers over one segment, Lucene style: every scorer can move to a doc, score it, and report
 * upper bounds of its score over doc ranges (advanceShallow + maxScoreUpTo), which the top-level scorer
 * uses to skip whole blocks that cannot enter the top k (block-max skipping for terms and conjunctions,
 * MaxScore for disjunctions). Scores are always computed by the same code in the same order, so pruned and
 * exhaustive runs give bit-identical scores.
 */
import {
  BLOCK_SIZE,
  blockLength,
  decodeBlockDocs,
  decodeBlockGaps,
  decodeBlockTfs,
  docPositions,
  FIELD_POSITION_SHIFT,
  locateBlockTfs,
  NUM_FIELDS,
  packedAt,
  readPositionDeltas,
  type SkipTable,
} from './postings-codec.js';
import { grow } from './slice-table.js';

export const NO_MORE_DOCS = 0x7fffffff;
/** Bounds are compared with a little slack so that rounding can never prune a competitive doc. */
const SLACK = 1e-9;

/** The lowest bound that may still beat `min`: `min` less the slack. */
function competitiveFloor(min: number): number {
  return min - SLACK * Math.max(1, min);
}

/** Whether a score bound may still beat `min` (with the same slack as the scorers' own skipping). */
export function mayCompete(bound: number, min: number): boolean {
  return bound >= competitiveFloor(min);
}

export abstract class Scorer {
  doc = -1;
  /** Set only on the top-level scorer by the collector. */
  protected minCompetitive = 0;
  abstract advance(target: number): number;
  abstract score(): number;
  abstract maxScore(): number;
  /** Move bound-tracking to `target`; returns the last doc up to which the bound of maxScoreUpTo holds. */
  abstract advanceShallow(target: number): number;
  /** Upper bound of the score of docs in [last shallow target, upTo]. */
  abstract maxScoreUpTo(upTo: number): number;
  abstract cost(): number;
  nextDoc(): number {
    return this.advance(this.doc + 1);
  }
  setMinCompetitiveScore(min: number): void {
    this.minCompetitive = min;
  }
  /** Told by a parent that only probes this scorer at scattered docs (a conjunction's non-lead child). */
  probedOnly(): void {}
  /**
   * An upper bound of the score at doc `d` (which the scorer has not reached yet), from what it can tell
   * without moving there: by default its block bound over d (it is shallow-advanced to d).
   */
  maxScoreAt(d: number): number {
    this.advanceShallow(d);
    return this.maxScoreUpTo(d);
  }
  /**
   * advance(target) for a parent that needs at least `need` from this scorer at `target`, having just asked
   * maxScoreAt(target): a scorer may then pass over target where it cannot add that much (a group leaves
   * its members bounded below it where they are). By default, advance.
   */
  advanceFor(target: number, _need: number): number {
    return this.advance(target);
  }
  /**
   * Whether no doc scores above maxScore() at all, ties included: a term's bound is built from its best
   * (tf, norm) pairs by the score's own arithmetic, so the docs holding them score exactly that. A
   * collector whose k-th score passes it can stop (at equality a tie may still enter by its id). Sums
   * (conjunctions, disjunctions) add in other orders and say no.
   */
  exactMax(): boolean {
    return false;
  }
  /** Docs up to here were found competitive against minimum checkedMin (a doc-by-doc walk asks again). */
  private checkedUpTo = -1;
  private checkedMin = Number.NaN;
  /** First target ≥ `target` whose block bound may still be competitive. */
  protected skipNonCompetitive(target: number): number {
    if (target <= this.checkedUpTo && this.minCompetitive === this.checkedMin) return target;
    const min = competitiveFloor(this.minCompetitive);
    while (target < NO_MORE_DOCS) {
      const upTo = this.advanceShallow(target);
      if (this.maxScoreUpTo(upTo) >= min) {
        this.checkedUpTo = upTo;
        this.checkedMin = this.minCompetitive;
        return target;
      }
      if (upTo >= NO_MORE_DOCS) return NO_MORE_DOCS;
      target = upTo + 1;
    }
    return NO_MORE_DOCS;
  }
}

/** Things scorers need about the segment and the BM25F parameters. */
export interface ScoringContext {
  /** Field by field: the norm of (doc, field f) is norms[f * segmentDocs + doc]. */
  norms: Uint8Array;
  /** Documents of the segment: the length of each field's row of norms. */
  segmentDocs: number;
  /** invK[f * 256 + norm] = weight_f / (1 − b_f + b_f · len / avgLen_f) */
  invK: Float64Array;
  k1: number;
}

/**
 * The context of a TermScorer that only walks to documents and reads their positions (a hit's highlights,
 * search-index.ts): it computes no block bounds and must not be scored.
 */
export const POSITIONS_ONLY: ScoringContext = Object.freeze({
  norms: new Uint8Array(0),
  segmentDocs: 0,
  invK: new Float64Array(0),
  k1: 0,
});
const EMPTY_BOUNDS = new Float64Array(0);

/** Bytes [from, from + len) of a term's positions, loaded when a phrase needs a block's (phrases only). */
export type PositionsLoader = (from: number, len: number) => Uint8Array | undefined;

/**
 * Block score bounds of a term as the last query computed them, by skip table: a large term's table is
 * kept across queries (search-index.ts), and while the tenant's lengths and document count stay the same
 * (the same BM25F table, the same idf) its bounds do too — at 1M, `rechnung` has ~12 000 blocks.
 */
const boundsMemo = new WeakMap<SkipTable, { invK: Float64Array; idfk1: number; fieldMask: number } & BlockBounds>();

/** A term's block bounds in one segment (blockBounds). */
interface BlockBounds {
  bound: Float64Array;
  maxBound: number;
  once: Float64Array;
  /** bestInvK[b · NUM_FIELDS + f]: field f's highest BM25F factor over block b's impacts (its shortest length). */
  bestInvK: Float64Array;
}

/**
 * Each block's score bound: its best group (BM25F adds its fields' best pairs before saturating). Each
 * field's factor at the block's shortest length there, by which scoreCandidates bounds a doc's sum from its
 * frequencies alone. And what a doc holding the term once adds to the BM25F sum at most, in the block's
 * field where that is least: below it, scoreBlock can rule out no doc by its frequencies.
 */
function blockBounds(skip: SkipTable, ctx: ScoringContext, idfk1: number, fieldMask: number): BlockBounds {
  const { blockCount, groupStart, impactStart, impactTf, impactNorm } = skip;
  const bound = new Float64Array(blockCount);
  const once = new Float64Array(blockCount);
  const bestInvK = new Float64Array(blockCount * NUM_FIELDS);
  let maxBound = 0;
  const { invK, k1 } = ctx;
  for (let b = 0; b < blockCount; b++) {
    let t = 0;
    const at = b * NUM_FIELDS;
    for (let g = groupStart[b]!; g < groupStart[b + 1]!; g++) {
      let sum = 0;
      let fields = 0;
      for (let f = 0; f < NUM_FIELDS; f++) {
        const i = g * NUM_FIELDS + f;
        if (impactStart[i + 1]! > impactStart[i]!) fields |= 1 << f;
        let top = 0;
        for (let p = impactStart[i]!, end = impactStart[i + 1]!; p < end; p++) {
          const inv = invK[f * 256 + impactNorm[p]!]!;
          const v = impactTf[p]! * inv;
          if (v > top) top = v;
          if (inv > bestInvK[at + f]!) bestInvK[at + f] = inv;
        }
        sum += top;
      }
      if ((fields & fieldMask) !== 0 && sum > t) t = sum;
    }
    const s = (idfk1 * t) / (k1 + t);
    bound[b] = s;
    if (s > maxBound) maxBound = s;
    let least = Number.POSITIVE_INFINITY;
    for (let f = at; f < at + NUM_FIELDS; f++) if (bestInvK[f]! > 0 && bestInvK[f]! < least) least = bestInvK[f]!;
    once[b] = least;
  }
  return { bound, maxBound, once, bestInvK };
}

/** The blocks whose bound may reach the term's maximum (with the scorers' slack), by bounds array. */
const topBlocksMemo = new WeakMap<Float64Array, Int32Array>();
function topBlocks(bound: Float64Array, maxBound: number): Int32Array {
  let top = topBlocksMemo.get(bound);
  if (top === undefined) {
    const floor = competitiveFloor(maxBound);
    const list: number[] = [];
    for (let b = 0; b < bound.length; b++) if (bound[b]! >= floor) list.push(b);
    top = Int32Array.from(list);
    topBlocksMemo.set(bound, top);
  }
  return top;
}

export class TermScorer extends Scorer {
  private block = -1;
  /** lastDoc[block]: the current block's last doc (-1 before the first). */
  private blockEnd = -1;
  private i = 0;
  private readonly docs = new Int32Array(BLOCK_SIZE);
  /**
   * Where the current block's frequencies lie per field (block fieldsBlock): scoring reads one doc's
   * without decoding the block, since a conjunction often scores one doc of a block it jumped into.
   */
  private readonly fieldOff = new Int32Array(NUM_FIELDS);
  private readonly fieldBits = new Int32Array(NUM_FIELDS);
  private fieldsBlock = -1;
  /** Frequencies of block tfsBlock, all decoded (positions walk every doc before the current one). */
  private readonly tfsBuf = new Int32Array(BLOCK_SIZE * NUM_FIELDS);
  private tfsBlock = -1;
  private tfsOff = 0;
  private readonly bound: Float64Array;
  private readonly maxBound: number;
  /** Per block: the least a doc holding the term once adds to the BM25F sum (blockBounds). */
  private readonly once: Float64Array;
  /** Per block and field: the BM25F factor at the block's shortest length there (blockBounds). */
  private readonly bestInvK: Float64Array;
  private shallowBlock = 0;
  /**
   * Block posBlock's positions (phrases): its bytes, its deltas decoded so far (posRead.k of posCount, as far
   * as a checked doc needed), and where each doc's start in them (posFrom[i], the sum of the frequencies of
   * the docs before it).
   */
  private posBytes: Uint8Array | undefined;
  private posDeltas = new Int32Array(256);
  private posCount = 0;
  private readonly posRead = { off: 0, k: 0 };
  private posBlock = -1;
  private readonly posFrom = new Int32Array(BLOCK_SIZE + 1);
  private posScratch = new Int32Array(16);
  /**
   * Views of posScratch by length (views[n] = its first n entries): positions() hands out one per doc, and
   * making a typed-array view costs more than a short phrase check.
   */
  private posViews: Int32Array[] = [];

  constructor(
    private readonly postings: Uint8Array,
    private readonly skip: SkipTable,
    private readonly ctx: ScoringContext,
    private readonly idfk1: number,
    private readonly loadPositions: PositionsLoader,
    /**
     * Only documents with the term in these fields can match (`from:müller`, a FieldScorer above): the
     * bounds leave out the impact groups without them, so blocks where the term is only in other fields
     * bound 0.
     */
    fieldMask = -1,
  ) {
    super();
    if (ctx === POSITIONS_ONLY) {
      // No block bounds: nothing is scored or skipped, and the memo of the query's bounds stays as it is.
      this.bound = EMPTY_BOUNDS;
      this.once = EMPTY_BOUNDS;
      this.bestInvK = EMPTY_BOUNDS;
      this.maxBound = Number.POSITIVE_INFINITY;
      return;
    }
    let memo = boundsMemo.get(skip);
    if (memo === undefined || memo.invK !== ctx.invK || memo.idfk1 !== idfk1 || memo.fieldMask !== fieldMask) {
      memo = { invK: ctx.invK, idfk1, fieldMask, ...blockBounds(skip, ctx, idfk1, fieldMask) };
      boundsMemo.set(skip, memo);
    }
    this.bound = memo.bound;
    this.once = memo.once;
    this.bestInvK = memo.bestInvK;
    this.maxBound = memo.maxBound;
  }

  override advance(target: number): number {
    for (;;) {
      if (this.minCompetitive > 0) target = this.skipNonCompetitive(target);
      // Most calls stay in the current block: the list's end is checked only when leaving it.
      if (target > this.blockEnd) {
        const { lastDoc, blockCount } = this.skip;
        if (target >= NO_MORE_DOCS || target > lastDoc[blockCount - 1]!) return (this.doc = NO_MORE_DOCS);
        let b = Math.max(this.block, 0);
        if (lastDoc[b]! < target) b = firstBlockAtLeast(lastDoc, target, b + 1);
        this.block = b;
        this.blockEnd = lastDoc[b]!;
        this.i = 0;
        if (this.bulk) {
          this.tfsOff = decodeBlockDocs(this.postings, this.skip, b, this.docs);
          this.summed = BLOCK_SIZE;
        } else {
          this.tfsOff = decodeBlockGaps(this.postings, this.skip, b, this.docs);
          this.summed = 0;
        }
      }
      const docs = this.docs;
      let i = this.i;
      if (this.summed < BLOCK_SIZE) i = this.sumTo(target, i);
      while (docs[i]! < target) i++;
      const floor = this.bulk ? this.blockFloor() : 0;
      if (floor > 0) {
        // Walking the block in order: pass over docs below the minimum on their own, the whole block when its
        // bound is, else scoring it whole.
        const n = blockLength(this.skip, this.block);
        if (this.bound[this.block]! < floor) i = n;
        else {
          if (this.scoredBlock !== this.block || floor < this.scoredFloor) this.scoreBlock(floor);
          while (i < n && this.blockScores[i]! < floor) i++;
        }
        if (i === n) {
          this.i = n - 1;
          target = this.blockEnd + 1;
          continue;
        }
      }
      this.i = i;
      return (this.doc = docs[i]!);
    }
  }

  /**
   * A probed term's block holds doc ids in docs[0..summed) and gaps after (decodeBlockGaps): a probe looks
   * for one doc, mostly in a block it has just entered, so summing the rest of the block would be wasted.
   * BLOCK_SIZE once the block is summed whole.
   */
  private summed = BLOCK_SIZE;

  /**
   * Sums the current block's gaps up to its first doc ≥ `target` (which it holds: target ≤ blockEnd) if
   * that doc is not summed yet, and returns where to look for it from `i`.
   */
  private sumTo(target: number, i: number): number {
    const docs = this.docs;
    let s = this.summed;
    if (s > 0 && docs[s - 1]! >= target) return i;
    let prev = s > 0 ? docs[s - 1]! : this.block > 0 ? this.skip.lastDoc[this.block - 1]! : -1;
    const n = blockLength(this.skip, this.block);
    do {
      prev += docs[s]! + 1;
      docs[s++] = prev;
    } while (prev < target && s < n);
    this.summed = s === n ? BLOCK_SIZE : s;
    // Every doc summed before the last is below target.
    return s - 1;
  }

  /** The whole current block's doc ids (a window or a block score reads them all). */
  private sumAll(): void {
    if (this.summed < BLOCK_SIZE && this.block >= 0) this.sumTo(NO_MORE_DOCS, this.i);
  }

  /**
   * Whether advance may score whole blocks to pass over docs that cannot reach the minimum alone (a term
   * walked in order); off for a term only probed at scattered docs (a conjunction's other children), where
   * scoring a block for one doc would cost more than it skips.
   */
  private bulk = true;
  private readonly blockScores = new Float64Array(BLOCK_SIZE);
  private scoredBlock = -1;
  /** The floor scoreBlock was given: docs of the block below it may hold NOT_SCORED instead of a score. */
  private scoredFloor = 0;

  override probedOnly(): void {
    this.bulk = false;
  }

  /** The conjunction or disjunction this term is a child of, if any (childOf). */
  private partners: LeadPartners | undefined;
  private partnersBlock = -1;
  private partnersMax = 0;

  /**
   * Makes this term a child of `parent` (a sum), whose other children add at most `partnersMaxUpTo` over a
   * range of docs: a block's docs are then held to the parent's minimum less what the others can add over
   * that block, rather than less their maxima over the whole segment (handOwnMinimums).
   */
  childOf(parent: LeadPartners): void {
    this.partners = parent;
  }

  /** The score a doc of the current block needs on its own, or ≤ 0 when none is known. */
  private blockFloor(): number {
    const own = this.minCompetitive > 0 ? competitiveFloor(this.minCompetitive) : 0;
    const p = this.partners;
    if (p === undefined || p.minimum() <= 0) return own;
    if (this.partnersBlock !== this.block) {
      // The block's doc range from the skip table (its first doc lies after the previous block's last).
      const { lastDoc } = this.skip;
      this.partnersMax = p.partnersMaxUpTo(this, this.block > 0 ? lastDoc[this.block - 1]! + 1 : 0, lastDoc[this.block]!);
      this.partnersBlock = this.block;
    }
    return Math.max(own, competitiveFloor(p.minimum()) - this.partnersMax);
  }

  /**
   * A disjunction's window (DisjunctionScorer.fillWindow): puts the score of each of its docs in [from, to)
   * that reaches `floor` into the window as child k, scoring whole blocks; a block whose bound is below
   * `floor` is passed over undecoded (none of its docs can make the sum compete). Docs before `from` that
   * the scorer already passed are not looked at again. Afterwards the scorer sits on its first doc ≥ `to`,
   * or, when it stopped at a block boundary without decoding further, reports `to − 1` (before every doc it
   * has left), so the next advance locates its doc.
   */
  collectWindow(from: number, to: number, floor: number, w: Window, k: number): void {
    const { lastDoc, blockCount } = this.skip;
    let b = Math.max(this.block, 0);
    if (lastDoc[b]! < from) b = firstBlockAtLeast(lastDoc, from, b + 1);
    const at = k * WINDOW;
    const bit = 1 << k;
    for (; b < blockCount && (b === 0 || lastDoc[b - 1]! + 1 < to); b++) {
      if (this.bound[b]! < floor) continue;
      if (b !== this.block) {
        this.tfsOff = decodeBlockDocs(this.postings, this.skip, b, this.docs);
        this.summed = BLOCK_SIZE;
        this.block = b;
        this.blockEnd = lastDoc[b]!;
        this.i = 0;
      } else this.sumAll();
      // Whole blocks (floor 0): a window's floor is low, and filtering cost a union more than it spared.
      if (this.scoredBlock !== b || this.scoredFloor > 0) this.scoreBlock(0);
      const docs = this.docs;
      const blockScores = this.blockScores;
      const n = blockLength(this.skip, b);
      // From where the scorer stands in the block (0 in a block just decoded): a block the last window ended
      // in goes on from there, not from its first doc.
      let i = this.i;
      while (docs[i]! < from) i++;
      for (; i < n; i++) {
        const d = docs[i]!;
        if (d >= to) break;
        const s = blockScores[i]!;
        if (s >= floor) w.add(d - from, at, bit, s);
      }
      if (i < n) {
        this.i = i;
        this.doc = docs[i]!;
        return;
      }
      this.i = n - 1;
    }
    this.doc = b >= blockCount ? NO_MORE_DOCS : to - 1;
  }

  /**
   * Scores of the current block's docs, by the same arithmetic as score(). Docs whose frequencies alone
   * cannot reach `floor` (each field's tf at the block's shortest length there, from its impacts) get
   * NOT_SCORED instead when that rules out any: a phrase's lead block is scored for its one or two best
   * docs, most of the others hold the word once, and each norms lookup of a sparse word is a cache miss.
   */
  private scoreBlock(floor: number): void {
    this.sumAll();
    const { norms, invK, k1, segmentDocs } = this.ctx;
    const tfs = this.tfs;
    const docs = this.docs;
    const n = blockLength(this.skip, this.block);
    const mask = this.skip.fieldMask[this.block]!;
    const t = this.blockScores;
    const idfk1 = this.idfk1;
    this.scoredBlock = this.block;
    this.scoredFloor = 0;
    // The BM25F sum idfk1·t / (k1 + t) needs to reach floor, less a slack for rounding.
    const need = floor > 0 && floor < idfk1 * (1 - 1e-6) ? ((floor * k1) / (idfk1 - floor)) * (1 - 1e-6) : 0;
    // Only where the docs lie far apart: a dense word's norms share cache lines, and filtering cost more
    // than the lookups it spared (rechnung vertrag at 1M).
    if (need > 0 && this.once[this.block]! < need && docs[n - 1]! - docs[0]! >= SPARSE_SPAN * n) {
      this.scoreCandidates(need, n, mask);
      this.scoredFloor = floor;
      return;
    }
    t.fill(0, 0, n);
    // Field by field over the block (most blocks hold the term in the body only); each doc still adds its
    // fields in score()'s order, so the sums are the same floats.
    for (let f = 0; f < NUM_FIELDS; f++) {
      if (!(mask & (1 << f))) continue;
      const row = f * BLOCK_SIZE;
      const inv = f * 256;
      const normsOf = f * segmentDocs;
      for (let i = 0; i < n; i++) {
        const tf = tfs[row + i]!;
        if (tf > 0) t[i] = t[i]! + tf * invK[inv + norms[normsOf + docs[i]!]!]!;
      }
    }
    for (let i = 0; i < n; i++) t[i] = (idfk1 * t[i]!) / (k1 + t[i]!);
  }

  /**
   * scoreBlock for the docs whose frequencies may reach the BM25F sum `need` (each field's tf at the block's
   * shortest length there), the others NOT_SCORED.
   */
  private scoreCandidates(need: number, n: number, mask: number): void {
    const { norms, invK, k1, segmentDocs } = this.ctx;
    const best = this.bestInvK;
    const at = this.block * NUM_FIELDS;
    const tfs = this.tfs;
    const cand = CANDIDATES;
    let m = 0;
    const f0 = 31 - Math.clz32(mask & -mask);
    const rest = mask & (mask - 1);
    if ((rest & (rest - 1)) === 0) {
      // One or two fields (nearly every block): each doc's bound in one pass, no array of bounds.
      const f1 = rest === 0 ? f0 : 31 - Math.clz32(rest);
      const r0 = f0 * BLOCK_SIZE;
      const r1 = f1 * BLOCK_SIZE;
      const b0 = best[at + f0]!;
      const b1 = rest === 0 ? 0 : best[at + f1]!;
      for (let i = 0; i < n; i++) {
        cand[m] = i;
        if (tfs[r0 + i]! * b0 + tfs[r1 + i]! * b1 >= need) m++;
      }
    } else {
      const ub = TF_BOUNDS;
      ub.fill(0, 0, n);
      for (let f = 0; f < NUM_FIELDS; f++) {
        if (!(mask & (1 << f))) continue;
        const row = f * BLOCK_SIZE;
        const bf = best[at + f]!;
        for (let i = 0; i < n; i++) ub[i] = ub[i]! + tfs[row + i]! * bf;
      }
      for (let i = 0; i < n; i++) {
        cand[m] = i;
        if (ub[i]! >= need) m++;
      }
    }
    const t = this.blockScores;
    t.fill(NOT_SCORED, 0, n);
    const docs = this.docs;
    const idfk1 = this.idfk1;
    for (let c = 0; c < m; c++) {
      const i = cand[c]!;
      const d = docs[i]!;
      let s = 0;
      for (let f = 0; f < NUM_FIELDS; f++) {
        if (!(mask & (1 << f))) continue;
        const tf = tfs[f * BLOCK_SIZE + i]!;
        if (tf > 0) s += tf * invK[f * 256 + norms[f * segmentDocs + d]!]!;
      }
      t[i] = (idfk1 * s) / (k1 + s);
    }
  }

  /** The current block's frequencies. */
  private get tfs(): Int32Array {
    if (this.tfsBlock !== this.block) {
      decodeBlockTfs(this.postings, this.skip, this.block, this.tfsOff, blockLength(this.skip, this.block), this.tfsBuf);
      this.tfsBlock = this.block;
    }
    return this.tfsBuf;
  }

  /** The current doc's frequency in field f. */
  private tfAt(f: number): number {
    if (this.fieldsBlock !== this.block) {
      locateBlockTfs(
        this.postings,
        this.skip,
        this.block,
        this.tfsOff,
        blockLength(this.skip, this.block),
        this.fieldOff,
        this.fieldBits,
      );
      this.fieldsBlock = this.block;
    }
    const bits = this.fieldBits[f]!;
    if (bits === 0) return 0;
    return bits <= 24 ? packedAt(this.postings, this.fieldOff[f]!, bits, this.i) : this.tfs[f * BLOCK_SIZE + this.i]!;
  }

  override score(): number {
    if (this.scoredBlock === this.block && this.blockScores[this.i]! !== NOT_SCORED) return this.blockScores[this.i]!;
    const { norms, invK, k1, segmentDocs } = this.ctx;
    let t = 0;
    for (let f = 0; f < NUM_FIELDS; f++) {
      const tf = this.tfAt(f);
      if (tf > 0) t += tf * invK[f * 256 + norms[f * segmentDocs + this.doc]!]!;
    }
    return (this.idfk1 * t) / (k1 + t);
  }

  override maxScore(): number {
    return this.maxBound;
  }
  override exactMax(): boolean {
    return true;
  }

  /**
   * Once the minimum is at the term's maximum, only exact ties can still enter (by their id, search-index.ts
   * TopK), and only blocks whose bound reaches the maximum can hold one: those are listed once per bounds
   * (topBlocks), and the next is found by a binary search instead of a bound check per block.
   */
  protected override skipNonCompetitive(target: number): number {
    if (!(this.minCompetitive >= this.maxBound)) return super.skipNonCompetitive(target);
    const top = topBlocks(this.bound, this.maxBound);
    const { lastDoc } = this.skip;
    let lo = 0;
    let hi = top.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (lastDoc[top[mid]!]! < target) lo = mid + 1;
      else hi = mid;
    }
    if (lo === top.length) return NO_MORE_DOCS;
    const b = top[lo]!;
    return b > 0 ? Math.max(target, lastDoc[b - 1]! + 1) : target;
  }

  /**
   * The block bound over d, or less: d's (tf, norm) pair in each field is beaten on both by one of the
   * block's impacts (postings-codec.ts), so at d's own length (its norms, which the conjunction's lead has
   * just read for its own score) d holds the term at most as often as the impact of the longest length up
   * to d's. A phrase's frequent partner is probed for a lead doc only when that bound may still lift the doc
   * to the minimum: its block bound is a short document's, and most probes found the partner but a sum
   * below the minimum (`"müller gmbh"` at 1M: 806 of 842), each after decoding a block of each of its stems.
   */
  override maxScoreAt(d: number): number {
    this.advanceShallow(d);
    const b = this.shallowBlock;
    if (b >= this.skip.blockCount) return 0;
    const { groupStart, impactStart, impactTf, impactNorm } = this.skip;
    const { norms, invK, k1, segmentDocs } = this.ctx;
    let best = 0;
    for (let g = groupStart[b]!; g < groupStart[b + 1]!; g++) {
      let t = 0;
      for (let f = 0; f < NUM_FIELDS; f++) {
        const i = g * NUM_FIELDS + f;
        const end = impactStart[i + 1]!;
        let p = impactStart[i]!;
        if (p === end) continue;
        const norm = norms[f * segmentDocs + d]!;
        // Norms ascending, and frequencies with them: the last impact no longer than d bounds d's frequency.
        let tf = 0;
        for (; p < end && impactNorm[p]! <= norm; p++) tf = impactTf[p]!;
        if (tf > 0) t += tf * invK[f * 256 + norm]!;
      }
      if (t > best) best = t;
    }
    return Math.min(this.bound[b]!, (this.idfk1 * best) / (k1 + best));
  }

  override advanceShallow(target: number): number {
    const { lastDoc, blockCount } = this.skip;
    let b = this.shallowBlock;
    if (b >= blockCount || (b > 0 && lastDoc[b - 1]! >= target)) b = 0;
    if (lastDoc[b]! < target) b = firstBlockAtLeast(lastDoc, target, b + 1);
    this.shallowBlock = b;
    return b >= blockCount ? NO_MORE_DOCS : lastDoc[b]!;
  }

  override maxScoreUpTo(upTo: number): number {
    const { lastDoc, blockCount } = this.skip;
    let m = 0;
    for (let b = this.shallowBlock; b < blockCount; b++) {
      if (this.bound[b]! > m) m = this.bound[b]!;
      if (lastDoc[b]! >= upTo) break;
    }
    return m;
  }

  override cost(): number {
    return this.skip.df;
  }

  /** Whether advance may pass over docs of the term that cannot reach a minimum (one is set). */
  get skips(): boolean {
    return this.minCompetitive > 0;
  }

  /** A scorer of the same postings that only walks to docs and reads their positions (no bounds, no skips). */
  positionsWalker(): TermScorer {
    return new TermScorer(this.postings, this.skip, POSITIONS_ONLY, 0, this.loadPositions);
  }

  /** Bit f set when the term occurs in field f of the current doc. */
  fieldMaskAt(): number {
    let m = 0;
    for (let f = 0; f < NUM_FIELDS; f++) if (this.tfAt(f) > 0) m |= 1 << f;
    return m;
  }

  /**
   * Field-based positions of the term in the current doc: a view of this scorer's own buffer, valid until
   * its next call (a phrase asks each of its words once per doc, so nothing is copied).
   */
  positions(): Int32Array {
    if (this.posBlock !== this.block) {
      // Only this block's positions (a frequent term's whole list would be megabytes), decoded below only
      // as far as the doc checked.
      const { positionOffset, blockCount, positionBytes } = this.skip;
      const from = positionOffset[this.block]!;
      const to = this.block + 1 < blockCount ? positionOffset[this.block + 1]! : positionBytes;
      this.posBytes = this.loadPositions(from, to - from);
      // Each doc's start (its total frequency over the fields, row by row, then summed up); the block's total
      // is where its runs of deltas end.
      // Only the fields of the block's mask: the others' rows are zeros (most blocks: one or two fields).
      const tfs = this.tfs;
      const n = blockLength(this.skip, this.block);
      const mask = this.skip.fieldMask[this.block]!;
      const starts = this.posFrom;
      starts.fill(0, 0, n + 1);
      for (let f = 0; f < NUM_FIELDS; f++) {
        if (!(mask & (1 << f))) continue;
        const row = f * BLOCK_SIZE;
        for (let j = 0; j < n; j++) starts[j + 1] = starts[j + 1]! + tfs[row + j]!;
      }
      for (let j = 0; j < n; j++) starts[j + 1] = starts[j + 1]! + starts[j]!;
      const count = starts[n]!;
      if (this.posDeltas.length < count) this.posDeltas = new Int32Array(count * 2);
      this.posCount = count;
      this.posRead.off = 0;
      this.posRead.k = 0;
      this.posBlock = this.block;
    }
    if (this.posBytes === undefined) return EMPTY_POSITIONS;
    const start = this.posFrom[this.i]!;
    const end = this.posFrom[this.i + 1]!;
    if (this.posRead.k < end) readPositionDeltas(this.posBytes, this.posRead, this.posCount, start, end, this.posDeltas);
    const len = end - start;
    if (this.posScratch.length < len) {
      this.posScratch = new Int32Array(len * 2);
      this.posViews = [];
    }
    docPositions(this.posDeltas, start, this.tfs, this.i, this.posScratch);
    let view = this.posViews[len];
    if (view === undefined) {
      view = this.posScratch.subarray(0, len);
      this.posViews[len] = view;
    }
    return view;
  }
}

const EMPTY_POSITIONS = new Int32Array(0);
/** Mean distance of a block's doc ids from which scoreBlock filters its docs by their frequencies. */
const SPARSE_SPAN = 8;
/**
 * Scratch of scoreCandidates, shared (it runs to its end without yielding): each doc's bound from its
 * frequencies, the docs that bound does not rule out.
 */
const TF_BOUNDS = new Float64Array(BLOCK_SIZE);
const CANDIDATES = new Int32Array(BLOCK_SIZE);
/** A doc of a scored block whose score was not computed (below the floor the block was scored for). */
const NOT_SCORED = -1;

function firstBlockAtLeast(lastDoc: Int32Array, target: number, from: number): number {
  // Galloping from `from`: walks in doc order mostly land a block or a few further, and a binary search
  // over the whole rest of a long list touched a cache line per step.
  let lo = from;
  let hi = lastDoc.length;
  for (let step = 1; lo + step < hi; step *= 2) {
    if (lastDoc[lo + step - 1]! >= target) {
      hi = lo + step - 1;
      break;
    }
    lo += step;
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (lastDoc[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A scorer that can report positions (terms and alternative groups): phrases are built of these. */
export type PositionalScorer = TermScorer | GroupScorer;

/** Alternatives of one query word (stems, prefix expansions): matches any, scores the best (DisMax). */
export class GroupScorer extends Scorer {
  /** The members that may still reach the minimum on their own (all until one is set). */
  private active: TermScorer[];
  /** Each member's maxScoreAt(boundDoc), as the last maxScoreAt computed them (advanceFor). */
  private readonly memberBound: Float64Array;
  private boundDoc = -1;
  constructor(
    private readonly members: TermScorer[],
    /**
     * A field restriction (`from:müller`): a member then scores only where it holds one of these fields,
     * as its bounds (built for these fields) assume.
     */
    private readonly fieldMask = -1,
  ) {
    super();
    this.active = members;
    this.memberBound = new Float64Array(members.length);
  }
  override probedOnly(): void {
    for (const m of this.members) m.probedOnly();
  }
  override exactMax(): boolean {
    return true;
  }
  /**
   * The best member's score is the group's, so a doc can only compete through a member that reaches the
   * minimum alone: members bounded below it are left out and each skips its own blocks (a prefix's 64
   * expansions are not walked as one union).
   */
  override setMinCompetitiveScore(min: number): void {
    this.minCompetitive = min;
    this.active = this.members.filter((m) => mayCompete(m.maxScore(), min));
    for (const m of this.active) m.setMinCompetitiveScore(min);
  }
  /**
   * As TermScorer.collectWindow, each member into child k's slot, which keeps a doc's best (the group's
   * score); only for a group without a field restriction (else a member's doc needs its fields checked).
   */
  collectWindow(from: number, to: number, floor: number, w: Window, k: number): void {
    let doc = NO_MORE_DOCS;
    for (const m of this.active) {
      m.collectWindow(from, to, floor, w, k);
      if (m.doc < doc) doc = m.doc;
    }
    this.doc = doc;
  }
  /** Whether collectWindow can gather its docs. */
  get collectsWindows(): boolean {
    return this.fieldMask === -1;
  }
  override advance(target: number): number {
    let min = NO_MORE_DOCS;
    for (const m of this.active) {
      const d = m.doc < target ? m.advance(target) : m.doc;
      if (d < min) min = d;
    }
    return (this.doc = min);
  }
  override score(): number {
    let best = 0;
    for (const m of this.members) {
      if (m.doc !== this.doc) continue;
      if (this.fieldMask !== -1 && (m.fieldMaskAt() & this.fieldMask) === 0) continue;
      const s = m.score();
      if (s > best) best = s;
    }
    return best;
  }
  override maxScore(): number {
    let best = 0;
    for (const m of this.members) best = Math.max(best, m.maxScore());
    return best;
  }
  override advanceShallow(target: number): number {
    let upTo = NO_MORE_DOCS;
    for (const m of this.members) upTo = Math.min(upTo, m.advanceShallow(target));
    return upTo;
  }
  override maxScoreUpTo(upTo: number): number {
    let best = 0;
    for (const m of this.members) best = Math.max(best, m.maxScoreUpTo(upTo));
    return best;
  }
  override maxScoreAt(d: number): number {
    let best = 0;
    for (let i = 0; i < this.members.length; i++) {
      const b = this.members[i]!.maxScoreAt(d);
      this.memberBound[i] = b;
      if (b > best) best = b;
    }
    this.boundDoc = d;
    return best;
  }
  /**
   * Advances only the active members whose bound at target may reach `need`: the others cannot lift the doc
   * to the parent's minimum, whether they hold it or not (the stems of `mull | muller` are nearly disjoint,
   * and a member's probe decodes one of its blocks). They stay behind until a later advance, or positions()
   * at a doc the parent keeps. A doc that only they hold is passed over; one the others hold scores the
   * others' best, the group's score wherever it can compete.
   */
  override advanceFor(target: number, need: number): number {
    if (this.boundDoc !== target) return this.advance(target);
    const least = need - SLACK * Math.max(1, Math.abs(need));
    let min = NO_MORE_DOCS;
    const members = this.members;
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!;
      // As advance: only the active members.
      if (this.active !== members && !this.active.includes(m)) continue;
      let d = m.doc;
      if (d < target) {
        if (this.memberBound[i]! < least) continue;
        d = m.advance(target);
      }
      if (d < min) min = d;
    }
    return (this.doc = min);
  }
  override cost(): number {
    let c = 0;
    for (const m of this.members) c += m.cost();
    return c;
  }
  fieldMaskAt(): number {
    let m = 0;
    for (const mem of this.members) if (mem.doc === this.doc) m |= mem.fieldMaskAt();
    return m;
  }
  /**
   * The positions of every member holding the doc, merged (a member's own view when only one holds it). A
   * member not on the doc may still hold it where it passed over docs by a minimum of its own, or was left
   * behind (advanceFor, or dropped from the active ones): its score there could not lift the doc, but its
   * positions may make the phrase that another member's score carries (`"kaution beträgt"` in a document
   * saying "Kaution" and "Mietkaution beträgt"). Such a member is asked through a walker of its own, which
   * skips nothing.
   */
  positions(): Int32Array {
    let only: Int32Array | undefined;
    /** Entries gathered in `merged`, once a second member matches (-1 until then). */
    let gathered = -1;
    const doc = this.doc;
    for (let i = 0; i < this.members.length; i++) {
      const m = this.members[i]!;
      let p: Int32Array;
      if (m.doc === doc) p = m.positions();
      else if (m.doc < doc || m.skips) {
        const w = (this.walkers[i] ??= m.positionsWalker());
        if ((w.doc < doc ? w.advance(doc) : w.doc) !== doc) continue;
        p = w.positions();
      } else continue;
      if (only === undefined) {
        only = p;
        continue;
      }
      // A second member matches too: gather copies in this group's buffer.
      if (gathered < 0) gathered = this.gather(only, 0);
      gathered = this.gather(p, gathered);
    }
    if (only === undefined) return EMPTY_POSITIONS;
    return gathered < 0 ? only : this.merged.subarray(0, gathered).sort();
  }
  private merged = new Int32Array(16);
  /** Walkers of the members' postings for positions() (created when first needed). */
  private readonly walkers: (TermScorer | undefined)[] = [];
  private gather(p: Int32Array, at: number): number {
    if (this.merged.length < at + p.length) this.merged = grow(this.merged, (at + p.length) * 2);
    this.merged.set(p, at);
    return at + p.length;
  }
}

/** What `children` but `child` add at most to a doc in [from, to] (their block bounds there). */
function othersMaxUpTo(children: readonly Scorer[], child: Scorer, from: number, to: number): number {
  let s = 0;
  for (const c of children) {
    if (c === child) continue;
    c.advanceShallow(from);
    s += c.maxScoreUpTo(to);
  }
  return s;
}

/**
 * Gives each child of a sum (conjunction or disjunction) what it must score alone for the sum to reach
 * `min` with every other child at its maximum: a doc below that in one child cannot compete whichever
 * others match it, so the child may pass over it.
 */
function handOwnMinimums(children: readonly Scorer[], min: number): void {
  let all = 0;
  for (const c of children) all += c.maxScore();
  const floor = competitiveFloor(min);
  for (const c of children) {
    const own = floor - (all - c.maxScore());
    if (own > 0) c.setMinCompetitiveScore(own);
  }
}

/** A conjunction or disjunction as a term among its children sees it (TermScorer.childOf). */
interface LeadPartners {
  /** The parent's minimum (0 until one is set). */
  minimum(): number;
  /** What the children but `child` add at most to a doc in [from, to]. */
  partnersMaxUpTo(child: Scorer, from: number, to: number): number;
}

/**
 * All children must match; the score is the sum in the children's given order. Once a minimum is set, a
 * doc the children agree on is scored child by child, cheapest (rarest) first, and dropped as soon as the
 * others' bounds over the current window cannot lift it to the minimum: a frequent word's score is then
 * never computed for the docs a rarer word already rules out.
 */
export class ConjunctionScorer extends Scorer implements LeadPartners {
  private readonly byCost: Scorer[];
  /** Index in `children` of each of byCost. */
  private readonly order: Int32Array;
  private readonly partial: Float64Array;
  private readonly bounds: Float64Array;
  /** By byCost index: what each child but the lead must add at leadDoc (leadMayCompete, advanceFor). */
  private readonly needAt: Float64Array;
  private windowEnd = -1;
  /**
   * Whether the lead is much rarer than the next child: its docs then mostly fall in blocks the others
   * would decode only to look for them, so the lead's score is checked first (leadMayCompete). Among
   * similar frequencies the others' blocks are decoded anyway and the check would only score more docs.
   */
  private readonly sparseLead: boolean;
  /** The lead's score at leadDoc, as leadMayCompete computed it. */
  private leadDoc = -1;
  private leadScore = 0;
  private scored = -1;
  private sum = 0;
  constructor(private readonly children: Scorer[]) {
    super();
    const idx = children.map((_, i) => i).sort((a, b) => children[a]!.cost() - children[b]!.cost());
    this.byCost = idx.map((i) => children[i]!);
    this.order = Int32Array.from(idx);
    this.partial = new Float64Array(children.length);
    this.bounds = new Float64Array(children.length);
    this.needAt = new Float64Array(children.length);
    this.sparseLead = children.length > 1 && this.byCost[0]!.cost() * 4 <= this.byCost[1]!.cost();
    for (let k = 1; k < this.byCost.length; k++) this.byCost[k]!.probedOnly();
    // Only the lead walks its blocks in order (the others are probed).
    if (children.length > 1 && this.byCost[0] instanceof TermScorer) this.byCost[0].childOf(this);
  }
  minimum(): number {
    return this.minCompetitive;
  }
  partnersMaxUpTo(child: Scorer, from: number, to: number): number {
    return othersMaxUpTo(this.children, child, from, to);
  }
  override probedOnly(): void {
    for (const c of this.children) c.probedOnly();
  }
  /** Each child also gets its own minimum (handOwnMinimums) and skips its blocks that cannot reach it. */
  override setMinCompetitiveScore(min: number): void {
    this.minCompetitive = min;
    handOwnMinimums(this.children, min);
  }
  override advance(target: number): number {
    // By index, not `[lead, ...others]`: advance runs per matching doc, and the rest array was garbage.
    const byCost = this.byCost;
    const lead = byCost[0];
    if (lead === undefined) return (this.doc = NO_MORE_DOCS);
    outer: for (;;) {
      if (this.minCompetitive > 0) target = this.skipNonCompetitive(target);
      if (target >= NO_MORE_DOCS) return (this.doc = NO_MORE_DOCS);
      const d = lead.doc < target ? lead.advance(target) : lead.doc;
      if (d >= NO_MORE_DOCS) return (this.doc = NO_MORE_DOCS);
      if (this.minCompetitive > 0 && this.sparseLead && !this.leadMayCompete(d)) {
        target = d + 1;
        continue;
      }
      // Past leadMayCompete, each other child must add what the lead and the others' bounds at d leave.
      const probing = this.minCompetitive > 0 && this.sparseLead;
      for (let k = 1; k < byCost.length; k++) {
        const o = byCost[k]!;
        const od = o.doc >= d ? o.doc : probing ? o.advanceFor(d, this.needAt[k]!) : o.advance(d);
        if (od > d) {
          target = od;
          continue outer;
        }
      }
      this.doc = d;
      if (this.minCompetitive > 0 && !this.competes(d)) {
        target = d + 1;
        continue;
      }
      return d;
    }
  }
  /**
   * The rarest child's score at `d` plus the others' bounds over their blocks holding `d`: a lead doc that
   * cannot reach the minimum this way is passed over before the others decode a block to look for it. Their
   * block bounds first, which need no more than the skip tables: only a doc they leave may need the bounds
   * at its own length (maxScoreAt), which read each one's impacts and the doc's norms.
   */
  private leadMayCompete(d: number): boolean {
    const byCost = this.byCost;
    const score = byCost[0]!.score();
    this.leadDoc = d;
    this.leadScore = score;
    const floor = competitiveFloor(this.minCompetitive);
    let bound = score;
    for (let k = 1; k < byCost.length; k++) {
      const c = byCost[k]!;
      c.advanceShallow(d);
      bound += c.maxScoreUpTo(d);
    }
    if (bound < floor) return false;
    const at = this.needAt;
    bound = score;
    for (let k = 1; k < byCost.length; k++) {
      at[k] = byCost[k]!.maxScoreAt(d);
      bound += at[k]!;
    }
    if (bound < floor) return false;
    // What child k must add at d: the floor less the lead's score and the others' bounds there.
    for (let k = 1; k < byCost.length; k++) at[k] = floor - (bound - at[k]!);
    return true;
  }
  /** Scores `d` child by child against the window's bounds; false once it cannot reach the minimum. */
  private competes(d: number): boolean {
    const n = this.children.length;
    if (d > this.windowEnd) {
      let end = NO_MORE_DOCS;
      for (const c of this.byCost) end = Math.min(end, c.advanceShallow(d));
      for (let k = 0; k < n; k++) this.bounds[k] = this.byCost[k]!.maxScoreUpTo(end);
      this.windowEnd = end;
    }
    let rest = 0;
    for (let k = 0; k < n; k++) rest += this.bounds[k]!;
    const floor = competitiveFloor(this.minCompetitive);
    let got = 0;
    for (let k = 0; k < n; k++) {
      const v = k === 0 && this.leadDoc === d ? this.leadScore : this.byCost[k]!.score();
      this.partial[this.order[k]!] = v;
      got += v;
      rest -= this.bounds[k]!;
      if (got + rest < floor) return false;
    }
    // The sum in the children's given order, as score() adds it (the same float as unpruned scoring).
    let s = 0;
    for (let i = 0; i < n; i++) s += this.partial[i]!;
    this.sum = s;
    this.scored = d;
    return true;
  }
  override score(): number {
    if (this.scored === this.doc) return this.sum;
    let s = 0;
    for (const c of this.children) s += c.score();
    return s;
  }
  override maxScore(): number {
    let s = 0;
    for (const c of this.children) s += c.maxScore();
    return s;
  }
  override advanceShallow(target: number): number {
    let upTo = NO_MORE_DOCS;
    for (const c of this.children) upTo = Math.min(upTo, c.advanceShallow(target));
    return upTo;
  }
  override maxScoreUpTo(upTo: number): number {
    let s = 0;
    for (const c of this.children) s += c.maxScoreUpTo(upTo);
    return s;
  }
  override cost(): number {
    return this.byCost[0]?.cost() ?? 0;
  }
}

/** Docs of a disjunction's window (DisjunctionScorer.fillWindow): a window's doc ids span this many. */
const WINDOW = 2048;

/**
 * Windows of disjunctions that walked to their end, clean (every entry is cleared as it is read), for the
 * next ones: each is ~100 KB of typed arrays, and a query makes a disjunction per segment.
 */
const freeWindows: Window[] = [];

function takeWindow(children: number): Window {
  const i = freeWindows.findIndex((w) => w.children >= children);
  return i >= 0 ? freeWindows.splice(i, 1)[0]! : new Window(Math.max(children, 4));
}

/**
 * The children's scores of one window of docs [from, from + WINDOW): scores[k · WINDOW + j] is child k's
 * score of doc from + j when bit k of mask[j] is set; `bits` has bit j set for each doc any child holds.
 * Entries are cleared as they are read (DisjunctionScorer.fillWindow).
 */
export class Window {
  readonly scores: Float64Array;
  /** Docs of the window that reached the minimum, and their scores. */
  readonly candDocs = new Int32Array(WINDOW);
  readonly candScores = new Float64Array(WINDOW);
  readonly mask = new Int32Array(WINDOW);
  /** The gathered scores of doc from + j added up (in no set order: a filter, not the score). */
  readonly sum = new Float64Array(WINDOW);
  readonly bits = new Int32Array(WINDOW >>> 5);
  constructor(readonly children: number) {
    this.scores = new Float64Array(children * WINDOW);
  }
  /** Child `bit` (its scores from `at`) scores s on doc from + j; a group's members keep their best. */
  add(j: number, at: number, bit: number, s: number): void {
    const m = this.mask[j]!;
    if ((m & bit) === 0) {
      this.scores[at + j] = s;
      this.sum[j] = m === 0 ? s : this.sum[j]! + s;
      if (m === 0) this.bits[j >>> 5]! |= 1 << (j & 31);
      this.mask[j] = m | bit;
    } else if (s > this.scores[at + j]!) {
      this.sum[j] = this.sum[j]! + (s - this.scores[at + j]!);
      this.scores[at + j] = s;
    }
  }
}

/**
 * Any child may match; the score is the sum of the matching children. MaxScore pruning at top level.
 *
 * Walked in order with a minimum (the top level, or under filters), it scores windows of WINDOW docs in
 * bulk, as Lucene's MaxScoreBulkScorer: in each window the children are split by their maxima over it into
 * essential ones, whose docs and scores are gathered block by block (TermScorer.collectWindow), and
 * non-essential ones, probed only at a gathered doc whose score may still reach the minimum with theirs
 * (or gathered too when they hold no more docs than the essential ones: see fillWindow).
 * The docs that reach it wait in a list with their exact scores (summed in the children's given order) and
 * are handed out one by one, each checked again against the minimum, which may have risen meanwhile. Docs
 * of a union that only one child holds are then dropped by an array scan instead of a merge step each.
 * Probed at scattered docs (a conjunction's child), it merges its children doc by doc.
 */
export class DisjunctionScorer extends Scorer implements LeadPartners {
  private readonly sorted: Scorer[];
  private essentialFrom = 0;
  private readonly prefixMax: Float64Array;
  /** maxScore() of each of sorted (a group's walks its members). */
  private readonly maxOf: Float64Array;
  /** The score advance computed for doc `scored`. */
  private scored = -1;
  private sum = 0;
  /** Whether it is only probed at scattered docs (probedOnly): windows would cost more than they skip. */
  private probed = false;
  /** Set once advance scores by windows; then it always does (its children have moved past the window). */
  private window: Window | undefined;
  /** The first doc after the current window. */
  private windowEnd = 0;
  /** Whether it walked by windows to its end (and gave its window back). */
  private ended = false;
  /** The window's candidates (Window.candDocs), and the next to hand out. */
  private candCount = 0;
  private candNext = 0;
  /** The children (by index in `children`) ordered by their maxima over the window, and those maxima. */
  private readonly byWindowMax: Int32Array;
  private readonly windowMax: Float64Array;
  /** The window's probed children (by index in `children`), lowest maximum first. */
  private readonly probe: Int32Array;
  constructor(private readonly children: Scorer[]) {
    super();
    this.sorted = [...children].sort((a, b) => a.maxScore() - b.maxScore());
    this.maxOf = Float64Array.from(this.sorted, (c) => c.maxScore());
    for (const c of children) if (c instanceof TermScorer) c.childOf(this);
    this.prefixMax = new Float64Array(this.sorted.length + 1);
    for (let i = 0; i < this.sorted.length; i++) this.prefixMax[i + 1] = this.prefixMax[i]! + this.maxOf[i]!;
    this.byWindowMax = new Int32Array(children.length);
    this.windowMax = new Float64Array(children.length);
    this.probe = new Int32Array(children.length);
  }
  override probedOnly(): void {
    this.probed = true;
    for (const c of this.children) c.probedOnly();
  }
  minimum(): number {
    return this.minCompetitive;
  }
  partnersMaxUpTo(child: Scorer, from: number, to: number): number {
    return othersMaxUpTo(this.children, child, from, to);
  }
  /** Chooses the essential children (MaxScore) and gives each child its own minimum (handOwnMinimums). */
  override setMinCompetitiveScore(min: number): void {
    this.minCompetitive = min;
    const limit = competitiveFloor(min);
    let e = 0;
    while (e < this.sorted.length && this.prefixMax[e + 1]! < limit) e++;
    // The minimum only rises, so a child once non-essential stays so: from now on it is only probed at the
    // essential children's docs, where scoring its whole block to skip within it would cost more.
    for (let k = this.essentialFrom; k < e; k++) this.sorted[k]!.probedOnly();
    this.essentialFrom = e;
    handOwnMinimums(this.children, min);
  }
  override advance(target: number): number {
    if (this.ended) return (this.doc = NO_MORE_DOCS);
    if (this.window === undefined && (this.probed || this.minCompetitive <= 0 || this.children.length > 31)) {
      return this.advanceByDoc(target);
    }
    if (this.window === undefined) {
      // From here on every child is advanced to scattered docs only (collectWindow walks the essential ones).
      this.window = takeWindow(this.children.length);
      this.windowEnd = target;
      for (const c of this.children) c.probedOnly();
    }
    const { candDocs, candScores } = this.window;
    for (;;) {
      const limit = competitiveFloor(this.minCompetitive);
      while (this.candNext < this.candCount) {
        const i = this.candNext++;
        const d = candDocs[i]!;
        const s = candScores[i]!;
        if (d < target || s < limit) continue;
        this.sum = s;
        this.scored = d;
        return (this.doc = d);
      }
      const from = Math.max(target, this.windowEnd);
      if (from >= NO_MORE_DOCS || !this.fillWindow(from)) {
        if (freeWindows.length < 8) freeWindows.push(this.window);
        this.window = undefined;
        this.ended = true;
        return (this.doc = NO_MORE_DOCS);
      }
    }
  }

  /**
   * Gathers the docs of [from, from + WINDOW) that may reach the minimum into the candidate list; false
   * when no doc at or after `from` can (no child has one, or their bounds to the end are below it).
   */
  private fillWindow(from: number): boolean {
    const children = this.children;
    const n = children.length;
    const to = Math.min(from + WINDOW, NO_MORE_DOCS);
    this.windowEnd = to;
    this.candCount = 0;
    this.candNext = 0;
    const limit = competitiveFloor(this.minCompetitive);
    // Each child's maximum over the window, children sorted by it (insertion sort: a handful of children).
    const wmax = this.windowMax;
    const order = this.byWindowMax;
    let total = 0;
    let anyLeft = false;
    /** Whether some child's bounds end before the last doc (else the window's bounds hold to the end). */
    let boundsEnd = false;
    for (let k = 0; k < n; k++) {
      const c = children[k]!;
      if (c.doc < NO_MORE_DOCS) anyLeft = true;
      if (c.advanceShallow(from) < NO_MORE_DOCS) boundsEnd = true;
      const m = c.maxScoreUpTo(to - 1);
      wmax[k] = m;
      total += m;
      let j = k;
      while (j > 0 && wmax[order[j - 1]!]! > m) {
        order[j] = order[j - 1]!;
        j--;
      }
      order[j] = k;
    }
    if (!anyLeft) return false;
    if (total < limit) return boundsEnd;
    // Non-essential: the children of the lowest maxima that together cannot reach the minimum. Those are
    // probed at the gathered docs that may still reach it with them, unless they hold no more docs than the
    // others together: then one pass over their docs costs less than the probes, and they are gathered too.
    let e = 0;
    let lowest = 0;
    while (e < n && lowest + wmax[order[e]!]! < limit) lowest += wmax[order[e++]!]!;
    let gatheredCost = 0;
    for (let x = e; x < n; x++) gatheredCost += children[order[x]!]!.cost();
    const probe = this.probe;
    let p = 0;
    let probedMax = 0;
    const w = this.window!;
    for (let x = 0; x < n; x++) {
      const k = order[x]!;
      const c = children[k]!;
      if (x < e && c.cost() > gatheredCost) {
        probe[p++] = k;
        probedMax += wmax[k]!;
        continue;
      }
      // A doc below this alone cannot reach the minimum whatever the others add over the window.
      const floor = limit - (total - wmax[k]!);
      if (c instanceof TermScorer || (c instanceof GroupScorer && c.collectsWindows)) {
        c.collectWindow(from, to, floor, w, k);
        continue;
      }
      const at = k * WINDOW;
      const bit = 1 << k;
      for (let d = c.doc < from ? c.advance(from) : c.doc; d < to; d = c.advance(d + 1)) {
        const s = c.score();
        if (s >= floor) w.add(d - from, at, bit, s);
      }
    }
    // The gathered docs in order: their gathered scores, then the probed children from the highest maximum
    // down while they may still lift the doc to the minimum, then the exact sum.
    const { scores, mask, bits, sum } = w;
    for (let word = 0; word < bits.length; word++) {
      let v = bits[word]!;
      if (v === 0) continue;
      bits[word] = 0;
      while (v !== 0) {
        const low = v & -v;
        const j = (word << 5) + 31 - Math.clz32(low);
        v ^= low;
        let m = mask[j]!;
        mask[j] = 0;
        let got = sum[j]!;
        let rest = probedMax;
        if (got + rest < limit) continue;
        const d = from + j;
        for (let x = p - 1; x >= 0; x--) {
          const k = probe[x]!;
          const c = children[k]!;
          if ((c.doc < d ? c.advance(d) : c.doc) === d) {
            const s = c.score();
            scores[k * WINDOW + j] = s;
            m |= 1 << k;
            got += s;
          }
          rest -= wmax[k]!;
          if (got + rest < limit) break;
        }
        if (got + rest < limit) continue;
        // The sum in the children's given order, as score() adds it (the same float as unpruned scoring).
        let s = 0;
        for (let k = 0; k < n; k++) if (m & (1 << k)) s += scores[k * WINDOW + j]!;
        if (s < limit) continue;
        w.candDocs[this.candCount] = d;
        w.candScores[this.candCount++] = s;
      }
    }
    return true;
  }

  /** Doc-at-a-time: the next doc of the essential children that may reach the minimum (MaxScore). */
  private advanceByDoc(target: number): number {
    const sorted = this.sorted;
    const ess = this.essentialFrom;
    if (ess >= sorted.length) return (this.doc = NO_MORE_DOCS);
    const limit = competitiveFloor(this.minCompetitive);
    const maxOf = this.maxOf;
    for (;;) {
      // The next doc of the essential children, and the sum of the maxima of those on it.
      let d = NO_MORE_DOCS;
      let bound = 0;
      for (let k = ess; k < sorted.length; k++) {
        const c = sorted[k]!;
        const cd = c.doc < target ? c.advance(target) : c.doc;
        if (cd < d) {
          d = cd;
          bound = maxOf[k]!;
        } else if (cd === d) bound += maxOf[k]!;
      }
      if (d >= NO_MORE_DOCS) return (this.doc = NO_MORE_DOCS);
      if (ess > 0) {
        // The children's maxima on d first: the non-essential ones are advanced to d, so a doc that only one
        // child holds (most docs of a union) is dropped without computing a score when that child's best
        // alone cannot reach the minimum.
        for (let k = ess - 1; k >= 0; k--) {
          const c = sorted[k]!;
          if ((c.doc < d ? c.advance(d) : c.doc) === d) bound += maxOf[k]!;
        }
        if (bound < limit) {
          target = d + 1;
          continue;
        }
        // Every child is on or past d now: the exact score, summed as score() sums it.
        let s = 0;
        for (const c of this.children) if (c.doc === d) s += c.score();
        if (s < limit) {
          target = d + 1;
          continue;
        }
        this.sum = s;
        this.scored = d;
      }
      return (this.doc = d);
    }
  }
  override score(): number {
    if (this.scored === this.doc) return this.sum;
    let s = 0;
    for (const c of this.children) if (c.doc === this.doc) s += c.score();
    return s;
  }
  override maxScore(): number {
    return this.prefixMax[this.sorted.length]!;
  }
  override advanceShallow(target: number): number {
    let upTo = NO_MORE_DOCS;
    for (const c of this.children) upTo = Math.min(upTo, c.advanceShallow(target));
    return upTo;
  }
  override maxScoreUpTo(upTo: number): number {
    let s = 0;
    for (const c of this.children) s += c.maxScoreUpTo(upTo);
    return s;
  }
  override cost(): number {
    let c = 0;
    for (const ch of this.children) c += ch.cost();
    return c;
  }
}

/**
 * A scorer that passes on the documents of `inner` that `accepts` (exclusions, phrases, field restrictions):
 * scores, bounds and cost are the inner scorer's, since filtering only removes documents.
 */
abstract class FilterScorer extends Scorer {
  constructor(protected readonly inner: Scorer) {
    super();
  }
  /** Called with `inner` positioned on `doc`. */
  protected abstract accepts(doc: number): boolean;
  override setMinCompetitiveScore(min: number): void {
    this.inner.setMinCompetitiveScore(min);
  }
  override probedOnly(): void {
    this.inner.probedOnly();
  }
  override exactMax(): boolean {
    return this.inner.exactMax();
  }
  override advance(target: number): number {
    let d = this.inner.advance(target);
    while (d < NO_MORE_DOCS && !this.accepts(d)) d = this.inner.advance(d + 1);
    this.doc = d;
    return d;
  }
  override score(): number {
    return this.inner.score();
  }
  override maxScore(): number {
    return this.inner.maxScore();
  }
  override advanceShallow(target: number): number {
    return this.inner.advanceShallow(target);
  }
  override maxScoreUpTo(upTo: number): number {
    return this.inner.maxScoreUpTo(upTo);
  }
  override maxScoreAt(d: number): number {
    return this.inner.maxScoreAt(d);
  }
  override cost(): number {
    return this.inner.cost();
  }
}

/** `req`'s docs that pass every test (value filters beside words); scores and bounds are `req`'s. */
export class TestedScorer extends FilterScorer {
  constructor(
    req: Scorer,
    private readonly tests: readonly ((doc: number) => boolean)[],
  ) {
    super(req);
  }
  protected override accepts(d: number): boolean {
    for (const t of this.tests) if (!t(d)) return false;
    return true;
  }
}

/** `req` minus docs matched by any of `excluded`. */
export class ExclusionScorer extends FilterScorer {
  constructor(
    req: Scorer,
    private readonly excluded: Scorer[],
  ) {
    super(req);
  }
  protected override accepts(d: number): boolean {
    return !this.isExcluded(d);
  }
  private isExcluded(d: number): boolean {
    for (const e of this.excluded) {
      const ed = e.doc < d ? e.advance(d) : e.doc;
      if (ed === d) return true;
    }
    return false;
  }
}

/**
 * Words at consecutive positions (slop 0), or all words within a window of (words − 1 + slop) positions in
 * any order (`"a b"~N`), inside one field (and only the fields of `fieldMask` when given). Scored like the
 * conjunction of its words (the phrase only filters).
 */
export class PhraseScorer extends FilterScorer {
  constructor(
    private readonly words: PositionalScorer[],
    private readonly slop = 0,
    private readonly fieldMask = -1,
  ) {
    super(new ConjunctionScorer(words));
    this.idx = new Int32Array(words.length);
  }
  /** The conjunction sits on `doc` when this is asked: check the words' positions there. */
  protected override accepts(): boolean {
    return this.positionsMatch();
  }
  private inMask(p: number): boolean {
    return ((1 << Math.floor(p / FIELD_POSITION_SHIFT)) & this.fieldMask) !== 0;
  }
  /** Each word's positions at the current doc: views of the words' own buffers (distinct scorers). */
  private readonly lists: Int32Array[] = [];
  private readonly idx: Int32Array;
  private positionsMatch(): boolean {
    const lists = this.lists;
    for (let w = 0; w < this.words.length; w++) lists[w] = this.words[w]!.positions();
    this.idx.fill(0);
    return this.slop > 0 ? this.withinWindow(lists) : this.consecutive(lists);
  }
  private consecutive(lists: Int32Array[]): boolean {
    const first = lists[0]!;
    const idx = this.idx;
    for (let k = 0; k < first.length; k++) {
      const p = first[k]!;
      if (!this.inMask(p)) continue;
      let ok = true;
      for (let w = 1; w < lists.length && ok; w++) {
        const l = lists[w]!;
        let j = idx[w]!;
        while (j < l.length && l[j]! < p + w) j++;
        idx[w] = j;
        ok = j < l.length && l[j] === p + w;
      }
      if (ok) return true;
    }
    return false;
  }
  /** Smallest range holding one position of every word (k-way merge), compared with the allowed span. */
  private withinWindow(lists: Int32Array[]): boolean {
    const span = lists.length - 1 + this.slop;
    const idx = this.idx;
    for (;;) {
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      let minW = -1;
      for (let w = 0; w < lists.length; w++) {
        const l = lists[w]!;
        const i = idx[w]!;
        if (i >= l.length) return false;
        const p = l[i]!;
        if (p < min) {
          min = p;
          minW = w;
        }
        if (p > max) max = p;
      }
      const sameField = Math.floor(min / FIELD_POSITION_SHIFT) === Math.floor(max / FIELD_POSITION_SHIFT);
      if (sameField && max - min <= span && this.inMask(min)) return true;
      idx[minW]!++;
    }
  }
}

/** A word matched only where it occurs in one of the fields of `mask` (`title:rechnung`). */
export class FieldScorer extends FilterScorer {
  constructor(
    private readonly word: PositionalScorer,
    private readonly mask: number,
  ) {
    super(word);
  }
  protected override accepts(): boolean {
    return (this.word.fieldMaskAt() & this.mask) !== 0;
  }
}

/**
 * Every doc of a segment, [0, docs); scores 0. Under a TestedScorer it is a value filter walked lazily: a
 * query of filters alone needs only its first matches (then totals are estimated), not a list of all.
 */
export class AllDocsScorer extends Scorer {
  constructor(private readonly docs: number) {
    super();
  }
  override advance(target: number): number {
    return (this.doc = target < this.docs ? target : NO_MORE_DOCS);
  }
  override cost(): number {
    return this.docs;
  }
  override exactMax(): boolean {
    return true;
  }
  override score(): number {
    return 0;
  }
  override maxScore(): number {
    return 0;
  }
  override advanceShallow(): number {
    return NO_MORE_DOCS;
  }
  override maxScoreUpTo(): number {
    return 0;
  }
}
