import './pool-thread-only.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import sharp from 'sharp';
import { analyseDocument } from '../index/analyse-document.js';
import { processDocument } from './process-document.js';
import { renderPage } from './render-page.js';
import type {
  AnalyseDocumentsResult,
  ProcessDocumentResult,
  RenderPageResult,
  SelftestResult,
  SelftestTask,
  WorkerResult,
  WorkerTask,
} from './tasks.js';

// One pool thread = one core: libvips must not start its own thread pool, and its cache would keep
// decoded pages of earlier documents in memory.
sharp.concurrency(1);
sharp.cache(false);

export async function selftest(task: SelftestTask): Promise<SelftestResult> {
  if (task.delayMs > 0) await sleep(task.delayMs);
  return { type: 'selftest', bytes: task.payload.byteLength, threadId };
}

/** The buffers a result hands over to the main thread instead of copying them. */
function buffersOf(result: ProcessDocumentResult | RenderPageResult | AnalyseDocumentsResult): ArrayBufferLike[] {
  if (result.type === 'analyse-documents') return result.docs.map((d) => d.tokens.buffer);
  if (result.type === 'render-page') return result.outcome === 'rendered' ? [result.png.buffer] : [];
  if (result.outcome !== 'extracted') return [];
  const buffers = new Set<ArrayBufferLike>([result.text.buffer, result.words.buffer]);
  for (const c of result.children) buffers.add(c.body.buffer);
  const { thumbnail, pages, pdf } = result.previews;
  for (const b of [thumbnail, pdf, ...pages]) if (b) buffers.add(b.buffer);
  return [...buffers];
}

function moved(result: ProcessDocumentResult | RenderPageResult | AnalyseDocumentsResult): WorkerResult {
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
      return moved(await processDocument(task));
    case 'render-page':
      return moved(await renderPage(task));
    case 'analyse-documents':
      return moved({ type: 'analyse-documents', docs: task.docs.map((d) => analyseDocument(d, task.defaultLanguage)) });
  }
}
