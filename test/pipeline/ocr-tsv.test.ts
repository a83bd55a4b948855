import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Tesseract from 'tesseract.js';
import { describe, expect, it } from 'vitest';
import { preprocessForOcr } from '../../src/pipeline/index.js';
import { createOcrEngine, traineddataPath, wordsFromTsv } from '../../src/pipeline/ocr.js';
import { renderTextPng } from '../fixtures/text-image.js';

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

  it('gives the same words, boxes and confidences as the blocks output it replaced', async () => {
    const img = await preprocessForOcr(
      renderTextPng(['Sehr geehrte Frau Müller, die Prüfung', 'ist abgeschlossen. Der Betrag über'], { fontSize: 30 }),
    );
    const engine = await createOcrEngine({ langs: ['deu', 'eng'] });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'archivar-tsv-test-'));
    let worker: Tesseract.Worker | undefined;
    try {
      const ours = await engine.recognize(img.png, { psm: 'block' });
      for (const lang of ['deu', 'eng'] as const) await symlink(traineddataPath(lang), path.join(dir, `${lang}.traineddata.gz`));
      worker = await Tesseract.createWorker(['deu', 'eng'], Tesseract.OEM.LSTM_ONLY, {
        langPath: dir,
        gzip: true,
        cacheMethod: 'none',
        legacyCore: false,
        legacyLang: false,
      });
      await worker.setParameters({ tessedit_pageseg_mode: '6' as Tesseract.PSM, user_defined_dpi: '300' });
      const { data } = await worker.recognize(img.png, {}, { text: true, blocks: true });
      const fromBlocks = (data.blocks ?? []).flatMap((b) =>
        b.paragraphs.flatMap((p) =>
          p.lines.flatMap((l) =>
            l.words
              .filter((w) => w.text.trim())
              .map((w) => ({
                text: w.text.trim(),
                x: w.bbox.x0,
                y: w.bbox.y0,
                w: w.bbox.x1 - w.bbox.x0,
                h: w.bbox.y1 - w.bbox.y0,
                confidence: w.confidence,
              })),
          ),
        ),
      );
      expect(fromBlocks.length).toBeGreaterThan(8);
      // Same words and boxes; the blocks tree carries whole-number confidences, TSV one decimal.
      expect(ours.words.map(({ confidence, ...box }) => box)).toEqual(fromBlocks.map(({ confidence, ...box }) => box));
      for (const [i, w] of ours.words.entries()) {
        expect(Math.abs(w.confidence - (fromBlocks[i]?.confidence ?? -10))).toBeLessThan(1);
      }
    } finally {
      await worker?.terminate();
      await engine.terminate();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
