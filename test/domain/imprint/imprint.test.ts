import { describe, expect, it } from "vitest";
import { analyseImprint, type TaggedSegment } from "../../../server/domain/imprint/imprint.ts";
import { analysisSchema } from "../../../server/domain/recipes/recipe.schema.ts";
import { gaussian, stepRecords } from "./synthetic.ts";

const ANALYSIS = analysisSchema.parse({
  capacity: { charge: "capacity-charge", discharge: "capacity-discharge" },
  dcir: { rest: "dcir-rest", pulse: "dcir-pulse" },
  ocv: { rest: "ocv-rest" },
  kValue: { rest: "self-discharge-rest", excludeFirstMin: 360 },
  holdCurrent: { hold: "self-discharge-hold" },
  ica: { curve: "ica-charge" },
  entropy: { rest: "entropy", method: "fast" },
});

/** Cell temperature following a chamber profile (25/30/20/30/20/25 °C, 20 min each) through a 10 min thermal lag. */
function cellTemperature(everyS: number, durationS: number): (t: number) => number {
  const chamber = (t: number) => [25, 30, 20, 30, 20, 25][Math.min(5, Math.floor(t / 1200))];
  const series: number[] = [25];
  for (let k = 1; k * everyS <= durationS; k++) series.push(series[k - 1] + (chamber((k - 1) * everyS) - series[k - 1]) * (1 - Math.exp(-everyS / 600)));
  return (t) => series[Math.round(t / everyS)];
}

describe("analyseImprint", () => {
  // ICA curve: V = 3.3 + 0.9x − 0.04·tanh((x − 0.5)/0.05), x = t/20 h: one plateau (dQ/dV peak) at 3.75 V.
  it("computes every figure from role-tagged segments, with the source labelled", () => {
    const noise = gaussian(11);
    const segs: TaggedSegment[] = [];
    for (let c = 0; c < 2; c++) {
      segs.push({ role: "capacity-charge", records: stepRecords({ startS: c * 1e5, durationS: 3 * 3600, everyS: 30, currentA: () => 5 / 3, voltageV: (t) => 3.5 + t / 36000 }) });
      segs.push({ role: "capacity-discharge", records: stepRecords({ startS: c * 1e5 + 2e4, durationS: 2.975 * 3600, everyS: 30, currentA: () => -5 / 3, voltageV: (t) => 4.1 - t / 18000 }) });
    }
    segs.push({ role: "dcir-rest", records: stepRecords({ startS: 3e5, durationS: 60, everyS: 1, currentA: () => 0, voltageV: () => 3.7 }) });
    segs.push({ role: "dcir-pulse", records: stepRecords({ startS: 3e5 + 61, durationS: 11, everyS: 0.1, currentA: (t) => (t < 10 - 1e-9 ? -1 : -5), voltageV: (t) => 3.7 + 0.025 * (t < 10 - 1e-9 ? -1 : -5) }) });
    segs.push({ role: "ocv-rest", records: stepRecords({ startS: 3.1e5, durationS: 7200, everyS: 60, currentA: () => 0, voltageV: () => 3.68 }) });
    segs.push({ role: "self-discharge-rest", records: stepRecords({ startS: 3.2e5, durationS: 48 * 3600, everyS: 600, currentA: () => 0, voltageV: (t) => 3.68 - 0.4e-3 * (t / 86400) + 1e-4 * noise() }) });
    segs.push({ role: "self-discharge-hold", records: stepRecords({ startS: 5e5, durationS: 12 * 3600, everyS: 60, voltageV: () => 3.68, currentA: (t) => 10e-6 + 100e-6 * Math.exp(-t / 3600) + 0.2e-6 * noise() }) });
    segs.push({ role: "ica-charge", records: stepRecords({ startS: 6e5, durationS: 20 * 3600, everyS: 30, currentA: () => 0.25, voltageV: (t) => 3.3 + 0.9 * (t / 72000) - 0.04 * Math.tanh((t / 72000 - 0.5) / 0.05) }) });
    const temp = cellTemperature(10, 7200);
    segs.push({ role: "entropy:soc50", records: stepRecords({ startS: 7e5, durationS: 7200, everyS: 10, currentA: () => 0, temperatureC: temp, voltageV: (t) => 3.7 + 0.002 * Math.exp(-t / 3000) + 0.12e-3 * (temp(t) - 25) + 5e-5 * noise() }) });

    const imp = analyseImprint(segs, { serial: "S1", nominalCapacityAh: 5 }, { recipeName: "factory_init", recipeVersion: "1.0.0", simulated: true }, ANALYSIS);
    expect(imp).toMatchObject({ serial: "S1", recipeName: "factory_init", recipeVersion: "1.0.0", simulated: true });
    expect(imp.cycles).toHaveLength(2);
    expect(imp.capacityAh!.value).toBeCloseTo((5 / 3) * 2.975, 6);
    expect(imp.coulombicEfficiency!.value).toBeCloseTo(2.975 / 3, 6);
    expect(imp.dcirMilliohm!.value).toBeCloseTo(25, 6);
    expect(imp.r10sMilliohm!.value).toBeCloseTo(25, 6);
    expect(imp.ocvV!.value).toBeCloseTo(3.68, 9);
    expect(Math.abs(imp.kValueMvPerDay!.value - 0.4)).toBeLessThan(3 * imp.kValueMvPerDay!.uncertainty);
    expect(Math.abs(imp.holdCurrentMicroA!.value - 10)).toBeLessThan(3 * imp.holdCurrentMicroA!.uncertainty);
    expect(imp.icaPeaks).toHaveLength(1);
    // a plateau (dV/dQ minimum) centred at 3.75 V, symmetric about it
    expect(Math.abs(imp.icaPeaks[0].voltageV - 3.75)).toBeLessThan(0.003);
    expect(imp.entropyProfile).toHaveLength(1);
    const e = imp.entropyProfile[0];
    expect(e).toMatchObject({ label: "soc50", soc: 0.5, method: "fast-relaxation-fit" });
    expect(Math.abs(e.dudtMvPerK - 0.12)).toBeLessThan(Math.max(3 * e.dudtUncertaintyMvPerK, 0.01));
    expect(imp.dischargeCurve!.voltageV.length).toBeLessThanOrEqual(400);
    expect(imp.formation).toBeNull();
  });
  it("figures without segments are null, not guessed", () => {
    const imp = analyseImprint([], { serial: "S2", nominalCapacityAh: 5 }, { recipeName: "x", recipeVersion: "1.0.0", simulated: false }, ANALYSIS);
    expect([imp.capacityAh, imp.dcirMilliohm, imp.kValueMvPerDay, imp.holdCurrentMicroA, imp.ica]).toEqual([null, null, null, null, null]);
    expect(imp.entropyProfile).toEqual([]);
  });
});
