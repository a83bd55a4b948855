import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { type ExtractProgress, extractDocument } from '../../src/pipeline/index.js';
import { pngHeaderOnly } from '../fixtures/images.js';
import { billionPagesPdf, encryptedPdf, germanPdf, JS_MARKER, javascriptPdf, scannedPdf } from '../fixtures/pdfs.js';
import { pipelineError } from '../fixtures/pipeline-error.js';
import { renderTextPng } from '../fixtures/text-image.js';
import { makeZip } from '../fixtures/zip-writer.js';

// Everything here runs without an OCR engine; OCR paths are covered in ocr.test.ts.

describe('extractDocument', () => {
  it('extracts a born-digital PDF with metadata and language, no OCR needed', async () => {
    const progress: ExtractProgress[] = [];
    const doc = await extractDocument(await germanPdf(), {
      declaredType: 'application/octet-stream',
      onProgress: (p) => progress.push(p),
    });
    expect(doc).toMatchObject({ mediaType: 'application/pdf', status: 'ok', language: 'deu' });
    expect(doc.pages.map((p) => p.ocr)).toEqual([false, false]);
    expect(doc.pages[0]?.text).toContain('Der Betrag von 1.234,56 € wird überwiesen.');
    expect(doc.pages[1]?.text).toBe('Mit freundlichen Grüßen\nJörg Äßler, Öffentliche Straße 5, Köln');
    expect(doc.metadata).toMatchObject({ title: 'Prüfbericht Müller', author: 'Jörg Äßler', pageCount: 2, hasJavaScript: false });
    expect(progress.map((p) => `${p.step}:${p.page}/${p.pageCount}`)).toEqual(['EXTRACTING:1/2', 'EXTRACTING:2/2']);
  });

  it('without an OCR engine, marks scanned pages as needing OCR', async () => {
    const doc = await extractDocument(await scannedPdf([renderTextPng(['Scan'])]));
    expect(doc.pages).toEqual([expect.objectContaining({ text: '', ocr: false, needsOcr: true })]);
    const img = await extractDocument(renderTextPng(['Foto']));
    expect(img).toMatchObject({ mediaType: 'image/png', pages: [{ text: '', needsOcr: true }] });
  });

  it('decodes Windows-1252 and UTF-16 text files', async () => {
    const cp1252 = Buffer.from([
      ...Buffer.from('Gr', 'latin1'),
      0xfc,
      0xdf,
      0x65,
      0x20,
      0x84,
      0x4b,
      0xf6,
      0x6c,
      0x6e,
      0x93,
      0x20,
      0x80,
    ]);
    const a = await extractDocument(cp1252, { declaredType: 'text/plain' });
    expect(a).toMatchObject({ mediaType: 'text/plain', status: 'ok', metadata: { charset: 'windows-1252' } });
    expect(a.pages[0]?.text).toBe('Grüße „Köln“ €');
    const utf16 = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from('Die Rechnung ist nicht bezahlt.\r\nZweite Zeile', 'utf16le'),
    ]);
    const b = await extractDocument(utf16);
    expect(b).toMatchObject({ metadata: { charset: 'utf-16le' }, language: 'deu' });
    expect(b.pages[0]?.text).toBe('Die Rechnung ist nicht bezahlt.\nZweite Zeile');
  });

  it('extracts HTML text and title, honouring a declared legacy charset', async () => {
    const html = Buffer.concat([
      Buffer.from(
        '<html><head><meta charset="windows-1252"><title>Preisliste</title><script>alert(1)</script></head><body><p>Preis: 5 ',
      ),
      Buffer.from([0x80]),
      Buffer.from('</p><p>Gr'),
      Buffer.from([0xfc]),
      Buffer.from('n &amp; blau</p></body></html>'),
    ]);
    const doc = await extractDocument(html);
    expect(doc).toMatchObject({ mediaType: 'text/html', metadata: { title: 'Preisliste', charset: 'windows-1252' } });
    expect(doc.pages[0]?.text).toBe('Preis: 5 €\nGrün & blau');
  });

  it('extracts an e-mail: body, headers, attachments as children', async () => {
    const mail = [
      'From: Anna Beispiel <anna@example.org>',
      'To: bob@example.org',
      'Subject: =?UTF-8?Q?Rechnung_f=C3=BCr_M=C3=A4rz?=',
      'Date: Tue, 05 Mar 2024 10:00:00 +0100',
      'Message-ID: <abc@example.org>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      'Hallo Bob, die Rechnung ist im Anhang und sie ist nicht bezahlt.',
      '--b1',
      'Content-Type: text/plain; name="rechnung.txt"',
      'Content-Disposition: attachment; filename="rechnung.txt"',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('Rechnung Nr. 42').toString('base64'),
      '--b1--',
      '',
    ].join('\r\n');
    const doc = await extractDocument(Buffer.from(mail));
    expect(doc).toMatchObject({ mediaType: 'message/rfc822', status: 'ok', language: 'deu' });
    expect(doc.pages[0]?.text).toBe('Hallo Bob, die Rechnung ist im Anhang und sie ist nicht bezahlt.');
    expect(doc.metadata).toMatchObject({
      title: 'Rechnung für März',
      author: 'Anna Beispiel <anna@example.org>',
      email: { to: ['bob@example.org'], messageId: '<abc@example.org>' },
    });
    expect(doc.metadata.created?.toISOString()).toBe('2024-03-05T09:00:00.000Z');
    expect(doc.children?.map((c) => [c.fileName, c.bytes.toString(), c.declaredType])).toEqual([
      ['rechnung.txt', 'Rechnung Nr. 42', 'text/plain'],
    ]);
  });

  it('returns ZIP members as children', async () => {
    const zip = makeZip([{ name: 'a/b.txt', data: Buffer.from('inner text') }]);
    const doc = await extractDocument(zip);
    expect(doc).toMatchObject({ mediaType: 'application/zip', status: 'ok', pages: [] });
    expect(doc.children?.map((c) => [c.fileName, c.bytes.toString()])).toEqual([['a/b.txt', 'inner text']]);
  });

  it('reports Office and EPUB containers as unsupported with their real type, not as ZIP children', async () => {
    const docx = makeZip([
      { name: '[Content_Types].xml', data: Buffer.from('<Types/>') },
      { name: 'word/document.xml', data: Buffer.from('<w:document/>') },
    ]);
    expect(await extractDocument(docx)).toMatchObject({
      mediaType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      status: 'unsupported',
    });
    const epub = makeZip([{ name: 'mimetype', data: Buffer.from('application/epub+zip'), method: 0 }]);
    expect(await extractDocument(epub)).toMatchObject({ mediaType: 'application/epub+zip', status: 'unsupported' });
  });

  it('gives clear typed results for hostile and odd input', async () => {
    // Zero bytes.
    expect((await pipelineError(extractDocument(Buffer.alloc(0)))).kind).toBe('empty');
    // Password-protected PDF.
    expect(await extractDocument(encryptedPdf())).toMatchObject({ status: 'encrypted', pages: [], mediaType: 'application/pdf' });
    // JavaScript in a PDF: extracted, flagged, never run.
    const js = await extractDocument(await javascriptPdf());
    expect(js.metadata.hasJavaScript).toBe(true);
    expect(js.pages[0]?.text).toContain('must never run');
    expect((globalThis as Record<string, unknown>)[JS_MARKER]).toBeUndefined();
    // A billion pages claimed: pdf.js counts the real ones, quickly.
    const t0 = performance.now();
    const billion = await extractDocument(billionPagesPdf());
    expect(billion.metadata.pageCount).toBe(1);
    expect(performance.now() - t0).toBeLessThan(2000);
    // Pixel bomb header.
    const px = await pipelineError(extractDocument(pngHeaderOnly(100_000, 100_000)));
    expect(px.kind).toBe('limit');
    // Corrupt JPEG.
    const jpeg = await sharp(renderTextPng(['x']))
      .jpeg()
      .toBuffer();
    expect((await pipelineError(extractDocument(jpeg.subarray(0, 200)))).kind).toBe('corrupt');
    // Zip bomb.
    const bomb = makeZip([{ name: 'zeros', data: Buffer.alloc(20 * 1024 * 1024) }]);
    expect((await pipelineError(extractDocument(bomb))).kind).toBe('limit');
    // Unknown binary.
    const bin = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7919) % 256));
    expect(await extractDocument(bin, { declaredType: 'application/pdf' })).toMatchObject({
      status: 'unsupported',
      mediaType: 'application/octet-stream',
      pages: [],
      language: 'unknown',
    });
    // Input size limit.
    expect((await pipelineError(extractDocument(Buffer.from('hello'), { limits: { maxInputBytes: 3 } }))).kind).toBe('limit');
  });

  it('honours cancellation and the document time budget', async () => {
    const ac = new AbortController();
    ac.abort();
    expect((await pipelineError(extractDocument(await germanPdf(), { signal: ac.signal }))).kind).toBe('aborted');
    // Abort after the first page: the check between pages stops the loop.
    const ac2 = new AbortController();
    const err = await pipelineError(
      extractDocument(await germanPdf(), { signal: ac2.signal, onProgress: (p) => p.page === 1 && ac2.abort() }),
    );
    expect(err.kind).toBe('aborted');
    // A document budget that is already spent when pages are processed.
    const slow = await pipelineError(extractDocument(await germanPdf(), { limits: { documentTimeMs: 1 } }));
    expect(slow.kind).toBe('timeout');
  });
});
