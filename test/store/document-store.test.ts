import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isSealedFormatError, type RecordCipher, recordCipherFromSecret } from '../../src/crypto/index.js';
import { type DocumentRecord, DocumentStore } from '../../src/store/document-store.js';
import type { Store } from '../../src/store/index.js';
import { openTestStore } from '../helpers/test-store.js';

/** Every marker found in a file under `dir` (as UTF-8 bytes). */
function markersOnDisk(dir: string, markers: string[]): string[] {
  const hits: string[] = [];
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const bytes = fs.readFileSync(path.join(entry.parentPath, entry.name));
    for (const m of markers) if (bytes.includes(Buffer.from(m, 'utf8'))) hits.push(m);
  }
  return hits;
}

function record(tenantId: string, id: string, over: Partial<DocumentRecord> = {}): DocumentRecord {
  return {
    id,
    tenantId,
    parentId: null,
    children: [],
    fileName: `${id}.pdf`,
    declaredMediaType: 'application/pdf',
    mediaType: 'application/pdf',
    contentId: createHash('sha256').update(id).digest('hex'),
    size: 1234,
    storedSize: 1300,
    status: 'INDEXED',
    statusReason: '',
    source: 'upload',
    tags: [],
    createdMs: 1_700_000_000_000,
    updatedMs: 1_700_000_000_000,
    uploadedBy: 'u1',
    idempotencyKey: '',
    header: Buffer.from([1, 2, 3, 4]),
    jobId: null,
    metadata: {},
    artifacts: ['text'],
    ...over,
  };
}

