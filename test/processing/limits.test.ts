import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocumentStatus } from '../../src/gen/archivar/v1/common.js';
import { multiPageTiff } from '../fixtures/images.js';
import { renderTextPng } from '../fixtures/text-image.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { getDoc, uploader, watchAll } from './helpers.js';

describe('processing limits: worker heap and wall time', () => {
  let t: TestServer;
  let upload: Awaited<ReturnType<typeof uploader>>;

  beforeAll(async () => {
    t = await startTestServer({
      // Enough to load the pipeline and handle ordinary documents, far too little for the big one below.
      'worker-max-heap-mb': '96',
      // Long enough that the out-of-memory crash below (about 5 s an attempt on an idle machine) comes first
      // even on a loaded one.
      'document-time-ms': '25000',
      'job-max-attempts': '2',
      'job-backoff-ms': '10',
      'max-document-bytes': String(512 * 2 ** 20),
    });
    upload = await uploader(t);
  });
  afterAll(async () => {
    await t.stop();
  });

  it('a worker that runs out of memory is replaced; the job is retried, then FAILED with the reason', async () => {
    // 10 MiB of legal HTML: parsing it element by element outgrows a 96 MB heap.
    const html = Buffer.from(`<html><body>${'<p>Wort</p>'.repeat((10 * 2 ** 20) / 11)}</body></html>`);
    const id = await upload(html, 'riesig.html');
    const events = await watchAll(t.client, id);
    const doc = await getDoc(t.client, id);
    expect(doc.status).toBe(DocumentStatus.DOCUMENT_STATUS_FAILED);
    expect(doc.statusReason).toBe('the processing worker crashed or ran out of memory');
    expect(events.filter((e) => e.step === 'RETRY')).toHaveLength(1);
    expect(events.filter((e) => e.step === 'OPENING')).toHaveLength(2);

    // The pool replaced the worker; the server keeps serving and processing.
    const small = await upload('Eine kleine Notiz nach dem Absturz.', 'notiz.txt');
    await t.server.runner.whenIdle();
    expect((await getDoc(t.client, small)).status).toBe(DocumentStatus.DOCUMENT_STATUS_INDEXED);
  });

  it('a text document too big for the worker heap fails with a limit instead of crashing the process', async () => {
    // One string of it would be allocated in a step V8 cannot interrupt (a fatal, process-wide OOM).
    const line = 'Dies ist eine ganz gewöhnliche Zeile eines sehr langen Protokolls.\n';
    const big = Buffer.from(line.repeat(Math.ceil((64 * 2 ** 20) / Buffer.byteLength(line))));
    const id = await upload(big, 'protokoll.txt');
    await t.server.runner.whenIdle();
    const doc = await getDoc(t.client, id);
    expect(doc.status).toBe(DocumentStatus.DOCUMENT_STATUS_FAILED);
    expect(doc.statusReason).toMatch(/^a text document of 64 MB exceeds the limit of 12 MB/);
  });

  it('a document over its wall-time budget is FAILED without retries', async () => {
    const png = renderTextPng(['Eine Seite, die zu lange dauert', 'weil es viele davon gibt'], { fontSize: 40 });
    // Far more OCR than fits in the 25 s budget even on a fast, idle machine (about 0.3 s a page there).
    const id = await upload(await multiPageTiff(Array.from({ length: 250 }, () => png)), 'lang.tiff');
    const events = await watchAll(t.client, id);
    const doc = await getDoc(t.client, id);
    expect([doc.status, doc.statusReason]).toEqual([DocumentStatus.DOCUMENT_STATUS_FAILED, 'time budget exceeded']);
    expect(events.some((e) => e.step === 'RETRY')).toBe(false);
  });
});
