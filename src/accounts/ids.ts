import { createHash, randomBytes } from 'node:crypto';

/** A random id with a readable prefix: `u_…` user, `t_…` tenant, and so on (128 bits, base64url). */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(16).toString('base64url')}`;
}

/** A session token: 256 random bits, base64url (43 characters). */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/** What we store and log instead of a token. */
export function sessionIdOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