describe('DocumentStore: records sealed at rest', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  async function open(): Promise<{ store: Store; dir: string; docs: DocumentStore; cipher: RecordCipher }> {
    const t = openTestStore();
    close = t.close;
    const cipher = recordCipherFromSecret();
    await cipher.ready('t1');
    await cipher.ready('t2');
    return { store: t.store, dir: t.dir, docs: new DocumentStore(t.store, cipher), cipher };
  }

  it('writes no file name, tag, metadata, reason, idempotency key or content id to disk; get, list and lookups work', async () => {
    const { store, dir, docs } = await open();
    const m = `mk${Math.random().toString(36).slice(2, 10)}`;
    const contentId = createHash('sha256').update(`${m}-content`).digest('hex');
    const doc = record('t1', 'doc_a', {
      fileName: `Rechnung-${m}-file.pdf`,
      tags: [`${m}-tag`, 'steuer'],
      statusReason: `${m}-reason`,
      idempotencyKey: `${m}-idem`,
      contentId,
      metadata: {
        title: `${m}-title`,
        from: `${m}-sender@example.test`,
        subject: `${m}-subject`,
        recognized: [
          { kind: 'iban', value: `DE89370400440532013000${m}` },
          { kind: 'amount', value: `1.234,56 EUR ${m}` },
          { kind: 'invoice', value: `RE-${m}-0042` },
        ],
      },
    });
    const other = record('t1', 'doc_b', { createdMs: doc.createdMs + 1, tags: ['steuer'] });
    await store.root.transaction(() => {
      docs.insertSync(doc);
      docs.insertSync(other);
      docs.insertSync(record('t2', 'doc_c'));
      // Control: the same marker written in the clear elsewhere is found by the scan.
      store.db('meta').putSync('control', `${m}-control`);
    });
    await store.flushed();

    const markers = [
      `${m}-file`,
      `${m}-tag`,
      `${m}-reason`,
      `${m}-idem`,
      `${m}-title`,
      `${m}-sender`,
      `${m}-subject`,
      `DE89370400440532013000${m}`,
      `RE-${m}-0042`,
      contentId,
    ];
    expect(markersOnDisk(dir, [...markers, `${m}-control`])).toEqual([`${m}-control`]);

    expect(docs.get('t1', 'doc_a')).toEqual(doc);
    expect(docs.byIdempotencyKey('t1', `${m}-idem`)?.id).toBe('doc_a');
    expect(docs.byContentId('t1', contentId)?.id).toBe('doc_a');
    // Lookups are per tenant: another tenant's blind keys differ.
    expect(docs.byIdempotencyKey('t2', `${m}-idem`)).toBeUndefined();
    expect(docs.byContentId('t2', contentId)).toBeUndefined();
    expect(docs.list('t1', {}, 10, null).documents.map((d) => d.id)).toEqual(['doc_b', 'doc_a']);
    expect(docs.list('t1', { tag: `${m}-tag` }, 10, null).documents.map((d) => d.id)).toEqual(['doc_a']);
    const page1 = docs.list('t1', {}, 1, null);
    expect([page1.documents.map((d) => d.id), page1.more]).toEqual([['doc_b'], true]);
    expect(docs.list('t1', {}, 1, page1.last).documents.map((d) => d.id)).toEqual(['doc_a']);
    expect([...docs.tenants()]).toEqual(['t1', 't2']);

    // Removing a record removes its blinded lookups too.
    await store.root.transaction(() => docs.removeSync(doc));
    expect(docs.byIdempotencyKey('t1', `${m}-idem`)).toBeUndefined();
    expect(docs.byContentId('t1', contentId)).toBeUndefined();
    // Only doc_b's content lookup is left of tenant t1's lookups.
    expect([...store.db('documentKeys').getKeys({ start: ['t1'], end: ['t1', '\uffff'] })]).toHaveLength(1);
  });

  it('refuses a tampered record, a record moved to another key, and a tenant whose keys are not loaded', async () => {
    const { store, docs, cipher } = await open();
    await store.root.transaction(() => {
      docs.insertSync(record('t1', 'doc_a'));
      docs.insertSync(record('t1', 'doc_b'));
    });
    const raw = store.db<Buffer>('documents');
    const sealed = raw.get(['t1', 'doc_a']) as Buffer;
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 20] = (flipped[flipped.length - 20] ?? 0) ^ 0x01;
    await raw.put(['t1', 'doc_a'], flipped);
    const err = (() => {
      try {
        docs.get('t1', 'doc_a');
      } catch (e) {
        return e;
      }
    })();
    expect(isSealedFormatError(err) && err.kind).toBe('authentication-failed');
    // The list stops at it instead of skipping it silently.
    expect(() => docs.list('t1', {}, 10, null)).toThrow(/failed authentication/);

    // doc_b's (valid) value under doc_a's key: bound to its own key, so it does not open there.
    await raw.put(['t1', 'doc_a'], raw.get(['t1', 'doc_b']) as Buffer);
    expect(() => docs.get('t1', 'doc_a')).toThrow(/failed authentication/);

    // Not sealed at all (e.g. an old clear msgpack record): refused, not misread.
    await raw.put(['t1', 'doc_a'], Buffer.from([0x82, 0xa1, 0x61, 0x01]));
    expect(() => docs.get('t1', 'doc_a')).toThrow(/not sealed in a known format/);

    cipher.forget('t1');
    expect(() => docs.get('t1', 'doc_b')).toThrow(/not loaded/);
    expect(() => docs.byIdempotencyKey('t1', 'k')).toThrow(/not loaded/);
  });

  it('erases a tenant without its keys: records, lookups and timeline as key ranges, in bounded batches', async () => {
    const { store, docs, cipher } = await open();
    await store.root.transaction(() => {
      for (let i = 0; i < 25; i++) docs.insertSync(record('t1', `doc_${i}`, { idempotencyKey: `k${i}`, createdMs: i }));
      docs.insertSync(record('t2', 'doc_keep', { idempotencyKey: 'k0' }));
    });
    cipher.forget('t1'); // crypto-shredded: nothing of t1 can be opened any more
    let batches = 0;
    for (;;) {
      const n = await store.root.transaction(() => docs.removeTenantSync('t1', 10));
      batches++;
      if (n < 10) break;
    }
    // 25 records + 25 idempotency + 25 content lookups + 25 timeline entries = 100 keys.
    expect(batches).toBe(11);
    for (const name of ['documents', 'documentKeys', 'documentTimeline'] as const) {
      expect([...store.db(name).getKeys({ start: ['t1'], end: ['t1', '\uffff'] })], name).toEqual([]);
    }
    expect(docs.get('t2', 'doc_keep')?.id).toBe('doc_keep');
    expect(docs.byIdempotencyKey('t2', 'k0')?.id).toBe('doc_keep');
    expect([...docs.tenants()]).toEqual(['t2']);
  });
});
