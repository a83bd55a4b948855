/** Bounds on the work one document may cause. Every field has a default; callers override some. */
export interface PipelineLimits {
  /** Wall time for the whole document, in milliseconds. */
  documentTimeMs: number;
  /** Wall time for one page (text layer, render or OCR), in milliseconds. */
  pageTimeMs: number;
  /** Pages a PDF or multi-page image may have; more is a `limit` error, not a truncation. */
  maxPages: number;
  /** Pixels of one decoded image (width × height), checked from the header before decoding. */
  maxPixels: number;
  /** Bytes any decompression (ZIP member, total) may produce. */
  maxDecompressedBytes: number;
  /** Members a ZIP may list. */
  maxZipMembers: number;
  /** Uncompressed/compressed ratio above which a ZIP member counts as a bomb. */
  maxCompressionRatio: number;
  /** Input size in bytes. */
  maxInputBytes: number;
  /** DPI at which PDF pages are rendered for OCR. */
  renderDpi: number;
}

export const DEFAULT_LIMITS: Readonly<PipelineLimits> = Object.freeze({
  documentTimeMs: 10 * 60_000,
  pageTimeMs: 60_000,
  maxPages: 2_000,
  // 100 MP: an A3 page at 600 dpi is ~70 MP; a 100k × 100k header is 10 000 MP.
  maxPixels: 100_000_000,
  maxDecompressedBytes: 512 * 1024 * 1024,
  maxZipMembers: 10_000,
  maxCompressionRatio: 200,
  maxInputBytes: 1024 * 1024 * 1024,
  renderDpi: 300,
});

export function resolveLimits(partial?: Partial<PipelineLimits>): PipelineLimits {
  const out: PipelineLimits = { ...DEFAULT_LIMITS };
  if (partial) {
    for (const key of Object.keys(DEFAULT_LIMITS) as (keyof PipelineLimits)[]) {
      const v = partial[key];
      if (typeof v === 'number' && Number.isFinite(v) && v > 0) out[key] = v;
    }
  }
  return out;
}
