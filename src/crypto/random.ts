import { randomBytes } from 'node:crypto';

/**
 * Source of random bytes. Production code always uses the CSPRNG; the option to inject one exists
 * only so that tests and the committed test vectors can be generated deterministically.
 */
export type RandomSource = (size: number) => Buffer;

export const secureRandom: RandomSource = (size) => randomBytes(size);
