export {
  isStorageFailure,
  type KeyPart,
  removeTenantRangeSync,
  Store,
  type StoreOptions,
  SUB_DATABASES,
  type SubDatabaseName,
  tenantKey,
  tenantOfKey,
  tenantRange,
} from './database.js';
