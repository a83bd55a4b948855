import './pool-thread-only.js';
import { openPdf, PipelineError, pdfPagePreview, previewFromImage } from '../pipeline/index.js';
import { classifyFailure, openInMemory, ownCopy } from './process-document.js';
import type { RenderPageResult, RenderPageTask } from './tasks.js';

/**
 * One page preview on its first request (pages past `--preview-pages`): the original is opened in memory
 * like for processing, the page rendered within the per-page time limit, and the PNG moved back.
 */
export async function renderPage(task: RenderPageTask): Promise<RenderPageResult> {
  const signal = AbortSignal.timeout(task.limits.pageTimeMs);
  const limits = { maxPixels: task.limits.maxPixels, maxPages: task.limits.maxPages };
  let plaintext: Buffer | undefined;
  try {
    plaintext = await openInMemory(task);
    let png: Buffer;
    if (task.mediaType === 'application/pdf') {
      const opened = await openPdf(plaintext, { limits: task.limits, signal });
      if (opened.status === 'encrypted') throw new PipelineError('corrupt', 'the PDF is password-protected');
      try {
        if (task.page > opened.pdf.pageCount) throw new PipelineError('corrupt', `the PDF has no page ${task.page}`);
        png = (await pdfPagePreview(opened.pdf, task.page, { signal, ...(task.turn ? { turn: task.turn } : {}) })).bytes;
      } finally {
        await opened.pdf.close();
      }
    } else {
      png = (
        await previewFromImage(plaintext, 'page', {
          limits,
          signal,
          page: task.page - 1,
          ...(task.turn ? { turn: task.turn } : {}),
        })
      ).bytes;
    }
    return { type: 'render-page', outcome: 'rendered', png: ownCopy(png) };
  } catch (err) {
    const { kind, reason } = classifyFailure(err);
    return { type: 'render-page', outcome: 'failed', kind, reason };
  } finally {
    task.fileKey.fill(0);
    plaintext?.fill(0);
  }
}
