/**
 * Minimal EXIF reader for the few tags we index: DateTimeOriginal (fallback DateTime), Make, Model,
 * Orientation. Input is the raw EXIF block sharp exposes (`Exif\0\0` + a TIFF structure).
 * Bounds-checked everywhere: EXIF comes from untrusted files.
 */
export interface ExifInfo {
  dateTimeOriginal?: Date;
  /** The raw "YYYY:MM:DD HH:MM:SS" string; EXIF dates carry no time zone. */
  dateTimeOriginalRaw?: string;
  make?: string;
  model?: string;
  orientation?: number;
}

const TAG_MAKE = 0x010f;
const TAG_MODEL = 0x0110;
const TAG_ORIENTATION = 0x0112;
const TAG_DATETIME = 0x0132;
const TAG_EXIF_IFD = 0x8769;
const TAG_DATETIME_ORIGINAL = 0x9003;

export function parseExif(exif: Uint8Array | undefined): ExifInfo {
  if (!exif || exif.length < 14) return {};
  const buf = Buffer.from(exif.buffer, exif.byteOffset, exif.byteLength);
  const base = buf.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? 6 : 0;
  const tiff = buf.subarray(base);
  if (tiff.length < 8) return {};
  const order = tiff.subarray(0, 2).toString('latin1');
  if (order !== 'II' && order !== 'MM') return {};
  const le = order === 'II';
  const u16 = (o: number) => (o + 2 <= tiff.length ? (le ? tiff.readUInt16LE(o) : tiff.readUInt16BE(o)) : 0);
  const u32 = (o: number) => (o + 4 <= tiff.length ? (le ? tiff.readUInt32LE(o) : tiff.readUInt32BE(o)) : 0);

  const readIfd = (off: number): Map<number, { type: number; count: number; valueOffset: number }> => {
    const tags = new Map<number, { type: number; count: number; valueOffset: number }>();
    if (off <= 0 || off + 2 > tiff.length) return tags;
    const n = Math.min(u16(off), 512);
    for (let i = 0; i < n; i++) {
      const e = off + 2 + i * 12;
      if (e + 12 > tiff.length) break;
      tags.set(u16(e), { type: u16(e + 2), count: u32(e + 4), valueOffset: e + 8 });
    }
    return tags;
  };
  const ascii = (t: { type: number; count: number; valueOffset: number } | undefined): string | undefined => {
    if (t?.type !== 2 || t.count === 0 || t.count > 256) return undefined;
    const start = t.count <= 4 ? t.valueOffset : u32(t.valueOffset);
    if (start + t.count > tiff.length) return undefined;
    const s = tiff
      .subarray(start, start + t.count)
      .toString('latin1')
      .split('\0')[0]
      ?.trim();
    return s || undefined;
  };

  const ifd0 = readIfd(u32(4));
  const info: ExifInfo = {};
  const make = ascii(ifd0.get(TAG_MAKE));
  const model = ascii(ifd0.get(TAG_MODEL));
  if (make) info.make = make;
  if (model) info.model = model;
  const orient = ifd0.get(TAG_ORIENTATION);
  if (orient && orient.type === 3) {
    const v = u16(orient.valueOffset);
    if (v >= 1 && v <= 8) info.orientation = v;
  }
  const exifPtr = ifd0.get(TAG_EXIF_IFD);
  const exifIfd = exifPtr ? readIfd(u32(exifPtr.valueOffset)) : new Map();
  const raw = ascii(exifIfd.get(TAG_DATETIME_ORIGINAL)) ?? ascii(ifd0.get(TAG_DATETIME));
  if (raw) {
    info.dateTimeOriginalRaw = raw;
    const d = parseExifDate(raw);
    if (d) info.dateTimeOriginal = d;
  }
  return info;
}

/** "YYYY:MM:DD HH:MM:SS" → Date, read as UTC because EXIF has no zone. */
export function parseExifDate(s: string): Date | undefined {
  const m = /^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (y < 1900 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return undefined;
  return new Date(Date.UTC(y, mo - 1, d, h, mi, se));
}
