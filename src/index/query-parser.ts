/**
 * Query parser of the search core:
 *
 *   query   := or EOF
 *   or      := and ( "OR" and )*
 *   and     := unary+
 *   unary   := "-" primary | primary
 *   primary := "(" or ")" | PHRASE | WORD | WORD "*"
 *
 * Juxtaposition means AND. Errors are QuerySyntaxError with the UTF-16 offset of the problem. Input size,
 * nesting depth and clause count are bounded so that no input can make the parser (or the search) hang.
 */
import type { QueryNode } from './query-ast.js';

export class QuerySyntaxError extends Error {
  override readonly name = 'QuerySyntaxError';
  constructor(
    message: string,
    /** UTF-16 offset in the query string. */
    readonly position: number,
  ) {
    super(`${message} (at position ${position})`);
  }
}

export const MAX_QUERY_LENGTH = 2000;
export const MAX_DEPTH = 16;
export const MAX_CLAUSES = 64;

type Tok =
  | { t: 'word'; text: string; pos: number; prefix: boolean }
  | { t: 'phrase'; text: string; pos: number }
  | { t: 'lparen' | 'rparen' | 'or' | 'minus' | 'eof'; pos: number };

const SPACE_RE = /\s/u;

function tokenize(q: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const n = q.length;
  while (i < n) {
    const c = q[i]!;
    if (SPACE_RE.test(c)) {
      i++;
      continue;
    }
    if (c === '(') {
      out.push({ t: 'lparen', pos: i++ });
      continue;
    }
    if (c === ')') {
      out.push({ t: 'rparen', pos: i++ });
      continue;
    }
    if (c === '"') {
      const close = q.indexOf('"', i + 1);
      if (close < 0) throw new QuerySyntaxError('unterminated phrase: add the closing quote (")', i);
      const text = q.slice(i + 1, close);
      if (text.trim().length === 0) throw new QuerySyntaxError('empty phrase ""', i);
      out.push({ t: 'phrase', text, pos: i });
      i = close + 1;
      continue;
    }
    if (c === '-') {
      // A leading minus excludes; inside a word ("RE-2024") it is part of the word.
      const next = q[i + 1];
      if (next === undefined || SPACE_RE.test(next) || next === ')')
        throw new QuerySyntaxError('"-" must be followed by a term to exclude', i);
      out.push({ t: 'minus', pos: i++ });
      continue;
    }
    const start = i;
    while (i < n && !SPACE_RE.test(q[i]!) && q[i] !== '(' && q[i] !== ')' && q[i] !== '"') i++;
    let text = q.slice(start, i);
    if (text === 'OR') {
      out.push({ t: 'or', pos: start });
      continue;
    }
    let prefix = false;
    const star = text.indexOf('*');
    if (star >= 0) {
      if (star !== text.length - 1) throw new QuerySyntaxError('"*" is only allowed at the end of a word (prefix*)', start + star);
      text = text.slice(0, -1);
      if (text.length === 0) throw new QuerySyntaxError('"*" needs a prefix before it, e.g. rechn*', start);
      prefix = true;
    }
    out.push({ t: 'word', text, pos: start, prefix });
  }
  out.push({ t: 'eof', pos: n });
  return out;
}

/** Parse a query string into a tree. Throws QuerySyntaxError. */
export function parseQuery(query: string): QueryNode {
  if (query.length > MAX_QUERY_LENGTH)
    throw new QuerySyntaxError(`query is longer than ${MAX_QUERY_LENGTH} characters`, MAX_QUERY_LENGTH);
  const toks = tokenize(query);
  let k = 0;
  let clauses = 0;
  const peek = (): Tok => toks[k]!;

  const parseOr = (depth: number): QueryNode => {
    const first = parseAnd(depth);
    const children = [first];
    while (peek().t === 'or') {
      const orTok = toks[k++]!;
      const nt = peek().t;
      if (nt === 'eof' || nt === 'rparen' || nt === 'or')
        throw new QuerySyntaxError('"OR" must stand between two terms', orTok.pos);
      children.push(parseAnd(depth));
    }
    if (children.length === 1) return first;
    for (const c of children)
      if (c.kind === 'not') throw new QuerySyntaxError('an excluded term cannot be an OR alternative', c.position);
    return { kind: 'or', children, position: first.position };
  };

  const parseAnd = (depth: number): QueryNode => {
    const children: QueryNode[] = [];
    for (;;) {
      const t = peek();
      if (t.t === 'eof' || t.t === 'rparen' || t.t === 'or') break;
      children.push(parseUnary(depth));
    }
    if (children.length === 0) {
      const t = peek();
      if (t.t === 'or') throw new QuerySyntaxError('"OR" must stand between two terms', t.pos);
      if (t.t === 'rparen') throw new QuerySyntaxError('empty parentheses or unmatched ")"', t.pos);
      throw new QuerySyntaxError('query is empty', t.pos);
    }
    if (children.length === 1) return children[0]!;
    return { kind: 'and', children, position: children[0]!.position };
  };

  const parseUnary = (depth: number): QueryNode => {
    const t = peek();
    if (t.t === 'minus') {
      k++;
      const child = parsePrimary(depth);
      return { kind: 'not', child, position: t.pos };
    }
    return parsePrimary(depth);
  };

  const parsePrimary = (depth: number): QueryNode => {
    const t = toks[k++]!;
    if (++clauses > MAX_CLAUSES) throw new QuerySyntaxError(`too many clauses (at most ${MAX_CLAUSES})`, t.pos);
    switch (t.t) {
      case 'lparen': {
        if (depth + 1 > MAX_DEPTH) throw new QuerySyntaxError(`parentheses nested deeper than ${MAX_DEPTH}`, t.pos);
        if (peek().t === 'rparen') throw new QuerySyntaxError('empty parentheses "()"', t.pos);
        const inner = parseOr(depth + 1);
        const close = toks[k];
        if (close?.t !== 'rparen') throw new QuerySyntaxError('missing ")" for this "("', t.pos);
        k++;
        return inner;
      }
      case 'word':
        return t.prefix ? { kind: 'prefix', text: t.text, position: t.pos } : { kind: 'term', text: t.text, position: t.pos };
      case 'phrase':
        return { kind: 'phrase', text: t.text, position: t.pos };
      case 'minus':
        throw new QuerySyntaxError('"-" cannot be doubled', t.pos);
      case 'rparen':
        throw new QuerySyntaxError('unmatched ")"', t.pos);
      case 'or':
        throw new QuerySyntaxError('"OR" must stand between two terms', t.pos);
      case 'eof':
        throw new QuerySyntaxError('query ends where a term was expected', t.pos);
    }
  };

  const ast = parseOr(0);
  const rest = peek();
  if (rest.t !== 'eof') throw new QuerySyntaxError(rest.t === 'rparen' ? 'unmatched ")"' : 'unexpected input', rest.pos);
  checkPositive(ast);
  return ast;
}

/** Every AND group needs a positive clause: "-a" alone would mean "everything except a". */
function checkPositive(node: QueryNode): void {
  switch (node.kind) {
    case 'not':
      throw new QuerySyntaxError('a query needs at least one term that is not excluded', node.position);
    case 'and':
      if (node.children.every((c) => c.kind === 'not'))
        throw new QuerySyntaxError('a query needs at least one term that is not excluded', node.position);
      for (const c of node.children) checkPositive(c.kind === 'not' ? c.child : c);
      return;
    case 'or':
      for (const c of node.children) checkPositive(c);
      return;
    default:
      return;
  }
}
