/**
 * A merge must write the same segment as it did before merges were made cheaper: this fingerprint was taken
 * from mergeSegments before those changes. Segments of a fixed corpus (hand-written documents and benchmark-
 * corpus ones, with values and some deletes, one source deleted whole) are merged, and everything the merged
 * segment holds is hashed as plaintext: sealed values are opened through the store (their nonces are random),
 * so any change to a dictionary block, postings, position, large value, norm, doc record, values block, id
 * or tombstone shows up here.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, type RootDatabase } from 'lmdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Corpus } from '../../native-bench/harness/data.js';
import type { IndexDoc } from '../../src/index/analyse-document.js';
import type { AnalyserLanguage } from '../../src/index/analyser.js';
import { IndexStore, type Key, RANGE_END, type SealedDb, type SegmentMeta, toBuffer } from '../../src/index/index-store.js';
import { BLOCK_SIZE, NUM_FIELDS } from '../../src/index/postings-codec.js';
import { LARGE_BYTES, lookupTerm } from '../../src/index/segment-format.js';
import { listSegments, mergeSegments } from '../../src/index/segment-merger.js';
import { putSegmentValues } from '../../src/index/segment-values.js';
import { finishSegment, SegmentBuilder, writeBuiltSegment } from '../../src/index/segment-writer.js';
import { handDocs } from '../helpers/hand-docs.js';
import { testCipher } from '../helpers/index-cipher.js';
import { tempDir } from '../helpers/temp-dir.js';

/** Umlauts, compounds, codes, accents, CJK, astral characters and code points sorting around them. */
const HAND = [
  'Sehr geehrte Frau Müller, anbei die Rechnung RE-2024-0042 über 1.234,56 € für die Mietwohnung in der Hauptstraße 5.',
  'Die Datenschutzerklärung und der Mietvertrag (Nebenkostenabrechnung 2023) liegen bei; Kündigungsfrist: 3 Monate.',
  'Überweisen Sie bitte auf IBAN DE89 3704 0044 0532 0130 00 bis zum 15.03.2024 — Versicherungsbeiträge, Lebensversicherung.',
  'Häuser, Haeuser, Häusern; Bücher, Büchern; Straßenverkehrsordnung; Grundsteuerbescheid; Krankenversicherungskarte.',
  'The annual report’s figures: invoices, invoicing, invoiced; running, runner, ran; generously, communication, arsenal.',
  'Café, naïve, résumé, façade, Ångström, Æsir, Œuvre; ﬁle; Mu\u0308ller; ŞİRKET; ΚΑΛΗΜΈΡΑ; Привет мир.',
  'Tokyo 東京都 の 会社 です。 ภาษาไทย ไม่มี ช่องว่าง; re-2024/0042, w-2, 3,14, 12:30, a.b.c, x_y, e-mail, E-Mail-Adresse.',
  'Astral 𠀋𠀌 𝔘𝔫𝔦 and high BMP ｱｲｳ 가나다 \uE001x \uFFFDy; Rechnung Rechnung Rechnung Müller Müller.',
  'Aufwändige Prüfungsunterlagen der Steuerberatungsgesellschaft; Arbeitgeberbescheinigung; Zahlungserinnerung.',
  'Gebühren, Gebührenbescheid, gebührenpflichtig; Ärztin, Ärzte, ärztlich; Öffnungszeiten; Übersetzungsbüro.',
  'consign consigned consigning consignment; knack knackered knackeries; kneel kneeled kneeling; 𠀋 Rechnung.',
];

const HAND_DOCS = handDocs(HAND);

function corpusDocs(from: number, n: number): IndexDoc[] {
  const corpus = new Corpus(1);
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const d = corpus.doc(i);
    // Every third document in the default language; some with a subject, so more fields meet in blocks.
    return {
      docId: d.id,
      ...(i % 3 === 0 ? {} : { language: d.language }),
      fields: { title: d.title, body: [d.body], ...(i % 5 === 0 ? { subject: d.title } : {}) },
    };
  });
}

/**
 * Short documents sharing `word` at random frequencies in random fields: in a few thousand of them its
 * postings exceed LARGE_BYTES (a value of their own in index-large).
 */
