/**
 * Query parser of the search core: the one grammar of docs/search.md.
 *
 *   query   := or EOF
 *   or      := and ( "OR" and )*
 *   and     := unary ( "AND"? unary )*
 *   unary   := ( "-" | "NOT" ) primary | primary
 *   primary := "(" or ")" | PHRASE ( "~" N )? | WORD | WORD "*" | WORD "~" N? | FIELD ":" value
 *   value   := WORD | WORD "*" | WORD "~" N? | PHRASE          (text fields: title from subject filename)
 *            | RAW                                           (value fields: ranges, dates, codes)
 *
 * Juxtaposition means AND. Keywords (OR, AND, NOT) are upper case only, so "or"/"not" stay words. A word
 * `x:y` whose x is not a field name is an ordinary word ("12:30"). Errors are QuerySyntaxError with the
 * UTF-16 offset of the problem. Input size, nesting depth and clause count are bounded so that no input can
 * make the parser (or the search) hang.
 */
import type {
  FieldNode,
  FuzzyNode,
  PhraseNode,
  PrefixNode,
  QueryNode,
  TermNode,
  TextFieldName,
  ValueFieldName,
} from './query-ast.js';

export class QuerySyntaxError extends Error {
  override readonly name = 'QuerySyntaxError';
  constructor(
    /** What is wrong, without the position. */
    readonly reason: string,
    /** UTF-16 offset in the query string. */
    readonly position: number,
  ) {
    super(`${reason} (at position ${position})`);
  }
}

export const MAX_QUERY_LENGTH = 2000;
export const MAX_DEPTH = 16;
export const MAX_CLAUSES = 64;
export const MAX_EDITS = 2;
export const MAX_SLOP = 50;

/** Field names as typed (lower case) → what they address. */
export const TEXT_FIELDS: Readonly<Record<string, TextFieldName>> = {
  title: 'title',
  subject: 'subject',
  filename: 'fileName',
  from: 'sender',
};
export const VALUE_FIELDS: ReadonlySet<ValueFieldName> = new Set<ValueFieldName>([
  'to',
  'type',
  'tag',
  'lang',
  'source',
  'date',
  'created',
  'amount',
  'iban',
  'invoice',
]);

type Simple = TermNode | PrefixNode | PhraseNode | FuzzyNode;
type Tok =
  | { t: 'simple'; node: Simple }
  | { t: 'field'; node: FieldNode }
  | { t: 'lparen' | 'rparen' | 'or' | 'and' | 'not' | 'minus' | 'eof'; pos: number };

const SPACE_RE = /\s/u;
const isBreak = (c: string) => SPACE_RE.test(c) || c === '(' || c === ')' || c === '"';

function tokPos(t: Tok): number {
  return t.t === 'simple' || t.t === 'field' ? t.node.position : t.pos;
}

/** A phrase starting at the quote at `i`; returns the node and the offset after it (and after `~N`). */
function readPhrase(q: string, i: number): [PhraseNode, number] {
  const close = q.indexOf('"', i + 1);
  if (close < 0) throw new QuerySyntaxError('unterminated phrase: add the closing quote (")', i);
  const text = q.slice(i + 1, close);
  if (text.trim().length === 0) throw new QuerySyntaxError('empty phrase ""', i);
  let end = close + 1;
  const node: PhraseNode = { kind: 'phrase', text, position: i };
  if (q[end] === '~') {
    const m = /^~(\d{0,3})/.exec(q.slice(end));
    const digits = m?.[1] ?? '';
    const slop = digits === '' ? 1 : Number(digits);
    if (slop > MAX_SLOP) throw new QuerySyntaxError(`proximity "~N" allows at most ${MAX_SLOP}`, end);
    end += 1 + digits.length;
    if (end < q.length && !isBreak(q[end]!)) throw new QuerySyntaxError('"~N" after a phrase must be followed by a space', end);
    if (slop > 0) node.slop = slop;
  }
  return [node, end];
}

