/**
 * Where the OCR models come from: the npm packages @tesseract.js-data/{deu,eng} (LSTM "best_int") and
 * @tesseract.js-data/osd (orientation detection). Apart from ocr.ts so that the server can check them at
 * start without loading tesseract.js.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The languages OCR reads, each from its npm package's model. */
export type OcrLanguage = 'deu' | 'eng';

const require = createRequire(import.meta.url);

/** Folder of a language's LSTM-only "best_int" model inside its npm package. */
export function traineddataPath(lang: OcrLanguage): string {
  const pkgDir = path.dirname(require.resolve(`@tesseract.js-data/${lang}/package.json`));
  return path.join(pkgDir, '4.0.0_best_int', `${lang}.traineddata.gz`);
}

/** The orientation and script detection model (legacy engine) of @tesseract.js-data/osd. */
export function osdTraineddataPath(): string {
  const pkgDir = path.dirname(require.resolve('@tesseract.js-data/osd/package.json'));
  return path.join(pkgDir, '4.0.0', 'osd.traineddata.gz');
}

/**
 * Every OCR model file (the languages' and orientation detection's), checked at server start: a missing one
 * is a broken install, which would otherwise surface only as failed or garbled OCR of the first scans.
 */
export function checkOcrModels(files?: readonly string[]): void {
  let list: readonly string[];
  try {
    list = files ?? [traineddataPath('deu'), traineddataPath('eng'), osdTraineddataPath()];
  } catch (err) {
    // require.resolve of a package that is not installed.
    throw new Error(
      `OCR model package missing (reinstall the dependencies: npm ci): ${String((err as Error).message).split('\n')[0]}`,
    );
  }
  for (const file of list)
    if (!existsSync(file)) throw new Error(`OCR model missing: ${file} (reinstall the dependencies: npm ci)`);
}
