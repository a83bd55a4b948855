import type { Accounts } from '../accounts/index.js';
import type { Store } from '../store/index.js';
import type { Keyring } from '../store/keyring.js';
import type { WorkerPool } from '../workers/pool.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

/** Everything the services need, built once by the composition root (server.ts). */
export interface AppContext {
  readonly config: Config;
  readonly log: Logger;
  readonly store: Store;
  readonly pool: WorkerPool;
  readonly keyring: Keyring;
  /** Users, sessions, consent, usage, export, erasure, retention (src/accounts). */
  readonly accounts: Accounts;
}