function ledgerDocs(seed: number, n: number, word = 'ledger'): IndexDoc[] {
  let x = seed;
  const rnd = (k: number) => {
    x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
    return (x >>> 8) % k;
  };
  const filler = ['alpha', 'beta', 'gamma', 'delta', 'konto', 'buchung', 'saldo', word];
  const words = (k: number) => Array.from({ length: k }, () => filler[rnd(filler.length)]!).join(' ');
  return Array.from({ length: n }, (_, i) => ({
    docId: `${word}-${seed}-${i}`,
    language: 'eng' as AnalyserLanguage,
    fields: {
      title: `${words(1 + rnd(4))}${rnd(3) === 0 ? ` ${word}` : ''}`,
      body: [`${words(rnd(40))} ${`${word} `.repeat(rnd(30))}${words(rnd(200))}`],
      ...(rnd(4) === 0 ? { subject: `${`${word} `.repeat(rnd(3))}${words(3)}` } : {}),
      ...(rnd(5) === 0 ? { fileName: `${word}-${i}.pdf` } : {}),
      ...(rnd(6) === 0 ? { sender: `${words(2)} ${word}` } : {}),
    },
  }));
}

function hashOf(h: Hash, v: unknown): void {
  h.update(JSON.stringify(v));
  h.update('\n');
}

let dir: ReturnType<typeof tempDir>;
let root: RootDatabase;

beforeAll(async () => {
  dir = tempDir('archivar-merge-identity-');
  root = open({ path: dir.path });
  await testCipher.ready('t');
  await testCipher.ready('u');
});
afterAll(async () => {
  await root.close();
  dir.cleanup();
});

/** Writes one segment of `docs` (with values for every other document) and lists it. */
async function addSegment(store: IndexStore, id: number, docs: readonly IndexDoc[], t = 't'): Promise<void> {
  const builder = new SegmentBuilder();
  for (const d of docs) builder.addDocument(d, 'deu+eng');
  const built = finishSegment(builder);
  await root.transaction(() => {
    writeBuiltSegment(store, t, id, built);
    putSegmentValues(
      store,
      t,
      id,
      docs.map((d) => d.docId),
      docs.map((d, i) => (i % 2 === 0 ? { tags: [`tag-${i % 7}`], n: i, id: d.docId } : null)),
    );
    store.meta.put([t, 'seg', id], { id, uid: `uid-${id}`, docs: docs.length, deleted: 0 });
  });
}

/** Tombstones local docs of a segment, as a delete does (its id entry goes). */
async function deleteDocs(store: IndexStore, id: number, locals: readonly number[], t = 't'): Promise<void> {
  await root.transaction(() => {
    const meta = store.meta.get([t, 'seg', id]) as SegmentMeta;
    const bits = new Uint8Array(Math.ceil(meta.docs / 8));
    for (const local of locals) {
      bits[local >>> 3]! |= 1 << (local & 7);
      const rec = store.doc(t, id, local)!;
      store.ids.remove([t, rec.id]);
    }
    store.deletes.put([t, id], toBuffer(bits));
    store.meta.put([t, 'seg', id], { ...meta, deleted: locals.length });
  });
}

/** Everything of segment `id` and the tenant's ids, as plaintext. */
function segmentDigest(store: IndexStore, id: number, t = 't'): { digest: string; counts: Record<string, number> } {
  const h = createHash('sha256');
  const counts: Record<string, number> = {};
  const sealed: SealedDb[] = ['dirs', 'terms', 'positions', 'large', 'docs', 'values'];
  for (const db of sealed) {
    counts[db] = 0;
    for (const { key, value } of store[db].getRange({ start: [t, id], end: [t, id, RANGE_END] })) {
      hashOf(h, [db, key, store.open(db, key as Key, value).toString('base64')]);
      counts[db]++;
    }
  }
  for (const db of ['norms', 'deletes'] as const) {
    const v = store[db].getBinary([t, id]);
    hashOf(h, [db, v === undefined ? null : Buffer.from(v).toString('base64')]);
  }
  for (const { key, value } of store.ids.getRange({ start: [t], end: [t, RANGE_END] })) hashOf(h, ['ids', key, value]);
  return { digest: h.digest('hex'), counts };
}

