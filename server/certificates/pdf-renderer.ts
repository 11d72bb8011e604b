/**
 * One PDF per certificate (pdfmake 0.3, server side). The output is a pure function of the
 * signed certificate and the page size: the creation date is the issue date, the PDF /ID is
 * derived from the info dictionary, fonts are embedded subsets of the bundled Roboto. The
 * verifier relies on that determinism (verify.ts re-renders and compares bytes), so any
 * change to this layout must bump LAYOUT_VERSION.
 *
 * The signed JSON travels inside the PDF as an embedded file (PDF 1.7 §7.11.4, EmbeddedFiles
 * name tree) named certificate.json: viewers list it as an attachment, `pdfdetach` extracts it.
 */
import { createRequire } from "node:module";
import path from "node:path";
import { FARADAY_C_PER_MOL } from "../domain/chemistry/chemistry.ts";
import { canonicalJson } from "./canonical-json.ts";
import type { CertificateCurve, CertificateResult, DecisionReason, SignedCertificate } from "./certificate.types.ts";
import { qrCodeNode } from "./qr-drawing.ts";
import { installSharedFontCache } from "./shared-font-cache.ts";
import { contentDigest, shortFingerprint } from "./signing.ts";
import { createTextMetrics } from "./text-metrics.ts";
import { lineChart, type ChartLabel } from "./line-chart.ts";

export const LAYOUT_VERSION = "3";
export const EMBEDDED_FILE_NAME = "certificate.json";
export const PAGE_SIZES = ["A4", "LETTER"] as const;
export type CertificatePageSize = (typeof PAGE_SIZES)[number];

export interface RenderOptions {
  pageSize?: CertificatePageSize;
}


/**
 * Characters embedded in every certificate's font subsets, printed or not (shared-font-cache.ts),
 * so that certificates share their subsets: regular text prints ids, digests and signatures (hex,
 * base64) and free text — printable ASCII and the layout's symbols; bold prints headings, labels
 * and the serial — digits and capitals, the rest of its glyphs being the same on every certificate.
 */
const PRINTABLE_ASCII = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("");
const SUBSET_REPERTOIRES = (fonts: Record<string, string>) => ({
  [fonts.normal]: `${PRINTABLE_ASCII}±≤≥…—·•`,
  [fonts.bold]: "0123456789-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
});

// pdfmake ships no type declarations; this is the part of its server API used here.
interface PdfMakeServer {
  setFonts(fonts: Record<string, Record<string, string>>): void;
  setUrlAccessPolicy(policy: (url: string) => boolean): void;
  setLocalAccessPolicy(policy: (file: string) => boolean): void;
  createPdf(doc: Record<string, unknown>): { getBuffer(): Promise<Buffer> };
}

const require = createRequire(import.meta.url);
const pdfmake = require("pdfmake") as PdfMakeServer;
const robotoFonts = require("pdfmake/fonts/Roboto.js") as Record<string, Record<string, string>>;
const fontDir = path.dirname(robotoFonts.Roboto.normal) + path.sep;
pdfmake.setFonts(robotoFonts);
// Certificates never load remote resources, and only the bundled fonts from disk.
pdfmake.setUrlAccessPolicy(() => false);
pdfmake.setLocalAccessPolicy((file) => path.resolve(file).startsWith(fontDir));
installSharedFontCache(robotoFonts.Roboto.normal, { subsetRepertoires: SUBSET_REPERTOIRES(robotoFonts.Roboto) });
const chartTextMetrics = createTextMetrics(robotoFonts.Roboto.normal);

const PAGE_WIDTH_PT: Record<CertificatePageSize, number> = { A4: 595.28, LETTER: 612 };
const PAGE_MARGIN_PT = 40;
/** top margin: the simulated-data banner sits in the header above it */
const PAGE_TOP_MARGIN_PT = { simulated: 46, measured: PAGE_MARGIN_PT };
const QR_SIZE_PT = 92;

/**
 * Text carried by the QR code: enough to look the certificate up and to tie a scan to the signed bytes.
 * `digest` is contentDigest(signed.content), when the caller has it already.
 */
export function qrPayload(signed: SignedCertificate, digest = contentDigest(signed.content)): string {
  const { content } = signed;
  const query = new URLSearchParams({
    v: String(content.schemaVersion),
    id: content.id,
    sn: content.identity.serial,
    fp: signed.publicKeyFingerprint.slice(0, 32),
    h: digest,
    s: signed.signature.slice(0, 24),
  });
  return `axviam-cert:?${query.toString()}`;
}

/** The printed form of a figure: the same digits as in the signed JSON (ECMAScript shortest round-trip). */
export function formatFigure(value: number): string {
  return String(value);
}

export async function renderCertificatePdf(signed: SignedCertificate, options: RenderOptions = {}): Promise<Buffer> {
  const pageSize = options.pageSize ?? "A4";
  // pdfmake rewrites the document definition in place: buildDocument makes every object in it afresh
  // (strings and numbers from the certificate, never its objects or arrays), so the caller's stay untouched.
  const docDefinition = buildDocument(signed, pageSize);
  return pdfmake.createPdf(docDefinition).getBuffer();
}

