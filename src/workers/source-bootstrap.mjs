// Loads the TypeScript worker entry through tsx when the pool runs from source (vitest, tsx scripts).
// After `npm run build` the pool loads dist/workers/worker-entry.js directly and this file is unused.
import { tsImport } from 'tsx/esm/api';

const entry = await tsImport('./worker-entry.ts', import.meta.url);
export default entry.default;
