/**
 * Certificate throughput on one core and lot-archive size.
 *   npx tsx bench/certificates.bench.ts [cells=100] [lotCells=1000]   (--quick: 10 cells, as bench/run.ts --quick passes;
 *   the full `npm run bench` passes 960, so with the 40 warm-up renders a whole 1,000-cell lot is signed and rendered)
 * Renders and signs `cells` certificates sequentially with the station's realistic curve lengths
 * (400-point discharge curve as analyseImprint stores it, dQ/dV on the 1 mV ICA grid ≈ 1,700
 * points, dU/dT at 9 SOC points with the imprint overlaid), simulated banner, QR; then builds a
 * `lotCells` archive: every cell gets its own signed JSON and passport; PDFs are the `cells`
 * rendered ones reused in turn (each zip entry is compressed on its own, so the size is
 * representative). The timed loop validates, signs and renders, as the issuer does; the simulated
 * measurement data (the fixture's curves) is made before the clock starts. Reports wall-clock and
 * CPU-time rates: the CPU-time rate is the process's whole CPU time (process.cpuUsage: the main
 * thread and the GC's helper threads, one process, no workers), so on a shared machine it is the
 * one-core figure, and a conservative one.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { certificateContentSchema, type CertificateContent } from "../server/certificates/certificate.types.ts";
import { buildLotArchive } from "../server/certificates/lot-archive.ts";
import { buildPassport } from "../server/certificates/passport.ts";
import { renderCertificatePdf } from "../server/certificates/pdf-renderer.ts";
import { loadOrCreateKeyPair, sign } from "../server/certificates/signing.ts";
import { sampleContent } from "../test/certificates/certificate-fixture.ts";

const quick = process.argv.includes("--quick");
const [cellsArg, lotCellsArg] = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const cells = Number(cellsArg ?? (quick ? 10 : 100));
const lotCells = Number(lotCellsArg ?? 1000);
const lot = "LOT-BENCH";
const dataDir = await mkdtemp(path.join(os.tmpdir(), "axviam-bench-"));
const keys = await loadOrCreateKeyPair(dataDir);
const serial = (i: number) => `CELL-${String(i).padStart(5, "0")}`;
const contentFor = (i: number) => sampleContent({ id: randomUUID(), serial: serial(i), lot, points: 400, icaGridStepV: 0.001 });
const signedFor = (i: number) => sign(certificateContentSchema.parse(contentFor(i)), keys);
const certify = async (content: CertificateContent) => renderCertificatePdf(sign(certificateContentSchema.parse(content), keys));

// Warm-up: font parsing and V8's optimising compilers. Measured with this workload (2-core machine under
// load): renders 1–10 of a fresh process average ~105 ms CPU, 11–20 ~46 ms, 21–30 ~33 ms, then ~21–26 ms.
// Over a 1,000-cell lot the first renders are a few per cent of the work, so the rate is taken warm; the
// warm-up's own rate is printed next to it.
const WARM_UP = 40;
const cpuSecondsSince = (start: NodeJS.CpuUsage) => ((u) => (u.user + u.system) / 1e6)(process.cpuUsage(start));
const warmUpContents = Array.from({ length: WARM_UP }, (_, i) => contentFor(cells + i));
const warmUpStart = process.cpuUsage();
for (const content of warmUpContents) await certify(content);
const warmUpCpuS = cpuSecondsSince(warmUpStart);
const contents = Array.from({ length: cells }, (_, i) => contentFor(i));
const pdfs: Buffer[] = [];
const start = performance.now();
const cpuStart = process.cpuUsage();
for (const content of contents) pdfs.push(await certify(content));
const seconds = (performance.now() - start) / 1000;
const cpuSeconds = cpuSecondsSince(cpuStart);
const avgKb = pdfs.reduce((sum, p) => sum + p.length, 0) / pdfs.length / 1024;
const wholeCells = WARM_UP + cells;
const wholeCpuS = warmUpCpuS + cpuSeconds;
console.log(`warm-up: ${WARM_UP} signed PDFs from process start in ${warmUpCpuS.toFixed(2)} s CPU (${(WARM_UP / warmUpCpuS).toFixed(1)} /s)`);
console.log(
  `certificates: ${cells} signed PDFs in ${seconds.toFixed(2)} s wall (${(cells / seconds).toFixed(1)} /s), ${cpuSeconds.toFixed(2)} s CPU (${(cells / cpuSeconds).toFixed(1)} /s on one core), ${avgKb.toFixed(1)} KiB each`,
);
// the lot as a fresh station process meets it: warm-up included
console.log(`whole run: ${wholeCells} signed PDFs from process start in ${wholeCpuS.toFixed(2)} s CPU (${(wholeCells / wholeCpuS).toFixed(1)} /s from a cold start)`);

const archiveStart = performance.now();
const archive = await buildLotArchive(
  lot,
  Array.from({ length: lotCells }, (_, i) => {
    const signed = signedFor(i);
    const passport = buildPassport({
      serial: serial(i), chemistry: signed.content.identity.chemistry, lot, station: signed.content.station,
      certificateId: signed.content.id, simulated: true, measuredAt: signed.content.issuedAt, ratedCapacityAh: 5, remainingCapacityAh: 4.9873,
    });
    return { signed, pdf: pdfs[i % pdfs.length], passport };
  }),
);
console.log(
  `lot archive: ${lotCells} cells → ${(archive.length / 1024 / 1024).toFixed(1)} MiB zip in ${((performance.now() - archiveStart) / 1000).toFixed(1)} s (PDFs reused from ${pdfs.length} renders)`,
);
await rm(dataDir, { recursive: true, force: true });
