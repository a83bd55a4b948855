import type { AnalyserLanguage } from '../../src/index/analyser.js';
import type { IndexDoc } from '../../src/index/index.js';

/**
 * Documents of hand-written texts with every field filled, as the index identity tests build and merge them:
 * German, English or the default language in turn, each text as two pages (the second its words reversed),
 * a subject and a sender on every other one.
 */
export function handDocs(texts: readonly string[]): IndexDoc[] {
  return texts.map((text, i) => ({
    docId: `hand-${i}`,
    ...(i % 3 === 2 ? {} : { language: (i % 3 === 0 ? 'deu' : 'eng') as AnalyserLanguage }),
    fields: {
      title: text.slice(0, 40),
      body: [text, text.split(' ').reverse().join(' ')],
      subject: i % 2 === 0 ? `Betreff: ${text.slice(10, 60)}` : undefined,
      fileName: `Rechnung_${2020 + i}_Müller-GmbH.pdf`,
      sender: i % 2 === 0 ? 'Müller GmbH <info@mueller-gmbh.de>' : "O'Brien & Sons Ltd.",
    },
    createdMs: 1_700_000_000_000 + i,
    mediaType: 'application/pdf',
  }));
}
