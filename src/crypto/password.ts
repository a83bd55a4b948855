/**
 * Password hashing with scrypt (OWASP: N=2^17, r=8, p=1). Each hash needs 128·N·r = 128 MiB and
 * runs on libuv's 4-thread pool, so a semaphore lets at most 2 run at once (the rest queue).
 * Encoded form: scrypt$<log2 N>$<r>$<p>$<salt b64>$<hash b64>, so parameters can be raised
 * later (needsRehash) without breaking stored hashes.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface ScryptParams {
  readonly logN: number;
  readonly r: number;
  readonly p: number;
  readonly saltBytes: number;
  readonly hashBytes: number;
}

export const DEFAULT_SCRYPT_PARAMS: ScryptParams = Object.freeze({ logN: 17, r: 8, p: 1, saltBytes: 16, hashBytes: 32 });

/** Refuse encoded parameters beyond this (a tampered hash must not make us allocate GiBs). */
const MAX_LOG_N = 20;
const MAX_R = 16;
const MAX_P = 4;
const MAX_CONCURRENT = 2;

/** Minimal FIFO semaphore. */
class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

const gate = new Semaphore(MAX_CONCURRENT);

function maxmemFor(params: Pick<ScryptParams, 'logN' | 'r' | 'p'>): number {
  // 128·N·r for V plus 128·r·p for B, with headroom; at OWASP settings this is 256 MiB.
  return Math.max(256 * 1024 * 1024, 2 * 128 * 2 ** params.logN * params.r + 128 * params.r * params.p);
}

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return gate.run(
    () =>
      new Promise<Buffer>((resolve, reject) => {
        scrypt(
          password.normalize('NFC'),
          salt,
          params.hashBytes,
          { N: 2 ** params.logN, r: params.r, p: params.p, maxmem: maxmemFor(params) },
          (err, key) => (err ? reject(err) : resolve(key)),
        );
      }),
  );
}

interface Decoded {
  params: ScryptParams;
  salt: Buffer;
  hash: Buffer;
}

function decode(encoded: string): Decoded | undefined {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [logN, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![logN, r, p].every((v) => Number.isInteger(v) && v >= 1)) return undefined;
  if (logN > MAX_LOG_N || r > MAX_R || p > MAX_P) return undefined;
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const hash = Buffer.from(parts[5] ?? '', 'base64');
  if (salt.byteLength < 8 || hash.byteLength < 16 || hash.byteLength > 64) return undefined;
  return { params: { logN, r, p, saltBytes: salt.byteLength, hashBytes: hash.byteLength }, salt, hash };
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(params.saltBytes);
  const hash = await derive(password, salt, params);
  return `scrypt$${params.logN}$${params.r}$${params.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Constant-time check. A malformed stored hash verifies as false (after a dummy hash). */
export async function verifyPassword(
  password: string,
  encoded: string,
  fallback: ScryptParams = DEFAULT_SCRYPT_PARAMS,
): Promise<boolean> {
  const decoded = decode(encoded);
  if (!decoded) {
    await dummyVerify(password, fallback);
    return false;
  }
  const actual = await derive(password, decoded.salt, decoded.params);
  return timingSafeEqual(actual, decoded.hash);
}

/** True when `encoded` uses weaker parameters than `params` (rehash after a successful login). */
export function needsRehash(encoded: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): boolean {
  const d = decode(encoded);
  if (!d) return true;
  return (
    d.params.logN < params.logN ||
    d.params.r < params.r ||
    d.params.p < params.p ||
    d.salt.byteLength < params.saltBytes ||
    d.hash.byteLength < params.hashBytes
  );
}

const DUMMY_SALT = randomBytes(16);

/**
 * Spend the same time as a real verification (for unknown e-mails), so response time does not
 * reveal whether an account exists. Always resolves false.
 */
export async function dummyVerify(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<false> {
  const salt = DUMMY_SALT.byteLength === params.saltBytes ? DUMMY_SALT : randomBytes(params.saltBytes);
  const actual = await derive(password, salt, params);
  timingSafeEqual(actual, Buffer.alloc(actual.byteLength));
  return false;
}