describe('merge identity', () => {
  it('merges segments with deletes into the same segment as before', async () => {
    const store = new IndexStore(root, testCipher);
    const corpus = corpusDocs(0, 3040);
    // Sources: hand documents in three segments (the last deleted whole), then three of 1000 corpus documents.
    await addSegment(store, 1, HAND_DOCS.slice(0, 5));
    await addSegment(store, 2, [...HAND_DOCS.slice(5, 9), ...corpus.slice(0, 40)]);
    await addSegment(store, 3, HAND_DOCS.slice(9));
    for (let s = 0; s < 3; s++) await addSegment(store, 4 + s, corpus.slice(40 + s * 1000, 40 + (s + 1) * 1000));
    await addSegment(store, 7, ledgerDocs(1, 5000));
    await addSegment(store, 8, ledgerDocs(2, 4500));
    await root.transaction(() =>
      store.meta.put(['t', 'stats'], { docs: 0, lengthSum: new Array<number>(NUM_FIELDS).fill(0), nextSegmentId: 9 }),
    );
    await deleteDocs(store, 1, [1]);
    await deleteDocs(store, 3, [0, 1]);
    await deleteDocs(store, 4, [0, 5, 127, 128, 500, 999]);
    await deleteDocs(
      store,
      5,
      Array.from({ length: 1000 }, (_, i) => i).filter((i) => i % 7 === 3),
    );
    await deleteDocs(
      store,
      7,
      Array.from({ length: 5000 }, (_, i) => i).filter((i) => i % 11 === 0 || (i >= 1200 && i < 1500)),
    );

    // "ledger" (and more in 7) is large in both of its sources (and in the merged segment, below).
    expect([7, 8].map((id) => [...store.large.getKeys({ start: ['t', id], end: ['t', id + 1] })].length)).toEqual([8, 1]);
    // Small chunks: the new segment is written in many transactions.
    const merged = await mergeSegments(store, 't', listSegments(store, 't'), { chunkBytes: 256 * 1024 });
    expect(merged).not.toBe('stale');
    const seg = merged as SegmentMeta;
    expect({ id: seg.id, docs: seg.docs, deleted: seg.deleted }).toEqual({ id: 9, docs: 11671, deleted: 0 });
    expect(listSegments(store, 't').map((s) => s.id)).toEqual([9]);
    const { digest, counts } = segmentDigest(store, 9);
    expect(counts).toEqual({ dirs: 1, terms: 525, positions: 88, large: 8, docs: 11671, values: 92 });
    expect(digest).toBe('d857ba51fc6508502cdcda6c8b19f95fee06a03c9766a926cb207207c945a4a8');
  }, 120_000);

  it('merges a term of one source, many blocks long, with and without deletes, as before', async () => {
    const store = new IndexStore(root, testCipher);
    // "ledger" only in segment 2 (no deletes, large), "journal" only in segment 3 (with deletes).
    await addSegment(store, 1, HAND_DOCS, 'u');
    await addSegment(store, 2, ledgerDocs(3, 5000), 'u');
    await addSegment(store, 3, ledgerDocs(4, 1500, 'journal'), 'u');
    await root.transaction(() =>
      store.meta.put(['u', 'stats'], { docs: 0, lengthSum: new Array<number>(NUM_FIELDS).fill(0), nextSegmentId: 4 }),
    );
    await deleteDocs(store, 1, [3], 'u');
    await deleteDocs(
      store,
      3,
      Array.from({ length: 1500 }, (_, i) => i).filter((i) => i % 13 === 1),
      'u',
    );
    const merged = await mergeSegments(store, 'u', listSegments(store, 'u'));
    const seg = merged as SegmentMeta;
    expect({ id: seg.id, docs: seg.docs, deleted: seg.deleted }).toEqual({ id: 4, docs: 6394, deleted: 0 });
    expect(lookupTerm(store, 'u', 4, 'ledger')!.postings.length).toBeGreaterThan(LARGE_BYTES);
    expect(lookupTerm(store, 'u', 4, 'journal')!.postings.length).toBeGreaterThan(BLOCK_SIZE);
    const { digest, counts } = segmentDigest(store, 4, 'u');
    expect(counts).toEqual({ dirs: 1, terms: 31, positions: 41, large: 8, docs: 6394, values: 50 });
    expect(digest).toBe('ad924dcfd7233774b9ac98df3bc5cfbd782d45363d5b5fe3702b181f43716a00');
  }, 120_000);
});
