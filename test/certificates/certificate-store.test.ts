import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import JSZip from "jszip";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueCertificate, readSignedCertificate, reprint } from "../../server/certificates/certificate.service.ts";
import { buildLotArchive } from "../../server/certificates/lot-archive.ts";
import { buildPassport } from "../../server/certificates/passport.ts";
import { loadOrCreateKeyPair } from "../../server/certificates/signing.ts";
import type { StationKeyPair } from "../../server/certificates/signing.ts";
import { sampleContent } from "./certificate-fixture.ts";

let dataDir: string;
let keys: StationKeyPair;
const ids = ["0b8e7c1a-1111-4a2b-9c3d-000000000001", "0b8e7c1a-1111-4a2b-9c3d-000000000002", "0b8e7c1a-1111-4a2b-9c3d-000000000003"];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "axviam-store-"));
  keys = await loadOrCreateKeyPair(dataDir);
});
afterAll(async () => rm(dataDir, { recursive: true, force: true }));

describe("certificate service", () => {
  it("writes <dataDir>/certificates/<lot>/<serial>-<id>.{pdf,json} and reprints identical bytes", async () => {
    const issued = await issueCertificate(sampleContent({ id: ids[0], serial: "CELL-0001", lot: "LOT-7", points: 60 }), keys, dataDir);
    expect(issued.pdfPath).toBe(path.join(dataDir, "certificates", "LOT-7", `CELL-0001-${ids[0]}.pdf`));
    expect(issued.jsonPath).toBe(path.join(dataDir, "certificates", "LOT-7", `CELL-0001-${ids[0]}.json`));
    const firstPdf = await readFile(issued.pdfPath);
    expect(firstPdf.subarray(0, 5).toString()).toBe("%PDF-");
    const again = await reprint(ids[0], keys, dataDir);
    expect((await readFile(again.pdfPath)).equals(firstPdf)).toBe(true);
    expect((await readSignedCertificate(ids[0], dataDir)).content.identity.serial).toBe("CELL-0001");
  });

  it.each(["../evil", "a/b", "..", ".hidden", "x\\y", "a b"])("rejects %j as serial or lot", async (name) => {
    await expect(issueCertificate(sampleContent({ serial: name, points: 10 }), keys, dataDir)).rejects.toThrow(/serial .* not usable as a file name/);
    await expect(issueCertificate(sampleContent({ lot: name, points: 10 }), keys, dataDir)).rejects.toThrow(/lot .* not usable as a file name/);
  });

  it("rejects an unknown or malformed id on reprint", async () => {
    await expect(reprint("../../etc/passwd", keys, dataDir)).rejects.toThrow(/not a UUID/);
    await expect(reprint("0b8e7c1a-1111-4a2b-9c3d-0000000000ff", keys, dataDir)).rejects.toThrow(/not found/);
  });

  it("the CLI says VALID for an issued PDF and INVALID for its tampered JSON", async () => {
    const issued = await issueCertificate(sampleContent({ id: ids[1], serial: "CELL-0002", lot: "LOT-7", points: 60 }), keys, dataDir);
    const cli = (file: string) => spawnSync(process.execPath, ["--import", "tsx", "server/cli/verify.ts", file, "--data-dir", dataDir], { encoding: "utf8" });
    const ok = cli(issued.pdfPath);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^VALID/);
    const json = JSON.parse(await readFile(issued.jsonPath, "utf8"));
    json.content.decision.value = "stationary storage B";
    const tamperedPath = path.join(dataDir, "tampered.json");
    await writeFile(tamperedPath, JSON.stringify(json));
    const bad = cli(tamperedPath);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/^INVALID[\s\S]*signature does not match/);
  });
});

describe("lot archive", () => {
  it("holds every PDF, signed JSON, passport and a one-row-per-cell CSV", async () => {
    const serials = ["CELL-0001", "CELL-0002", "CELL-0003"];
    await issueCertificate(sampleContent({ id: ids[2], serial: serials[2], lot: "LOT-7", points: 60 }), keys, dataDir);
    const cells = await Promise.all(
      ids.map(async (id, i) => {
        const signed = await readSignedCertificate(id, dataDir);
        const pdf = await readFile(path.join(dataDir, "certificates", "LOT-7", `${serials[i]}-${id}.pdf`));
        const passport = buildPassport({
          serial: serials[i], chemistry: "nmc811-graphite", lot: "LOT-7", station: signed.content.station, certificateId: id,
          simulated: true, measuredAt: signed.content.issuedAt, ratedCapacityAh: 5, remainingCapacityAh: 4.9873,
        });
        return { signed, pdf, passport };
      }),
    );
    const zip = await JSZip.loadAsync(await buildLotArchive("LOT-7", cells));
    const names = Object.keys(zip.files).filter((n) => !zip.files[n].dir).sort();
    expect(names).toEqual(
      [
        ...ids.flatMap((id, i) => [`LOT-7/certificates/${serials[i]}-${id}.json`, `LOT-7/certificates/${serials[i]}-${id}.pdf`]),
        ...serials.map((s) => `LOT-7/passports/${s}.passport.json`),
        "LOT-7/summary.csv",
      ].sort(),
    );
    const pdfBack = await zip.file(`LOT-7/certificates/${serials[1]}-${ids[1]}.pdf`)!.async("nodebuffer");
    expect(pdfBack.equals(cells[1].pdf)).toBe(true);
    const csv = (await zip.file("LOT-7/summary.csv")!.async("string")).trimEnd().split("\r\n");
    expect(csv).toHaveLength(4);
    const header = csv[0].split(",");
    const row = csv[2].split(",");
    expect(row[header.indexOf("serial")]).toBe("CELL-0002");
    expect(row[header.indexOf("capacityAh / Ah")]).toBe("4.9873");
    expect(row[header.indexOf("decision")]).toBe("stationary storage A");
    expect(row[header.indexOf("simulated")]).toBe("true");
  });

  it("refuses a certificate from another lot", async () => {
    const signed = await readSignedCertificate(ids[0], dataDir);
    await expect(buildLotArchive("LOT-8", [{ signed, pdf: Buffer.alloc(0) }])).rejects.toThrow(/belongs to lot LOT-7/);
  });
});
