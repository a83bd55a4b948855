import { Store } from '../../src/store/index.js';
import { tempDir } from './temp-dir.js';

/** A real LMDB environment in a fresh temp directory; `close()` closes it and removes the directory. */
export function openTestStore(): { store: Store; dir: string; close: () => Promise<void> } {
  const dir = tempDir('archivar-lmdb-');
  const store = Store.open(dir.path, { mapSize: 2 ** 30 });
  return {
    store,
    dir: dir.path,
    close: async () => {
      await store.close();
      dir.cleanup();
    },
  };
}
