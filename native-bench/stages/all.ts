import type { Benchmark } from '../harness/types.js';
import { indexBenchmark } from './index.js';
import { lmdbBlobBenchmark } from './lmdb-blobs.js';
import { mailBenchmark } from './mail.js';
import { ocrBenchmark } from './ocr.js';
import { pdfBenchmark } from './pdf.js';
import { previewsBenchmark } from './previews.js';
import { relevanceBenchmark } from './relevance.js';
import { sealBenchmark } from './seal.js';
import { searchScalingBenchmark } from './search-scaling.js';
import { uploadBenchmark } from './upload.js';

/** Every stage benchmark, in the order `npm run bench` runs them. */
export const BENCHMARKS: readonly Benchmark[] = [
  sealBenchmark,
  lmdbBlobBenchmark,
  indexBenchmark,
  searchScalingBenchmark,
  relevanceBenchmark,
  uploadBenchmark,
  mailBenchmark,
  pdfBenchmark,
  previewsBenchmark,
  ocrBenchmark,
];
