import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocumentStatus } from '../../src/gen/archivar/v1/common.js';
import { startTestServer, TEST_PRINCIPAL, type TestServer } from '../helpers/test-server.js';
import { getDoc, uploader } from './helpers.js';

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
    t = await startTestServer({ 'pool-threads': '1' });
    upload = await uploader(t);
  });
  afterAll(async () => {
    await t.stop();
  });

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
});
