import { invalidArgument } from '../server/errors.js';
import { COMMON_PASSWORDS } from './common-passwords.js';

export const PASSWORD_MIN_CHARS = 10;
/** scrypt takes any length; the cap keeps a request from making us hash megabytes. */
export const PASSWORD_MAX_BYTES = 1024;
export const NAME_MAX_CHARS = 100;
export const EMAIL_MAX_CHARS = 254;

/** C0/C1 controls, bidi overrides and isolates, line/paragraph separators, BOM: invisible or reordering. */
const CONTROL = /[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]/u;

const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Normalises an e-mail address (trimmed, NFC, lower-cased domain) or throws INVALID_ARGUMENT. Only the
 * dot-atom form is accepted: quoted local parts and IP literals are legal but no real user has one.
 */
export function normaliseEmail(raw: string, field = 'email'): string {
  const value = raw.trim().normalize('NFC');
  if (value.length < 3 || value.length > EMAIL_MAX_CHARS) {
    throw invalidArgument(`${field} must be 3..${EMAIL_MAX_CHARS} characters`);
  }
  const at = value.lastIndexOf('@');
  const local = value.slice(0, at);
  const domain = value.slice(at + 1).toLowerCase();
  const labels = domain.split('.');
  if (
    at < 1 ||
    local.length > 64 ||
    !LOCAL_PART.test(local) ||
    labels.length < 2 ||
    !labels.every((l) => DOMAIN_LABEL.test(l)) ||
    /^\d+$/.test(labels[labels.length - 1] ?? '')
  ) {
    throw invalidArgument(`${field} is not a valid e-mail address`);
  }
  return `${local}@${domain}`;
}

/** The form used for uniqueness: addresses that differ only in case are the same person. */
export function emailLookupForm(normalised: string): string {
  return normalised.toLowerCase();
}

/** A person's name: trimmed, NFC, 1..100 characters, no control or bidi characters. */
export function validateName(raw: string, field: string): string {
  const value = raw.trim().normalize('NFC');
  const chars = [...value].length;
  if (chars < 1 || chars > NAME_MAX_CHARS) throw invalidArgument(`${field} must be 1..${NAME_MAX_CHARS} characters`);
  if (CONTROL.test(value)) throw invalidArgument(`${field} must not contain control characters`);
  return value;
}

/** Length, not the e-mail (or its local part), not a common password, not one repeated character. */
export function checkPasswordPolicy(password: string, email: string, field = 'password'): void {
  if (Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES) {
    throw invalidArgument(`${field} must be at most ${PASSWORD_MAX_BYTES} bytes`);
  }
  if ([...password].length < PASSWORD_MIN_CHARS) {
    throw invalidArgument(`${field} is too weak: use at least ${PASSWORD_MIN_CHARS} characters`);
  }
  if (/[\p{Cc}]/u.test(password)) throw invalidArgument(`${field} must not contain control characters`);
  const lower = password.normalize('NFC').toLowerCase();
  const mail = email.toLowerCase();
  const local = mail.slice(0, mail.lastIndexOf('@'));
  if (lower === mail || lower === local || lower.includes(mail)) {
    throw invalidArgument(`${field} is too weak: it must not be the e-mail address`);
  }
  if (COMMON_PASSWORDS.has(lower) || /^(.)\1+$/u.test(lower)) {
    throw invalidArgument(`${field} is too weak: it is one of the most common passwords`);
  }
}

/** A password given for verification only: bounded so it cannot make us hash megabytes. */
export function checkPasswordInput(password: string, field = 'password'): void {
  if (password.length === 0) throw invalidArgument(`${field} is required`);
  if (Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES) {
    throw invalidArgument(`${field} must be at most ${PASSWORD_MAX_BYTES} bytes`);
  }
}

/** A short machine token such as a consent purpose or channel. */
export function validateToken(raw: string, field: string, pattern: RegExp, max: number): string {
  if (raw.length < 1 || raw.length > max || !pattern.test(raw)) {
    throw invalidArgument(`${field} must be 1..${max} characters of ${pattern.source}`);
  }
  return raw;
}

/** Free text of bounded length without control characters (IMAP folders, filters). */
export function validateText(raw: string, field: string, max: number, allowEmpty: boolean): string {
  if (raw.length > max) throw invalidArgument(`${field} must be at most ${max} characters`);
  if (!allowEmpty && raw.length === 0) throw invalidArgument(`${field} is required`);
  if (CONTROL.test(raw)) throw invalidArgument(`${field} must not contain control characters`);
  return raw;
}
