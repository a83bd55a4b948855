import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openBuffer, sealBuffer } from '../../src/crypto/index.js';
import { TextCache } from '../../src/documents/text-cache.js';

const tenantKey = { keyId: '0123456789abcdef0123456789abcdef', key: randomBytes(32) };
const binding = (tenantId: string, id: string) => ({ tenantId, documentId: id, kind: 'text' as const });

/** An opener that finishes only when released (a slow key unwrap, e.g. a master key in a KMS). */
function gated(t: ReturnType<typeof stored>) {
  let release = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  return {
    open: async () => {
      await gate;
      return t.open();
    },
    release,
  };
}

/** A text sealed as the server stores it, and an opener that counts its calls and keeps what it handed out. */
function stored(tenantId: string, id: string, pages: string[]) {
  const sealed = sealBuffer(pages.join('\f'), { tenantKey, context: binding(tenantId, id) });
  const opened: Buffer[] = [];
  const open = async () => {
    const plain = openBuffer(
      sealed,
      { tenantKey, binding: binding(tenantId, id) },
      { maxPlaintextBytes: 1 << 20, context: binding(tenantId, id) },
    );
    opened.push(plain);
    return { identity: sealed, plain };
  };
  return { sealed, open, opened };
}

describe('TextCache', () => {
  it('opens a text once and decodes only the pages asked for', async () => {
    const cache = new TextCache(1 << 20);
    const t = stored('t1', 'd1', ['erste Seite: Müller', 'zweite Seite', 'dritte Seite: Rechnung']);
    expect(await cache.pages('t1', 'd1', t.sealed, t.open, new Set([2]))).toEqual(['', '', 'dritte Seite: Rechnung']);
    expect(await cache.pages('t1', 'd1', t.sealed, t.open, new Set([0, 2]))).toEqual([
      'erste Seite: Müller',
      '',
      'dritte Seite: Rechnung',
    ]);
    expect(await cache.pages('t1', 'd1', t.sealed, t.open)).toEqual([
      'erste Seite: Müller',
      'zweite Seite',
      'dritte Seite: Rechnung',
    ]);
    expect(t.opened).toHaveLength(1);
  });

  it('opens the text again once it was sealed anew (reprocessed), and serves the new one', async () => {
    const cache = new TextCache(1 << 20);
    const before = stored('t1', 'd1', ['alte Fassung']);
    const after = stored('t1', 'd1', ['neue Fassung']);
    expect(await cache.pages('t1', 'd1', before.sealed, before.open)).toEqual(['alte Fassung']);
    expect(await cache.pages('t1', 'd1', after.sealed, after.open)).toEqual(['neue Fassung']);
    expect(after.opened).toHaveLength(1);
    // The replaced plaintext was wiped when it left.
    expect(before.opened[0]!.every((b) => b === 0)).toBe(true);
    expect(await cache.pages('t1', 'd1', after.sealed, after.open)).toEqual(['neue Fassung']);
    expect(after.opened).toHaveLength(1);
  });

  it('forgets a deleted document and an erased tenant (plaintext wiped), and keeps other tenants', async () => {
    const cache = new TextCache(1 << 20);
    const a1 = stored('tA', 'd1', ['Vertrag A1']);
    const a2 = stored('tA', 'd2', ['Vertrag A2']);
    const b1 = stored('tB', 'd1', ['Vertrag B1']);
    for (const [tenant, id, t] of [
      ['tA', 'd1', a1],
      ['tA', 'd2', a2],
      ['tB', 'd1', b1],
    ] as const)
      await cache.pages(tenant, id, t.sealed, t.open);
    expect(cache.size).toBe(3);

    cache.delete('tA', 'd1');
    expect(a1.opened[0]!.every((b) => b === 0)).toBe(true);
    expect(cache.size).toBe(2);

    cache.dropTenant('tA');
    expect(a2.opened[0]!.every((b) => b === 0)).toBe(true);
    expect(cache.size).toBe(1);
    expect(await cache.pages('tB', 'd1', b1.sealed, b1.open)).toEqual(['Vertrag B1']);
    expect(b1.opened).toHaveLength(1);

    expect(await cache.pages('tA', 'd2', a2.sealed, a2.open)).toEqual(['Vertrag A2']);
    expect(a2.opened).toHaveLength(2);
  });

  it('keeps at most its bound, dropping the least recently used', async () => {
    const page = 'x'.repeat(1000);
    // Each entry counts three times its plaintext (bytes and decoded pages) and 512 bytes: room for two of three.
    const cache = new TextCache(7500);
    const texts = [0, 1, 2].map((i) => stored('t1', `d${i}`, [page + i]));
    await cache.pages('t1', 'd0', texts[0]!.sealed, texts[0]!.open);
    await cache.pages('t1', 'd1', texts[1]!.sealed, texts[1]!.open);
    await cache.pages('t1', 'd0', texts[0]!.sealed, texts[0]!.open);
    await cache.pages('t1', 'd2', texts[2]!.sealed, texts[2]!.open);
    expect(cache.size).toBe(2);
    expect(texts[1]!.opened[0]!.every((b) => b === 0)).toBe(true);
    await cache.pages('t1', 'd0', texts[0]!.sealed, texts[0]!.open);
    expect(texts[0]!.opened).toHaveLength(1);
    expect(await cache.pages('t1', 'd1', texts[1]!.sealed, texts[1]!.open)).toEqual([page + 1]);
    expect(texts[1]!.opened).toHaveLength(2);
  });

  it('with no memory, opens every time and wipes the plaintext after decoding', async () => {
    const cache = new TextCache(0);
    const t = stored('t1', 'd1', ['eins', 'zwei']);
    expect(await cache.pages('t1', 'd1', t.sealed, t.open, new Set([1]))).toEqual(['', 'zwei']);
    expect(await cache.pages('t1', 'd1', t.sealed, t.open)).toEqual(['eins', 'zwei']);
    expect(t.opened).toHaveLength(2);
    expect(t.opened.every((p) => p.every((b) => b === 0))).toBe(true);
    expect(cache.size).toBe(0);
  });

  it('does not keep a text whose document was deleted, or whose tenant was erased, while it was being opened', async () => {
    const cache = new TextCache(1 << 20);
    for (const forget of [() => cache.delete('t1', 'd1'), () => cache.dropTenant('t1')]) {
      const t = stored('t1', 'd1', ['Geheimvertrag']);
      const g = gated(t);
      const pages = cache.pages('t1', 'd1', t.sealed, g.open);
      forget();
      g.release();
      expect(await pages).toEqual(['Geheimvertrag']);
      expect(cache.has('t1', 'd1')).toBe(false);
      expect(t.opened[0]!.every((b) => b === 0)).toBe(true);
    }
  });

  it('wipes a text too large to be kept, and keeps tenants whose ids share a prefix apart', async () => {
    const cache = new TextCache(4000);
    const big = stored('t1', 'd1', ['y'.repeat(1200)]);
    expect(await cache.pages('t1', 'd1', big.sealed, big.open)).toEqual(['y'.repeat(1200)]);
    expect(cache.size).toBe(0);
    expect(big.opened[0]!.every((b) => b === 0)).toBe(true);

    const t1 = stored('t1', 'd1', ['eins']);
    const t10 = stored('t10', 'd1', ['zehn']);
    await cache.pages('t1', 'd1', t1.sealed, t1.open);
    await cache.pages('t10', 'd1', t10.sealed, t10.open);
    cache.dropTenant('t1');
    expect(cache.has('t1', 'd1')).toBe(false);
    expect(cache.has('t10', 'd1')).toBe(true);
  });
});
