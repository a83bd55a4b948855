import { crc32 } from 'node:zlib';

/** One file of an export archive. `size` must be exact for tar (its header comes first). */
export interface ArchiveEntry {
  name: string;
  size: number;
  mtimeMs: number;
  data: AsyncIterable<Buffer> | Buffer;
}

export type ArchiveFormat = 'tar' | 'zip';

const CHUNK = 256 * 1024;

/** Streams entries as a tar (ustar) or zip (stored, data descriptors) archive, in chunks of about 256 KiB. */
export async function* writeArchive(format: ArchiveFormat, entries: AsyncIterable<ArchiveEntry>): AsyncGenerator<Buffer> {
  const parts = format === 'tar' ? tarParts(entries) : zipParts(entries);
  let pending: Buffer[] = [];
  let size = 0;
  for await (const part of parts) {
    pending.push(part);
    size += part.byteLength;
    if (size >= CHUNK) {
      yield Buffer.concat(pending);
      pending = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(pending);
}

async function* bytesOf(data: AsyncIterable<Buffer> | Buffer): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(data)) yield data;
  else yield* data;
}

function checkName(name: string): void {
  if (name.length === 0 || name.startsWith('/') || name.split('/').includes('..') || /[\0\\]/.test(name)) {
    throw new Error(`unsafe archive entry name ${JSON.stringify(name)}`);
  }
}

async function* tarParts(entries: AsyncIterable<ArchiveEntry>): AsyncGenerator<Buffer> {
  for await (const e of entries) {
    checkName(e.name);
    yield tarHeader(e);
    let written = 0;
    for await (const chunk of bytesOf(e.data)) {
      written += chunk.byteLength;
      if (written > e.size) throw new Error(`${e.name}: more bytes than announced`);
      yield chunk;
    }
    if (written !== e.size) throw new Error(`${e.name}: ${written} bytes instead of ${e.size}`);
    const pad = (512 - (e.size % 512)) % 512;
    if (pad > 0) yield Buffer.alloc(pad);
  }
  yield Buffer.alloc(1024);
}

function tarHeader(e: ArchiveEntry): Buffer {
  const h = Buffer.alloc(512);
  let name = Buffer.from(e.name, 'utf8');
  let prefix = Buffer.alloc(0);
  if (name.byteLength > 100) {
    // ustar splits long paths at a slash into prefix (155) and name (100).
    const slash = e.name.lastIndexOf('/', e.name.length - 1);
    prefix = Buffer.from(e.name.slice(0, slash), 'utf8');
    name = Buffer.from(e.name.slice(slash + 1), 'utf8');
    if (slash < 0 || prefix.byteLength > 155 || name.byteLength > 100) throw new Error(`archive entry name too long: ${e.name}`);
  }
  name.copy(h, 0);
  h.write('0000600\0', 100, 'ascii');
  h.write('0000000\0', 108, 'ascii');
  h.write('0000000\0', 116, 'ascii');
  if (e.size >= 8 ** 11) throw new Error(`${e.name} is too large for a tar entry`);
  h.write(`${e.size.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  h.write(
    `${Math.floor(e.mtimeMs / 1000)
      .toString(8)
      .padStart(11, '0')}\0`,
    136,
    'ascii',
  );
  h.write('        ', 148, 'ascii');
  h.write('0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  prefix.copy(h, 345);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

function dosTime(ms: number): { time: number; date: number } {
  const d = new Date(Math.max(ms, Date.UTC(1980, 0, 1)));
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | Math.floor(d.getUTCSeconds() / 2),
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

async function* zipParts(entries: AsyncIterable<ArchiveEntry>): AsyncGenerator<Buffer> {
  const central: Buffer[] = [];
  let offset = 0;
  let count = 0;
  // Stored (no compression) with a data descriptor: sizes and CRC follow the data, so nothing is buffered.
  const FLAGS = 0x0808; // bit 3: data descriptor; bit 11: UTF-8 names
  for await (const e of entries) {
    checkName(e.name);
    const name = Buffer.from(e.name, 'utf8');
    const { time, date } = dosTime(e.mtimeMs);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(FLAGS, 6);
    local.writeUInt16LE(0, 8);
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt16LE(name.byteLength, 26);
    const headerOffset = offset;
    yield local;
    yield name;
    offset += 30 + name.byteLength;
    let crc = 0;
    let size = 0;
    for await (const chunk of bytesOf(e.data)) {
      crc = crc32(chunk, crc);
      size += chunk.byteLength;
      yield chunk;
    }
    if (size >= 0xffffffff || offset + size >= 0xffffffff) throw new Error('export too large for a zip archive; use tar');
    offset += size;
    const descriptor = Buffer.alloc(16);
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(crc >>> 0, 4);
    descriptor.writeUInt32LE(size, 8);
    descriptor.writeUInt32LE(size, 12);
    yield descriptor;
    offset += 16;
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(0x031e, 4); // made by: Unix, spec 3.0
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(FLAGS, 8);
    c.writeUInt16LE(0, 10);
    c.writeUInt16LE(time, 12);
    c.writeUInt16LE(date, 14);
    c.writeUInt32LE(crc >>> 0, 16);
    c.writeUInt32LE(size, 20);
    c.writeUInt32LE(size, 24);
    c.writeUInt16LE(name.byteLength, 28);
    c.writeUInt32LE((0o100600 << 16) >>> 0, 38);
    c.writeUInt32LE(headerOffset, 42);
    central.push(c, name);
    count++;
    if (count >= 0xffff) throw new Error('too many files for a zip archive; use tar');
  }
  const dir = Buffer.concat(central);
  yield dir;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(dir.byteLength, 12);
  end.writeUInt32LE(offset, 16);
  yield end;
}
