/**
 * Shares what pdfkit learns about a font between the PDF documents of one process.
 *
 * pdfkit opens every font afresh for every document (fontkit.create on the file bytes) and keeps
 * its word-layout cache on that document's font, so each certificate paid again for decoding
 * Roboto's tables (GSUB/GPOS lookups, cmap, hmtx, loca …: ~20 % of a render) and for shaping
 * every word it prints (fontkit layout: ~17 %) (node --cpu-prof on bench/certificates.bench.ts).
 * Neither pdfmake nor pdfkit accepts a parsed font, and fontkit's exports are read-only, so two
 * class methods are wrapped, keyed by the font's table directory (same tags, checksums, offsets
 * and lengths — the same file):
 *  - fontkit's table getter: fonts of the same file get the same decoded table objects;
 *  - pdfkit's EmbeddedFont.layoutCached (its per-document word cache): a word laid out in the same
 *    font file returns the run laid out before. Runs are read-only downstream (pdfkit copies a
 *    position before changing it for word spacing); the document's own subset and widths are still
 *    filled by its own encode(), in its own order.
 * A table decodes, and a word shapes, to the same value from the same bytes, so the PDF bytes do
 * not change (test/certificates/certificate-pdf.test.ts compares a warm render with a fresh process).
 */
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

interface DirectoryEntry {
  tag: string;
  checkSum: number;
  offset: number;
  length: number;
}

interface FontkitFont {
  directory: { tables: Record<string, DirectoryEntry> };
  _tables: Record<string, unknown>;
}

interface FontkitFontClass {
  prototype: FontkitFont & { _getTable(this: FontkitFont, table: DirectoryEntry): unknown };
}

interface EmbeddedFont {
  font: FontkitFont;
  /** absent when the document was created with fontLayoutCache: false */
  layoutCache?: object;
}

interface EmbeddedFontClass {
  prototype: EmbeddedFont & { layoutCached(this: EmbeddedFont, text: string): unknown };
}

interface PdfKitDocument {
  font(src: string): PdfKitDocument;
  _font: EmbeddedFont;
}

/**
 * Words kept per font file. A certificate prints a few hundred distinct words, most of them the
 * same on every certificate (labels, units, tick values); ids, digests and figures are new each
 * time. When a font's cache is full it is emptied: the output is the same either way.
 */
const MAX_WORDS_PER_FONT = 20_000;

const INSTALLED = Symbol.for("axviam.certificates.sharedFontCache");

/**
 * Installs both caches on the pdfkit (and its fontkit) that pdfmake uses; `sampleFontFile` is
 * any TrueType font (its classes are the ones wrapped). Idempotent.
 */
export function installSharedFontCache(sampleFontFile: string): void {
  const fromPdfmake = createRequire(createRequire(import.meta.url).resolve("pdfmake"));
  const pdfkitPath = fromPdfmake.resolve("pdfkit");
  const fontkit = createRequire(pdfkitPath)("fontkit") as { create(buffer: Uint8Array): object };
  const PDFDocument = fromPdfmake("pdfkit") as new (options: object) => PdfKitDocument;
  const fontClass = fontkit.create(readFileSync(sampleFontFile)).constructor as unknown as FontkitFontClass & { [INSTALLED]?: true };
  if (fontClass[INSTALLED]) return;
  fontClass[INSTALLED] = true;
  const embeddedFontClass = new PDFDocument({ autoFirstPage: false }).font(sampleFontFile)._font.constructor as unknown as EmbeddedFontClass;

  const keys = new WeakMap<FontkitFont, string>();
  const fileKey = (font: FontkitFont) => {
    let key = keys.get(font);
    if (key === undefined) {
      key = Object.values(font.directory.tables)
        .map((t) => `${t.tag}:${t.checkSum}:${t.offset}:${t.length}`)
        .sort()
        .join(",");
      keys.set(font, key);
    }
    return key;
  };

  const tablesByFile = new Map<string, Map<string, unknown>>();
  const decode = fontClass.prototype._getTable;
  fontClass.prototype._getTable = function (this: FontkitFont, table: DirectoryEntry): unknown {
    const key = fileKey(this);
    let tables = tablesByFile.get(key);
    if (!tables) tablesByFile.set(key, (tables = new Map()));
    if (!tables.has(table.tag)) tables.set(table.tag, decode.call(this, table));
    const value = tables.get(table.tag);
    this._tables[table.tag] = value;
    return value;
  };

  const runsByFile = new Map<string, Map<string, unknown>>();
  const layoutCached = embeddedFontClass.prototype.layoutCached;
  embeddedFontClass.prototype.layoutCached = function (this: EmbeddedFont, text: string): unknown {
    // a document that opted out of pdfkit's layout cache keeps its uncached behaviour
    if (!this.layoutCache) return layoutCached.call(this, text);
    const key = fileKey(this.font);
    let runs = runsByFile.get(key);
    if (!runs) runsByFile.set(key, (runs = new Map()));
    let run = runs.get(text);
    if (run === undefined) {
      if (runs.size >= MAX_WORDS_PER_FONT) runs.clear();
      run = layoutCached.call(this, text);
      runs.set(text, run);
    }
    return run;
  };
}
