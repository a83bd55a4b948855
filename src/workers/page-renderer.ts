import type { DocumentsDeps } from '../documents/deps.js';
import { storeRenderedPage } from '../documents/processing.js';
import { AppError, dataLoss, deadlineExceeded, failedPrecondition } from '../server/errors.js';
import type { DocumentRecord } from '../store/document-store.js';
import type { WorkerPool } from './pool.js';
import { sealedInputOf } from './sealed-input.js';

/**
 * Page previews past `--preview-pages`, made on their first request: the page is rendered in the pool
 * (the original opened in memory there), sealed with the tenant key, stored next to the others and served.
 */
export class PageRenderer {
  readonly #deps: DocumentsDeps;
  readonly #pool: WorkerPool;

  constructor(deps: DocumentsDeps, pool: WorkerPool) {
    this.#deps = deps;
    this.#pool = pool;
  }

  /** The PNG of page `page` (1-based) of `doc`, which must be a processed PDF or image. */
  async render(doc: DocumentRecord, page: number, signal?: AbortSignal): Promise<Buffer> {
    const { input, transfer } = await sealedInputOf(this.#deps, doc);
    const { maxNestingDepth, previewPages, ...limits } = this.#deps.config.processing;
    const turn = turnOf(doc.metadata, page);
    const result = await this.#pool.run(
      { type: 'render-page', ...input, mediaType: doc.mediaType, page, limits, ...(turn ? { turn } : {}) },
      { ...(signal ? { signal } : {}), transfer },
    );
    if (result.outcome === 'failed') {
      const message = `page ${page} could not be rendered: ${result.reason}`;
      if (result.kind === 'verification') throw dataLoss(message);
      if (result.kind === 'timeout') throw deadlineExceeded(message);
      if (result.kind === 'internal' || result.kind === 'aborted') throw new AppError(13, message);
      // A damaged page or one over a limit: the document itself is the problem, retrying will not help.
      throw failedPrecondition(message);
    }
    const png = Buffer.from(result.png.buffer, result.png.byteOffset, result.png.byteLength);
    await storeRenderedPage(this.#deps, doc, page, png);
    return png;
  }
}

/** How processing turned page `page` (1-based) of a document: `metadata.turnedPages`, `[[page, degrees], …]`. */
export function turnOf(metadata: Record<string, unknown> | undefined, page: number): 90 | 180 | 270 | undefined {
  const turned = metadata?.turnedPages;
  if (!Array.isArray(turned)) return undefined;
  for (const entry of turned) {
    if (!Array.isArray(entry) || entry[0] !== page) continue;
    const deg = entry[1];
    return deg === 90 || deg === 180 || deg === 270 ? deg : undefined;
  }
  return undefined;
}
