/**
 * Where snippet text comes from. The index never keeps document text itself: the caller decides how it is
 * stored (sealed in production). `put`/`delete` are called by SearchIndex when present.
 */
export interface TextStore {
  /**
   * A document's pages. With `pages` (0-based page indexes), only those need their text: the others may
   * be empty strings (a hit's snippets need the pages its highlights are on, not every page of a long PDF).
   */
  get(
    tenantId: string,
    docId: string,
    pages?: ReadonlySet<number>,
  ): Promise<readonly string[] | undefined> | readonly string[] | undefined;
  put?(tenantId: string, docId: string, pages: readonly string[]): Promise<void> | void;
  delete?(tenantId: string, docId: string): Promise<void> | void;
  dropTenant?(tenantId: string): Promise<void> | void;
}

/** In-memory TextStore for tests and tools. */
export class InMemoryTextStore implements TextStore {
  readonly #pages = new Map<string, readonly string[]>();
  get(tenantId: string, docId: string): readonly string[] | undefined {
    return this.#pages.get(`${tenantId}\0${docId}`);
  }
  put(tenantId: string, docId: string, pages: readonly string[]): void {
    this.#pages.set(`${tenantId}\0${docId}`, [...pages]);
  }
  delete(tenantId: string, docId: string): void {
    this.#pages.delete(`${tenantId}\0${docId}`);
  }
  dropTenant(tenantId: string): void {
    for (const k of this.#pages.keys()) if (k.startsWith(`${tenantId}\0`)) this.#pages.delete(k);
  }
}
