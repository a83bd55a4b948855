/** How the document commands name statuses and kinds, and print documents (human and --json). */
import { ArtifactKind, DocumentSource, DocumentStatus } from '../../gen/archivar/v1/common.js';
import { type Document, DocumentMetadata, type RecognizedValue } from '../../gen/archivar/v1/documents.js';
import { CliError, EXIT_USAGE, oneLine } from '../output.js';

/** `DOCUMENT_STATUS_INDEXED` → `indexed`. */
export function statusName(s: DocumentStatus): string {
  return (DocumentStatus[s] ?? String(s)).replace(/^DOCUMENT_STATUS_/, '').toLowerCase();
}

export function sourceName(s: DocumentSource): string {
  return (DocumentSource[s] ?? String(s)).replace(/^DOCUMENT_SOURCE_/, '').toLowerCase();
}

export function kindName(k: ArtifactKind): string {
  return (ArtifactKind[k] ?? String(k)).replace(/^ARTIFACT_KIND_/, '').toLowerCase();
}

export const STATUS_NAMES = ['queued', 'processing', 'stored', 'indexed', 'failed', 'unsupported', 'encrypted'] as const;
export const KIND_NAMES = ['original', 'text', 'words', 'thumbnail', 'page', 'pdf'] as const;

/** Accepts `indexed`, `INDEXED` or `DOCUMENT_STATUS_INDEXED`; usage error otherwise. */
export function parseStatus(name: string): DocumentStatus {
  const key = `DOCUMENT_STATUS_${name
    .trim()
    .toUpperCase()
    .replace(/^DOCUMENT_STATUS_/, '')}`;
  const value = (DocumentStatus as unknown as Record<string, DocumentStatus | undefined>)[key];
  if (value === undefined || value === DocumentStatus.DOCUMENT_STATUS_UNSPECIFIED) {
    throw new CliError(`unknown status "${name}" (one of ${STATUS_NAMES.join(', ')})`, EXIT_USAGE);
  }
  return value;
}

export function parseKind(name: string): ArtifactKind {
  const key = `ARTIFACT_KIND_${name.trim().toUpperCase()}`;
  const value = (ArtifactKind as unknown as Record<string, ArtifactKind | undefined>)[key];
  if (value === undefined || value === ArtifactKind.ARTIFACT_KIND_UNSPECIFIED) {
    throw new CliError(`unknown kind "${name}" (one of ${KIND_NAMES.join(', ')})`, EXIT_USAGE);
  }
  return value;
}

/** A positive integer option value, or a usage error naming the flag. */
export function parsePositiveInt(value: string, flag: string, allowZero = false): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < (allowZero ? 0 : 1)) {
    throw new CliError(`${flag} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got "${value}"`, EXIT_USAGE);
  }
  return n;
}

