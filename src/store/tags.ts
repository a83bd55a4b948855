/**
 * The form under which two spellings of a tag are one tag: Unicode-normalised (NFKC) and case-folded in
 * full, so "Steuer", "STEUER" and "steuer" are one, and so are "Größe" and "GRÖSSE" (ß upper-cases to SS;
 * `toLowerCase` alone would keep "größe" and "grösse" apart). A document keeps a tag's first spelling.
 */
export function tagKey(tag: string): string {
  return tag.normalize('NFKC').toLowerCase().replaceAll('ß', 'ss');
}
