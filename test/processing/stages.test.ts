import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactKind, DocumentStatus } from '../../src/gen/archivar/v1/common.js';
import type { DownloadResponse } from '../../src/gen/archivar/v1/documents.js';
import type { Connection } from '../../src/sdk/index.js';
import { scannedPdf } from '../fixtures/pdfs.js';
import { renderTextPng } from '../fixtures/text-image.js';
import { startTestServer, TEST_PRINCIPAL, type TestServer } from '../helpers/test-server.js';
import { downloadKind, getDoc, uploader, WORDS, type WordsJson, walk } from './helpers.js';

const INVOICE = `Musterfirma GmbH
Rechnung
Rechnungsdatum: 3. März 2024
Rechnungsnummer: RE-2024-0815
Gesamtbetrag: 1.234,56 €
Bitte überweisen Sie den Betrag auf das Konto IBAN DE89 3704 0044 0532 0130 00.
Die alte Verbindung DE89 3704 0044 0532 0130 01 ist nicht mehr gültig.`;

describe('issue 7 stages wired into processing', () => {
  let t: TestServer;
  let upload: Awaited<ReturnType<typeof uploader>>;

  beforeAll(async () => {
    // One page preview at ingest: later pages are rendered on their first request.
    t = await startTestServer({ 'pool-threads': '1', 'preview-pages': '1' });
    upload = await uploader(t);
  });
  afterAll(async () => {
    await t.stop();
  });

  /** Processed and indexed, with a thumbnail, page previews and a PDF. */
  const expectIndexedWithPreviews = async (id: string) => {
    await t.server.runner.whenIdle();
    const doc = await getDoc(t.client, id);
    expect(doc.status).toBe(DocumentStatus.DOCUMENT_STATUS_INDEXED);
    expect(doc.artifacts).toEqual(
      expect.arrayContaining([
        ArtifactKind.ARTIFACT_KIND_THUMBNAIL,
        ArtifactKind.ARTIFACT_KIND_PAGE,
        ArtifactKind.ARTIFACT_KIND_PDF,
      ]),
    );
  };

  it('recognised values of a German invoice are stored and returned by Get (an invalid IBAN is not one)', async () => {
    const id = await upload(INVOICE, 'rechnung.txt', 'text/plain');
    await t.server.runner.whenIdle();
    const doc = await getDoc(t.client, id);
    expect(doc.status).toBe(DocumentStatus.DOCUMENT_STATUS_INDEXED);
    expect(doc.metadata?.recognized).toEqual([
      { kind: 'date', text: '3. März 2024', normalized: '2024-03-03', page: 1 },
      { kind: 'invoice_number', text: 'RE-2024-0815', normalized: 'RE-2024-0815', page: 1 },
      { kind: 'amount', text: '1.234,56 €', normalized: '1234.56 EUR', page: 1 },
      { kind: 'iban', text: 'DE89 3704 0044 0532 0130 00', normalized: 'DE89370400440532013000', page: 1 },
    ]);
    const record = t.server.documents.deps.documents.get(TEST_PRINCIPAL.tenantId, id);
    expect(record?.metadata.documentDate).toBe('2024-03-03');
  });

  it('an e-mail keeps its headers in the metadata; its attachment becomes a child', async () => {
    const mail = [
      'From: Anna Beispiel <anna@example.org>',
      'To: bob@example.com, carl@example.com',
      'Cc: dora@example.net',
      'Subject: Angebot Nr. 42',
      'Date: Tue, 05 Mar 2024 10:15:00 +0100',
      'Message-ID: <angebot-42@example.org>',
      'In-Reply-To: <anfrage-41@example.com>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Guten Tag, anbei das Angebot über 99,00 €.',
      '--b1',
      'Content-Type: text/plain; name="notiz.txt"',
      'Content-Disposition: attachment; filename="notiz.txt"',
      '',
      'Eine Notiz im Anhang.',
      '--b1--',
      '',
    ].join('\r\n');
    const id = await upload(mail, 'angebot.eml', 'message/rfc822');
    await t.server.runner.whenIdle();
    const doc = await getDoc(t.client, id);
    expect([doc.status, doc.statusReason]).toEqual([DocumentStatus.DOCUMENT_STATUS_INDEXED, '']);
    const m = doc.metadata;
    expect(m?.from).toContain('anna@example.org');
    expect(m?.to).toHaveLength(2);
    expect(m?.cc).toHaveLength(1);
    expect(m?.subject).toBe('Angebot Nr. 42');
    expect(m?.messageId).toContain('angebot-42@example.org');
    expect(m?.inReplyTo).toContain('anfrage-41@example.com');
    expect(m?.sentMs).toBe(BigInt(Date.parse('2024-03-05T09:15:00Z')));
    expect(doc.children.map((c) => c.fileName)).toEqual(['notiz.txt']);
  });

  it('a hostile mail with 10 000 attachments fails with a clear limit; the server keeps serving', async () => {
    const parts: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      parts.push(`--x\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename="a${i}.txt"\r\n\r\nTeil ${i}\r\n`);
    }
    const mail = `From: x@example.org\r\nSubject: viele\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="x"\r\n\r\n${parts.join('')}--x--\r\n`;
    const started = Date.now();
    const id = await upload(mail, 'bombe.eml', 'message/rfc822');
    await t.server.runner.whenIdle();
    const doc = await getDoc(t.client, id);
    expect(doc.status).toBe(DocumentStatus.DOCUMENT_STATUS_FAILED);
    expect(doc.statusReason).toBe('e-mail has more than 2064 MIME parts');
    expect(doc.children).toEqual([]);
    expect(Date.now() - started).toBeLessThan(15_000);

    const small = await upload('Noch eine Notiz danach.', 'danach.txt');
    await t.server.runner.whenIdle();
    expect((await getDoc(t.client, small)).status).toBe(DocumentStatus.DOCUMENT_STATUS_INDEXED);
  });

  it('an image gets a thumbnail, a page preview and a searchable PDF with the OCR words, none readable on disk', async () => {
    const png = renderTextPng(['Rechnung Nummer 4711 vom Juli', 'Bitte zahlen Sie den Betrag'], { fontSize: 40 });
    const id = await upload(png, 'scan.png', 'image/png');
    await expectIndexedWithPreviews(id);

    const thumb = await downloadKind(t.client, id, ArtifactKind.ARTIFACT_KIND_THUMBNAIL);
    expect(thumb.mediaType).toBe('image/webp');
    const thumbMeta = await sharp(thumb.bytes).metadata();
    expect([thumbMeta.format, thumbMeta.width]).toEqual(['webp', 256]);

    const page = await downloadPage(t.client, id, 1);
    const pageMeta = await sharp(page).metadata();
    expect(pageMeta.format).toBe('png');
    expect(pageMeta.width).toBeLessThanOrEqual(1024);
    expect(pageMeta.width).toBeGreaterThan(256);
    await expect(downloadPage(t.client, id, 2)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    await expect(downloadPage(t.client, id, 0)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });

    const pdf = await downloadKind(t.client, id, ArtifactKind.ARTIFACT_KIND_PDF);
    expect(pdf.mediaType).toBe('application/pdf');
    const words = (await pdfText(pdf.bytes)).join(' ');
    for (const w of ['Rechnung', 'Nummer', '4711', 'Betrag']) expect(words).toContain(w);

    // Sealed at rest: no PDF header, PNG signature or WebP header in any file of the data directory.
    for (const file of walk(t.dataDir)) {
      const bytes = fs.readFileSync(file);
      expect(bytes.includes('%PDF-'), file).toBe(false);
      expect(bytes.includes(Buffer.from('WEBPVP8')), file).toBe(false);
    }
  });

  it('a born-digital PDF: original as the PDF, thumbnail and page 1 at ingest, later pages rendered on request', async () => {
    // Headings of 72 pt: large glyphs are what used to crash pdf.js's canvas inside worker threads.
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.HelveticaBold);
    for (const [i, y] of [780, 420, 80].entries()) {
      doc.addPage([595, 842]).drawText(`Teil ${i + 1}`, { x: 60, y, size: 72, font });
    }
    const original = Buffer.from(await doc.save());
    const id = await upload(original, 'bericht.pdf', 'application/pdf');
    await expectIndexedWithPreviews(id);
    const pdf = await downloadKind(t.client, id, ArtifactKind.ARTIFACT_KIND_PDF);
    expect(pdf.bytes.equals(original)).toBe(true);
    const thumb = await sharp((await downloadKind(t.client, id, ArtifactKind.ARTIFACT_KIND_THUMBNAIL)).bytes).metadata();
    expect([thumb.format, thumb.width]).toEqual(['webp', 256]);

    // Page 1 was made at ingest, pages 2 and 3 are not stored until asked for.
    expect(t.server.documents.deps.blobs.size(TEST_PRINCIPAL.tenantId, id, 'page-2')).toBe(0);
    const bands = [];
    for (const n of [1, 2, 3]) {
      const png = await downloadPage(t.client, id, n);
      const meta = await sharp(png).metadata();
      expect([meta.format, meta.width]).toEqual(['png', 1024]);
      expect(Math.abs((meta.height ?? 0) - Math.round((1024 * 842) / 595))).toBeLessThanOrEqual(2);
      bands.push(await inkByThird(png));
    }
    // Each page's heading is where it was drawn: top, middle, bottom third.
    expect(bands).toEqual([
      [true, false, false],
      [false, true, false],
      [false, false, true],
    ]);
    expect(t.server.documents.deps.blobs.size(TEST_PRINCIPAL.tenantId, id, 'page-3')).toBeGreaterThan(0);
    // A second request serves the stored page: the same bytes.
    expect((await downloadPage(t.client, id, 3)).equals(await downloadPage(t.client, id, 3))).toBe(true);
    await expect(downloadPage(t.client, id, 4)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });

    // Page previews are sealed at rest like everything else.
    for (const file of walk(t.dataDir)) {
      expect(fs.readFileSync(file).includes(Buffer.from([0x89, 0x50, 0x4e, 0x47])), file).toBe(false);
    }
  });

  it("a scan with a blank back side keeps its searchable PDF: the blank page is an OCR'd page without words", async () => {
    const white = await sharp({ create: { width: 600, height: 200, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer();
    const pages = [renderTextPng(['Vorderseite eins Pelikan'], { fontSize: 40 }), white];
    const scan = await scannedPdf([...pages, renderTextPng(['Vorderseite zwei Flamingo'], { fontSize: 40 })]);
    const id = await upload(scan, 'duplex.pdf', 'application/pdf');
    await expectIndexedWithPreviews(id);
    const pdf = await downloadKind(t.client, id, ArtifactKind.ARTIFACT_KIND_PDF);
    expect(pdf.bytes.equals(scan)).toBe(false);
    const text = (await pdfText(pdf.bytes)).join(' ');
    for (const w of ['Pelikan', 'Flamingo']) expect(text).toContain(w);
    const words = JSON.parse((await downloadKind(t.client, id, WORDS)).bytes.toString('utf8')) as WordsJson;
    expect(words.pages.map((p) => [p.unit, p.words.length > 0])).toEqual([
      ['px', true],
      ['px', false],
      ['px', true],
    ]);
  });

  it('a panorama and a 3 × 2 px image keep their previews, with PDF pages viewers open (3 to 14 400 pt a side)', async () => {
    const text = renderTextPng(['Panorama Breitbild'], { fontSize: 60 });
    const panorama = await sharp({ create: { width: 61_000, height: 300, channels: 3, background: '#ffffff' } })
      .composite([{ input: text, top: 50, left: 100 }])
      .png()
      .toBuffer();
    const tiny = await sharp({ create: { width: 3, height: 2, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer();
    for (const [bytes, name] of [
      [panorama, 'panorama.png'],
      [tiny, 'tiny.png'],
    ] as const) {
      const id = await upload(bytes, name, 'image/png');
      await t.server.runner.whenIdle();
      expect((await getDoc(t.client, id)).artifacts, name).toEqual(
        expect.arrayContaining([ArtifactKind.ARTIFACT_KIND_THUMBNAIL, ArtifactKind.ARTIFACT_KIND_PAGE]),
      );
      const record = t.server.documents.deps.documents.get(TEST_PRINCIPAL.tenantId, id);
      expect(record?.metadata.previewError, name).toBeUndefined();
      const pdf = await PDFDocument.load((await downloadKind(t.client, id, ArtifactKind.ARTIFACT_KIND_PDF)).bytes);
      const { width, height } = pdf.getPage(0).getSize();
      for (const side of [width, height]) {
        expect(side, name).toBeGreaterThanOrEqual(3);
        expect(side, name).toBeLessThanOrEqual(14_400);
      }
    }
  });

  it('a scan that carries its density (A4 at 150 dpi) gets a searchable PDF page the size of the paper', async () => {
    const text = renderTextPng(['Scan mit 150 dpi Heuschrecke'], { fontSize: 30 });
    const a4 = await sharp({ create: { width: 1240, height: 1754, channels: 3, background: '#ffffff' } })
      .composite([{ input: text, top: 100, left: 100 }])
      .withMetadata({ density: 150 })
      .png()
      .toBuffer();
    const id = await upload(a4, 'a4.png', 'image/png');
    await expectIndexedWithPreviews(id);
    const pdf = await PDFDocument.load((await downloadKind(t.client, id, ArtifactKind.ARTIFACT_KIND_PDF)).bytes);
    const { width, height } = pdf.getPage(0).getSize();
    expect(Math.abs(width - 595)).toBeLessThan(1);
    expect(Math.abs(height - 842)).toBeLessThan(1);
  });

  it('a text has no page previews at any page: NOT_FOUND for page 1 and page 2 alike, not a page range', async () => {
    const id = await upload('Nur Text, keine Seitenbilder.', 'notiz.txt', 'text/plain');
    await t.server.runner.whenIdle();
    expect((await getDoc(t.client, id)).artifacts).not.toContain(ArtifactKind.ARTIFACT_KIND_PAGE);
    for (const n of [1, 2]) {
      await expect(downloadPage(t.client, id, n)).rejects.toMatchObject({
        code: grpc.status.NOT_FOUND,
        details: 'the document has no page',
      });
    }
  });
});

describe('page previews with --preview-pages 0', () => {
  let t: TestServer;
  let upload: Awaited<ReturnType<typeof uploader>>;

  beforeAll(async () => {
    t = await startTestServer({ 'pool-threads': '1', 'preview-pages': '0' });
    upload = await uploader(t);
  });
  afterAll(async () => {
    await t.stop();
  });

  it('none is made at ingest; Get lists page previews and every page is rendered on its first request', async () => {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    for (const i of [1, 2]) doc.addPage([595, 842]).drawText(`Seite ${i}`, { x: 60, y: 780, size: 24, font });
    const id = await upload(Buffer.from(await doc.save()), 'zwei.pdf', 'application/pdf');
    await t.server.runner.whenIdle();
    const got = await getDoc(t.client, id);
    expect(got.status).toBe(DocumentStatus.DOCUMENT_STATUS_INDEXED);
    expect(got.artifacts).toContain(ArtifactKind.ARTIFACT_KIND_PAGE);
    expect(t.server.documents.deps.blobs.size(TEST_PRINCIPAL.tenantId, id, 'page-1')).toBe(0);
    for (const n of [1, 2]) {
      const meta = await sharp(await downloadPage(t.client, id, n)).metadata();
      expect([meta.format, meta.width]).toEqual(['png', 1024]);
    }
    await expect(downloadPage(t.client, id, 3)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });
});

/** Whether each horizontal third of a page image has dark pixels (ink). */
async function inkByThird(png: Buffer): Promise<boolean[]> {
  const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
  const third = Math.floor(info.height / 3);
  return [0, 1, 2].map((b) => {
    for (let y = b * third; y < (b + 1) * third; y++) {
      for (let x = 0; x < info.width; x++) if ((data[y * info.width + x] ?? 255) < 100) return true;
    }
    return false;
  });
}

async function downloadPage(client: Connection, documentId: string, page: number): Promise<Buffer> {
  const call = client.documents.download({
    documentId,
    kind: ArtifactKind.ARTIFACT_KIND_PAGE,
    plaintext: true,
    page,
    recipientPublicKey: Buffer.alloc(0),
  });
  const chunks: Buffer[] = [];
  for await (const m of call as AsyncIterable<DownloadResponse>) if (m.part?.$case === 'chunk') chunks.push(m.part.value);
  return Buffer.concat(chunks);
}

/** Text items per page, read with pdf.js in this process (text only, no rendering). */
async function pdfText(pdf: Buffer): Promise<string[]> {
  const g = globalThis as { pdfjsWorker?: unknown };
  if (!g.pdfjsWorker) g.pdfjsWorker = await import('pdfjs-dist/legacy/build/pdf.worker.mjs');
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const doc = await pdfjs.getDocument({ data: new Uint8Array(pdf), isEvalSupported: false, verbosity: 0 }).promise;
  const out: string[] = [];
  for (let n = 1; n <= doc.numPages; n++) {
    const content = await (await doc.getPage(n)).getTextContent();
    for (const i of content.items) if ('str' in i && i.str.trim()) out.push(i.str.trim());
  }
  await doc.destroy();
  return out;
}
