import { describe, expect, it } from "vitest";
import { FRESH, type AgeingState, type ChemistryId } from "../../../server/domain/chemistry/chemistry.ts";
import { CELL_FORMATS } from "../../../simulators/cell/population.ts";
import { CHARGE_SIDE_REACTION_FRACTION, createCell, type CellSpec, type SimCell } from "../../../simulators/cell/sim-cell.ts";

function spec(over: Partial<CellSpec> & { chemistry?: ChemistryId } = {}): CellSpec {
  const chemistry = over.chemistry ?? "nmc811-graphite";
  return {
    ...CELL_FORMATS[chemistry],
    serial: "T0001",
    chemistry,
    ageing: FRESH,
    leakCurrentA: 20e-6,
    microShort: false,
    highResistance: false,
    initialSoc: 0.5,
    initialTemperatureC: 25,
    ...over,
  };
}

/** Runs constant current until stop(V) or maxS; returns elapsed seconds. */
function run(cell: SimCell, currentA: number, dtS: number, maxS: number, stop: (v: number) => boolean = () => false): number {
  let t = 0;
  while (t < maxS) {
    if (stop(cell.voltageAt(currentA))) break;
    cell.advance(dtS, currentA, 25);
    t += dtS;
  }
  return t;
}

describe("terminal voltage and sign convention", () => {
  it("charge current raises V, discharge lowers it; at rest V equals the equilibrium OCV (≤ 0.1 mV)", () => {
    for (const soc of [0.05, 0.2, 0.5, 0.8, 0.97]) {
      const cell = createCell(spec({ initialSoc: soc }));
      const ocvV = cell.truth().ocvV;
      expect(Math.abs(cell.voltageAt(0) - ocvV)).toBeLessThan(1e-4);
      expect(cell.voltageAt(1) - cell.voltageAt(0)).toBeCloseTo(CELL_FORMATS["nmc811-graphite"].r0Ohm, 12);
      expect(cell.voltageAt(-1)).toBeLessThan(ocvV);
    }
  });

  it("inverts V(I) for CV and I·V(I) for CP, and reports unreachable power as NaN", () => {
    const cell = createCell(spec());
    cell.advance(30, -2, 25);
    const iCv = cell.currentForVoltage(3.7);
    expect(cell.voltageAt(iCv)).toBeCloseTo(3.7, 12);
    for (const powerW of [10, -10, -40]) {
      const i = cell.currentForPower(powerW);
      expect(i * cell.voltageAt(i)).toBeCloseTo(powerW, 9);
      expect(Math.sign(i)).toBe(Math.sign(powerW));
    }
    expect(cell.currentForPower(-1000)).toBeNaN();
  });

  it("contact resistance adds I·Rc to the terminal voltage", () => {
    const cell = createCell(spec());
    const before = cell.voltageAt(-3);
    cell.contactResistanceOhm = 0.05;
    expect(cell.voltageAt(-3)).toBeCloseTo(before - 3 * 0.05, 12);
  });

  it("resistance follows Arrhenius with the configured activation energy", () => {
    const warm = createCell(spec({ initialTemperatureC: 25 }));
    const cold = createCell(spec({ initialTemperatureC: 0 }));
    const dropWarm = warm.voltageAt(0) - warm.voltageAt(-1);
    const dropCold = cold.voltageAt(0) - cold.voltageAt(-1);
    const expected = Math.exp((25_000 / 8.314462618) * (1 / 273.15 - 1 / 298.15));
    expect(dropCold / dropWarm).toBeCloseTo(expected, 9);
  });

  it("reports the true 10 s DCIR including resistance growth", () => {
    const t = createCell(spec({ ageing: { ...FRESH, resistanceGrowth: 0.5 } })).truth();
    const f = CELL_FORMATS["nmc811-graphite"];
    const expected = 1.5 * (f.r0Ohm + f.r1Ohm * (1 - Math.exp(-10 / f.tau1S)) + f.r2Ohm * (1 - Math.exp(-10 / f.tau2S)));
    expect(t.dcir10sOhm).toBeCloseTo(expected, 12);
  });
});