function buildDocument(signed: SignedCertificate, pageSize: CertificatePageSize): Record<string, unknown> {
  const { content } = signed;
  const issued = new Date(content.issuedAt);
  const contentWidth = PAGE_WIDTH_PT[pageSize] - 2 * PAGE_MARGIN_PT;
  const canonicalContent = canonicalJson(content);
  const digest = contentDigest(content, canonicalContent);
  const topMarginPt = content.simulated ? PAGE_TOP_MARGIN_PT.simulated : PAGE_TOP_MARGIN_PT.measured;
  const embedded = Buffer.from(canonicalJson(signed, new Map([[content, canonicalContent]])), "utf8").toString("base64");
  const kindTitle = content.kind === "imprint" ? "Factory imprint certificate" : "Second-life grading certificate";
  const banner = content.simulated
    ? {
        table: { widths: ["*"], body: [[{ text: "SIMULATED DATA — measured on simulated equipment", style: "banner" }]] },
        layout: "noBorders",
        margin: [PAGE_MARGIN_PT, 14, PAGE_MARGIN_PT, 0],
      }
    : null;

  return {
    pageSize,
    pageMargins: [PAGE_MARGIN_PT, topMarginPt, PAGE_MARGIN_PT, 44],
    info: {
      title: `${kindTitle} ${content.identity.serial}`,
      author: content.station.name,
      subject: `Certificate ${content.id}`,
      keywords: `cell certificate; serial ${content.identity.serial}; lot ${content.identity.lot}`,
      creator: "AXVIAM Station",
      creationDate: issued,
      modDate: issued,
      AxviamLayout: LAYOUT_VERSION,
    },
    files: {
      [EMBEDDED_FILE_NAME]: {
        src: `data:application/json;base64,${embedded}`,
        name: EMBEDDED_FILE_NAME,
        description: "Signed certificate (Ed25519 over RFC 8785 canonical JSON of content)",
        creationDate: issued,
        modifiedDate: issued,
      },
    },
    header: () => banner,
    footer: (page: number, pages: number) => ({
      columns: [
        { text: `Certificate ${content.id} · Ed25519 key ${shortFingerprint(signed.publicKeyFingerprint)}`, style: "footer" },
        { text: `page ${page} of ${pages}`, style: "footer", alignment: "right", width: 70 },
      ],
      margin: [PAGE_MARGIN_PT, 16, PAGE_MARGIN_PT, 0],
    }),
    defaultStyle: { font: "Roboto", fontSize: 9 },
    styles: {
      banner: { bold: true, fontSize: 11, color: "#ffffff", fillColor: "#b00020", alignment: "center", margin: [0, 4, 0, 4] },
      title: { fontSize: 16, bold: true },
      subtitle: { fontSize: 10, color: "#444444" },
      section: { fontSize: 11, bold: true, margin: [0, 12, 0, 4] },
      th: { bold: true, fillColor: "#eeeeee" },
      footer: { fontSize: 7, color: "#555555" },
      mono: { fontSize: 6.5, color: "#333333" },
      fail: { bold: true, color: "#b00020" },
    },
    content: [
      {
        columns: [
          [
            { text: kindTitle, style: "title" },
            { text: `Serial ${content.identity.serial}`, fontSize: 13, bold: true, margin: [0, 4, 0, 0] },
            { text: `Issued ${content.issuedAt} by ${content.station.name} (${content.station.id})`, style: "subtitle", margin: [0, 4, 0, 0] },
            { text: `Certificate ${content.id}`, style: "subtitle" },
          ],
          // the header's right-hand column, at the top of the first page's content area
          qrCodeNode(qrPayload(signed, digest), { xPt: PAGE_MARGIN_PT + contentWidth - QR_SIZE_PT, yPt: topMarginPt, sizePt: QR_SIZE_PT }),
        ],
        columnGap: 12,
      },
      { text: "Identity", style: "section" },
      identityTable(signed),
      { text: "Results", style: "section" },
      resultsTable(content.results),
      { text: content.decision.kind === "bin" ? "Bin" : "Route", style: "section" },
      { text: content.decision.value, fontSize: 14, bold: true },
      reasonsList(content.decision.reasons),
      ...content.curves.map((curve) => ({
        stack: [
          { text: curve.title, style: "section" },
          chartNode(curve, contentWidth),
        ],
        unbreakable: true,
      })),
      { text: "Measurement uncertainty", style: "section" },
      content.uncertaintyNotes.length > 0 ? { ul: [...content.uncertaintyNotes] } : { text: "No notes." },
      { text: "Signature", style: "section" },
      {
        table: {
          widths: [110, "*"],
          body: [
            ["Algorithm", "Ed25519 over the RFC 8785 canonical JSON of the certificate content"],
            ["Public key SHA-256", { text: signed.publicKeyFingerprint, style: "mono" }],
            ["Content SHA-256", { text: digest, style: "mono" }],
            ["Signature (base64)", { text: signed.signature, style: "mono" }],
            ["Verification", `The signed JSON is attached to this PDF as ${EMBEDDED_FILE_NAME}; check with: npx tsx server/cli/verify.ts <file>`],
          ],
        },
        layout: "lightHorizontalLines",
      },
    ],
  };
}

