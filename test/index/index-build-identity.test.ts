/**
 * The index build must stay byte-for-byte what it was when it was made faster: these fingerprints were taken
 * from the build before the speed-ups (analyser cache, stemmers, segment builder, word list), so any change
 * to a term, position, stem, compound part, word or stored byte shows up here. Suggest's words are hashed
 * as the word list reads them back: the stored fingerprints were retaken (with the code before index format
 * 4, which then stored one value per word) when format 4 sealed them in one value per write. Format 5
 * changed the bytes of positions and dictionary blocks (fieldless positions in a chunked stream, blocks cut
 * to LMDB pages), so `built` and `stored` were retaken then, and again for format 6 (position deltas
 * bit-packed in runs of 128); the token, term and word fingerprints, which pin what is indexed, stayed.
 * Format 11 indexed compound parts as part terms of their own, which changed all of them (see below).
 */
import { createHash, type Hash } from 'node:crypto';
import { open, type RootDatabase } from 'lmdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Corpus } from '../../native-bench/harness/data.js';
import { analyseDocument, type IndexDoc } from '../../src/index/analyse-document.js';
import { analyseToTokens } from '../../src/index/analyser.js';
import { IndexStore, type Key, RANGE_END, type SealedDb } from '../../src/index/index-store.js';
import { type BuiltSegment, finishSegment, SegmentBuilder, writeBuiltSegment } from '../../src/index/segment-writer.js';
import { Slicer } from '../../src/index/warm-up.js';
import { WordList } from '../../src/index/word-list.js';
import { handDocs } from '../helpers/hand-docs.js';
import { testCipher } from '../helpers/index-cipher.js';
import { tempDir } from '../helpers/temp-dir.js';

/** German and English by hand: umlauts, ß, compounds, codes, IBANs, hyphens, apostrophes, accents, CJK. */
const HAND = [
  'Sehr geehrte Frau Müller, anbei die Rechnung RE-2024-0042 über 1.234,56 € für die Mietwohnung in der Hauptstraße 5.',
  'Die Datenschutzerklärung und der Mietvertrag (Nebenkostenabrechnung 2023) liegen bei; Kündigungsfrist: 3 Monate.',
  'Überweisen Sie bitte auf IBAN DE89 3704 0044 0532 0130 00 bis zum 15.03.2024 — Versicherungsbeiträge, Lebensversicherung.',
  'Häuser, Haeuser, Häusern; Bücher, Büchern; Straßenverkehrsordnung; Grundsteuerbescheid; Krankenversicherungskarte.',
  'The annual report’s figures: invoices, invoicing, invoiced; running, runner, ran; generously, communication, arsenal.',
  "Don't stop believing — it's the users' choice; skies, dying, lying, news, howe, atlas, cosmos, bias, andes, proceeding.",
  'Café, naïve, résumé, façade, Ångström, Æsir, Œuvre; ﬁle; Mu\u0308ller; ŞİRKET; ΚΑΛΗΜΈΡΑ; Привет мир.',
  'Tokyo 東京都 の 会社 です。 ภาษาไทย ไม่มี ช่องว่าง; re-2024/0042, w-2, 3,14, 12:30, a.b.c, x_y, e-mail, E-Mail-Adresse.',
  'Aufwändige Prüfungsunterlagen der Steuerberatungsgesellschaft; Arbeitgeberbescheinigung; Zahlungserinnerung; Abschlussprüfung.',
  'Quittungen quälen Querdenker; Aktienkurs, Aktienkurse; Geburtsurkunde; Bundesamt für Migration; Bürgerbüro Köln-Mülheim.',
  'Gebühren, Gebührenbescheid, gebührenpflichtig; Ärztin, Ärzte, ärztlich; Öffnungszeiten; Übersetzungsbüro; Fußgängerzone.',
  'consign consigned consigning consignment; knack knackered knackeries; kneel kneeled kneeling; ebenso abenddämmerung.',
];

const HAND_DOCS = handDocs(HAND);

function corpusDocs(n: number): IndexDoc[] {
  const corpus = new Corpus(1);
  return Array.from({ length: n }, (_, i) => {
    const d = corpus.doc(i);
    // Every third document in the default language (both stems, compound parts).
    return { docId: d.id, ...(i % 3 === 0 ? {} : { language: d.language }), fields: { title: d.title, body: [d.body] } };
  });
}

function hashOf(h: Hash, v: unknown): void {
  h.update(JSON.stringify(v));
  h.update('\n');
}

