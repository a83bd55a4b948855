/**
 * Builds one segment in memory from analysed documents and writes it in the caller's write transaction.
 * Segments are immutable once written; only their tombstone bitset changes until a merge replaces them.
 */
import { type AnalyserLanguage, analyse } from './analyser.js';
import type { DocRecord, IndexStore, Key } from './index-store.js';
import { toBuffer } from './index-store.js';
import { encodeNorm, encodePostings, FIELD_POSITION_SHIFT, type FieldName, FIELDS, MAX_FIELD_POSITION, NUM_FIELDS } from './postings-codec.js';

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

/** Term postings ready for encoding: tfs field-major (tfs[f * df + i]). */
export interface TermPostingsInput {
  docs: ArrayLike<number>;
  tfs: ArrayLike<number>;
  positions: ArrayLike<number>;
}

class TermAcc {
  docs: number[] = [];
  /** Doc-major while building: tfs[i * NUM_FIELDS + f]. */
  tfs: number[] = [];
  positions: number[] = [];
  lastPos = -1;
}

/** File names: cut at "_" and before the extension so "rechnung_2024.pdf" yields rechnung, 2024, pdf. */
function fileNameText(name: string): string {
  return name.replace(/_+/g, ' ').replace(/\.([A-Za-z0-9]{1,6})$/, ' $1');
}

export class SegmentBuilder {
  readonly terms = new Map<string, TermAcc>();
  readonly records: DocRecord[] = [];
  private norms = new Uint8Array(64 * NUM_FIELDS);
  private doc = -1;
  private field = 0;

  constructor(private readonly defaultLanguage: AnalyserLanguage) {}

  get numDocs(): number {
    return this.records.length;
  }

  /** Bytes of analysed text taken so far (for throughput figures). */
  textBytes = 0;

  private readonly sink = (term: string, position: number): void => {
    let acc = this.terms.get(term);
    if (acc === undefined) {
      acc = new TermAcc();
      this.terms.set(term, acc);
    }
    const pos = this.field * FIELD_POSITION_SHIFT + Math.min(position, MAX_FIELD_POSITION);
    const docs = acc.docs;
    if (docs.length === 0 || docs[docs.length - 1] !== this.doc) {
      docs.push(this.doc);
      for (let f = 0; f < NUM_FIELDS; f++) acc.tfs.push(0);
      acc.lastPos = -1;
    } else if (acc.lastPos === pos) return; // the same term twice at one position (e.g. a code piece)
    acc.tfs[(docs.length - 1) * NUM_FIELDS + this.field]!++;
    acc.positions.push(pos);
    acc.lastPos = pos;
  };

  add(doc: IndexDoc): void {
    const local = ++this.doc;
    const language = doc.language ?? this.defaultLanguage;
    const lengths = new Array<number>(NUM_FIELDS).fill(0);
    for (let f = 0; f < NUM_FIELDS; f++) {
      const name: FieldName = FIELDS[f]!;
      this.field = f;
      let pos = 0;
      if (name === 'body') {
        for (const page of doc.fields.body ?? []) {
          this.textBytes += page.length;
          pos = analyse(page, language, this.sink, 'index', pos);
        }
      } else {
        let text = doc.fields[name];
        if (text === undefined || text.length === 0) continue;
        if (name === 'fileName') text = fileNameText(text);
        this.textBytes += text.length;
        pos = analyse(text, language, this.sink, 'index', 0);
      }
      lengths[f] = pos;
    }
    if (this.norms.length < (local + 1) * NUM_FIELDS) {
      const next = new Uint8Array(this.norms.length * 2);
      next.set(this.norms);
      this.norms = next;
    }
    for (let f = 0; f < NUM_FIELDS; f++) this.norms[local * NUM_FIELDS + f] = encodeNorm(lengths[f]!);
    this.records.push({
      id: doc.docId,
      createdMs: doc.createdMs ?? 0,
      mediaType: doc.mediaType ?? '',
      language,
      lengths,
    });
  }

  normsBytes(): Uint8Array {
    return this.norms.slice(0, this.numDocs * NUM_FIELDS);
  }

  /** Terms in sorted order with field-major frequencies. */
  *sortedTerms(): Generator<[string, TermPostingsInput]> {
    const names = [...this.terms.keys()].sort();
    for (const term of names) {
      const acc = this.terms.get(term)!;
      const df = acc.docs.length;
      const tfs = new Uint32Array(df * NUM_FIELDS);
      for (let i = 0; i < df; i++) for (let f = 0; f < NUM_FIELDS; f++) tfs[f * df + i] = acc.tfs[i * NUM_FIELDS + f]!;
      yield [term, { docs: acc.docs, tfs, positions: acc.positions }];
    }
  }
}

/**
 * Write a segment's postings, positions, norms and doc records. Must run inside a write transaction; the
 * caller updates ids, stats and the segment list in the same transaction.
 */
export function writeSegment(
  store: IndexStore,
  tenantId: string,
  segmentId: number,
  terms: Iterable<[string, TermPostingsInput]>,
  norms: Uint8Array,
  records: readonly DocRecord[],
): { postingsBytes: number; positionsBytes: number } {
  let postingsBytes = 0;
  let positionsBytes = 0;
  for (const [term, input] of terms) {
    const { postings, positions } = encodePostings({ ...input, norms });
    const key: Key = [tenantId, segmentId, term];
    store.terms.put(key, toBuffer(postings));
    if (positions.length > 0) store.positions.put(key, toBuffer(positions));
    postingsBytes += postings.length;
    positionsBytes += positions.length;
  }
  store.norms.put([tenantId, segmentId], toBuffer(norms));
  for (let i = 0; i < records.length; i++) {
    store.docs.put([tenantId, segmentId, i], records[i]!);
    store.ids.put([tenantId, records[i]!.id], [segmentId, i]);
  }
  return { postingsBytes, positionsBytes };
}
