import { describe, expect, it } from 'vitest';
import { isValidIban, parseAmountNumber, type RecognizedKind, recognizeValues } from '../../src/pipeline/index.js';
import { placedValues } from '../../src/pipeline/recognize.js';

const NOW = new Date('2024-06-01T00:00:00Z');
const of = (kind: RecognizedKind, pages: string[], opts: Parameters<typeof recognizeValues>[1] = {}) =>
  recognizeValues(pages, { now: NOW, ...opts }).values.filter((v) => v.kind === kind);
// One sample per call: the same value twice on one page is reported once.
const each = (kind: RecognizedKind, samples: string[], opts?: Parameters<typeof recognizeValues>[1]) =>
  samples.flatMap((t) => normalized(kind, t, opts));
const normalized = (kind: RecognizedKind, text: string, opts?: Parameters<typeof recognizeValues>[1]) =>
  of(kind, [text], opts).map((v) => v.normalized);

const GERMAN_INVOICE = `Müller & Söhne GmbH · Hauptstraße 5 · 50667 Köln
Rechnungsnummer: RE-2024-0815
Kundennummer: K 4711
Rechnungsdatum: 3. März 2024
Leistungsdatum: 28.02.2024

Sehr geehrte Frau Schmidt,
für die Lieferung vom 01.02.24 berechnen wir 1.234,56 € (netto 1.037,45 EUR).
Zahlbar bis 17.03.2024 auf IBAN DE89 3704 0044 0532 0130 00.
Fragen an buchhaltung@mueller-soehne.de.`;

const ENGLISH_INVOICE = `ACME Ltd., 1 High Street, London
Invoice No. INV-42/2024
Customer ID: C-00917
Date: March 3, 2024
Due date: April 2, 2024

Total due: $1,234.56 (or 1,100.00 USD, EUR 1.050,00).
Pay to GB82 WEST 1234 5698 7654 32, questions to Billing@ACME.co.uk`;

describe('recognizeValues: German', () => {
  it('dates in German formats, normalised to ISO', () => {
    expect(normalized('date', GERMAN_INVOICE)).toEqual(['2024-03-03', '2024-02-28', '2024-02-01', '2024-03-17']);
    expect(each('date', ['am 3. März 2024', 'am 03.03.24', 'am 3.3.2024', 'am 1. Jänner 2023', 'am 24. Dez. 2023'])).toEqual([
      '2024-03-03',
      '2024-03-03',
      '2024-03-03',
      '2023-01-01',
      '2023-12-24',
    ]);
  });

  it('amounts with currency, normalised to "1234.56 EUR"', () => {
    expect(normalized('amount', GERMAN_INVOICE)).toEqual(['1234.56 EUR', '1037.45 EUR']);
    expect(normalized('amount', 'Gesamt: 12,50 € / EUR 1.234,56 / € 99 / 2.000.000,00 Euro / -5,00 €')).toEqual([
      '12.50 EUR',
      '1234.56 EUR',
      '99.00 EUR',
      '2000000.00 EUR',
      '-5.00 EUR',
    ]);
  });

  it('IBAN with spaces, checksum-validated', () => {
    const v = of('iban', [GERMAN_INVOICE]);
    expect(v).toEqual([{ kind: 'iban', text: 'DE89 3704 0044 0532 0130 00', normalized: 'DE89370400440532013000', page: 1 }]);
    expect(normalized('iban', 'IBAN: AT611904300234573201')).toEqual(['AT611904300234573201']);
  });

  it('e-mail, invoice and customer numbers after German labels', () => {
    expect(normalized('email', GERMAN_INVOICE)).toEqual(['buchhaltung@mueller-soehne.de']);
    expect(normalized('invoice_number', GERMAN_INVOICE)).toEqual(['RE-2024-0815']);
    expect(normalized('customer_number', 'Kundennummer: 4711-08')).toEqual(['4711-08']);
    expect(normalized('invoice_number', 'Rechnung Nr. 2024/117 vom 3.3.2024')).toEqual(['2024/117']);
    expect(normalized('invoice_number', 'Rechnungs-Nr.:\n  R240033')).toEqual(['R240033']);
    expect(normalized('customer_number', 'Kd.-Nr. 55012, Kunden-Nr: ab-12')).toEqual(['55012', 'AB-12']);
  });

  it('the document date is the labelled one, not the service or due date', () => {
    expect(recognizeValues([GERMAN_INVOICE], { now: NOW }).documentDate).toBe('2024-03-03');
    expect(recognizeValues(['Fällig am 17.03.2024. Köln, den 02.03.2024'], { now: NOW }).documentDate).toBe('2024-03-02');
  });
});

