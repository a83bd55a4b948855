/**
 * Analysis of one document for the segment writer, apart from it: pure and free of LMDB, so it can run in a
 * pool worker (the server does; the writer's thread then only merges term ids and writes) or in-thread.
 * The result is compact and cheap to move between threads: the document's distinct terms once, its tokens as
 * one flat Int32Array (transferable) of [local term id, field-based position] pairs.
 */
import { type AnalyserLanguage, analyse, analyseForIndex, type TermIdSink, type TokenSink } from './analyser.js';
import { FIELD_POSITION_SHIFT, FIELDS, type FieldName, MAX_FIELD_POSITION, NUM_FIELDS } from './postings-codec.js';
import { SpanWriter } from './spans.js';

/** A document as the index takes it. */
export interface IndexDoc {
  docId: string;
  /** Analysis language; default: the index's defaultLanguage ('deu+eng'). */
  language?: AnalyserLanguage;
  fields: {
    title?: string;
    /** Extracted text, one string per page (page number = index + 1). */
    body?: readonly string[];
    subject?: string;
    fileName?: string;
    sender?: string;
  };
  createdMs?: number;
  mediaType?: string;
}

export interface AnalysedDoc {
  docId: string;
  language: AnalyserLanguage;
  createdMs: number;
  mediaType: string;
  /** Positions per field (BM25F lengths). */
  lengths: number[];
  /**
   * Distinct terms, local id = index, in order of first occurrence, joined by '\n' (no term holds one: see
   * TOKEN_RE). One string crosses threads for a few hundred small ones, and the writer looks each term up in
   * place, making a string only for a term new to its segment.
   */
  terms: string;
  termCount: number;
  /** Per local term, joined by '\n' like terms: the word that first produced it ('' when longer than a completion is worth). */
  words: string;
  /** [local term id, FIELD_POSITION_SHIFT * field + position] pairs, in document order. */
  tokens: Int32Array;
  /** Where each body position lies in its page (spans.ts). */
  spans: Uint8Array;
  /** Characters analysed (for throughput figures). */
  textChars: number;
}

/** Analyses documents, possibly elsewhere (a pool task); must return them in the order given. */
export type DocumentAnalyser = (docs: readonly IndexDoc[], defaultLanguage: AnalyserLanguage) => Promise<AnalysedDoc[]>;

/** Longer words are not worth completing (AnalysedDoc.words). */
export const MAX_WORD_CHARS = 40;

/**
 * File names: cut at "_" and before the extension so "rechnung_2024.pdf" yields rechnung, 2024, pdf. A
 * `filename:` query is cut the same way (query-plan.ts), so "fox2.txt" finds fox2, txt.
 */
export function fileNameText(name: string): string {
  return name.replace(/_+/g, ' ').replace(/\.([A-Za-z0-9]{1,6})$/, ' $1');
}

/**
 * Runs the analyser over a document's fields in index order (FIELDS; body pages in order, positions running
 * on over pages), calling `field(f, text, position)` before each text it analyses (position: its first). Returns the positions per field
 * (BM25F lengths) and the characters analysed. With `idSink`, words' terms go there by id (analyseForIndex).
 */
export function analyseFields(
  doc: IndexDoc,
  language: AnalyserLanguage,
  sink: TokenSink,
  field: (f: number, text: string, position: number) => void,
  idSink?: TermIdSink,
): { lengths: number[]; textChars: number } {
  const lengths = new Array<number>(NUM_FIELDS).fill(0);
  let textChars = 0;
  for (let f = 0; f < NUM_FIELDS; f++) {
    const name: FieldName = FIELDS[f]!;
    let pos = 0;
    if (name === 'body') {
      for (const page of doc.fields.body ?? []) {
        textChars += page.length;
        field(f, page, pos);
        pos =
          idSink === undefined ? analyse(page, language, sink, 'index', pos) : analyseForIndex(page, language, sink, idSink, pos);
      }
    } else {
      let t = doc.fields[name];
      if (t === undefined || t.length === 0) continue;
      if (name === 'fileName') t = fileNameText(t);
      textChars += t.length;
      field(f, t, 0);
      pos = idSink === undefined ? analyse(t, language, sink, 'index', 0) : analyseForIndex(t, language, sink, idSink, 0);
    }
    lengths[f] = pos;
  }
  return { lengths, textChars };
}

export function analyseDocument(doc: IndexDoc, defaultLanguage: AnalyserLanguage): AnalysedDoc {
  const language = doc.language ?? defaultLanguage;
  const ids = new Map<string, number>();
  const terms: string[] = [];
  const words: string[] = [];
  let lastPos = new Int32Array(256);
  let tokens = new Int32Array(1024);
  let n = 0;
  let field = 0;
  let text = '';
  const spans = new SpanWriter();
  spans.begin();
  const sink = (term: string, position: number, start: number, end: number): void => {
    if (field === 0) spans.token(position, start, end);
    let id = ids.get(term);
    if (id === undefined) {
      id = terms.length;
      terms.push(term);
      ids.set(term, id);
      words.push(end - start <= MAX_WORD_CHARS ? text.slice(start, end) : '');
      if (id === lastPos.length) {
        const grown = new Int32Array(lastPos.length * 2);
        grown.set(lastPos);
        lastPos = grown;
      }
      lastPos[id] = -1;
    }
    const pos = fieldPosition(field, position);
    // The same term twice at one position (e.g. a code piece equal to a stem) counts once.
    if (lastPos[id] === pos) return;
    lastPos[id] = pos;
    if (n + 2 > tokens.length) {
      const grown = new Int32Array(tokens.length * 2);
      grown.set(tokens);
      tokens = grown;
    }
    tokens[n++] = id;
    tokens[n++] = pos;
  };
  const { lengths, textChars } = analyseFields(doc, language, sink, (f, t, position) => {
    field = f;
    text = t;
    if (f === 0) spans.page(position, t);
  });
  return {
    docId: doc.docId,
    language,
    createdMs: doc.createdMs ?? 0,
    mediaType: doc.mediaType ?? '',
    lengths,
    terms: terms.join('\n'),
    termCount: terms.length,
    words: words.join('\n'),
    tokens: tokens.slice(0, n),
    spans: spans.finish(lengths[0]!),
    textChars,
  };
}

/** FIELD_POSITION_SHIFT * field + position (capped). */
export function fieldPosition(field: number, position: number): number {
  return field * FIELD_POSITION_SHIFT + (position < MAX_FIELD_POSITION ? position : MAX_FIELD_POSITION);
}

/** The in-thread analyser (the default; also the fallback when the pool cannot take the work). */
export const analyseInThread: DocumentAnalyser = async (docs, defaultLanguage) =>
  docs.map((d) => analyseDocument(d, defaultLanguage));
