import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh private temp directory; `cleanup()` removes it. */
export function tempDir(prefix = 'archivar-test-'): { path: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { path: dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
