import { describe, expect, it } from 'vitest';
import { wordsFromTsv } from '../../src/pipeline/ocr.js';

describe('OCR word boxes from TSV', () => {
  it('parses word rows (level 5) and skips layout rows, empty and malformed ones', () => {
    const tsv = [
      '1\t1\t0\t0\t0\t0\t0\t0\t900\t230\t-1\t',
      '2\t1\t1\t0\t0\t0\t12\t10\t870\t200\t-1\t',
      '4\t1\t1\t1\t1\t0\t12\t10\t870\t60\t-1\t',
      '5\t1\t1\t1\t1\t1\t12\t10\t150\t40\t96.473312\tMüller,',
      '5\t1\t1\t1\t1\t2\t170\t12\t140\t38\t91.2\tPrüfung',
      '5\t1\t1\t1\t1\t3\t320\t12\t10\t38\t12.0\t ',
      '5\t1\t1\t1\t1\t4\tx\t12\t10\t38\t50\tbad',
      '',
    ].join('\n');
    expect(wordsFromTsv(tsv)).toEqual([
      { text: 'Müller,', x: 12, y: 10, w: 150, h: 40, confidence: 96.5 },
      { text: 'Prüfung', x: 170, y: 12, w: 140, h: 38, confidence: 91.2 },
    ]);
  });
});
