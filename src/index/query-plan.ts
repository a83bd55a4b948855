/**
 * Compiles the query tree into an execution plan of analysed terms. Words become alternative groups (both
 * stems), multi-token words ("e-mail", an IBAN written with spaces in a phrase) become phrases, prefixes are
 * expanded later against the index snapshot.
 */
import { type AnalyserLanguage, analyseQueryText, normaliseWord } from './analyser.js';
import type { QueryNode } from './query-ast.js';

export type Plan =
  | { kind: 'terms'; terms: string[] }
  | { kind: 'prefix'; prefix: string }
  | { kind: 'phrase'; words: string[][] }
  | { kind: 'and'; must: Plan[]; not: Plan[] }
  | { kind: 'or'; should: Plan[] };

/** Compile; undefined means the query can match nothing (e.g. only punctuation). */
export function compileQuery(node: QueryNode, language: AnalyserLanguage): Plan | undefined {
  switch (node.kind) {
    case 'term':
    case 'phrase': {
      const words = analyseQueryText(node.text, language);
      if (words.length === 0) return undefined;
      if (words.length === 1) return { kind: 'terms', terms: words[0]! };
      return { kind: 'phrase', words };
    }
    case 'prefix': {
      const prefix = normaliseWord(node.text).replace(/^[^\p{L}\p{N}]+/u, '');
      return prefix.length === 0 ? undefined : { kind: 'prefix', prefix };
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
      return { kind: 'terms', terms: expand(plan.prefix) };
    case 'and':
      return { kind: 'and', must: plan.must.map((p) => mapPrefixes(p, expand)), not: plan.not.map((p) => mapPrefixes(p, expand)) };
    case 'or':
      return { kind: 'or', should: plan.should.map((p) => mapPrefixes(p, expand)) };
    default:
      return plan;
  }
}
