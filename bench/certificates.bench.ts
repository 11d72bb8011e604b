/**
 * Certificate throughput on one core and lot-archive size.
 *   npx tsx bench/certificates.bench.ts [cells=100] [lotCells=1000]
 * Renders and signs `cells` certificates sequentially with the station's realistic curve lengths
 * (400-point discharge curve as analyseImprint stores it, dQ/dV on the 1 mV ICA grid ≈ 1,700
 * points, dU/dT at 9 SOC points with the imprint overlaid), simulated banner, QR; then builds a
 * `lotCells` archive: every cell gets its own signed JSON and passport; PDFs are the `cells`
 * rendered ones reused in turn (each zip entry is compressed on its own, so the size is
 * representative). Reports wall-clock and CPU-time rates: on a shared machine the CPU-time rate
 * is the one-core figure (it still counts the GC's helper threads, so it is conservative).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { certificateContentSchema } from "../server/certificates/certificate.types.ts";
import { buildLotArchive } from "../server/certificates/lot-archive.ts";
import { buildPassport } from "../server/certificates/passport.ts";
import { renderCertificatePdf } from "../server/certificates/pdf-renderer.ts";
import { loadOrCreateKeyPair, sign } from "../server/certificates/signing.ts";
import { sampleContent } from "../test/certificates/certificate-fixture.ts";

const cells = Number(process.argv[2] ?? 100);
const lotCells = Number(process.argv[3] ?? 1000);
const lot = "LOT-BENCH";
const dataDir = await mkdtemp(path.join(os.tmpdir(), "axviam-bench-"));
const keys = await loadOrCreateKeyPair(dataDir);
const serial = (i: number) => `CELL-${String(i).padStart(5, "0")}`;
const signedFor = (i: number) =>
  sign(certificateContentSchema.parse(sampleContent({ id: randomUUID(), serial: serial(i), lot, points: 400, icaGridStepV: 0.001 })), keys);

// Warm-up: font parsing and JIT; a station issuing a lot's certificates runs warm after the first few.
for (let i = 0; i < 10; i++) await renderCertificatePdf(signedFor(i));
const pdfs: Buffer[] = [];
const start = performance.now();
const cpuStart = process.cpuUsage();
for (let i = 0; i < cells; i++) pdfs.push(await renderCertificatePdf(signedFor(i)));
const seconds = (performance.now() - start) / 1000;
const cpu = process.cpuUsage(cpuStart);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const avgKb = pdfs.reduce((sum, p) => sum + p.length, 0) / pdfs.length / 1024;
console.log(
  `certificates: ${cells} signed PDFs in ${seconds.toFixed(2)} s wall (${(cells / seconds).toFixed(1)} /s), ${cpuSeconds.toFixed(2)} s CPU (${(cells / cpuSeconds).toFixed(1)} /s on one core), ${avgKb.toFixed(1)} KiB each`,
);

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
