import { type Connection, connect, unary } from '../../src/sdk/index.js';
import { uploadPlaintext } from './raw-upload.js';
import { startTestServer, TEST_PRINCIPAL, TEST_TOKEN, type TestServer, testVerifier } from './test-server.js';

export const OTHER_TOKEN = 'other-tenant-token-search-fixture';

export interface SearchFixture {
  t: TestServer;
  /** A connection of a second tenant that owns nothing of the corpus. */
  other: Connection;
  /** Document id by file name. */
  ids: Record<string, string>;
  stop(): Promise<void>;
}

/** A server with two tenants; the first uploads `corpus` (file name → text) and it is fully indexed. */
export async function startSearchFixture(corpus: Record<string, string>): Promise<SearchFixture> {
  const t = await startTestServer(
    {},
    testVerifier({
      [TEST_TOKEN]: TEST_PRINCIPAL,
      [OTHER_TOKEN]: { userId: 'u-other', tenantId: 't-other', role: 'owner', sessionId: 's-other' },
    }),
  );
  const other = connect({ server: t.address, insecure: true, token: OTHER_TOKEN });
  const key = (await unary(t.client.documents.getServerKey.bind(t.client.documents), {})).publicKey;
  const ids: Record<string, string> = {};
  for (const [name, text] of Object.entries(corpus))
    ids[name] = (await uploadPlaintext(t.client, key, text, { fileName: name })).documentId;
  await t.server.runner.whenIdle();
  return {
    t,
    other,
    ids,
    async stop() {
      other.close();
      await t.stop();
    },
  };
}

/** Search with the request's defaults spelled out once. */
export function search(
  c: Connection,
  query: string,
  more: { sort?: number; facets?: string[]; limit?: number; cursor?: string; snippets?: number; noSnippets?: boolean } = {},
) {
  return unary(c.search.search.bind(c.search), {
    query,
    limit: more.limit ?? 10,
    cursor: more.cursor ?? '',
    sort: more.sort ?? 0,
    facets: more.facets ?? [],
    snippets: more.snippets ?? 0,
    noSnippets: more.noSnippets ?? false,
  });
}
