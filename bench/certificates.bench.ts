/**
 * Certificate throughput on one core and lot-archive size.
 *   npx tsx bench/certificates.bench.ts [cells=20] [lotCells=1000]
 * Renders and signs `cells` certificates sequentially (500-point voltage curve, dQ/dV and
 * dU/dT-with-imprint charts, simulated banner, QR), then builds a `lotCells` archive:
 * every cell gets its own signed JSON and passport; PDFs are the `cells` rendered ones reused
 * in turn (each zip entry is compressed on its own, so the size is representative).
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

const cells = Number(process.argv[2] ?? 20);
const lotCells = Number(process.argv[3] ?? 1000);
const lot = "LOT-BENCH";
const dataDir = await mkdtemp(path.join(os.tmpdir(), "axviam-bench-"));
const keys = await loadOrCreateKeyPair(dataDir);
const serial = (i: number) => `CELL-${String(i).padStart(5, "0")}`;
const signedFor = (i: number) => sign(certificateContentSchema.parse(sampleContent({ id: randomUUID(), serial: serial(i), lot })), keys);

await renderCertificatePdf(signedFor(0)); // warm-up: font parsing, JIT
const pdfs: Buffer[] = [];
const start = performance.now();
for (let i = 0; i < cells; i++) pdfs.push(await renderCertificatePdf(signedFor(i)));
const seconds = (performance.now() - start) / 1000;
const avgKb = pdfs.reduce((sum, p) => sum + p.length, 0) / pdfs.length / 1024;
console.log(`certificates: ${cells} signed PDFs in ${seconds.toFixed(2)} s → ${(cells / seconds).toFixed(1)} /s on one core, ${avgKb.toFixed(1)} KiB each`);

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
