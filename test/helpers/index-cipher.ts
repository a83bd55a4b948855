import { recordCipherFromSecret } from '../../src/crypto/index.js';

/** The record cipher of index tests: a fixed secret, so a child process or a reopened index reads what was written. */
export const testCipher = recordCipherFromSecret(Buffer.alloc(32, 7));
