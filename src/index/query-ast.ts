/**
 * The query syntax tree. Every node carries the UTF-16 offset where it starts, so later stages can report
 * errors at the right place. New syntax adds node kinds here and cases in the parser and compiler; existing
 * kinds do not change.
 */
export type QueryNode =
  | TermNode
  | PrefixNode
  | PhraseNode
  | AndNode
  | OrNode
  | NotNode
  | FuzzyNode
  | FieldNode
  | ExpandedNode
  | FilterNode;

/** A word as typed; analysed later (it may yield several terms, e.g. both stems or a split code). */
export interface TermNode {
  kind: 'term';
  text: string;
  position: number;
}

/**
 * `prefix*`: expands to indexed terms starting with the normalised prefix (capped), and to `stems`, the
 * terms of the tenant's words as written that start with it (the engine adds them: a stem may be shorter
 * than the typed prefix, "katz" for "Katzen" under `katze*`).
 */
export interface PrefixNode {
  kind: 'prefix';
  text: string;
  position: number;
  stems?: string[];
}

/** `"exact phrase"`, or `"words near"~N`: the words within N extra positions of each other, any order. */
export interface PhraseNode {
  kind: 'phrase';
  text: string;
  position: number;
  /** Proximity; absent or 0 = exact phrase. */
  slop?: number;
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

/** `-term` or `NOT term`: only meaningful as a child of an AndNode. */
export interface NotNode {
  kind: 'not';
  child: QueryNode;
  position: number;
}

/** `term~` (1 edit) / `term~2`: words of the term dictionary within `maxEdits`, ranked below exact matches. */
export interface FuzzyNode {
  kind: 'fuzzy';
  text: string;
  maxEdits: number;
  position: number;
}

/** The text fields a `field:` clause can restrict words to (index field names). */
export type TextFieldName = 'title' | 'subject' | 'fileName' | 'sender';

/** Fields answered from per-document values rather than postings. */
export type ValueFieldName = 'to' | 'type' | 'tag' | 'lang' | 'source' | 'date' | 'created' | 'amount' | 'iban' | 'invoice';

/**
 * `field:value`. Text fields wrap a term/prefix/phrase/fuzzy child matched only in that field; value
 * fields carry the raw value (`2024-01..2024-06`, `>100`, `last-week`), resolved by the search engine.
 */
export type FieldNode =
  | {
      kind: 'field';
      field: TextFieldName;
      child: TermNode | PrefixNode | PhraseNode | FuzzyNode | ExpandedNode;
      position: number;
    }
  | { kind: 'field'; field: ValueFieldName; value: string; valuePosition: number; position: number };

/** Resolved before compiling: fixed alternative terms with boosts (a fuzzy word's dictionary matches). */
export interface ExpandedNode {
  kind: 'expanded';
  terms: { term: string; boost: number }[];
  position: number;
}

/** A per-segment document filter: the engine turns value fields into these before compiling. */
export interface DocFilter {
  /**
   * A test of one local doc of the segment: beside words (`rechnung date:2024`) it checks only the
   * documents the words match; on its own it is walked over the segment's documents in order.
   */
  segmentTest(
    segment: { tenantId: string; segmentId: number; segmentUid: string; docs: number },
    transaction: unknown,
  ): (doc: number) => boolean;
}

export interface FilterNode {
  kind: 'filter';
  filter: DocFilter;
  position: number;
}

/** A query as the search API accepts it: the raw string or an already parsed tree. */
export type ParsedQuery = { ast: QueryNode };
