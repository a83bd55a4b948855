import { crc32, inflateRawSync } from 'node:zlib';
import { PipelineError, throwIfAborted } from './errors.js';
import { DEFAULT_LIMITS, type PipelineLimits } from './limits.js';

/**
 * ZIP reading from memory with bomb defences: member count, total and per-member uncompressed size,
 * compression ratio, overlapping members (the "non-recursive" bomb), and inflation capped at the
 * declared size so that a header that lies about sizes cannot make us allocate more.
 */
export interface ZipEntry {
  /** Path inside the archive, '/'-separated, without leading '/' or '..' segments. */
  name: string;
  compressedSize: number;
  uncompressedSize: number;
  method: number;
  encrypted: boolean;
  crc32: number;
  /** Offset of the local file header. */
  localHeaderOffset: number;
  modified?: Date;
}

export interface ZipMember {
  fileName: string;
  bytes: Buffer;
  modified?: Date;
}

export type ZipLimits = Pick<PipelineLimits, 'maxZipMembers' | 'maxDecompressedBytes' | 'maxCompressionRatio'>;

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CEN_SIG = 0x02014b50;
const LOC_SIG = 0x04034b50;
// Small members may compress extremely well (a page of spaces); the ratio bound applies above this.
const RATIO_MIN_BYTES = 1024 * 1024;

function corrupt(msg = 'ZIP structure is invalid'): PipelineError {
  return new PipelineError('corrupt', msg);
}

export function listZip(bytes: Uint8Array, limits: ZipLimits = DEFAULT_LIMITS): ZipEntry[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = findEocd(buf);
  let total = buf.readUInt16LE(eocd + 10);
  let cdSize = buf.readUInt32LE(eocd + 12);
  let cdOffset = buf.readUInt32LE(eocd + 16);

  if (total === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc >= 0 && buf.readUInt32LE(loc) === ZIP64_LOCATOR_SIG) {
      const z64 = toSafe(buf.readBigUInt64LE(loc + 8));
      if (z64 + 56 > buf.length || buf.readUInt32LE(z64) !== ZIP64_EOCD_SIG) throw corrupt();
      total = toSafe(buf.readBigUInt64LE(z64 + 32));
      cdSize = toSafe(buf.readBigUInt64LE(z64 + 40));
      cdOffset = toSafe(buf.readBigUInt64LE(z64 + 48));
    }
  }
  if (total > limits.maxZipMembers) {
    throw new PipelineError('limit', `ZIP lists ${total} members, more than the limit of ${limits.maxZipMembers}`);
  }
  if (cdOffset + cdSize > buf.length) throw corrupt();

  const entries: ZipEntry[] = [];
  let sum = 0;
  let p = cdOffset;
  for (let i = 0; i < total; i++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CEN_SIG) throw corrupt();
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const time = buf.readUInt16LE(p + 12);
    const date = buf.readUInt16LE(p + 14);
    const crc = buf.readUInt32LE(p + 16);
    let csize = buf.readUInt32LE(p + 20);
    let usize = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let offset = buf.readUInt32LE(p + 42);
    const nameBytes = buf.subarray(p + 46, p + 46 + nameLen);
    const extra = buf.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen);
    p += 46 + nameLen + extraLen + commentLen;
    if (p > buf.length) throw corrupt();

    // ZIP64 extra field: present values replace the 0xffffffff placeholders, in this order.
    if (usize === 0xffffffff || csize === 0xffffffff || offset === 0xffffffff) {
      const z = readZip64Extra(extra);
      let k = 0;
      const next = () => {
        const v = z?.[k++];
        if (v === undefined) throw corrupt();
        return v;
      };
      if (usize === 0xffffffff) usize = next();
      if (csize === 0xffffffff) csize = next();
      if (offset === 0xffffffff) offset = next();
    }

    const name = sanitiseName(decodeName(nameBytes, (flags & 0x800) !== 0));
    if (name === '' || name.endsWith('/')) continue; // directories carry no content

    if (usize > RATIO_MIN_BYTES && usize / Math.max(csize, 1) > limits.maxCompressionRatio) {
      throw new PipelineError('limit', `ZIP member compression ratio exceeds ${limits.maxCompressionRatio}:1 (zip bomb)`);
    }
    sum += usize;
    if (sum > limits.maxDecompressedBytes) {
      throw new PipelineError('limit', `ZIP expands to more than ${limits.maxDecompressedBytes} bytes`);
    }
    entries.push({
      name,
      compressedSize: csize,
      uncompressedSize: usize,
      method,
      encrypted: (flags & 0x1) !== 0,
      crc32: crc,
      localHeaderOffset: offset,
      ...(date ? { modified: dosDate(date, time) } : {}),
    });
  }
  checkOverlap(entries, cdOffset);
  return entries;
}