/** A bare word: term, `prefix*`, `fuzzy~N`. */
function wordNode(text: string, start: number): Simple {
  const tilde = text.indexOf('~');
  if (tilde >= 0) {
    const m = /^~([0-9])?$/.exec(text.slice(tilde));
    if (!m) throw new QuerySyntaxError('"~" is only allowed at the end of a word (word~ or word~2)', start + tilde);
    const base = text.slice(0, tilde);
    if (base.length === 0) throw new QuerySyntaxError('"~" needs a word before it, e.g. rechnung~', start);
    if (base.includes('*'))
      throw new QuerySyntaxError('a word cannot be both a prefix and typo tolerant', start + base.indexOf('*'));
    const edits = m[1] === undefined ? 1 : Number(m[1]);
    if (edits > MAX_EDITS) throw new QuerySyntaxError(`at most ${MAX_EDITS} typos per word (word~2)`, start + tilde + 1);
    return edits === 0
      ? { kind: 'term', text: base, position: start }
      : { kind: 'fuzzy', text: base, maxEdits: edits, position: start };
  }
  const star = text.indexOf('*');
  if (star >= 0) {
    if (star !== text.length - 1) throw new QuerySyntaxError('"*" is only allowed at the end of a word (prefix*)', start + star);
    const prefix = text.slice(0, -1);
    if (prefix.length === 0) throw new QuerySyntaxError('"*" needs a prefix before it, e.g. rechn*', start);
    return { kind: 'prefix', text: prefix, position: start };
  }
  return { kind: 'term', text, position: start };
}

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
      const [node, end] = readPhrase(q, i);
      out.push({ t: 'simple', node });
      i = end;
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
    while (i < n && !isBreak(q[i]!)) i++;
    const text = q.slice(start, i);
    if (text === 'OR' || text === 'AND' || text === 'NOT') {
      out.push({ t: text === 'OR' ? 'or' : text === 'AND' ? 'and' : 'not', pos: start });
      continue;
    }
    const colon = text.indexOf(':');
    const name = colon > 0 ? text.slice(0, colon).toLowerCase() : '';
    const textField = TEXT_FIELDS[name];
    const isValueField = VALUE_FIELDS.has(name as ValueFieldName);
    if (textField === undefined && !isValueField) {
      out.push({ t: 'simple', node: wordNode(text, start) });
      continue;
    }
    // field:value — the value is the rest of the word, or a phrase right after the colon.
    const vpos = start + colon + 1;
    let value = text.slice(colon + 1);
    let phrase: PhraseNode | undefined;
    if (value.length === 0 && q[i] === '"') {
      const [node, end] = readPhrase(q, i);
      phrase = node;
      value = node.text;
      i = end;
    }
    if (value.length === 0) throw new QuerySyntaxError(`"${name}:" needs a value, e.g. ${name}:${exampleFor(name)}`, vpos);
    if (textField !== undefined) {
      const child = phrase ?? wordNode(value, vpos);
      out.push({ t: 'field', node: { kind: 'field', field: textField, child, position: start } });
    } else {
      out.push({
        t: 'field',
        node: { kind: 'field', field: name as ValueFieldName, value, valuePosition: vpos, position: start },
      });
    }
  }
  out.push({ t: 'eof', pos: n });
  return out;
}

function exampleFor(name: string): string {
  switch (name) {
    case 'date':
    case 'created':
      return '2024-01..2024-06';
    case 'amount':
      return '>100';
    case 'type':
      return 'pdf';
    case 'lang':
      return 'deu';
    default:
      return 'value';
  }
}

/** Parse a query string into a tree. Throws QuerySyntaxError. */
export function parseQuery(query: string): QueryNode {
  if (query.length > MAX_QUERY_LENGTH)
    throw new QuerySyntaxError(`query is longer than ${MAX_QUERY_LENGTH} characters`, MAX_QUERY_LENGTH);
  const toks = tokenize(query);
  let k = 0;
  let clauses = 0;
  const peek = (): Tok => toks[k]!;
  const ends = (t: Tok) => t.t === 'eof' || t.t === 'rparen' || t.t === 'or';

  const parseOr = (depth: number): QueryNode => {
    const first = parseAnd(depth);
    const children = [first];
    while (peek().t === 'or') {
      const orTok = toks[k++]!;
      const nt = peek();
      if (ends(nt) || nt.t === 'and') throw new QuerySyntaxError('"OR" must stand between two terms', tokPos(orTok));
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
      if (ends(t)) break;
      if (t.t === 'and') {
        if (children.length === 0) throw new QuerySyntaxError('"AND" must stand between two terms', t.pos);
        k++;
        if (ends(peek()) || peek().t === 'and') throw new QuerySyntaxError('"AND" must stand between two terms', t.pos);
        continue;
      }
      children.push(parseUnary(depth));
    }
    if (children.length === 0) {
      const t = peek();
      if (t.t === 'or') throw new QuerySyntaxError('"OR" must stand between two terms', t.pos);
      if (t.t === 'rparen') throw new QuerySyntaxError('empty parentheses or unmatched ")"', t.pos);
      throw new QuerySyntaxError('query is empty', tokPos(t));
    }
    if (children.length === 1) return children[0]!;
    return { kind: 'and', children, position: children[0]!.position };
  };

  const parseUnary = (depth: number): QueryNode => {
    const t = peek();
    if (t.t === 'minus' || t.t === 'not') {
      k++;
      const next = peek();
      if (next.t === 'minus' || next.t === 'not') throw new QuerySyntaxError('an exclusion cannot be doubled', tokPos(next));
      if (ends(next) || next.t === 'and')
        throw new QuerySyntaxError(`"${t.t === 'not' ? 'NOT' : '-'}" must be followed by a term to exclude`, t.pos);
      const child = parsePrimary(depth);
      return { kind: 'not', child, position: t.pos };
    }
    return parsePrimary(depth);
  };

  const parsePrimary = (depth: number): QueryNode => {
    const t = toks[k++]!;
    if (++clauses > MAX_CLAUSES) throw new QuerySyntaxError(`too many clauses (at most ${MAX_CLAUSES})`, tokPos(t));
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
      case 'simple':
      case 'field':
        return t.node;
      case 'minus':
      case 'not':
        throw new QuerySyntaxError('an exclusion cannot be doubled', t.pos);
      case 'rparen':
        throw new QuerySyntaxError('unmatched ")"', t.pos);
      case 'or':
        throw new QuerySyntaxError('"OR" must stand between two terms', t.pos);
      case 'and':
        throw new QuerySyntaxError('"AND" must stand between two terms', t.pos);
      case 'eof':
        throw new QuerySyntaxError('query ends where a term was expected', t.pos);
    }
  };

  const ast = parseOr(0);
  const rest = peek();
  if (rest.t !== 'eof') throw new QuerySyntaxError(rest.t === 'rparen' ? 'unmatched ")"' : 'unexpected input', tokPos(rest));
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