describe('recognizeValues: English', () => {
  it('dates in English formats', () => {
    expect(normalized('date', ENGLISH_INVOICE)).toEqual(['2024-03-03', '2024-04-02']);
    expect(each('date', ['on 2024-03-03', '3 March 2024', '3rd of March 2024', 'Mar. 3rd, 2024', 'on 13/03/2024'])).toEqual([
      '2024-03-03',
      '2024-03-03',
      '2024-03-03',
      '2024-03-03',
      '2024-03-13',
    ]);
    // Ambiguous slashes: month first for English documents, day first otherwise.
    expect(normalized('date', '04/03/2024', { language: 'eng' })).toEqual(['2024-04-03']);
    expect(normalized('date', '04/03/2024', { language: 'deu' })).toEqual(['2024-03-04']);
  });

  it('amounts in English notation and with codes before the number', () => {
    expect(normalized('amount', ENGLISH_INVOICE)).toEqual(['1234.56 USD', '1100.00 USD', '1050.00 EUR']);
    expect(normalized('amount', "fee £12.50 and CHF 1'234.50 and $ 7")).toEqual(['12.50 GBP', '1234.50 CHF', '7.00 USD']);
  });

  it('IBAN, e-mail (lower-cased), invoice and customer numbers', () => {
    expect(normalized('iban', ENGLISH_INVOICE)).toEqual(['GB82WEST12345698765432']);
    expect(of('email', [ENGLISH_INVOICE])).toEqual([
      { kind: 'email', text: 'Billing@ACME.co.uk', normalized: 'billing@acme.co.uk', page: 1 },
    ]);
    expect(normalized('invoice_number', ENGLISH_INVOICE)).toEqual(['INV-42/2024']);
    expect(normalized('customer_number', ENGLISH_INVOICE)).toEqual(['C-00917']);
    expect(normalized('invoice_number', 'Invoice #A7781, Invoice Number: 2024-19')).toEqual(['A7781', '2024-19']);
    expect(normalized('customer_number', 'Customer No. 88812')).toEqual(['88812']);
  });

  it('document date from "Date:"', () => {
    expect(recognizeValues([ENGLISH_INVOICE], { now: NOW }).documentDate).toBe('2024-03-03');
  });
});

describe('recognizeValues: negatives', () => {
  it('an invalid IBAN (wrong check digits, wrong length, unknown country) is not one', () => {
    expect(normalized('iban', 'DE89 3704 0044 0532 0130 01')).toEqual([]);
    expect(normalized('iban', 'DE88370400440532013000')).toEqual([]);
    expect(normalized('iban', 'DE89 3704 0044 0532 0130 0')).toEqual([]);
    expect(normalized('iban', 'DE89370400440532013000123')).toEqual([]);
    expect(normalized('iban', 'ZZ89370400440532013000')).toEqual([]);
    expect(isValidIban('DE89370400440532013000')).toBe(true);
    expect(isValidIban('DE89370400440532013001')).toBe(false);
  });

  it('impossible dates, versions, IPs and bare numbers are not dates', () => {
    expect(normalized('date', '31.02.2024 und 32.01.2024 und 2024-13-01')).toEqual([]);
    expect(normalized('date', 'Version 1.2.3, Server 10.0.0.1, Betrag 1.234,56, Seite 3 von 12')).toEqual([]);
    expect(normalized('date', 'March 2024 and 3 Marchers 2024')).toEqual([]);
  });

  it('numbers without a currency, and currency words inside other words, are not amounts', () => {
    expect(normalized('amount', 'Menge 1.234,56 Stück, Artikel 12,50, Europa 2024, 03.03.2024')).toEqual([]);
    expect(normalized('amount', 'Preis 1,2345 €')).toEqual([]);
  });

  it('not e-mail addresses: no TLD, double dots, bare @', () => {
    expect(normalized('email', 'user@localhost, a..b@example.com, @example.com, name@ example.com')).toEqual([]);
  });

  it('labels without a code, and codes without a label, are not invoice or customer numbers', () => {
    expect(normalized('invoice_number', 'Die Rechnungsnummer finden Sie oben. Invoice number below.')).toEqual([]);
    expect(normalized('invoice_number', 'Auftrag 2024-0815')).toEqual([]);
    expect(normalized('customer_number', 'Kundennummer: bitte angeben')).toEqual([]);
  });

  it('no plausible date: no document date; due and birth dates are never picked', () => {
    expect(recognizeValues(['Zahlbar bis 17.03.2024', 'Geburtsdatum: 01.01.1980'], { now: NOW }).documentDate).toBeUndefined();
    expect(recognizeValues(['Vertrag 1850: 03.03.1850'], { now: NOW }).documentDate).toBeUndefined();
  });
});