/** Extracts every readable member. Encrypted members and unsupported methods are skipped, not fatal. */
export async function extractZip(
  bytes: Uint8Array,
  opts: { limits?: ZipLimits; signal?: AbortSignal } = {},
): Promise<{ members: ZipMember[]; skipped: { name: string; reason: 'encrypted' | 'unsupported-method' }[] }> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const entries = listZip(bytes, limits);
  const members: ZipMember[] = [];
  const skipped: { name: string; reason: 'encrypted' | 'unsupported-method' }[] = [];
  let produced = 0;
  for (const entry of entries) {
    throwIfAborted(opts.signal);
    if (entry.encrypted) {
      skipped.push({ name: entry.name, reason: 'encrypted' });
      continue;
    }
    if (entry.method !== 0 && entry.method !== 8) {
      skipped.push({ name: entry.name, reason: 'unsupported-method' });
      continue;
    }
    const data = readZipEntry(bytes, entry);
    produced += data.length;
    if (produced > limits.maxDecompressedBytes) {
      throw new PipelineError('limit', `ZIP expands to more than ${limits.maxDecompressedBytes} bytes`);
    }
    members.push({ fileName: entry.name, bytes: data, ...(entry.modified ? { modified: entry.modified } : {}) });
    // Inflating is synchronous: yield so that an abort or a timer can be seen between members.
    await new Promise<void>((r) => setImmediate(r));
  }
  return { members, skipped };
}

/** Reads one member; output is capped at its declared size, and the CRC is checked. */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry): Buffer {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const p = entry.localHeaderOffset;
  if (p + 30 > buf.length || buf.readUInt32LE(p) !== LOC_SIG) throw corrupt();
  const start = p + 30 + buf.readUInt16LE(p + 26) + buf.readUInt16LE(p + 28);
  const end = start + entry.compressedSize;
  if (end > buf.length) throw corrupt('ZIP member is truncated');
  const raw = buf.subarray(start, end);
  let out: Buffer;
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.uncompressedSize) throw corrupt();
    out = Buffer.from(raw);
  } else if (entry.method === 8) {
    try {
      // +1 so that output larger than declared is detected rather than silently cut.
      out = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.uncompressedSize + 1) });
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new PipelineError('limit', 'ZIP member inflates beyond its declared size (zip bomb)', { cause: err });
      }
      throw new PipelineError('corrupt', 'ZIP member could not be inflated', { cause: err });
    }
    if (out.length !== entry.uncompressedSize) {
      throw new PipelineError('limit', 'ZIP member inflates beyond its declared size (zip bomb)');
    }
  } else {
    throw new PipelineError('corrupt', `ZIP compression method ${entry.method} is not supported`);
  }
  if (crc32(out) !== entry.crc32) throw corrupt('ZIP member checksum mismatch');
  return out;
}

function findEocd(buf: Buffer): number {
  const min = Math.max(0, buf.length - 22 - 0xffff);
  for (let i = buf.length - 22; i >= min; i--) {
    if (buf.readUInt32LE(i) === EOCD_SIG) return i;
  }
  throw corrupt('ZIP end of central directory not found');
}

function readZip64Extra(extra: Buffer): number[] | undefined {
  let q = 0;
  while (q + 4 <= extra.length) {
    const id = extra.readUInt16LE(q);
    const size = extra.readUInt16LE(q + 2);
    if (id === 0x0001) {
      const vals: number[] = [];
      for (let k = q + 4; k + 8 <= q + 4 + size && k + 8 <= extra.length; k += 8) vals.push(toSafe(extra.readBigUInt64LE(k)));
      return vals;
    }
    q += 4 + size;
  }
  return undefined;
}

function toSafe(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt();
  return Number(v);
}

/** Members whose data ranges overlap reuse one compressed stream many times: a known bomb shape. */
function checkOverlap(entries: ZipEntry[], cdOffset: number): void {
  const sorted = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  for (let i = 0; i < sorted.length; i++) {
    const cur = sorted[i];
    if (!cur) continue;
    const nextStart = sorted[i + 1]?.localHeaderOffset ?? cdOffset;
    if (cur.localHeaderOffset + 30 + cur.compressedSize > nextStart) {
      throw new PipelineError('limit', 'ZIP members overlap (zip bomb)');
    }
  }
}

function decodeName(b: Buffer, utf8Flag: boolean): string {
  if (utf8Flag) return b.toString('utf8');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return b.toString('latin1'); // CP437 in theory; Latin-1 keeps ASCII intact and is close enough for names
  }
}

function sanitiseName(name: string): string {
  const dir = name.endsWith('/') || name.endsWith('\\');
  const parts = name
    .replace(/\\/g, '/')
    .split('/')
    .filter((s) => s !== '' && s !== '.' && s !== '..')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
    .map((s) => s.replace(/[\u0000-\u001f\u007f]/g, ''));
  const joined = parts.join('/');
  return dir && joined ? `${joined}/` : joined;
}

function dosDate(date: number, time: number): Date | undefined {
  const d = new Date(
    Date.UTC(1980 + (date >> 9), ((date >> 5) & 0xf) - 1, date & 0x1f, time >> 11, (time >> 5) & 0x3f, (time & 0x1f) * 2),
  );
  return Number.isNaN(d.getTime()) ? undefined : d;
}
