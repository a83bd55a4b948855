import { describe, expect, it } from 'vitest';
import { decodeText, detectLanguage, htmlToText } from '../../src/pipeline/index.js';

const GERMAN = 'Grüße aus Köln: „Größe“ – 12 € für Straße';

function cp1252(s: string): Buffer {
  const map: Record<string, number> = { '€': 0x80, '„': 0x84, '“': 0x93, '”': 0x94, '–': 0x96 };
  return Buffer.from([...s].map((c) => map[c] ?? c.charCodeAt(0)));
}

describe('decodeText', () => {
  it('decodes UTF-8 with and without BOM', () => {
    expect(decodeText(Buffer.from(GERMAN))).toEqual({ text: GERMAN, encoding: 'utf-8', bom: false });
    expect(decodeText(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(GERMAN)]))).toEqual({
      text: GERMAN,
      encoding: 'utf-8',
      bom: true,
    });
  });

  it('decodes UTF-16LE/BE with and without BOM', () => {
    const le = Buffer.from(GERMAN, 'utf16le');
    const be = Buffer.from(le).swap16();
    expect(decodeText(le)).toMatchObject({ text: GERMAN, encoding: 'utf-16le', bom: false });
    expect(decodeText(be)).toMatchObject({ text: GERMAN, encoding: 'utf-16be', bom: false });
    expect(decodeText(Buffer.concat([Buffer.from([0xff, 0xfe]), le]))).toMatchObject({ text: GERMAN, bom: true });
    expect(decodeText(Buffer.concat([Buffer.from([0xfe, 0xff]), be]))).toMatchObject({ text: GERMAN, bom: true });
  });

  it('detects Windows-1252 by its printable 0x80–0x9F characters (€, „ “, –)', () => {
    expect(decodeText(cp1252(GERMAN))).toEqual({ text: GERMAN, encoding: 'windows-1252', bom: false });
  });

  it('tells ISO-8859-15 (€ at 0xA4 next to an amount) from ISO-8859-1', () => {
    const latin9 = Buffer.from([...Buffer.from('Preis: 12 ', 'latin1'), 0xa4, ...Buffer.from(' für Größe', 'latin1')]);
    expect(decodeText(latin9)).toMatchObject({ text: 'Preis: 12 € für Größe', encoding: 'iso-8859-15' });
    expect(decodeText(Buffer.from('Grüße, Straße ¼', 'latin1'))).toMatchObject({
      text: 'Grüße, Straße ¼',
      encoding: 'iso-8859-1',
    });
  });

  it('normalises CRLF', () => {
    expect(decodeText(Buffer.from('a\r\nb\rc')).text).toBe('a\nb\nc');
  });
});

describe('htmlToText', () => {
  it('drops scripts and styles, breaks blocks, decodes entities, collapses whitespace', () => {
    const html = `<!doctype html><html><head><title>Über &amp; uns</title><meta name="author" content="Anna">
      <style>p { color: red }</style><script>var secret = "do not index";</script></head>
      <body><h1>Grüße&nbsp;aus   Köln</h1><p>Erster   Absatz mit <b>fett</b>em Wort.</p>
      <div>Zweiter<br>Teil &euro; 5 &lt;b&gt; &#228;</div><ul><li>eins</li><li>zwei</li></ul>
      <table><tr><td>A</td><td>B</td></tr></table><pre>  keep   this\n  layout</pre><noscript>no</noscript></body></html>`;
    const r = htmlToText(html);
    expect(r.title).toBe('Über & uns');
    expect(r.meta.author).toBe('Anna');
    expect(r.text).not.toContain('secret');
    expect(r.text).not.toContain('color');
    expect(r.text).toBe(
      [
        'Grüße aus Köln',
        'Erster Absatz mit fettem Wort.',
        'Zweiter',
        'Teil € 5 <b> ä',
        'eins',
        'zwei',
        'A\tB',
        '  keep   this',
        '  layout',
      ].join('\n'),
    );
  });
});

describe('detectLanguage', () => {
  it('decides German, English, both, or unknown from stopwords', () => {
    expect(detectLanguage('Sehr geehrte Damen und Herren, die Rechnung ist nicht bezahlt worden.').language).toBe('deu');
    expect(detectLanguage('Dear Sir or Madam, the invoice for this month has not been paid.').language).toBe('eng');
    expect(
      detectLanguage('Sehr geehrte Damen und Herren, die Rechnung ist da. Dear Sir, the invoice is attached and it is due.')
        .language,
    ).toBe('deu+eng');
    expect(detectLanguage('12345 67890 XYZ').language).toBe('unknown');
  });
});
