// The thread of sqlite-thread.ts: loads the TypeScript side through tsx (benchmarks run from source).
import { tsImport } from 'tsx/esm/api';

await tsImport('./sqlite-thread-main.ts', import.meta.url);
