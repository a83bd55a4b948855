import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactKind, DocumentStatus } from '../../src/gen/archivar/v1/common.js';
import type { DownloadResponse } from '../../src/gen/archivar/v1/documents.js';
import type { Connection } from '../../src/sdk/index.js';
import { scannedPdf } from '../fixtures/pdfs.js';
import { renderTextPng } from '../fixtures/text-image.js';
import { search } from '../helpers/search-fixture.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { getDoc, statusOf, uploader, WORDS, type WordsJson } from './helpers.js';

/**
 * A scan fed in sideways and a photo of a page lying upside down, neither with an EXIF orientation, as the
 * user meets them: found by their words through the real server (worker pool, real OCR, real index), and
 * the page preview shows them upright. `--preview-pages 0` makes the page preview on its first request
 * (render-page), which must turn the page as processing did.
 */
describe('sideways scans through the real server', () => {
  let t: TestServer;
  let upload: Awaited<ReturnType<typeof uploader>>;
  const hits = async (q: string) => (await search(t.client, q)).hits.map((h) => h.documentId);

  beforeAll(async () => {
    t = await startTestServer({ 'job-backoff-ms': '10', 'preview-pages': '0' });
    upload = await uploader(t);
  });
  afterAll(async () => {
    await t.stop();
  });

  it('a sideways scanned PDF and an upside-down image are found by their words and previewed upright', async () => {
    const scanPage = renderTextPng(['Mietvertrag für die Wohnung', 'in der Goethestraße zwölf'], { fontSize: 30 });
    const photoPage = renderTextPng(['Quittung über den Kaufpreis', 'des Fahrrads vom Flohmarkt'], { fontSize: 30 });
    const scanId = await upload(await scannedPdf([await sharp(scanPage).rotate(90).png().toBuffer()]), 'scan.pdf');
    const photoId = await upload(await sharp(photoPage).rotate(180).png().toBuffer(), 'quittung.png');
    await t.server.runner.whenIdle();

    for (const id of [scanId, photoId]) {
      expect(statusOf(await getDoc(t.client, id))).toEqual([DocumentStatus.DOCUMENT_STATUS_INDEXED, '']);
    }
    expect(await hits('Goethestraße')).toEqual([scanId]);
    expect(await hits('Mietvertrag')).toEqual([scanId]);
    expect(await hits('Fahrrads')).toEqual([photoId]);
    expect(await hits('Flohmarkt')).toEqual([photoId]);

    const words = JSON.parse((await download(t.client, scanId, WORDS)).toString('utf8')) as WordsJson & {
      pages: { turned?: number }[];
    };
    expect(words.pages[0]?.turned).toBe(270);
    expect(words.pages[0]?.width).toBeGreaterThan(words.pages[0]?.height ?? Infinity);

    // Page previews (made now, on request) and thumbnails are upright: landscape like the text's lines.
    for (const id of [scanId, photoId]) {
      for (const kind of [ArtifactKind.ARTIFACT_KIND_PAGE, ArtifactKind.ARTIFACT_KIND_THUMBNAIL]) {
        const meta = await sharp(await download(t.client, id, kind, 1)).metadata();
        expect(meta.width).toBeGreaterThan(meta.height ?? Infinity);
      }
    }
  });
});

async function download(client: Connection, documentId: string, kind: ArtifactKind, page = 0): Promise<Buffer> {
  const call = client.documents.download({ documentId, kind, plaintext: true, page, recipientPublicKey: Buffer.alloc(0) });
  const chunks: Buffer[] = [];
  for await (const m of call as AsyncIterable<DownloadResponse>) if (m.part?.$case === 'chunk') chunks.push(m.part.value);
  return Buffer.concat(chunks);
}
