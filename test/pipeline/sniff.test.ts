import { describe, expect, it } from 'vitest';
import { sniff } from '../../src/pipeline/index.js';
import { pngHeaderOnly } from '../fixtures/images.js';
import { billionPagesPdf } from '../fixtures/pdfs.js';
import { makeZip } from '../fixtures/zip-writer.js';

describe('sniff', () => {
  it('recognises binary types from magic bytes, ignoring a wrong declared type', () => {
    expect(sniff(billionPagesPdf(), 'image/png')).toEqual({ mediaType: 'application/pdf', kind: { type: 'pdf' } });
    expect(sniff(pngHeaderOnly(10, 10), 'application/pdf').kind).toEqual({ type: 'image', format: 'png' });
    expect(sniff(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10])).kind).toEqual({ type: 'image', format: 'jpeg' });
    expect(sniff(Buffer.from('II*\0\x08\0\0\0', 'latin1')).kind).toEqual({ type: 'image', format: 'tiff' });
    expect(sniff(Buffer.from('MM\0*\0\0\0\x08', 'latin1')).kind).toEqual({ type: 'image', format: 'tiff' });
    expect(sniff(Buffer.from('RIFF\x10\0\0\0WEBPVP8 ', 'latin1')).kind).toEqual({ type: 'image', format: 'webp' });
    expect(sniff(Buffer.from('GIF89a\x01\0\x01\0', 'latin1')).mediaType).toBe('image/gif');
    const bmp = Buffer.alloc(54);
    bmp.write('BM', 0, 'latin1');
    bmp.writeUInt32LE(40, 14);
    expect(sniff(bmp).kind).toEqual({ type: 'image', format: 'bmp' });
    expect(sniff(makeZip([{ name: 'a.txt', data: Buffer.from('x') }])).kind).toEqual({ type: 'zip' });
    expect(sniff(makeZip([{ name: 'mimetype', data: Buffer.from('application/epub+zip'), method: 0 }])).mediaType).toBe(
      'application/epub+zip',
    );
  });

  it('finds %PDF- after leading junk', () => {
    expect(sniff(Buffer.concat([Buffer.from('garbage\n'), billionPagesPdf()])).kind.type).toBe('pdf');
  });

  it('tells e-mail, HTML and plain text apart', () => {
    const mail =
      'Received: from mx.example.org\nFrom: Anna <anna@example.org>\nTo: bob@example.org\nSubject: Hallo\nMIME-Version: 1.0\n\nBody';
    expect(sniff(Buffer.from(mail))).toEqual({ mediaType: 'message/rfc822', kind: { type: 'email' } });
    expect(sniff(Buffer.from(`From sender@example.org Mon Jan  1 00:00:00 2024\n${mail}`)).kind.type).toBe('email');
    // "Subject:" in prose is not a header block.
    expect(sniff(Buffer.from('Subject: notes\nThis line is prose, not a header.\n')).kind.type).toBe('text');
    expect(sniff(Buffer.from('<!DOCTYPE html><html><body><p>Hi</p></body></html>')).kind.type).toBe('html');
    expect(sniff(Buffer.from('  <html lang="de"><p>x</p></html>')).kind.type).toBe('html');
    expect(sniff(Buffer.from('a < b and <b> is bold'), 'text/html').kind.type).toBe('html');
    expect(sniff(Buffer.from('a < b and c > d'))).toEqual({ mediaType: 'text/plain', kind: { type: 'text' } });
    expect(sniff(Buffer.from('Grüße aus Köln', 'utf16le')).kind.type).toBe('text');
  });

  it('reports empty and unknown binary input', () => {
    expect(sniff(Buffer.alloc(0)).kind.type).toBe('empty');
    const binary = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) % 256));
    expect(sniff(binary, 'text/plain')).toEqual({ mediaType: 'application/octet-stream', kind: { type: 'unknown' } });
  });
});
