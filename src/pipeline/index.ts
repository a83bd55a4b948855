// Public API of the pipeline: pure stages over bytes and strings (no gRPC, no LMDB, no threads of ours).

export { isPipelineError, PipelineError, type PipelineErrorKind } from './errors.js';
export { type ExifInfo, parseExif } from './exif.js';
export {
  type DocumentMetadata,
  type ExtractedChild,
  type ExtractedDocument,
  type ExtractedPage,
  type ExtractOptions,
  type ExtractProgress,
  type ExtractStep,
  extractDocument,
} from './extract.js';
export { type HtmlText, htmlToText } from './html.js';
export {
  chooseScale,
  type ImageInfo,
  imageInfo,
  imagePagesForOcr,
  type OcrImage,
  preprocessForOcr,
  scanDensity,
} from './image.js';
export { type DocumentLanguage, detectLanguage, type LanguageGuess } from './language.js';
export { DEFAULT_LIMITS, type PipelineLimits, resolveLimits } from './limits.js';
export {
  DEFAULT_MAIL_LIMITS,
  type EmailAttachment,
  type MailLimits,
  type ParsedEmail,
  type ParseEmailOptions,
  parseEmail,
} from './mail.js';
export {
  chooseSegmentation,
  createOcrEngine,
  type OcrEngine,
  type OcrLanguage,
  type OcrPageResult,
  type OcrWord,
  type OrientationGuess,
  type SegmentationMode,
} from './ocr.js';
export { checkOcrModels, osdTraineddataPath, traineddataPath } from './ocr-models.js';
export { mergeTileWords, recognizeTiled, TILE_OVERLAP, TILE_SIDE, type Tile, textFromWords, tilesAlong } from './ocr-tiles.js';
export {
  looksUpright,
  type PageTurn,
  recognizeUpright,
  turnedSize,
  turnPng,
  type UprightOcr,
} from './orientation.js';
export {
  assessText,
  type OpenPdf,
  openPdf,
  orderText,
  type PdfMetadata,
  type PdfOpenResult,
  type PdfPageText,
  type RenderedPage,
  type TextRun,
} from './pdf.js';
export {
  type DocumentPreviews,
  imagePreviews,
  PAGE_PREVIEW_WIDTH,
  type PageSizePt,
  type PreviewImage,
  type PreviewOptions,
  pdfPagePreview,
  pdfPreviews,
  previewFromImage,
  renderPdfPagePng,
  THUMBNAIL_WIDTH,
} from './preview.js';
export {
  isValidIban,
  parseAmountNumber,
  type Recognition,
  type RecognizedKind,
  type RecognizedValue,
  type RecognizeOptions,
  recognizeValues,
} from './recognize.js';
export { buildSearchablePdf, type SearchablePage, type SearchablePdfOptions, toWinAnsi } from './searchable-pdf.js';
export { type ImageFormat, type SniffedKind, type SniffResult, sniff } from './sniff.js';
export { type DecodedText, decodeText, detectEncoding, looksLikeText, type TextEncodingName } from './text.js';
export { extractZip, listZip, readZipEntry, type ZipEntry, type ZipLimits, type ZipMember } from './zip.js';