describe("capacity and charge bookkeeping", () => {
  const cases: Array<[ChemistryId, AgeingState]> = [
    ["nmc811-graphite", FRESH],
    ["nmc811-graphite", { lli: 0.15, lamNe: 0.05, lamPe: 0.1, resistanceGrowth: 0.4 }],
    ["lfp-graphite", FRESH],
  ];
  for (const [chemistry, ageing] of cases) {
    it(`C/20 discharge from 100 % to 2.5 V delivers the true capacity within 0.5 % (${chemistry}, lli ${ageing.lli})`, () => {
      const cell = createCell(spec({ chemistry, ageing, initialSoc: 1 }));
      const capacityAh = cell.truth().capacityAh;
      const currentA = -capacityAh / 20;
      const seconds = run(cell, currentA, 10, 30 * 3600, (v) => v <= 2.5);
      const deliveredAh = (-currentA * seconds) / 3600;
      expect(Math.abs(deliveredAh / capacityAh - 1)).toBeLessThan(0.005);
    });
  }

  it("loses the side-reaction fraction of charge: SOC rises by I·t·(1 − f) − leak·t", () => {
    const cell = createCell(spec({ initialSoc: 0.2 }));
    const capacityAh = cell.truth().capacityAh;
    run(cell, 2, 1, 3600);
    const expectedSoc = 0.2 + (2 * (1 - CHARGE_SIDE_REACTION_FRACTION) - 20e-6) / capacityAh;
    expect(cell.truth().socFraction).toBeCloseTo(expectedSoc, 10);
  });
});

describe("time stepping", () => {
  it("one 3600 s step matches 3600 one-second steps closely and stays finite", () => {
    const coarse = createCell(spec());
    const fine = createCell(spec());
    coarse.advance(3600, -1, 25);
    run(fine, -1, 1, 3600);
    expect(coarse.truth().socFraction).toBeCloseTo(fine.truth().socFraction, 12);
    expect(Math.abs(coarse.voltageAt(-1) - fine.voltageAt(-1))).toBeLessThan(2e-3);
    expect(Math.abs(coarse.temperatureC - fine.temperatureC)).toBeLessThan(0.1);
    coarse.advance(1e7, 0, 25);
    expect(Number.isFinite(coarse.voltageAt(0))).toBe(true);
    expect(coarse.temperatureC).toBeCloseTo(25, 3);
  });

  it("relaxes after a pulse with a fast (τ1) and a ~1 h (τ2) time constant", () => {
    const cell = createCell(spec());
    run(cell, -5, 1, 60);
    const restAt = (seconds: number): number => {
      run(cell, 0, 1, seconds);
      return cell.voltageAt(0) - cell.truth().ocvV;
    };
    const d5s = restAt(5);
    const d20min = restAt(20 * 60 - 5);
    const d80min = restAt(60 * 60);
    expect(d5s).toBeLessThan(0);
    // after RC1 has died out the deviation decays as e^(−t/τ2): one hour later it has fallen by e
    expect(d20min / d80min).toBeCloseTo(Math.E, 1);
    // the fast part is present: at 5 s the deviation is far larger than the slow tail extrapolated back
    expect(Math.abs(d5s)).toBeGreaterThan(3 * Math.abs(d20min) * Math.exp(20 / 60));
  });
});