/** 1536 → `1.5 KiB`. */
export function formatBytes(n: number | bigint): string {
  let v = Number(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

function isoTime(ms: bigint | number): string {
  const n = Number(ms);
  return n > 0 ? new Date(n).toISOString() : '';
}

/** The --json shape of a document: proto field names in camelCase, short enum names, numbers. */
export function documentJson(doc: Document): Record<string, unknown> {
  return {
    id: doc.id,
    ...(doc.parentId ? { parentId: doc.parentId } : {}),
    fileName: doc.fileName,
    mediaType: doc.mediaType,
    contentId: doc.contentId,
    size: doc.size,
    storedSize: doc.storedSize,
    status: statusName(doc.status),
    ...(doc.statusReason ? { statusReason: doc.statusReason } : {}),
    source: sourceName(doc.source),
    tags: doc.tags,
    createdMs: doc.createdMs,
    updatedMs: doc.updatedMs,
    ...(doc.metadata ? { metadata: metadataJson(doc.metadata) } : {}),
    children: doc.children.map((c) => ({ id: c.id, fileName: c.fileName, mediaType: c.mediaType, status: statusName(c.status) })),
    artifacts: doc.artifacts.map(kindName),
  };
}

/** The metadata as proto JSON, but with its 64-bit fields (times in ms) as numbers like the rest of --json. */
function metadataJson(m: DocumentMetadata): unknown {
  const json = DocumentMetadata.toJSON(m) as Record<string, unknown>;
  for (const [k, v] of Object.entries(m)) if (typeof v === 'bigint' && k in json) json[k] = Number(v);
  return json;
}

const MAX_RECOGNIZED_LINES = 20;

/** `amount 1234.56 EUR ("1.234,56 €", p. 2)`: the kind with underscores as spaces, normalised, as written, page. */
function recognizedLine(v: RecognizedValue): string {
  const where = [v.text !== v.normalized ? `"${v.text}"` : '', v.page > 0 ? `p. ${v.page}` : ''].filter(Boolean).join(', ');
  return `${v.kind.replaceAll('_', ' ')} ${v.normalized}${where ? ` (${where})` : ''}`;
}

/** `archivar get` without --json: one `label: value` line per known field. */
export function documentLines(doc: Document): string[] {
  const lines: [string, string][] = [
    ['id', doc.id],
    ['file', doc.fileName],
    ['type', doc.mediaType],
    ['size', `${formatBytes(doc.size)} (${formatBytes(doc.storedSize)} stored)`],
    ['status', doc.statusReason ? `${statusName(doc.status)} — ${doc.statusReason}` : statusName(doc.status)],
    ['content id', doc.contentId],
    ['source', sourceName(doc.source)],
    ['created', isoTime(doc.createdMs)],
    ['updated', isoTime(doc.updatedMs)],
  ];
  if (doc.parentId) lines.push(['parent', doc.parentId]);
  if (doc.tags.length > 0) lines.push(['tags', doc.tags.join(', ')]);
  // What `download --kind` can fetch: the original and its text are no previews.
  if (doc.artifacts.length > 0) lines.push(['downloads', doc.artifacts.map(kindName).join(', ')]);
  const m = doc.metadata;
  if (m) {
    if (m.title) lines.push(['title', m.title]);
    if (m.subject && m.subject !== m.title) lines.push(['subject', m.subject]);
    if (m.author) lines.push(['author', m.author]);
    if (m.keywords.length > 0) lines.push(['keywords', m.keywords.join(', ')]);
    // The file's own dates, which search sorts and filters by before any date in the text.
    if (m.createdMs > 0n && m.sentMs === 0n) lines.push(['file date', isoTime(m.createdMs)]);
    if (m.cameraDateMs > 0n) lines.push(['taken', isoTime(m.cameraDateMs)]);
    if (m.pageCount > 0) lines.push(['pages', String(m.pageCount)]);
    if (doc.mediaType.startsWith('image/') && m.width > 0) lines.push(['image', `${m.width} × ${m.height} px`]);
    if (m.language) lines.push(['language', m.language]);
    if (m.from) lines.push(['from', m.from]);
    if (m.to.length > 0) lines.push(['to', m.to.join(', ')]);
    // A mail's own date and copies: `created` is when it was imported, not when it was sent.
    if (m.cc.length > 0) lines.push(['cc', m.cc.join(', ')]);
    if (m.sentMs > 0n) lines.push(['sent', isoTime(m.sentMs)]);
    // What search's value fields (date:, amount:, iban: …) match, as found in the text.
    for (const v of m.recognized.slice(0, MAX_RECOGNIZED_LINES)) lines.push(['found', recognizedLine(v)]);
    if (m.recognized.length > MAX_RECOGNIZED_LINES)
      lines.push(['found', `… ${m.recognized.length - MAX_RECOGNIZED_LINES} more (--json lists them all)`]);
  }
  const width = Math.max(...lines.map(([k]) => k.length));
  // Values come from the document (a title, a sender): one line each, no control characters for the terminal.
  const out = lines.filter(([, v]) => v !== '').map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${oneLine(v)}`);
  for (const c of doc.children) out.push(`  child ${c.id}  ${statusName(c.status).padEnd(11)} ${oneLine(c.fileName)}`);
  return out;
}
