/**
 * Bounds on a document's metadata as stored and as served. Every text in it comes from the file (a PDF's
 * title, author or keywords, a mail's recipients, a photo's camera model), unbounded, and compresses well: a
 * 46 KB PDF carries megabytes of keywords. A few such documents made a List or Search page exceed the gRPC
 * message limit (RESOURCE_EXHAUSTED). The worker cuts them before they are stored, and Get, List and Search
 * cut them again for records stored before. No imports: the worker threads and the services both use it.
 */

/** UTF-16 units kept of one metadata text. */
export const MAX_METADATA_CHARS = 1000;
/** Entries kept of one metadata list (keywords, recipients, skipped members). */
export const MAX_METADATA_ENTRIES = 100;

/** `text` cut to MAX_METADATA_CHARS with an ellipsis, never inside a surrogate pair. */
export function clipText(text: string): string {
  if (text.length <= MAX_METADATA_CHARS) return text;
  let end = MAX_METADATA_CHARS - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/** The first MAX_METADATA_ENTRIES entries of `list`, each cut by clipText. */
export function clipList(list: readonly string[]): string[] {
  return list.slice(0, MAX_METADATA_ENTRIES).map(clipText);
}
