/**
 * The certificate's QR code as one stroked vector path: per row of modules, one horizontal stroke,
 * one module thick, per run of dark modules (as qrcode's own SVG output draws it).
 *
 * Drawn through pdfmake's canvas `path`, which pdfkit writes straight to the page, instead of an
 * SVG, which pdfmake parses three times and svg-to-pdfkit then turns into objects command by
 * command: a 57 × 57 code has ~860 runs, and as SVG it cost ~7 ms of a ~65 ms certificate; as a
 * path ~2 ms (bench/certificates.bench.ts, profiled). pdfmake offsets rectangles, lines and
 * polylines by their place in the flow but not paths, so the path is written in page coordinates
 * and its node is detached at the page origin (an offset of zero either way); a light square of
 * the code's size keeps the code's place in the flow. test/certificates/certificate-pdf.test.ts
 * rasterises the page and reads every module back.
 */
import QRCode from "qrcode";

export interface QrPlacement {
  /** top-left corner on the page [pt], origin at the page's top-left */
  xPt: number;
  yPt: number;
  sizePt: number;
}

/** The dark modules of the byte-mode, error-correction-M code of `payload`, as rows of booleans. */
export function qrModules(payload: string): boolean[][] {
  // One byte-mode segment: the payload is short, and qrcode's optimal mode segmentation (a shortest-path search) cost more than the rest of the code.
  const { modules } = QRCode.create([{ data: Buffer.from(payload, "utf8"), mode: "byte" }], { errorCorrectionLevel: "M" });
  return Array.from({ length: modules.size }, (_, row) => Array.from({ length: modules.size }, (_, col) => modules.get(row, col) === 1));
}

/** pdfmake node for the header column holding the code; `at` must be where that column is laid out. */
export function qrCodeNode(payload: string, at: QrPlacement): Record<string, unknown> {
  const rows = qrModules(payload);
  const modulePt = at.sizePt / rows.length;
  let d = "";
  rows.forEach((dark, row) => {
    const y = fmt(at.yPt + (row + 0.5) * modulePt);
    for (let col = 0; col < dark.length; ) {
      if (!dark[col]) {
        col++;
        continue;
      }
      const start = col;
      while (col < dark.length && dark[col]) col++;
      d += `M${fmt(at.xPt + start * modulePt)} ${y}H${fmt(at.xPt + col * modulePt)}`;
    }
  });
  return {
    width: at.sizePt,
    stack: [
      { canvas: [{ type: "rect", x: 0, y: 0, w: at.sizePt, h: at.sizePt, color: "#ffffff" }] },
      { canvas: [{ type: "path", d, lineColor: "#000000", lineWidth: modulePt }], absolutePosition: { x: 0, y: 0 } },
    ],
  };
}

function fmt(n: number): string {
  return n.toFixed(2);
}
