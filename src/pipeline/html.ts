import { Parser } from 'htmlparser2';

/**
 * HTML → plain text. Scripts, styles and other non-content elements are dropped, block elements
 * become line breaks, entities are decoded by the parser, runs of whitespace collapse as a browser
 * would (except inside <pre>).
 */
export interface HtmlText {
  text: string;
  /** Contents of <title>, if any. */
  title?: string;
  /** <meta name="author|description|keywords" content>. */
  meta: Record<string, string>;
  /** The charset the document declares in <meta charset> or http-equiv, lower-cased. */
  declaredCharset?: string;
}

const INVISIBLE = /[\u00ad\u200b\u2060\ufeff]/g;
const SKIP = new Set(['script', 'style', 'noscript', 'template', 'head', 'svg', 'math', 'iframe', 'object', 'canvas', 'select']);
const BLOCK = new Set([
  'address',
  'article',
  'aside',
  'blockquote',
  'body',
  'caption',
  'dd',
  'details',
  'dialog',
  'div',
  'dl',
  'dt',
  'fieldset',
  'figcaption',
  'figure',
  'footer',
  'form',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'header',
  'hr',
  'html',
  'legend',
  'li',
  'main',
  'nav',
  'ol',
  'p',
  'pre',
  'section',
  'summary',
  'table',
  'tbody',
  'td',
  'tfoot',
  'th',
  'thead',
  'tr',
  'ul',
  'option',
]);
// Cells sit side by side: a tab keeps them apart without breaking the row.
const CELL = new Set(['td', 'th']);

export function htmlToText(html: string): HtmlText {
  const out: string[] = [];
  const meta: Record<string, string> = {};
  let title: string | undefined;
  let declaredCharset: string | undefined;
  let skipDepth = 0;
  let preDepth = 0;
  let inTitle = false;
  let titleBuf = '';
  // Pending whitespace is emitted lazily so that block boundaries win over spaces.
  let pendingSpace = false;

  const newline = () => {
    pendingSpace = false;
    const last = out[out.length - 1];
    if (last !== undefined && !last.endsWith('\n')) out.push('\n');
  };

  const parser = new Parser(
    {
      onopentag(name, attribs) {
        if (name === 'title') inTitle = true;
        if (name === 'meta') {
          const charset = attribs.charset ?? /charset=([\w-]+)/i.exec(attribs.content ?? '')?.[1];
          if (charset && !declaredCharset) declaredCharset = charset.toLowerCase();
          const key = (attribs.name ?? '').toLowerCase();
          if (attribs.content && ['author', 'description', 'keywords', 'date'].includes(key)) meta[key] = attribs.content.trim();
        }
        if (SKIP.has(name)) {
          skipDepth++;
          return;
        }
        if (skipDepth > 0) return;
        if (name === 'pre') preDepth++;
        if (name === 'br') {
          out.push('\n');
          pendingSpace = false;
        } else if (CELL.has(name)) {
          const last = out[out.length - 1];
          if (last !== undefined && !last.endsWith('\n')) out.push('\t');
          pendingSpace = false;
        } else if (BLOCK.has(name)) newline();
        else if (name === 'img' && attribs.alt) {
          out.push(pendingSpace ? ` ${attribs.alt}` : attribs.alt);
          pendingSpace = false;
        }
      },
      ontext(raw) {
        // Soft hyphens (&shy;), zero-width spaces, word joiners and stray BOMs are invisible hints inside a
        // word ("Kaffee&shy;maschine"): left in, they split the word for search and travel into snippets.
        const data = raw.replace(INVISIBLE, '');
        if (inTitle) titleBuf += data;
        if (skipDepth > 0) return;
        if (preDepth > 0) {
          out.push(data);
          pendingSpace = false;
          return;
        }
        // &nbsp; counts as an ordinary space for search purposes.
        const collapsed = data.replace(/[\s\u00a0]+/g, ' ');
        if (collapsed === ' ') {
          pendingSpace = true;
          return;
        }
        const leading = collapsed.startsWith(' ');
        const trailing = collapsed.endsWith(' ');
        const core = collapsed.trim();
        if (core.length === 0) return;
        const last = out[out.length - 1];
        const atLineStart = last === undefined || last.endsWith('\n') || last.endsWith('\t');
        if ((leading || pendingSpace) && !atLineStart) out.push(' ');
        out.push(core);
        pendingSpace = trailing;
      },
      onclosetag(name) {
        if (name === 'title') {
          inTitle = false;
          const t = titleBuf.replace(/\s+/g, ' ').trim();
          if (t) title = t;
        }
        if (SKIP.has(name)) {
          skipDepth = Math.max(0, skipDepth - 1);
          return;
        }
        if (skipDepth > 0) return;
        if (name === 'pre') preDepth = Math.max(0, preDepth - 1);
        if (BLOCK.has(name) && !CELL.has(name)) newline();
      },
    },
    { decodeEntities: true, lowerCaseTags: true, recognizeSelfClosing: true },
  );
  parser.write(html);
  parser.end();

  const text = out
    .join('')
    .split('\n')
    .map((l) => l.replace(/[ \t]+$/g, ''))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { text, meta, ...(title !== undefined ? { title } : {}), ...(declaredCharset ? { declaredCharset } : {}) };
}