describe("self-discharge", () => {
  it("a micro-short cell loses OCV measurably faster over a simulated week at rest", () => {
    const normal = createCell(spec({ leakCurrentA: 20e-6 }));
    const shorted = createCell(spec({ leakCurrentA: 1e-3, microShort: true }));
    const v0 = normal.voltageAt(0);
    const week = 7 * 24 * 3600;
    run(normal, 0, 600, week);
    run(shorted, 0, 600, week);
    const dropNormalV = v0 - normal.voltageAt(0);
    const dropShortV = v0 - shorted.voltageAt(0);
    expect(dropShortV).toBeGreaterThan(20 * dropNormalV);
    expect(dropShortV).toBeGreaterThan(0.005);
    expect(shorted.truth().socFraction).toBeCloseTo(0.5 - (1e-3 * week) / 3600 / shorted.truth().capacityAh, 10);
  });
});

describe("hysteresis (LFP)", () => {
  it("OCV after rest differs by the 2 × 10 mV hysteresis gap depending on the approach direction", () => {
    const fromBelow = createCell(spec({ chemistry: "lfp-graphite", initialSoc: 0.3 }));
    const fromAbove = createCell(spec({ chemistry: "lfp-graphite", initialSoc: 0.7 }));
    const q = 0.2 * fromBelow.truth().capacityAh * 3600;
    run(fromBelow, 0.5, 1, q / 0.5 / (1 - CHARGE_SIDE_REACTION_FRACTION));
    run(fromAbove, -0.5, 1, q / 0.5);
    run(fromBelow, 0, 60, 12 * 3600);
    run(fromAbove, 0, 60, 12 * 3600);
    const gapV = fromBelow.voltageAt(0) - fromAbove.voltageAt(0);
    const ocvGapV = fromBelow.truth().ocvV - fromAbove.truth().ocvV;
    expect(gapV - ocvGapV).toBeCloseTo(0.02, 3);
  });
});

describe("thermal", () => {
  it("a step of ambient gives a first-order response with τ = m·c_p/hA", () => {
    const s = spec();
    const cell = createCell(s);
    const tauS = (s.massKg * s.heatCapacityJPerKgK) / s.hAWPerK;
    let t = 0;
    while (t < tauS) {
      const dt = Math.min(1, tauS - t);
      cell.advance(dt, 0, 35);
      t += dt;
    }
    expect(cell.temperatureC).toBeCloseTo(35 - 10 * Math.exp(-1), 6);
    expect(tauS / 60).toBeGreaterThan(10);
    expect(tauS / 60).toBeLessThan(60);
  });

  it("Joule heating warms the cell; reversible heat is +I·T·dU/dT for charge-positive I", () => {
    const s = spec({ initialSoc: 0.5 });
    const charge = createCell(s);
    const discharge = createCell(s);
    const dudtVPerK = charge.truth().dudtMvPerK * 1e-3;
    const seconds = 60;
    run(charge, 5, 0.1, seconds);
    run(discharge, -5, 0.1, seconds);
    const heatCapacityJPerK = s.massKg * s.heatCapacityJPerKgK;
    const riseCharge = charge.temperatureC - 25;
    const riseDischarge = discharge.temperatureC - 25;
    const jouleMeanK = (riseCharge + riseDischarge) / 2;
    expect(jouleMeanK).toBeGreaterThan((0.95 * 25 * s.r0Ohm * seconds) / heatCapacityJPerK);
    expect(jouleMeanK).toBeLessThan((25 * (s.r0Ohm + s.r1Ohm + s.r2Ohm) * seconds) / heatCapacityJPerK);
    const reversibleK = (2 * 5 * 298.15 * dudtVPerK * seconds) / heatCapacityJPerK;
    expect(Math.abs(reversibleK)).toBeGreaterThan(0.01);
    expect((riseCharge - riseDischarge) / reversibleK).toBeCloseTo(1, 1);
  });
});

describe("input checks", () => {
  it("rejects a bad spec and a negative time step with the field named", () => {
    expect(() => createCell(spec({ r0Ohm: -1 }))).toThrow(/T0001: r0Ohm/);
    expect(() => createCell(spec({ initialSoc: 1.5 }))).toThrow(/initialSoc/);
    expect(() => createCell(spec()).advance(-1, 0, 25)).toThrow(/dtS/);
  });
});
