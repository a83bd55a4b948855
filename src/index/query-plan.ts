/**
 * Compiles the query tree into an execution plan of analysed terms. Words become alternative groups (both
 * stems), multi-token words ("e-mail", an IBAN written with spaces in a phrase) become phrases, prefixes are
 * expanded later against the index snapshot.
 */
import { fileNameText } from './analyse-document.js';
import { type AnalyserLanguage, analyseQueryText, normaliseWord } from './analyser.js';
import { isPartTerm, partTerm } from './decompound.js';
import { FIELDS } from './postings-codec.js';
import type { DocFilter, QueryNode } from './query-ast.js';

/**
 * `fieldMask` (bit i = FIELDS[i]) restricts a word or phrase to some fields (`title:x`); absent = any field.
 * `boosts[i]` scales the score of `terms[i]` (fuzzy matches rank below exact ones); absent = 1.
 */
export type Plan =
  | { kind: 'terms'; terms: string[]; boosts?: number[]; fieldMask?: number; idfEach?: true }
  | { kind: 'prefix'; prefix: string; stems?: string[]; fieldMask?: number }
  | { kind: 'phrase'; words: string[][]; slop?: number; fieldMask?: number }
  | { kind: 'filter'; filter: DocFilter }
  | { kind: 'and'; must: Plan[]; not: Plan[] }
  | { kind: 'or'; should: Plan[] };

/** The bit of an index field in a Plan's fieldMask. */
export function fieldBit(field: (typeof FIELDS)[number]): number {
  return 1 << FIELDS.indexOf(field);
}

/** Compile; undefined means the query can match nothing (e.g. only punctuation). */
export function compileQuery(node: QueryNode, language: AnalyserLanguage): Plan | undefined {
  switch (node.kind) {
    case 'term':
    case 'fuzzy': // unresolved (no term dictionary at hand): the word itself
    case 'phrase': {
      const words = analyseQueryText(node.text, language);
      if (words.length === 0) return undefined;
      if (words.length === 1) return { kind: 'terms', terms: words[0]! };
      const slop = node.kind === 'phrase' ? node.slop : undefined;
      return slop ? { kind: 'phrase', words, slop } : { kind: 'phrase', words };
    }
    case 'prefix': {
      const prefix = prefixOf(node.text);
      if (prefix.length === 0) return undefined;
      return node.stems?.length ? { kind: 'prefix', prefix, stems: node.stems } : { kind: 'prefix', prefix };
    }
    case 'expanded':
      // No dictionary match is still a word that must match (`rechnung qqqqqq~` finds nothing), not a word
      // to leave out as punctuation is.
      return { kind: 'terms', terms: node.terms.map((t) => t.term), boosts: node.terms.map((t) => t.boost) };
    case 'filter':
      return { kind: 'filter', filter: node.filter };
    case 'field': {
      if (!('child' in node)) throw new Error(`${node.field}: needs the search engine (value fields are resolved there)`);
      // A file name was indexed cut at its extension: so is the name asked for.
      const child =
        node.field === 'fileName' && (node.child.kind === 'term' || node.child.kind === 'phrase')
          ? { ...node.child, text: fileNameText(node.child.text) }
          : node.child;
      const inner = compileQuery(child, language);
      if (inner === undefined) return undefined;
      const mask = fieldBit(node.field);
      if (inner.kind === 'terms' || inner.kind === 'prefix' || inner.kind === 'phrase') return { ...inner, fieldMask: mask };
      return inner;
    }
    case 'and': {
      const must: Plan[] = [];
      const not: Plan[] = [];
      for (const c of node.children) {
        if (c.kind === 'not') {
          const p = compileQuery(c.child, language);
          if (p) not.push(p);
        } else {
          const p = compileQuery(c, language);
          if (p) must.push(p);
        }
      }
      if (must.length === 0) return undefined;
      if (must.length === 1 && not.length === 0) return must[0];
      return { kind: 'and', must, not };
    }
    case 'or': {
      const should = node.children.map((c) => compileQuery(c, language)).filter((p): p is Plan => p !== undefined);
      if (should.length === 0) return undefined;
      return should.length === 1 ? should[0] : { kind: 'or', should };
    }
    case 'not':
      return undefined;
  }
}

/** A prefix as typed, as terms are matched against it: normalised, leading punctuation off ("" for none). */
export function prefixOf(text: string): string {
  return normaliseWord(text).replace(/^[^\p{L}\p{N}]+/u, '');
}

/** Every term a plan may read, positive and excluded. */
export function planTerms(plan: Plan, out = new Set<string>(), positiveOnly = false): Set<string> {
  switch (plan.kind) {
    case 'terms':
      for (const t of plan.terms) out.add(t);
      break;
    case 'phrase':
      for (const w of plan.words) for (const t of w) out.add(t);
      break;
    case 'prefix':
    case 'filter':
      break;
    case 'and':
      for (const p of plan.must) planTerms(p, out, positiveOnly);
      if (!positiveOnly) for (const p of plan.not) planTerms(p, out, positiveOnly);
      break;
    case 'or':
      for (const p of plan.should) planTerms(p, out, positiveOnly);
      break;
  }
  return out;
}

