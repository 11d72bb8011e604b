/**
 * Acceptance of factory imprint (issue 4), shared by the OPC UA and Modbus files: a simulated lot of 64 new cells
 * with 2 micro-shorts and 1 high-resistance cell runs factory_init through the station over a real protocol; every
 * figure is checked against the simulator's ground truth (test/support/oracle.ts), every trace for gaps/duplicates.
 */
import { expect } from "vitest";
import { populationOf } from "../../simulators/sim-environment.ts";
import { readTrace } from "../../server/store/trace-store.ts";
import type { CellResult } from "../../server/station/lot-analysis.ts";
import type { LotGrade } from "../../server/domain/grading/lot-grading.ts";
import { trueC3CapacityAh, truePulseResistanceMilliohm } from "../support/oracle.ts";
import { startTestStation, testConfig, waitFor, type TestStationOptions } from "../support/station.ts";

const CHANNELS = 64;
const MICRO_SHORT = [2, 40];
const HIGH_RESISTANCE = [3];
const NOMINAL_AH = 5;

export async function runImprintAcceptance(protocol: "opcua" | "modbus"): Promise<void> {
  const options: TestStationOptions = {
    channels: CHANNELS,
    protocol,
    population: { seed: 11, serialPrefix: protocol === "opcua" ? "OPC" : "MOD", microShortChannels: MICRO_SHORT, highResistanceChannels: HIGH_RESISTANCE },
    overrides: { simSpeed: 5000, tickMs: 200 },
  };
  const specs = populationOf(testConfig(options).config.simulators.cyclers[0]);
  const station = await startTestStation(options);
  try {
    await waitFor("cycler connected", () => station.monitors.get("cycler-1")!.info(), 60_000);
    const lot = await station.service.startLot({
      name: `acceptance-${protocol}`, recipe: "factory_init", cyclerId: "cycler-1", nominalCapacityAh: NOMINAL_AH, chemistry: "nmc811-graphite", operator: "acceptance",
      cells: specs.map((s, i) => ({ slot: i + 1, serial: s.serial })),
    });
    const detail = await waitFor("lot finished", async () => {
      const d = await station.service.lot(lot.id);
      return d.lot.state === "complete" || d.lot.state === "aborted" ? d : undefined;
    }, 1_200_000, 1000);

    expect(detail.lot.state).toBe("complete");
    expect(detail.runs.filter((r) => r.state !== "complete").map((r) => `${r.serial}: ${r.reason}`)).toEqual([]);

    // Every trace: contiguous sequence numbers, nothing missing, nothing twice.
    for (const run of detail.runs) {
      const seqs = readTrace(station.dataDir + `/traces/${lot.id}/${run.id}.csv`).map((r) => r.seq);
      const gaps = seqs.filter((s, i) => i > 0 && s !== seqs[i - 1] + 1n);
      expect(gaps, `${run.serial} trace`).toEqual([]);
    }

    const grade = detail.lotResult as { kind: "imprint" } & LotGrade;
    const bins = new Map(grade.perCell.map((c) => [c.serial, c]));
    const errors: string[] = [];
    let worst = { capacity: 0, dcir: 0, r10s: 0 };
    specs.forEach((spec, i) => {
      const channel = i + 1;
      const imprint = detail.results[spec.serial] as CellResult & { kind: "imprint" };
      const c3 = trueC3CapacityAh(spec, NOMINAL_AH);
      const pulse = truePulseResistanceMilliohm(spec, NOMINAL_AH);
      const capErr = Math.abs(imprint.capacityAh!.value / c3 - 1);
      const dcirErr = Math.abs(imprint.dcirMilliohm!.value / pulse.dcirMilliohm - 1);
      const r10Err = Math.abs(imprint.r10sMilliohm!.value / pulse.r10sMilliohm - 1);
      worst = { capacity: Math.max(worst.capacity, capErr), dcir: Math.max(worst.dcir, dcirErr), r10s: Math.max(worst.r10s, r10Err) };
      if (capErr > 0.005) errors.push(`${spec.serial}: capacity ${imprint.capacityAh!.value.toFixed(4)} Ah vs true ${c3.toFixed(4)} Ah`);
      if (dcirErr > 0.03) errors.push(`${spec.serial}: DCIR ${imprint.dcirMilliohm!.value.toFixed(3)} mΩ vs true ${pulse.dcirMilliohm.toFixed(3)} mΩ`);
      if (r10Err > 0.03) errors.push(`${spec.serial}: R10s ${imprint.r10sMilliohm!.value.toFixed(3)} mΩ vs true ${pulse.r10sMilliohm.toFixed(3)} mΩ`);

      const cell = bins.get(spec.serial)!;
      const figures = new Set(cell.reasons.map((r) => r.figure));
      if (MICRO_SHORT.includes(channel)) {
        if (cell.bin !== "reject" || !(figures.has("kValueMvPerDay") || figures.has("holdCurrentMicroA"))) errors.push(`${spec.serial} (micro-short) graded ${cell.bin}: ${cell.reasons.map((r) => r.message).join("; ")}`);
      } else if (HIGH_RESISTANCE.includes(channel)) {
        if (cell.bin !== "reject" || !figures.has("dcirMilliohm")) errors.push(`${spec.serial} (high resistance) graded ${cell.bin}: ${cell.reasons.map((r) => r.message).join("; ")}`);
      } else if (cell.bin === "reject") {
        errors.push(`${spec.serial} (good cell) rejected: ${cell.reasons.map((r) => r.message).join("; ")}`);
      }
    });
    const hours = detail.runs.map((r) => r.equipmentTimeS / 3600);
    console.log(
      `factory_init over ${protocol}: ${CHANNELS} cells; equipment time per cell ${Math.min(...hours).toFixed(1)}–${Math.max(...hours).toFixed(1)} h (simulated clock); ` +
        `worst errors vs truth: capacity ${(worst.capacity * 100).toFixed(3)} %, DCIR ${(worst.dcir * 100).toFixed(2)} %, R10s ${(worst.r10s * 100).toFixed(2)} %; ` +
        `bins ${JSON.stringify(Object.fromEntries(["A", "B", "C", "reject"].map((b) => [b, grade.perCell.filter((c) => c.bin === b).length])))}`,
    );
    expect(errors).toEqual([]);
  } finally {
    await station.close();
  }
}
