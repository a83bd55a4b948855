export {
  isStorageFailure,
  type KeyPart,
  Store,
  type StoreOptions,
  SUB_DATABASES,
  type SubDatabaseName,
  tenantKey,
  tenantRange,
} from './database.js';