/** Everything a built segment holds, hashed (toEqual on megabytes of typed arrays takes seconds). */
function segmentDigest(s: BuiltSegment): string {
  const h = createHash('sha256');
  for (const a of [s.norms, s.putDb, s.putKey, s.putEnd, s.bytes, s.spans, s.spanEnd]) {
    hashOf(h, a.length);
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  hashOf(h, [s.records, s.postingsBytes, s.positionsBytes, s.words, s.textChars]);
  return h.digest('hex');
}

let dir: ReturnType<typeof tempDir>;
let root: RootDatabase;

beforeAll(async () => {
  dir = tempDir('archivar-identity-');
  root = open({ path: dir.path });
  await testCipher.ready('t');
});
afterAll(async () => {
  await root.close();
  dir.cleanup();
});

/** Builds segments of `batch` documents each and hashes what the builder yields and what the store holds. */
async function fingerprint(docs: readonly IndexDoc[], batch: number): Promise<{ built: string; stored: string; words: number }> {
  const store = new IndexStore(root, testCipher);
  const built = createHash('sha256');
  let words = 0;
  let segment = 1;
  for (let b = 0; b < docs.length; b += batch) {
    // As the pool builds segments: documents analysed straight into the builder.
    const builder = new SegmentBuilder();
    for (const d of docs.slice(b, b + batch)) builder.addDocument(d, 'deu+eng');
    // Analysed apart first (the path of batches too large for one task): the same segment.
    const apart = new SegmentBuilder();
    for (const d of docs.slice(b, b + batch)) apart.add(analyseDocument(d, 'deu+eng'));
    expect(segmentDigest(finishSegment(apart))).toBe(segmentDigest(finishSegment(builder)));
    for (const [term, p] of builder.sortedTerms())
      hashOf(built, [term, Array.from(p.docs), Array.from(p.tfs), Array.from(p.positions)]);
    hashOf(built, [...builder.normsBytes()]);
    hashOf(built, builder.records);
    hashOf(built, [...builder.words()]);
    const id = segment++;
    await root.transaction(() => {
      // As the index writes: the segment laid out apart from the store (a pool worker), then sealed and written.
      const written = writeBuiltSegment(store, 't', id, finishSegment(builder));
      hashOf(built, [written.postingsBytes, written.positionsBytes, written.newWords]);
      words += written.newWords.length;
    });
  }
  const stored = createHash('sha256');
  const sealed: SealedDb[] = ['dirs', 'terms', 'positions', 'large', 'docs'];
  for (const db of sealed) {
    for (const { key, value } of store[db].getRange({ start: ['t'], end: ['t', RANGE_END] }))
      hashOf(stored, [db, key, store.open(db, key as Key, value).toString('base64')]);
  }
  // Suggest's words as the word list reads them back (their layout in index-words is word-list.ts's affair).
  const wordList = new WordList(store);
  await wordList.load('t', new Slicer(5), (fn) => Promise.resolve(fn()));
  for (const list of wordList.lists('t')) for (const f of list) hashOf(stored, ['words', f, wordList.written('t', f)]);
  for (const { key, value } of store.norms.getRange({ start: ['t'], end: ['t', RANGE_END] }))
    hashOf(stored, ['norms', key, Buffer.from(value).toString('base64')]);
  for (const { key, value } of store.ids.getRange({ start: ['t'], end: ['t', RANGE_END] })) hashOf(stored, ['ids', key, value]);
  // The next call starts from an empty tenant again.
  await root.transaction(() => {
    for (const db of store.all()) for (const k of [...db.getKeys({ start: ['t'], end: ['t', RANGE_END] })]) db.remove(k as Key);
  });
  return { built: built.digest('hex'), stored: stored.digest('hex'), words };
}

describe('index build identity', () => {
  it('analyses the hand corpus into the same tokens in every language and mode', () => {
    const h = createHash('sha256');
    for (const text of HAND)
      for (const lang of ['deu', 'eng', 'deu+eng'] as const)
        for (const mode of ['index', 'query'] as const) hashOf(h, analyseToTokens(text, lang, mode));
    expect(h.digest('hex')).toBe('666391aa481c01ae75903dc3f825a5841eaa0892b421490acbb2f2d39f6e8fd4');
  });

  it('builds and stores the hand corpus and 3000 benchmark-corpus documents as before', async () => {
    const hand = await fingerprint(HAND_DOCS, 5);
    expect(hand).toEqual({
      built: 'f960525dc00ad4738c1c974b75d9a22c394b36f70c825c8c084c32a562e614c7',
      stored: 'f3f06f4928a8f661fd697d3e9bdb4695e8a8311a70e6ecc2311df69c236f2013',
      words: 132,
    });
    const corpus = await fingerprint(corpusDocs(3000), 1000);
    expect(corpus).toEqual({
      built: '04a43b5cfba2316bce7ff0f02da4552eebd64a5a7a34f34da8a2329a8109dc5a',
      stored: '5a17da2077bab512e35a799eabfb866eae90d54183d6e8508608970b9bce2fd8',
      // 37740 before format 11: the word "miet" was the first word of no term, its term "miet" first seen
      // as a part of a compound; now the part has a term of its own.
      words: 37741,
    });
  }, 120_000);
});
