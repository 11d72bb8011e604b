/**
 * Width and ascent of a line of text exactly as pdfmake will set it: pdfmake measures text with
 * pdfkit's widthOfString and sets a one-font line with its baseline one font ascender below the
 * line's top (pdfmake Renderer.renderLine). Measured on a pdfkit document of pdfmake's own pdfkit
 * that is never written, with the same font file, so the shaping (and the shared layout cache of
 * shared-font-cache.ts) is the same.
 */
import { createRequire } from "node:module";

export interface TextMetrics {
  widthPt(text: string, sizePt: number): number;
  ascenderPt(sizePt: number): number;
}

interface PdfKitDocument {
  font(src: string): PdfKitDocument;
  fontSize(sizePt: number): PdfKitDocument;
  widthOfString(text: string): number;
  /** the current font: pdfmake reads `ascender` (per 1000 em) from the same object */
  _font: { ascender: number };
}

export function createTextMetrics(fontFile: string): TextMetrics {
  const fromPdfmake = createRequire(createRequire(import.meta.url).resolve("pdfmake"));
  const PDFDocument = fromPdfmake("pdfkit") as new (options: object) => PdfKitDocument;
  const doc = new PDFDocument({ autoFirstPage: false }).font(fontFile);
  return {
    widthPt: (text, sizePt) => doc.fontSize(sizePt).widthOfString(text),
    ascenderPt: (sizePt) => (doc._font.ascender / 1000) * sizePt,
  };
}
