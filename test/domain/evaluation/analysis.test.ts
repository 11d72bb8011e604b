import { describe, expect, it } from "vitest";
import type { BmsLog, BmsSample } from "../../../server/domain/evaluation/bms-log.ts";
import { evaluateVehicle, DEFAULT_ANALYSIS } from "../../../server/domain/evaluation/analysis.ts";
import { segmentLog } from "../../../server/domain/evaluation/segments.ts";

/**
 * Constructed log, true capacity 25 Ah, constant 400 V (so every integral is exact):
 * trip A 600 s at −50 A, 60 km/h (10 km, 8.333 Ah, 3.333 kWh, ΔSOC −33.33 %);
 * 1 h logger gap; charge 1200 s at +25 A (8.333 Ah, ΔSOC +33.33 %); 1 h gap;
 * trip B 1200 s at −25 A, 30 km/h (10 km, 3.333 kWh, ΔSOC −33.33 %).
 */
function constructedLog(): { samples: BmsSample[]; endS: number } {
  const capacityAh = 25;
  const samples: BmsSample[] = [];
  let soc = 80;
  let odo = 1000;
  let t = 1_772_409_600;
  const run = (durationS: number, stepS: number, currentA: number, speedKph: number) => {
    for (let s = 0; s <= durationS; s += stepS) {
      const dt = s === 0 ? 0 : stepS;
      soc += (currentA * dt) / 3600 / capacityAh * 100;
      odo += (speedKph * dt) / 3600;
      samples.push({ timeS: t + s, packVoltageV: 400, packCurrentA: currentA, socPct: soc, speedKph, odometerKm: odo, temperatureC: 20 });
    }
    t += durationS;
  };
  run(600, 10, -50, 60);
  t += 3600;
  run(1200, 60, 25, 0);
  t += 3600;
  run(1200, 10, -25, 30);
  return { samples, endS: t };
}

const { samples, endS } = constructedLog();
const log: BmsLog = { shape: "timeseries", source: "constructed", samples,
  meta: { vehicleId: "T", simulated: false, notes: [], ratedCapacityAh: 31.25, ratedEnergyKwh: 12.5 } };

describe("segmentation", () => {
  it("finds two trips and one charge, split by the logger gaps", () => {
    const segs = segmentLog(samples);
    expect(segs.map((s) => s.kind)).toEqual(["trip", "charge", "trip"]);
    expect(segs[0].distanceKm).toBeCloseTo(10, 9);
    expect(segs[0].netEnergyKwh).toBeCloseTo(-10 / 3, 9);
    expect(segs[1].chargeAh).toBeCloseTo(25 / 3, 9);
  });

  it("keeps a short stop inside a trip and splits at a long one", () => {
    const drive = (t: number, v: number): BmsSample => ({ timeS: t, packVoltageV: 400, packCurrentA: v > 0 ? -10 : 0, speedKph: v });
    const withStop = (stopS: number) => [
      ...Array.from({ length: 13 }, (_, i) => drive(i * 10, 50)),
      ...Array.from({ length: stopS / 10 }, (_, i) => drive(130 + i * 10, 0)),
      ...Array.from({ length: 13 }, (_, i) => drive(130 + stopS + i * 10, 50)),
    ];
    expect(segmentLog(withStop(120)).length).toBe(1);
    expect(segmentLog(withStop(900)).length).toBe(2);
  });
});

describe("evaluateVehicle on a log with known answers", () => {
  const e = evaluateVehicle([log], DEFAULT_ANALYSIS);
  it("energy, distance and efficiency", () => {
    expect(e.tripCount).toBe(2);
    expect(e.chargeCount).toBe(1);
    expect(e.totalDistanceKm).toBeCloseTo(20, 9);
    expect(e.tripEnergyOutKwh).toBeCloseTo(20 / 3, 9);
    expect(e.chargeEnergyInKwh).toBeCloseTo(10 / 3, 9);
    expect(e.averageEfficiencyWhPerKm).toBeCloseTo(1000 / 3, 9);
    expect(e.averageEfficiencyKmPerKwh).toBeCloseTo(3, 9);
    expect(e.trips.map((t) => t.efficiencyWhPerKm)).toEqual([expect.closeTo(1000 / 3, 9), undefined, expect.closeTo(1000 / 3, 9)]);
  });
  it("capacity by coulomb counting, SOH, capacity loss, range", () => {
    expect(e.capacityAh).toMatchObject({ n: 3, value: expect.closeTo(25, 9), standardError: expect.closeTo(0, 9) });
    expect(e.energyCapacityKwh?.value).toBeCloseTo(10, 9);
    expect(e.soh).toMatchObject({ basis: "Ah", value: expect.closeTo(0.8, 9) });
    expect(e.remainingCapacityKwh).toBeCloseTo(10, 9);
    expect(e.capacityLossKwh).toBeCloseTo(2.5, 9);
    expect(e.rangePerChargeKm).toBeCloseTo(30, 9);
  });
  it("usable energy comes from discharge: a charge at a higher voltage (with its losses) does not inflate it", () => {
    // the same log, but every charging sample at 440 V instead of 400 V
    const hotCharge = { ...log, samples: log.samples.map((s) => (s.packCurrentA > 0 ? { ...s, packVoltageV: 440 } : s)) };
    const h = evaluateVehicle([hotCharge], DEFAULT_ANALYSIS);
    expect(h.energyCapacityKwh).toMatchObject({ n: 2, value: expect.closeTo(10, 9) }); // the two trips, at 400 V
    expect(h.capacityPoints.filter((p) => !p.discharge).map((p) => p.energyCapacityKwh)).toEqual([expect.closeTo(11, 9)]); // 25 Ah × 440 V
    expect(h.capacityLossKwh).toBeCloseTo(2.5, 9);
  });
  it("usage statistics", () => {
    const spanDays = (endS - samples[0].timeS) / 86_400;
    expect(e.usage.spanDays).toBeCloseTo(spanDays, 12);
    expect(e.usage.efcPerDay).toBeCloseTo(0.5 / spanDays, 9);
    expect(e.usage.dailyDodPct).toBeCloseTo(100 / 3, 9);
    expect(e.usage.meanTemperatureC).toBeCloseTo(20, 12);
    // mean discharge current = 2 × 8.333 Ah over 1800 s = 33.33 A = 1.0667 C of the 31.25 Ah rating
    expect(e.usage.meanDischargeCRate).toBeCloseTo((50 / 3 / 0.5) / 31.25, 9);
  });
  it("gives an uncertainty only with two or more segments, and spreads them", () => {
    const short = evaluateVehicle([{ ...log, samples: samples.slice(0, 61) }]);
    expect(short.capacityAh).toEqual({ value: expect.closeTo(25, 9), n: 1 });
  });
});
