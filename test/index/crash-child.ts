/**
 * Child process of crash.test.ts: indexes batches in a loop (with deletes and merges) against an LMDB
 * directory and reports on stdout what has committed, until it is killed.
 *   tsx crash-child.ts <dir> <firstBatch>
 */
import { open } from 'lmdb';
import { SearchIndex } from '../../src/index/index.js';
import { testCipher } from '../helpers/index-cipher.js';

const [dir, first] = process.argv.slice(2);
const root = open({ path: dir! });
const idx = new SearchIndex(root, { cipher: testCipher, autoMerge: true, mergePolicy: { mergeFactor: 3 } });
const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'rechnung', 'vertrag', 'mahnung', 'konto'];
let seed = Number(first) * 7919 + 1;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const text = (n: number) => Array.from({ length: n }, () => words[Math.floor(rnd() * words.length)]).join(' ');

for (let b = Number(first); ; b++) {
  const docs = Array.from({ length: 40 }, (_, i) => ({
    docId: `b${b}-${i}`,
    fields: { title: `batch${b}`, body: [`batch${b} ${text(50 + Math.floor(rnd() * 400))}`] },
  }));
  await idx.addDocuments('t', docs);
  process.stdout.write(`committed ${b}\n`);
  if (b % 3 === 0) {
    const victim = `b${b - 1}-${Math.floor(rnd() * 40)}`;
    // Announced first: a kill after the delete commits but before "deleted" is printed leaves it either way.
    process.stdout.write(`deleting ${victim}\n`);
    if (await idx.deleteDocument('t', victim)) process.stdout.write(`deleted ${victim}\n`);
  }
  if (b % 7 === 0) await idx.merge({ tenantId: 't', force: true });
}
