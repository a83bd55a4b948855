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
});
