/**
 * BM25F's default field weights and length normalisation, per index field. The server's `--field-weights`
 * and `--field-b` defaults are written from these (server/config.ts), so there is one set of numbers.
 */
import type { FieldName } from './postings-codec.js';

export const DEFAULT_FIELD_WEIGHTS: Readonly<Record<FieldName, number>> = {
  body: 1,
  title: 3,
  subject: 2,
  fileName: 1.5,
  sender: 1.5,
};

export const DEFAULT_FIELD_B: Readonly<Record<FieldName, number>> = {
  body: 0.75,
  title: 0.5,
  subject: 0.5,
  fileName: 0.5,
  sender: 0.3,
};

/**
 * What a word's occurrence inside a German compound counts for against the word itself (search-index.ts
 * SearchIndexOptions.compoundPartWeight; the server's `--compound-part-weight`).
 */
export const DEFAULT_COMPOUND_PART_WEIGHT = 0.5;
