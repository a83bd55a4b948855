/**
 * The query syntax tree. Every node carries the UTF-16 offset where it starts, so later stages can report
 * errors at the right place. New syntax (NOT, term~, field:value, ranges, facets) adds node kinds here and
 * cases in the parser and compiler; existing kinds do not change.
 */
export type QueryNode = TermNode | PrefixNode | PhraseNode | AndNode | OrNode | NotNode;

/** A word as typed; analysed later (it may yield several terms, e.g. both stems or a split code). */
export interface TermNode {
  kind: 'term';
  text: string;
  position: number;
}

/** `prefix*`: expands to indexed terms starting with the normalised prefix (capped). */
export interface PrefixNode {
  kind: 'prefix';
  text: string;
  position: number;
}

/** `"exact phrase"`. */
export interface PhraseNode {
  kind: 'phrase';
  text: string;
  position: number;
}

/** All children must match (juxtaposition). NotNode children exclude. */
export interface AndNode {
  kind: 'and';
  children: QueryNode[];
  position: number;
}

/** Any child may match (`OR`). */
export interface OrNode {
  kind: 'or';
  children: QueryNode[];
  position: number;
}

/** `-term` (later also `NOT term`): only meaningful as a child of an AndNode. */
export interface NotNode {
  kind: 'not';
  child: QueryNode;
  position: number;
}

/** A query as the search API accepts it: the raw string or an already parsed tree. */
export type ParsedQuery = { ast: QueryNode };
