/**
 * Shares what pdfkit learns about a font between the PDF documents of one process.
 *
 * pdfkit opens every font afresh for every document (fontkit.create on the file bytes), keeps its
 * word-layout cache on that document's font and encodes that document's font subset, so each
 * certificate paid again for decoding Roboto's tables (GSUB/GPOS lookups, cmap, hmtx, loca …: ~20 %
 * of a render), for shaping every word it prints (fontkit layout: ~17 %) and for encoding its
 * subsets (~10 %) (node --cpu-prof on bench/certificates.bench.ts). Neither pdfmake nor pdfkit
 * accepts a parsed font, and fontkit's exports are read-only, so three class methods are wrapped,
 * keyed by the font's table directory (same tags, checksums, offsets and lengths — the same file):
 *  - fontkit's table getter: fonts of the same file get the same decoded table objects;
 *  - pdfkit's EmbeddedFont.layoutCached (its per-document word cache): a word laid out in the same
 *    font file returns the run laid out before. Runs are read-only downstream (pdfkit copies a
 *    position before changing it for word spacing); the document's own subset and widths are still
 *    filled by its own encode(), in its own order. The first layout of a document's font first
 *    encodes the font's repertoire, if one is given (SharedFontCacheOptions);
 *  - fontkit's subset encoder: a subset with the same glyphs in the same order returns the bytes
 *    encoded before.
 * A table decodes, a word shapes and a subset encodes to the same value from the same bytes, so the
 * PDF bytes do not depend on what the process rendered before (test/certificates/certificate-pdf.test.ts
 * verifies a warm render in a fresh process).
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

interface EmbeddedFontEncoding extends EmbeddedFont {
  encode(text: string): unknown;
}

interface FontkitSubset {
  font: FontkitFont;
  glyphs: number[];
}

interface FontkitSubsetClass {
  prototype: FontkitSubset & { encode(this: FontkitSubset): Uint8Array };
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

/** Encoded subsets kept: one per font and glyph list, and with a repertoire the lists rarely differ. */
const MAX_SUBSETS = 64;

const INSTALLED = Symbol.for("axviam.certificates.sharedFontCache");

export interface SharedFontCacheOptions {
  /**
   * Per font file: characters every document's embedded subset of that font starts with, in this
   * order, whether printed or not. A subset's glyph order is the order of first use, so without it
   * two documents with different serials or signatures embed different subsets; with the printed
   * repertoire first, they embed the same one, which is then encoded once per process instead of
   * once per document. Every extra glyph costs PDF bytes: list what the documents print.
   */
  subsetRepertoires?: Record<string, string>;
}

/**
 * Installs both caches on the pdfkit (and its fontkit) that pdfmake uses; `sampleFontFile` is
 * any TrueType font (its classes are the ones wrapped). Idempotent.
 */
export function installSharedFontCache(sampleFontFile: string, options: SharedFontCacheOptions = {}): void {
  const fromPdfmake = createRequire(createRequire(import.meta.url).resolve("pdfmake"));
  const pdfkitPath = fromPdfmake.resolve("pdfkit");
  const fontkit = createRequire(pdfkitPath)("fontkit") as { create(buffer: Uint8Array): object };
  const PDFDocument = fromPdfmake("pdfkit") as new (options: object) => PdfKitDocument;
  const sample = fontkit.create(readFileSync(sampleFontFile)) as { createSubset(): object };
  const fontClass = sample.constructor as unknown as FontkitFontClass & { [INSTALLED]?: true };
  if (fontClass[INSTALLED]) return;
  fontClass[INSTALLED] = true;
  const subsetClass = sample.createSubset().constructor as unknown as FontkitSubsetClass;
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

  // each repertoire as words of one character: no ligature or kerning pair can form between them
  const repertoireWords = new Map(
    Object.entries(options.subsetRepertoires ?? {}).map(([file, characters]) => [fileKey(fontkit.create(readFileSync(file)) as FontkitFont), [...characters].join(" ")]),
  );
  const runsByFile = new Map<string, Map<string, unknown>>();
  // per document font, resolved on its first layout: the shared runs of its file (null: the document
  // opted out of pdfkit's layout cache and keeps its uncached behaviour)
  const runsOf = new WeakMap<EmbeddedFont, Map<string, unknown> | null>();
  const layoutCached = embeddedFontClass.prototype.layoutCached;
  embeddedFontClass.prototype.layoutCached = function (this: EmbeddedFont, text: string): unknown {
    let runs = runsOf.get(this);
    if (runs === undefined) {
      const key = fileKey(this.font);
      runs = this.layoutCache ? (runsByFile.get(key) ?? new Map()) : null;
      if (runs) runsByFile.set(key, runs);
      runsOf.set(this, runs);
      // every printed text is laid out before it is encoded: the first layout of a document's font seeds its subset
      const words = repertoireWords.get(key);
      if (words) (this as EmbeddedFontEncoding).encode(words);
    }
    if (runs === null) return layoutCached.call(this, text);
    let run = runs.get(text);
    if (run === undefined) {
      if (runs.size >= MAX_WORDS_PER_FONT) runs.clear();
      run = layoutCached.call(this, text);
      runs.set(text, run);
    }
    return run;
  };

  const encodedSubsets = new Map<string, Uint8Array>();
  const encodeSubset = subsetClass.prototype.encode;
  subsetClass.prototype.encode = function (this: FontkitSubset): Uint8Array {
    const key = `${fileKey(this.font)}|${this.glyphs.join(",")}`;
    let encoded = encodedSubsets.get(key);
    if (encoded === undefined) {
      if (encodedSubsets.size >= MAX_SUBSETS) encodedSubsets.clear();
      encoded = encodeSubset.call(this);
      encodedSubsets.set(key, encoded);
    }
    return encoded;
  };
}
