/**
 * Messages between the main thread and the pool's worker threads: one tagged union per direction, shared
 * by both sides. Each task type is dispatched by the worker entry's default export.
 */
import type { MessagePort } from 'node:worker_threads';
import type { AnalysedDoc } from '../index/analyse-document.js';
import type { AnalyserLanguage } from '../index/analyser.js';
import type { BuiltSegment, IndexDoc, SegmentSealing } from '../index/segment-writer.js';
import type { PipelineLimits } from '../pipeline/limits.js';

/** Diagnostic task: waits `delayMs` (abortable by terminating the worker) and echoes the payload size. */
export interface SelftestTask {
  type: 'selftest';
  delayMs: number;
  /** Transferred, not copied. */
  payload: Uint8Array;
}

export interface SelftestResult {
  type: 'selftest';
  bytes: number;
  threadId: number;
}

/** Bounds on one document's work: the pipeline's limits, each set from the server config (the input size
 * bound travels as `maxPlaintextBytes`). */
export type ProcessLimits = Omit<PipelineLimits, 'maxInputBytes'>;

/** The sealed original moved into a worker: what it needs to open the document in memory. */
export interface SealedInput {
  /** 32-byte file key (transferred, wiped after use). */
  fileKey: Uint8Array;
  /** The stored sealed header. */
  header: Uint8Array;
  /** The sealed body (transferred). */
  body: Uint8Array;
  /** Expected hex SHA-256 of the plaintext. */
  contentId: string;
  maxPlaintextBytes: number;
}

/**
 * Opens a stored document in memory (decrypt, decompress, check the plaintext digest), extracts its
 * text, metadata and child documents, and seals the children. The file key is unwrapped on the main
 * thread and moved here; nothing is written to disk.
 */
export interface ProcessDocumentTask extends SealedInput {
  type: 'process-document';
  /** Largest text, HTML or e-mail document (they become JS strings; bounded by the worker heap). */
  maxTextBytes: number;
  declaredType: string;
  fileName: string;
  limits: ProcessLimits;
  /** Page previews (PNG) to make at most; the thumbnail is always made when the type has previews. */
  previewPages: number;
  /** Nesting depth of the document: 0 for uploads, 1 for their members and attachments, … */
  depth: number;
  /** False at the maximum nesting depth: members and attachments are listed, not returned. */
  extractChildren: boolean;
  /**
   * The server's X25519 public key: children are sealed to it exactly like client uploads, and the main
   * thread re-wraps their file keys to the tenant (no tenant or server secret enters a worker).
   */
  serverPublicKey: Uint8Array;
  /** Receives `ProgressMessage`s (transferred with the task). */
  progress?: MessagePort;
}

/** Posted on the task's progress port while a document is worked on. */
export interface ProgressMessage {
  type: 'progress';
  /** OPENING, EXTRACTING or OCR. */
  step: string;
  page: number;
  pageCount: number;
}

/** A member or attachment, sealed like an upload (X25519 envelope to the server, context kind 'original'). */
export interface SealedChild {
  fileName: string;
  declaredType: string;
  /** Sealed header with the X25519 envelope; the main thread replaces it by a tenant envelope. */
  header: Uint8Array;
  /** Sealed body (transferred). */
  body: Uint8Array;
  contentId: string;
  size: number;
}

/** Thumbnail (WebP), page previews (PNG, pages 1…n) and searchable PDF of a document. */
export interface PreviewBytes {
  thumbnail?: Uint8Array;
  pages: Uint8Array[];
  pdf?: Uint8Array;
  /** The original is the PDF preview (born-digital PDF). */
  pdfIsOriginal: boolean;
  /** Why previews could not be made (the document itself is processed all the same). */
  error?: string;
}

export type ProcessFailureKind = 'verification' | 'limit' | 'corrupt' | 'timeout' | 'aborted' | 'empty' | 'internal';

/** What a worker extracted from one document, as the main thread commits it. */
export interface Extracted {
  status: 'ok' | 'unsupported' | 'encrypted';
  mediaType: string;
  language: string;
  pageCount: number;
  /** Metadata under the keys the Document message reads (see docs/pipeline.md). */
  metadata: Record<string, unknown>;
  /** UTF-8 text, pages separated by form feeds (transferred); empty when nothing was found. */
  text: Uint8Array;
  /** JSON word boxes per page (transferred); empty when no page was OCR'd. */
  words: Uint8Array;
  children: SealedChild[];
  /** Previews (all transferred): see docs/pipeline.md. */
  previews: PreviewBytes;
}

export type ProcessDocumentResult =
  | (Extracted & {
      type: 'process-document';
      outcome: 'extracted';
      /** Plaintext bytes opened and milliseconds spent, for logs and metrics. */
      plaintextBytes: number;
      elapsedMs: number;
    })
  | {
      type: 'process-document';
      outcome: 'failed';
      kind: ProcessFailureKind;
      /** Safe to show the owner: no document content, no stack. */
      reason: string;
      /** Retrying cannot help (bad bytes, a limit); otherwise the job is retried. */
      permanent: boolean;
    };

/**
 * Renders the page preview (PNG, 1024 px wide) of one page of a PDF or multi-page image on its first
 * request: the pages past `--preview-pages` that processing did not make.
 */
export interface RenderPageTask extends SealedInput {
  type: 'render-page';
  /** The media type processing found. */
  mediaType: string;
  /** 1-based. */
  page: number;
  /** The page lay sideways: clockwise degrees processing turned it by (`metadata.turnedPages`). */
  turn?: 90 | 180 | 270;
  limits: ProcessLimits;
}

export type RenderPageResult =
  // png: transferred; reason: safe to show the owner.
  | { type: 'render-page'; outcome: 'rendered'; png: Uint8Array }
  | { type: 'render-page'; outcome: 'failed'; kind: ProcessFailureKind; reason: string };

/** Analyses documents for the search index (index/analyse-document.ts), off the index writer's thread. */
export interface AnalyseDocumentsTask {
  type: 'analyse-documents';
  /** Plain IndexDocs (no functions: they are cloned). */
  docs: IndexDoc[];
  defaultLanguage: AnalyserLanguage;
}

/** In the order given; each document's `tokens` transferred. */
export interface AnalyseDocumentsResult {
  type: 'analyse-documents';
  docs: AnalysedDoc[];
}

/**
 * Analyses documents and builds their whole index segment (sorted terms, encoded postings), sealed when the
 * task carries a `sealing` (plaintext otherwise: the writer seals it), so the writer's thread only writes.
 */
export interface BuildSegmentTask {
  type: 'build-segment';
  /** Plain IndexDocs (cloned). */
  docs: IndexDoc[];
  defaultLanguage: AnalyserLanguage;
  /** The tenant's index-block key among them (cloned; zeroed here after use). */
  sealing?: SegmentSealing;
}

/** The segment's buffers transferred. */
export interface BuildSegmentResult {
  type: 'build-segment';
  segment: BuiltSegment;
}

export type WorkerTask = SelftestTask | ProcessDocumentTask | RenderPageTask | AnalyseDocumentsTask | BuildSegmentTask;
export type WorkerResult =
  | SelftestResult
  | ProcessDocumentResult
  | RenderPageResult
  | AnalyseDocumentsResult
  | BuildSegmentResult;
export type TaskType = WorkerTask['type'];
export type ResultOf<T extends TaskType> = Extract<WorkerResult, { type: T }>;