describe('recognizeValues: pages and bounds', () => {
  it('reports the page of each value, duplicates once per page; no pages → nothing', () => {
    const r = recognizeValues(['Datum: 03.03.2024', 'Bezug: 03.03.2024, 03.03.2024', 'IBAN DE89370400440532013000'], {
      now: NOW,
    });
    expect(r.values.map((v) => [v.kind, v.page])).toEqual([
      ['date', 1],
      ['date', 2],
      ['iban', 3],
    ]);
    expect(recognizeValues([])).toEqual({ values: [] });
  });

  it('caps the number of values and stays linear on hostile text', () => {
    const many = 'Betrag 1,00 € '.repeat(5000);
    expect(recognizeValues([many], { maxValues: 10 }).values).toHaveLength(1);
    const distinct = Array.from({ length: 5000 }, (_, i) => `${i},00 €`).join(' ');
    expect(recognizeValues([distinct], { maxValues: 10 }).values).toHaveLength(10);
    const t0 = performance.now();
    recognizeValues(['1'.repeat(200_000), `${'a'.repeat(100_000)}@`, 'DE89'.repeat(50_000), '.1'.repeat(100_000)]);
    expect(performance.now() - t0).toBeLessThan(2_000);
  });

  it('parseAmountNumber decides the decimal separator', () => {
    expect(parseAmountNumber('1.234,56')).toBe('1234.56');
    expect(parseAmountNumber('1,234.56')).toBe('1234.56');
    expect(parseAmountNumber('1.234')).toBe('1234.00');
    expect(parseAmountNumber('12,5')).toBe('12.50');
    expect(parseAmountNumber('0,99')).toBe('0.99');
    expect(parseAmountNumber('1.2.3,4.5')).toBeUndefined();
  });
});

describe('placedValues', () => {
  it('gives where the asked kinds are written, in text order, as recognizeValues reads them', () => {
    const text = 'Rechnungsnummer: RE-2024-0777 vom 15.03.2024, Gesamtbetrag: 220,00 EUR, IBAN DE89 3704 0044 0532 0130 00.';
    const placed = (kinds: RecognizedKind[]) =>
      placedValues(text, new Set(kinds)).map((v) => [v.kind, v.normalized, text.slice(v.start, v.end)]);
    expect(placed(['amount', 'date'])).toEqual([
      ['date', '2024-03-15', '15.03.2024'],
      ['amount', '220.00 EUR', '220,00 EUR'],
    ]);
    expect(placed(['iban', 'invoice_number', 'customer_number'])).toEqual([
      ['invoice_number', 'RE-2024-0777', 'RE-2024-0777'],
      ['iban', 'DE89370400440532013000', 'DE89 3704 0044 0532 0130 00'],
    ]);
    // The same values and order as the document's recognition.
    expect(placed(['date', 'amount', 'iban', 'email', 'invoice_number', 'customer_number']).map(([k, n]) => [k, n])).toEqual(
      recognizeValues([text]).values.map((v) => [v.kind, v.normalized]),
    );
  });
});
