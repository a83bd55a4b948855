import './pool-thread-only.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { analyseDocument } from '../index/analyse-document.js';
import { buildSegment, builtBuffers, sealedIf } from '../index/segment-writer.js';
import type {
  AnalyseDocumentsResult,
  BuildSegmentResult,
  ProcessDocumentResult,
  RenderPageResult,
  SelftestResult,
  SelftestTask,
  WorkerResult,
  WorkerTask,
} from './tasks.js';

/**
 * The document pipeline (sharp, pdf.js, tesseract.js, mail and HTML parsers) loads on a thread's first
 * document task, not at thread start: loading it cost each thread ~1.5 s of CPU, which index analysis
 * (the only task of a thread during an index build) paid for nothing.
 */
let pipeline:
  | Promise<{
      processDocument: typeof import('./process-document.js').processDocument;
      renderPage: typeof import('./render-page.js').renderPage;
    }>
  | undefined;
function loadPipeline() {
  pipeline ??= (async () => {
    const { default: sharp } = await import('sharp');
    // One pool thread = one core: libvips must not start its own thread pool, and its cache would keep
    // decoded pages of earlier documents in memory.
    sharp.concurrency(1);
    sharp.cache(false);
    const [{ processDocument }, { renderPage }] = await Promise.all([
      import('./process-document.js'),
      import('./render-page.js'),
    ]);
    return { processDocument, renderPage };
  })();
  return pipeline;
}

export async function selftest(task: SelftestTask): Promise<SelftestResult> {
  if (task.delayMs > 0) await sleep(task.delayMs);
  return { type: 'selftest', bytes: task.payload.byteLength, threadId };
}

/** The buffers a result hands over to the main thread instead of copying them. */
type Moved = ProcessDocumentResult | RenderPageResult | AnalyseDocumentsResult | BuildSegmentResult;

function buffersOf(result: Moved): ArrayBufferLike[] {
  if (result.type === 'build-segment') return builtBuffers(result.segment);
  if (result.type === 'analyse-documents') return result.docs.flatMap((d) => [d.tokens.buffer, d.spans.buffer]);
  if (result.type === 'render-page') return result.outcome === 'rendered' ? [result.png.buffer] : [];
  if (result.outcome !== 'extracted') return [];
  const buffers = new Set<ArrayBufferLike>([result.text.buffer, result.words.buffer]);
  for (const c of result.children) buffers.add(c.body.buffer);
  const { thumbnail, pages, pdf } = result.previews;
  for (const b of [thumbnail, pdf, ...pages]) if (b) buffers.add(b.buffer);
  return [...buffers];
}

function moved(result: Moved): WorkerResult {
  const buffers = buffersOf(result);
  if (buffers.length === 0) return result;
  return move({
    get [transferableSymbol]() {
      return buffers;
    },
    get [valueSymbol]() {
      return result;
    },
  } as unknown as ArrayBuffer) as unknown as WorkerResult;
}

/** Piscina calls the default export with each task; the tag picks the handler. */
export default async function runTask(task: WorkerTask): Promise<WorkerResult> {
  switch (task.type) {
    case 'selftest':
      return selftest(task);
    case 'process-document':
      return moved(await (await loadPipeline()).processDocument(task));
    case 'render-page':
      return moved(await (await loadPipeline()).renderPage(task));
    case 'analyse-documents':
      return moved({ type: 'analyse-documents', docs: task.docs.map((d) => analyseDocument(d, task.defaultLanguage)) });
    case 'build-segment':
      try {
        return moved({ type: 'build-segment', segment: sealedIf(buildSegment(task.docs, task.defaultLanguage), task.sealing) });
      } finally {
        task.sealing?.key.fill(0);
      }
  }
}
