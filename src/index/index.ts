/** Public API of the search core. */
export {
  type AnalysedToken,
  type AnalyseMode,
  type AnalyserLanguage,
  analyse,
  analyseQueryText,
  analyseToTokens,
  normaliseWord,
} from './analyser.js';
export { CursorError } from './cursor.js';
export type { FieldName } from './postings-codec.js';
export type { AndNode, NotNode, OrNode, ParsedQuery, PhraseNode, PrefixNode, QueryNode, TermNode } from './query-ast.js';
export { parseQuery, QuerySyntaxError } from './query-parser.js';
export { type SearchHit, SearchIndex, type SearchIndexOptions, type SearchOptions, type SearchResult } from './search-index.js';
export type { IndexDoc } from './segment-writer.js';
export type { Highlight, Snippet } from './snippets.js';
export { InMemoryTextStore, type TextStore } from './text-store.js';
