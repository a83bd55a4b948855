import { type AddressObject, simpleParser } from 'mailparser';
import { PipelineError } from './errors.js';
import { htmlToText } from './html.js';

/**
 * RFC 5322 message → body text, header metadata, and attachments as child documents. The body is
 * the text part, or the HTML part converted with our own HTML stage when there is no text part.
 */
export interface ParsedEmail {
  text: string;
  subject?: string;
  from?: string;
  to: string[];
  cc: string[];
  date?: Date;
  messageId?: string;
  attachments: { fileName: string; bytes: Buffer; contentType: string }[];
}

export async function parseEmail(bytes: Uint8Array, opts: { maxAttachments: number }): Promise<ParsedEmail> {
  let mail: Awaited<ReturnType<typeof simpleParser>>;
  try {
    mail = await simpleParser(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      skipTextToHtml: true,
      skipImageLinks: true,
      skipTextLinks: true,
      skipHtmlToText: true,
    });
  } catch (err) {
    throw new PipelineError('corrupt', 'e-mail message could not be parsed', { cause: err });
  }
  if (mail.attachments.length > opts.maxAttachments) {
    throw new PipelineError(
      'limit',
      `e-mail has ${mail.attachments.length} attachments, more than the limit of ${opts.maxAttachments}`,
    );
  }
  const text = mail.text?.trim() ? mail.text : typeof mail.html === 'string' ? htmlToText(mail.html).text : '';
  const out: ParsedEmail = {
    text: text.replace(/\r\n?/g, '\n').trim(),
    to: addresses(mail.to),
    cc: addresses(mail.cc),
    attachments: mail.attachments
      .filter((a) => a.content.length > 0)
      .map((a, i) => ({
        fileName: a.filename?.trim() || `attachment-${i + 1}`,
        bytes: a.content,
        contentType: a.contentType,
      })),
  };
  if (mail.subject) out.subject = mail.subject;
  const from = addresses(mail.from)[0];
  if (from) out.from = from;
  if (mail.date && !Number.isNaN(mail.date.getTime())) out.date = mail.date;
  if (mail.messageId) out.messageId = mail.messageId;
  return out;
}

function addresses(v: AddressObject | AddressObject[] | undefined): string[] {
  if (!v) return [];
  const list = Array.isArray(v) ? v : [v];
  const out: string[] = [];
  for (const obj of list) {
    for (const a of obj.value) {
      if (a.address) out.push(a.name ? `${a.name} <${a.address}>` : a.address);
      for (const g of a.group ?? []) if (g.address) out.push(g.name ? `${g.name} <${g.address}>` : g.address);
    }
  }
  return out;
}
