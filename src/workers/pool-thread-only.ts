import { isMainThread } from 'node:worker_threads';

// Imported first (as a side effect) by the modules that hold heavy libraries and per-thread engines:
// ES modules evaluate their imports in order, so this throws before sharp, pdf.js or tesseract.js load on
// the main thread, where loading them is a bug.
if (isMainThread) throw new Error('src/workers pool modules run inside pool workers only, never on the main thread');
