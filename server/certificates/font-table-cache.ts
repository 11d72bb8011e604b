/**
 * Shares parsed OpenType tables between the PDF documents of one process.
 *
 * pdfkit opens every font afresh for every document (fontkit.create on the file bytes), and fontkit
 * decodes a font's tables (GSUB/GPOS lookups, cmap, hmtx, loca …) lazily on that font object, so
 * each certificate paid for decoding Roboto's tables again: ~20 % of a render in the profile
 * (node --cpu-prof on bench/certificates.bench.ts). Neither pdfmake nor pdfkit accepts a parsed
 * font, and fontkit's exports are read-only, so the cache hooks the font class's table getter:
 * fonts whose table directories are identical (same tags, checksums, offsets and lengths — the
 * same file) get the same decoded table objects. Tables are read-only to layout and subsetting,
 * and a table decodes to the same value from the same bytes, so the PDF bytes do not change
 * (the determinism test in test/certificates/certificate-pdf.test.ts holds with the cache on).
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

const INSTALLED = Symbol.for("axviam.certificates.fontTableCache");

/**
 * Installs the cache on the fontkit that pdfmake's pdfkit uses; `sampleFontFile` is any font of
 * the same format (its class is the one patched). Idempotent.
 */
export function installFontTableCache(sampleFontFile: string): void {
  const fromPdfmake = createRequire(createRequire(import.meta.url).resolve("pdfmake"));
  const fontkit = createRequire(fromPdfmake.resolve("pdfkit"))("fontkit") as { create(buffer: Uint8Array): object };
  const fontClass = fontkit.create(readFileSync(sampleFontFile)).constructor as unknown as FontkitFontClass & { [INSTALLED]?: true };
  if (fontClass[INSTALLED]) return;
  fontClass[INSTALLED] = true;

  const decode = fontClass.prototype._getTable;
  const shared = new Map<string, Map<string, unknown>>();
  const keys = new WeakMap<FontkitFont, string>();
  const keyOf = (font: FontkitFont) => {
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
  fontClass.prototype._getTable = function (this: FontkitFont, table: DirectoryEntry): unknown {
    const key = keyOf(this);
    let tables = shared.get(key);
    if (!tables) shared.set(key, (tables = new Map()));
    if (!tables.has(table.tag)) tables.set(table.tag, decode.call(this, table));
    const value = tables.get(table.tag);
    this._tables[table.tag] = value;
    return value;
  };
}
