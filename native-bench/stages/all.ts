import type { Benchmark } from '../harness/types.js';
import { lmdbBlobBenchmark } from './lmdb-blobs.js';
import { ocrBenchmark } from './ocr.js';
import { pdfBenchmark } from './pdf.js';
import { sealBenchmark } from './seal.js';
import { uploadBenchmark } from './upload.js';

/** Every stage benchmark, in the order `npm run bench` runs them. */
export const BENCHMARKS: readonly Benchmark[] = [sealBenchmark, lmdbBlobBenchmark, uploadBenchmark, pdfBenchmark, ocrBenchmark];
