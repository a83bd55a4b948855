/**
 * Compiles the query tree into an execution plan of analysed terms. Words become alternative groups (both
 * stems), multi-token words ("e-mail", an IBAN written with spaces in a phrase) become phrases, prefixes are
 * expanded later against the index snapshot.
 */
import { type AnalyserLanguage, analyseQueryText, normaliseWord } from './analyser.js';
import { FIELDS } from './postings-codec.js';
import type { DocFilter, QueryNode } from './query-ast.js';

/**
 * `fieldMask` (bit i = FIELDS[i]) restricts a word or phrase to some fields (`title:x`); absent = any field.
 * `boosts[i]` scales the score of `terms[i]` (fuzzy matches rank below exact ones); absent = 1.
 */
export type Plan =
  | { kind: 'terms'; terms: string[]; boosts?: number[]; fieldMask?: number }
  | { kind: 'prefix'; prefix: string; fieldMask?: number }
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
      const prefix = normaliseWord(node.text).replace(/^[^\p{L}\p{N}]+/u, '');
      return prefix.length === 0 ? undefined : { kind: 'prefix', prefix };
    }
    case 'expanded':
      return node.terms.length === 0
        ? undefined
        : { kind: 'terms', terms: node.terms.map((t) => t.term), boosts: node.terms.map((t) => t.boost) };
    case 'filter':
      return { kind: 'filter', filter: node.filter };
    case 'field': {
      if (!('child' in node)) throw new Error(`${node.field}: needs the search engine (value fields are resolved there)`);
      const inner = compileQuery(node.child, language);
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

/** Replace prefix nodes by their expansions. */
export function mapPrefixes(plan: Plan, expand: (prefix: string) => string[]): Plan {
  switch (plan.kind) {
    case 'prefix':
      return plan.fieldMask === undefined
        ? { kind: 'terms', terms: expand(plan.prefix) }
        : { kind: 'terms', terms: expand(plan.prefix), fieldMask: plan.fieldMask };
    case 'and':
      return {
        kind: 'and',
        must: plan.must.map((p) => mapPrefixes(p, expand)),
        not: plan.not.map((p) => mapPrefixes(p, expand)),
      };
    case 'or':
      return { kind: 'or', should: plan.should.map((p) => mapPrefixes(p, expand)) };
    default:
      return plan;
  }
}