function identityTable(signed: SignedCertificate): Record<string, unknown> {
  const { identity, station } = signed.content;
  const rows: [string, string][] = [
    ["Serial", identity.serial],
    ["Chemistry", identity.chemistry],
    ["Nominal capacity", `${formatFigure(identity.nominalCapacityAh)} Ah`],
    ["Lot", identity.lot],
    ["Station", `${station.name} (${station.id})`],
    ["Cycler / channel", `${identity.cycler} / ${identity.channel}`],
    ["Recipe", `${identity.recipe.name} v${identity.recipe.version}`],
    ["Operator", identity.operator],
    ["Started", identity.startedAt],
    ["Finished", identity.finishedAt],
  ];
  const body: unknown[][] = [];
  for (let i = 0; i < rows.length; i += 2) {
    const right = rows[i + 1] ?? ["", ""];
    body.push([{ text: rows[i][0], bold: true }, rows[i][1], { text: right[0], bold: true }, right[1]]);
  }
  return { table: { widths: [80, "*", 80, "*"], body }, layout: "lightHorizontalLines" };
}

function resultsTable(results: readonly CertificateResult[]): Record<string, unknown> {
  const header = ["Figure", "Value", "Uncertainty", "Unit", "Limit", "Result"].map((text) => ({ text, style: "th" }));
  const rows = results.map((r) => [
    r.label,
    { text: formatFigure(r.value), alignment: "right" },
    { text: r.uncertainty === undefined ? "—" : `± ${formatFigure(r.uncertainty)}`, alignment: "right" },
    r.unit,
    formatLimit(r.limit),
    r.pass === undefined ? "—" : r.pass ? { text: "PASS" } : { text: "FAIL", style: "fail" },
  ]);
  return {
    table: { headerRows: 1, widths: ["*", 60, 60, 50, 80, 40], body: [header, ...rows] },
    layout: "lightHorizontalLines",
  };
}

function formatLimit(limit: CertificateResult["limit"]): string {
  if (!limit || (limit.min === undefined && limit.max === undefined)) return "—";
  if (limit.min !== undefined && limit.max !== undefined) return `${formatFigure(limit.min)} … ${formatFigure(limit.max)}`;
  return limit.min !== undefined ? `≥ ${formatFigure(limit.min)}` : `≤ ${formatFigure(limit.max!)}`;
}

function reasonsList(reasons: readonly DecisionReason[]): Record<string, unknown> {
  if (reasons.length === 0) return { text: "No reasons recorded.", margin: [0, 4, 0, 0] };
  return {
    ul: reasons.map((r) => {
      const measured = r.value === undefined ? "" : ` — ${r.figure ?? "measured"} ${formatFigure(r.value)}${r.unit ? ` ${r.unit}` : ""}`;
      const threshold = r.threshold === undefined ? "" : ` (threshold ${formatFigure(r.threshold)}${r.unit ? ` ${r.unit}` : ""})`;
      return `${r.message}${measured}${threshold}`;
    }),
    margin: [0, 4, 0, 0],
  };
}

function chartNode(curve: CertificateCurve, widthPt: number): Record<string, unknown> {
  const chart = lineChart({
    xLabel: curve.xLabel,
    yLabel: curve.yLabel,
    series: curve.series,
    widthPt,
    heightPt: 200,
    // dU/dT curves are in mV/K (certificate.types.ts): ΔS [J/(mol·K)] = F · dU/dT [V/K].
    secondaryAxis: curve.id === "dudt" ? { label: "ΔS / J/(mol·K)", scale: FARADAY_C_PER_MOL * 1e-3 } : undefined,
  });
  return {
    stack: [
      // a white ground of the chart's size holds its place in the flow; the labels are set over the lines
      { canvas: [{ type: "rect", x: 0, y: 0, w: chart.widthPt, h: chart.heightPt, color: "#ffffff" }, ...chart.vectors] },
      ...chart.labels.map((label) => chartLabelNode(label, chart.heightPt)),
    ],
  };
}

/** A label as a text node detached from the flow, placed relative to the chart's bottom left corner (where the ground ends). */
function chartLabelNode(label: ChartLabel, chartHeightPt: number): Record<string, unknown> {
  const widthPt = label.anchor === "start" ? 0 : chartTextMetrics.widthPt(label.text, label.sizePt);
  const leftPt = label.xPt - (label.anchor === "middle" ? widthPt / 2 : label.anchor === "end" ? widthPt : 0);
  const topPt = label.baselinePt - chartTextMetrics.ascenderPt(label.sizePt);
  return { text: label.text, fontSize: label.sizePt, relativePosition: { x: leftPt, y: topPt - chartHeightPt } };
}