/**
 * Each word's terms with their compound part terms beside them (decompound.ts partTerm), in the same group:
 * `kaution` also reads `\u0001kaution`, the postings of "Mietkaution", which score below the word's own
 * (search-index.ts termGroup). A part term takes the boost of its word's term. A prefix's expansions are
 * left as they are: they were looked up among the parts already (search-index.ts #expandPrefix). `hasPart`
 * (the engine's term dictionary) leaves out the part terms of words no compound holds: each costs a
 * dictionary lookup per segment, which a two-word phrase felt (+10 % at 100k documents).
 */
export function withPartTerms(plan: Plan, hasPart: (word: string) => boolean = () => true): Plan {
  return mapLeaves(plan, (leaf) => leafWithPartTerms(leaf, hasPart));
}

/** withPartTerms of one node below the ANDs and ORs: a group of terms, or each word of a phrase. */
function leafWithPartTerms(plan: Plan, hasPart: (word: string) => boolean): Plan {
  switch (plan.kind) {
    case 'terms': {
      if (plan.idfEach) return plan;
      const terms = [...plan.terms];
      const boosts = plan.boosts ? [...plan.boosts] : undefined;
      for (const [i, t] of plan.terms.entries()) {
        if (isPartTerm(t) || !hasPart(t) || terms.includes(partTerm(t))) continue;
        terms.push(partTerm(t));
        boosts?.push(plan.boosts![i]!);
      }
      return boosts ? { ...plan, terms, boosts } : { ...plan, terms };
    }
    case 'phrase':
      return { ...plan, words: plan.words.map((w) => withParts(w, hasPart)) };
    default:
      return plan;
  }
}

/** Terms and their part terms (those `hasPart` may hold), each once. */
function withParts(terms: readonly string[], hasPart: (word: string) => boolean = () => true): string[] {
  const out = [...terms];
  for (const t of terms) if (!isPartTerm(t) && hasPart(t) && !out.includes(partTerm(t))) out.push(partTerm(t));
  return out;
}

/** Replace prefix nodes by their expansions (and the stems of the words starting with them). */
export function mapPrefixes(plan: Plan, expand: (prefix: string) => string[]): Plan {
  return mapLeaves(plan, (leaf) => {
    if (leaf.kind !== 'prefix') return leaf;
    // The stems were not looked up among the parts: they bring their part terms (withPartTerms).
    const terms = leaf.stems ? [...new Set([...expand(leaf.prefix), ...withParts(leaf.stems)])] : expand(leaf.prefix);
    // Each expansion keeps its own idf (search-index.ts termGroup): the shared one took `vers*` at 1M
    // from 0.5 to 5 ms, its hundreds of expansions all scoring alike so that no block could be passed.
    return leaf.fieldMask === undefined
      ? { kind: 'terms', terms, idfEach: true }
      : { kind: 'terms', terms, fieldMask: leaf.fieldMask, idfEach: true };
  });
}

/** `plan` with each node below its ANDs and ORs replaced by `leaf(node)`. */
function mapLeaves(plan: Plan, leaf: (node: Plan) => Plan): Plan {
  switch (plan.kind) {
    case 'and':
      return {
        kind: 'and',
        must: plan.must.map((p) => mapLeaves(p, leaf)),
        not: plan.not.map((p) => mapLeaves(p, leaf)),
      };
    case 'or':
      return { kind: 'or', should: plan.should.map((p) => mapLeaves(p, leaf)) };
    default:
      return leaf(plan);
  }
}

/** A phrase of a plan as its highlights need it: each word's alternative terms, and the proximity. */
export interface PhraseWords {
  words: string[][];
  slop: number;
}

/**
 * What a hit's highlights show: the positive terms, and the phrases. A term that the plan holds only inside
 * phrases is highlighted only where one of them matches (`"straße der"` marks that "der", not every one).
 */
export interface HighlightQuery {
  terms: string[];
  phrases: PhraseWords[];
  /** Terms also asked for outside phrases (every occurrence highlighted). */
  loose: ReadonlySet<string>;
}

/** A query with nothing to highlight. */
export const NO_HIGHLIGHTS: HighlightQuery = Object.freeze({ terms: [], phrases: [], loose: new Set<string>() });

/** The plan's positive terms (in planTerms' order), its phrases and its loose terms, in one walk. */
export function highlightPlan(plan: Plan): HighlightQuery {
  const terms = new Set<string>();
  const phrases: PhraseWords[] = [];
  const loose = new Set<string>();
  const walk = (p: Plan): void => {
    switch (p.kind) {
      case 'terms':
        for (const t of p.terms) {
          terms.add(t);
          loose.add(t);
        }
        break;
      case 'phrase':
        for (const w of p.words) for (const t of w) terms.add(t);
        phrases.push({ words: p.words, slop: p.slop ?? 0 });
        break;
      case 'and':
        for (const c of p.must) walk(c);
        break;
      case 'or':
        for (const c of p.should) walk(c);
        break;
      default:
        break;
    }
  };
  walk(plan);
  return { terms: [...terms], phrases, loose };
}
