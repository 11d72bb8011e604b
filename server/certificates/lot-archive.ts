/**
 * One zip per lot for QA export: every cell's certificate PDF, its signed JSON, its passport,
 * and summary.csv with one row per cell (identity, decision, every result figure with unit).
 *   <lot>/certificates/<serial>-<id>.pdf|.json
 *   <lot>/passports/<serial>.passport.json
 *   <lot>/summary.csv
 */
import JSZip from "jszip";
import { assertSafeName } from "./certificate.service.ts";
import type { SignedCertificate } from "./certificate.types.ts";
import type { CellPassport } from "./passport.ts";

export interface LotArchiveCell {
  signed: SignedCertificate;
  pdf: Buffer;
  passport?: CellPassport;
}

export class LotArchiveError extends Error {
  constructor(lot: string, reason: string) {
    super(`lot archive ${lot}: ${reason}`);
    this.name = "LotArchiveError";
  }
}

export async function buildLotArchive(lot: string, cells: readonly LotArchiveCell[]): Promise<Buffer> {
  assertSafeName("lot", lot);
  const zip = new JSZip();
  const root = zip.folder(lot)!;
  // Fixed entry dates keep the archive a function of its inputs (zip stores a DOS timestamp per entry).
  const date = new Date(cells.map((c) => c.signed.content.issuedAt).sort().at(-1) ?? "1980-01-01T00:00:00Z");
  const seenSerials = new Set<string>();
  for (const { signed, pdf, passport } of cells) {
    const { serial, lot: cellLot } = signed.content.identity;
    if (cellLot !== lot) throw new LotArchiveError(lot, `certificate ${signed.content.id} (serial ${serial}) belongs to lot ${cellLot}`);
    assertSafeName("serial", serial);
    if (seenSerials.has(serial)) throw new LotArchiveError(lot, `serial ${serial} appears twice`);
    seenSerials.add(serial);
    if (passport && passport.serial !== serial) throw new LotArchiveError(lot, `passport for ${passport.serial} given with certificate of ${serial}`);
    const base = `certificates/${serial}-${signed.content.id}`;
    root.file(`${base}.pdf`, pdf, { date, binary: true });
    root.file(`${base}.json`, `${JSON.stringify(signed, null, 2)}\n`, { date });
    if (passport) root.file(`passports/${serial}.passport.json`, `${JSON.stringify(passport, null, 2)}\n`, { date });
  }
  root.file("summary.csv", lotSummaryCsv(cells.map((c) => c.signed)), { date });
  // PDFs are already Flate-compressed inside; DEFLATE still shrinks their uncompressed parts and the JSON.
  return zip.generateAsync({ type: "nodebuffer", compression: "DEFLATE", compressionOptions: { level: 6 } });
}

/** RFC 4180 CSV; one column per distinct result figure ("<figure> / <unit>"), empty where a cell lacks it. */
export function lotSummaryCsv(certificates: readonly SignedCertificate[]): string {
  // Keyed by figure and unit, so a figure reported in two units never shares a column.
  const columnKey = (r: { figure: string; unit: string }) => `${r.figure} / ${r.unit}`;
  const figureColumns = new Map<string, string>();
  for (const { content } of certificates) for (const r of content.results) figureColumns.set(columnKey(r), columnKey(r));
  const header = ["serial", "certificate_id", "kind", "decision_kind", "decision", "all_pass", "simulated", "issued_at", "station", "cycler", "channel", "recipe", ...figureColumns.values()];
  const rows = certificates.map(({ content }) => {
    const byColumn = new Map(content.results.map((r) => [columnKey(r), r]));
    const judged = content.results.filter((r) => r.pass !== undefined);
    return [
      content.identity.serial,
      content.id,
      content.kind,
      content.decision.kind,
      content.decision.value,
      judged.length === 0 ? "" : String(judged.every((r) => r.pass)),
      String(content.simulated),
      content.issuedAt,
      content.station.id,
      content.identity.cycler,
      String(content.identity.channel),
      `${content.identity.recipe.name}@${content.identity.recipe.version}`,
      ...[...figureColumns.keys()].map((key) => (byColumn.has(key) ? String(byColumn.get(key)!.value) : "")),
    ];
  });
  return [header, ...rows].map((row) => row.map(csvField).join(",")).join("\r\n") + "\r\n";
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
