/**
 * Write the SIMULATED sample BMS logs of samples/bms-logs/ (npx tsx server/cli/make-sample-logs.ts [folder]).
 * Deterministic: every random draw comes from seeded generators (simulators/cell/prng.ts), so the files are
 * byte-identical on every run. Every file says it is simulated (meta field or "# simulated: true" header).
 *
 * The packs are built from the station's own cell model (simulators/cell/sim-cell.ts, DESIGN §5):
 * - a pack is ns cells in series × np in parallel of ONE simulated cell (the parallel cells share its current,
 *   the series cells its voltage), or, for the moped, one simulated cell per series group drawn from a
 *   second-life population so the 16 cell-voltage columns show a real spread;
 * - pack current I → cell current I/np; pack voltage = Σ over series positions of the cell's terminal voltage;
 *   the cell's temperature comes from its own thermal model at the given ambient;
 * - the BMS SOC is the cells' true SOC (mean over series groups), rounded to 0.1 %: what a perfect BMS reports;
 * - driving: a seeded synthetic drive cycle (urban stop-and-go blocks, some at highway speed; NOT a standard
 *   cycle such as WLTP) at 10 s resolution; battery power from a road-load model with ASSUMED vehicle figures
 *   (VehicleSpec): P_wheel = v·(m·g·c_rr + ½·ρ·c_d·A·v² + m·a), battery P = P_wheel/η_drive when driving,
 *   P_wheel·η_regen when braking, plus auxiliary load;
 * - charging: constant power from the evening plug-in to the target SOC, limited to the chemistry's maximum cell
 *   voltage (CV) if it would exceed it;
 * - the pack current is taken linear between the 10 s (driving) or 60 s (charging) log instants and the cells are
 *   advanced with mid-point sub-steps, so the trapezoid integral of the logged current is the charge the cells saw.
 * sampleGroundTruth() gives what the generator knows and an analysis must recover (true capacity, SOH, distance),
 * from the cell model's ground truth — never from analysing the logs.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { AgeingState, ChemistryId } from "../domain/chemistry/chemistry.ts";
import { getChemistry } from "../domain/chemistry/registry.ts";
import type { BmsSample } from "../domain/evaluation/bms-log.ts";
import { CELL_FORMATS, secondLifeCells } from "../../simulators/cell/population.ts";
import { createPrng, type Prng } from "../../simulators/cell/prng.ts";
import { createCell, type CellSpec, type SimCell } from "../../simulators/cell/sim-cell.ts";

/** Road-load figures of a simulated vehicle — ASSUMED round values of the vehicle class, not a real model. */
export interface VehicleSpec {
  massKg: number;
  rollingResistance: number;
  dragAreaM2: number;
  driveEfficiency: number;
  regenEfficiency: number;
  auxW: number;
  maxSpeedKph: number;
  /** share of trip blocks at highway speed */
  highwayShare: number;
  tripKm: [number, number];
}

export interface PackSpec {
  vehicleId: string;
  chemistry: ChemistryId;
  cellsInSeries: number;
  cellsInParallel: number;
  /** true SOH range of the simulated cells (second-life population, simulators/cell/population.ts) */
  sohRange: [number, number];
  /** one simulated cell for the whole pack, or one per series group (gives per-cell voltage columns) */
  cellPerSeriesGroup: boolean;
  seed: number;
  vehicle: VehicleSpec;
  chargePowerW: number;
  plugInBelowSocPct: number;
  chargeToSocPct: number;
  ambientC: number;
}

const DRIVE_STEP_S = 10;
const CHARGE_STEP_S = 60;
const SUB_STEPS = 10;
const GRAVITY = 9.81;
const AIR_DENSITY = 1.2;

const round = (v: number, digits: number) => Number(v.toFixed(digits));

/** The cells of a pack: one spec, or one per series group. */
function packCellSpecs(p: PackSpec, startSoc: number): CellSpec[] {
  const count = p.cellPerSeriesGroup ? p.cellsInSeries : 1;
  return secondLifeCells({ seed: p.seed, count, chemistry: p.chemistry, serialPrefix: `${p.vehicleId}-C`, sohRange: p.sohRange })
    .map((c) => ({ ...c, initialSoc: startSoc, initialTemperatureC: p.ambientC }));
}

/** Rated (nameplate) figures: np × the chemistry's nominal capacity; energy = that × ns × mean fresh-cell OCV over 0–100 % SOC at 25 °C. */
export function ratedFigures(p: PackSpec): { ratedCapacityAh: number; ratedEnergyKwh: number } {
  const nominalAh = getChemistry(p.chemistry).nominalCapacityAh;
  const fresh: AgeingState = { lli: 0, lamNe: 0, lamPe: 0, resistanceGrowth: 0 };
  const ocv = (soc: number) => createCell({ ...CELL_FORMATS[p.chemistry], serial: "rated", chemistry: p.chemistry, ageing: fresh, leakCurrentA: 0,
    microShort: false, highResistance: false, initialSoc: soc, initialTemperatureC: 25 }).truth().ocvV;
  const n = 50;
  let meanOcv = 0;
  for (let i = 0; i < n; i++) meanOcv += ocv((i + 0.5) / n) / n;
  return { ratedCapacityAh: p.cellsInParallel * nominalAh, ratedEnergyKwh: (p.cellsInSeries * p.cellsInParallel * nominalAh * meanOcv) / 1000 };
}

/**
 * True charge capacity as a BMS that reports the mean SOC of the series groups sees it: ΔAh / Δ(mean SOC) =
 * np / mean(1/C_i) (harmonic mean of the groups' capacities); for a single simulated cell simply np × C.
 */
export function trueCapacityAh(p: PackSpec): number {
  const caps = packCellSpecs(p, 0.5).map((s) => createCell(s).truth().capacityAh);
  return p.cellsInParallel / (caps.reduce((a, c) => a + 1 / c, 0) / caps.length);
}

class SimulatedPack {
  private readonly cells: SimCell[];
  private readonly perCell: number;
  private readonly maxCellV: number;
  constructor(private readonly p: PackSpec, startSoc: number) {
    this.cells = packCellSpecs(p, startSoc).map(createCell);
    this.perCell = p.cellsInSeries / this.cells.length;
    this.maxCellV = getChemistry(p.chemistry).maxVoltageV;
  }
  voltageV(packCurrentA: number): number {
    const ic = packCurrentA / this.p.cellsInParallel;
    return this.perCell * this.cells.reduce((a, c) => a + c.voltageAt(ic), 0);
  }
  /** pack current for battery power powerW (charge > 0), capped so no cell exceeds its maximum voltage */
  currentForPowerA(powerW: number): number {
    const a = this.voltageV(0);
    const b = this.voltageV(1) - a;
    const d = a * a + 4 * b * powerW;
    const current = d < 0 ? -a / (2 * b) : (2 * powerW) / (a + Math.sqrt(d));
    const cvLimitA = Math.min(...this.cells.map((c) => c.currentForVoltage(this.maxCellV))) * this.p.cellsInParallel;
    return Math.min(current, cvLimitA);
  }
  /** advance dtS with the pack current linear from i0 to i1 (mid-point sub-steps) */
  advance(dtS: number, i0: number, i1: number): void {
    const h = dtS / SUB_STEPS;
    for (let k = 0; k < SUB_STEPS; k++) {
      const ic = (i0 + ((k + 0.5) / SUB_STEPS) * (i1 - i0)) / this.p.cellsInParallel;
      for (const c of this.cells) c.advance(h, ic, this.p.ambientC);
    }
  }
  socPct(): number {
    return (100 * this.cells.reduce((a, c) => a + c.truth().socFraction, 0)) / this.cells.length;
  }
  temperatureC(): number {
    return this.cells.reduce((a, c) => a + c.temperatureC, 0) / this.cells.length;
  }
  cellVoltagesV(packCurrentA: number): number[] | undefined {
    if (this.cells.length !== this.p.cellsInSeries) return undefined;
    return this.cells.map((c) => c.voltageAt(packCurrentA / this.p.cellsInParallel));
  }
}

/** Speeds [km/h] at 10 s instants of one trip of about km: stop-and-go blocks, a share of them at highway speed; starts and ends at rest. */
export function driveCycle(v: VehicleSpec, km: number, rng: Prng): number[] {
  const speeds = [0];
  let distanceKm = 0;
  const push = (kph: number) => {
    distanceKm += ((speeds[speeds.length - 1] + kph) / 2) * (DRIVE_STEP_S / 3600);
    speeds.push(kph);
  };
  const rampTo = (target: number, maxDeltaKph: number) => {
    while (Math.abs(speeds[speeds.length - 1] - target) > 1e-9) {
      const now = speeds[speeds.length - 1];
      push(now + Math.sign(target - now) * Math.min(maxDeltaKph, Math.abs(target - now)));
    }
  };
  // 1.2 m/s² up, 1.5 m/s² down over a 10 s step
  const up = 1.2 * 3.6 * DRIVE_STEP_S;
  const down = 1.5 * 3.6 * DRIVE_STEP_S;
  while (distanceKm < km) {
    const highway = rng.uniform() < v.highwayShare;
    const cruise = Math.min(v.maxSpeedKph, highway ? rng.between(95, 115) : rng.between(30, 55));
    rampTo(cruise, up);
    const steps = highway ? Math.round(rng.between(20, 60)) : Math.round(rng.between(3, 12));
    for (let i = 0; i < steps && distanceKm < km; i++) push(Math.min(v.maxSpeedKph, cruise + rng.between(-3, 3)));
    rampTo(0, down);
    for (let i = Math.round(rng.between(1, 3)); i > 0; i--) push(0);
  }
  return speeds;
}

/** Battery power [W] (charge > 0) at speed kph with acceleration aMps2. */
function batteryPowerW(v: VehicleSpec, kph: number, aMps2: number): number {
  const mps = kph / 3.6;
  const wheelW = mps * (v.massKg * GRAVITY * v.rollingResistance * (mps > 0 ? 1 : 0) + 0.5 * AIR_DENSITY * v.dragAreaM2 * mps * mps + v.massKg * aMps2);
  return -(wheelW > 0 ? wheelW / v.driveEfficiency : wheelW * v.regenEfficiency) - v.auxW;
}

export interface SimulatedRun {
  samples: BmsSample[];
  /** every trip and charge as the generator ran it (inclusive sample indices) */
  sessions: { kind: "trip" | "charge"; startIndex: number; endIndex: number; distanceKm: number }[];
  /** distance driven [km], summed by the generator */
  distanceKm: number;
}

/** Simulate `days` days from startS: two trips a day (07:30, 17:00), a home charge at 20:00 when SOC < plug-in level. */
export function simulatePack(p: PackSpec, startS: number, days: number, startSocPct = 90, startOdometerKm = 12_000): SimulatedRun {
  const rng = createPrng(p.seed * 7919 + 1);
  const pack = new SimulatedPack(p, startSocPct / 100);
  let odo = startOdometerKm;
  let distanceKm = 0;
  const out: BmsSample[] = [];
  const sessions: SimulatedRun["sessions"] = [];
  const log = (t: number, currentA: number, speedKph: number) => {
    const s: BmsSample = {
      timeS: t, packVoltageV: round(pack.voltageV(currentA), 2), packCurrentA: round(currentA, 2), socPct: round(pack.socPct(), 1),
      temperatureC: round(pack.temperatureC(), 1), speedKph: round(speedKph, 1), odometerKm: round(odo, 3),
    };
    const cells = pack.cellVoltagesV(currentA);
    if (cells) s.cellVoltagesV = cells.map((v) => round(v, 4));
    out.push(s);
  };
  const rest = (fromS: number, toS: number) => {
    if (toS > fromS) pack.advance(toS - fromS, 0, 0);
  };
  let clockS = startS;
  const drive = (t0: number) => {
    rest(clockS, t0);
    const speeds = driveCycle(p.vehicle, p.vehicle.tripKm[0] + (p.vehicle.tripKm[1] - p.vehicle.tripKm[0]) * rng.uniform(), rng);
    const powerAt = (k: number) => k === speeds.length - 1 ? 0 :
      batteryPowerW(p.vehicle, speeds[k], (speeds[k + 1] - speeds[k]) / 3.6 / DRIVE_STEP_S);
    let current = pack.currentForPowerA(powerAt(0));
    const startIndex = out.length;
    const startKm = distanceKm;
    for (let k = 0; k < speeds.length; k++) {
      const t = t0 + k * DRIVE_STEP_S;
      log(t, current, speeds[k]);
      if (k === speeds.length - 1) break;
      const next = k + 1 === speeds.length - 1 ? 0 : pack.currentForPowerA(powerAt(k + 1));
      pack.advance(DRIVE_STEP_S, current, next);
      const stepKm = ((speeds[k] + speeds[k + 1]) / 2) * (DRIVE_STEP_S / 3600);
      odo += stepKm;
      distanceKm += stepKm;
      current = next;
    }
    clockS = t0 + (speeds.length - 1) * DRIVE_STEP_S;
    sessions.push({ kind: "trip", startIndex, endIndex: out.length - 1, distanceKm: distanceKm - startKm });
  };
  const charge = (t0: number) => {
    rest(clockS, t0);
    let t = t0;
    let current = pack.currentForPowerA(p.chargePowerW);
    const startIndex = out.length;
    while (pack.socPct() < p.chargeToSocPct) {
      log(t, current, 0);
      const next = pack.currentForPowerA(p.chargePowerW);
      pack.advance(CHARGE_STEP_S, current, next);
      current = next;
      t += CHARGE_STEP_S;
    }
    // the charger stops: the current falls to zero over the last step
    log(t, current, 0);
    pack.advance(CHARGE_STEP_S, current, 0);
    t += CHARGE_STEP_S;
    log(t, 0, 0);
    clockS = t;
    sessions.push({ kind: "charge", startIndex, endIndex: out.length - 1, distanceKm: 0 });
  };
  for (let d = 0; d < days; d++) {
    const day = startS + d * 86_400;
    drive(day + 7.5 * 3600);
    drive(day + 17 * 3600);
    if (pack.socPct() < p.plugInBelowSocPct) charge(day + 20 * 3600);
  }
  return { samples: out, sessions, distanceKm };
}

const COMPACT_CAR: VehicleSpec = {
  massKg: 1600, rollingResistance: 0.01, dragAreaM2: 0.62, driveEfficiency: 0.85, regenEfficiency: 0.6, auxW: 300,
  maxSpeedKph: 130, highwayShare: 0.25, tripKm: [18, 32],
};
const EV01: PackSpec = {
  vehicleId: "SIM-EV-01", chemistry: "nmc811-graphite", cellsInSeries: 96, cellsInParallel: 12, sohRange: [0.9, 0.9],
  cellPerSeriesGroup: false, seed: 7, vehicle: COMPACT_CAR, chargePowerW: 11_000, plugInBelowSocPct: 60, chargeToSocPct: 90, ambientC: 18,
};
const EV02: PackSpec = {
  ...EV01, vehicleId: "SIM-EV-02", cellsInParallel: 24, sohRange: [0.82, 0.82], seed: 11, ambientC: 28,
  vehicle: { ...COMPACT_CAR, massKg: 2100, dragAreaM2: 0.75, tripKm: [25, 45] },
};
const MOPED: PackSpec = {
  vehicleId: "SIM-MOPED-16S", chemistry: "lfp-graphite", cellsInSeries: 16, cellsInParallel: 13, sohRange: [0.93, 0.97],
  cellPerSeriesGroup: true, seed: 3, chargePowerW: 600, plugInBelowSocPct: 60, chargeToSocPct: 95, ambientC: 15,
  vehicle: { massKg: 180, rollingResistance: 0.015, dragAreaM2: 0.6, driveEfficiency: 0.8, regenEfficiency: 0.5, auxW: 20,
    maxSpeedKph: 45, highwayShare: 0, tripKm: [6, 12] },
};

/** The sample vehicles and what the generator knows about them (ground truth of the cell model, not analysis). */
export const SAMPLE_PACKS = Object.freeze({ EV01, EV02, MOPED });

export interface SampleTruth {
  vehicleId: string;
  trueCapacityAh: number;
  ratedCapacityAh: number;
  /** true capacity / rated capacity */
  sohAh: number;
}

export function sampleGroundTruth(): SampleTruth[] {
  return [EV01, EV02, MOPED].map((p) => {
    const { ratedCapacityAh } = ratedFigures(p);
    const capacityAh = trueCapacityAh(p);
    return { vehicleId: p.vehicleId, trueCapacityAh: capacityAh, ratedCapacityAh, sohAh: capacityAh / ratedCapacityAh };
  });
}

const modelNote = (p: PackSpec) =>
  `SIMULATED by server/cli/make-sample-logs.ts from the station's cell model (simulators/cell/sim-cell.ts, ${p.chemistry}, ` +
  `${p.cellsInSeries}s${p.cellsInParallel}p, ${p.cellPerSeriesGroup ? "one simulated cell per series group" : "one simulated cell"}), ` +
  `synthetic drive cycle, seed ${p.seed}`;

const header = (p: PackSpec, note: string) => {
  const rated = ratedFigures(p);
  return [
    "# simulated: true",
    `# vehicle_id: ${p.vehicleId}`,
    `# rated_capacity_ah: ${round(rated.ratedCapacityAh, 2)}`,
    `# rated_energy_kwh: ${rated.ratedEnergyKwh.toFixed(2)}`,
    `# notes: ${modelNote(p)}; ${note}`,
  ];
};

const csv = (head: string[], cols: string[], rows: (string | number | undefined)[][]) =>
  [...head, cols.join(","), ...rows.map((r) => r.map((v) => (v === undefined ? "" : String(v))).join(","))].join("\n") + "\n";

export async function writeSampleLogs(dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const t0 = Date.UTC(2026, 2, 2) / 1000;
  const ev01 = simulatePack(EV01, t0, 8).samples;
  const cut = (fromDay: number, toDay: number) => ev01.filter((s) => s.timeS >= t0 + fromDay * 86_400 && s.timeS < t0 + toDay * 86_400);
  const files: [string, string][] = [];

  files.push(["ev01-generic.csv", csv(header(EV01, "generic time series, days 1-3"),
    ["time_s", "pack_voltage_v", "current_a", "soc_pct", "temp_c", "speed_kph", "odometer_km"],
    cut(0, 3).map((s) => [s.timeS, s.packVoltageV, s.packCurrentA, s.socPct, s.temperatureC, s.speedKph, s.odometerKm]))]);

  files.push(["ev01-imperial-units.json", JSON.stringify({
    meta: { simulated: true, vehicle_id: EV01.vehicleId, rated_capacity_ah: round(ratedFigures(EV01).ratedCapacityAh, 2),
      rated_energy_kwh: round(ratedFigures(EV01).ratedEnergyKwh, 2), notes: `${modelNote(EV01)}; days 4-5 in mV, mA, degF, mph, miles, ISO timestamps` },
    samples: cut(3, 5).map((s) => ({
      timestamp: new Date(s.timeS * 1000).toISOString(), pack_voltage_mv: Math.round(s.packVoltageV * 1000), current_ma: Math.round(s.packCurrentA * 1000),
      soc_pct: s.socPct, temp_f: round(s.temperatureC! * 1.8 + 32, 1), speed_mph: round(s.speedKph! / 1.609344, 2), odometer_mi: round(s.odometerKm! / 1.609344, 4),
    })),
  })]);

  files.push(["ev01-vendor-export.csv", csv(header(EV01, "vendor export, discharge current positive, days 6-7"),
    ["Log Time [ms]", "HV Battery Voltage [V]", "HV Battery Current (discharge +) [A]", "Displayed SOC [%]", "Battery Temp [degC]", "Vehicle Speed [km/h]"],
    cut(5, 7).map((s) => [s.timeS * 1000, s.packVoltageV, round(-s.packCurrentA, 2), s.socPct, s.temperatureC, s.speedKph]))]);

  const broken = cut(7, 8).map((s) => [s.timeS, s.packVoltageV, s.packCurrentA, s.socPct, s.temperatureC, s.speedKph, s.odometerKm] as (string | number | undefined)[]);
  broken[5][1] = "ERR";                 // sensor text in a number column
  broken[9][0] = "";                    // missing timestamp
  broken[14][3] = 140;                  // SOC out of range
  broken[20] = broken[20].slice(0, 4);  // truncated line
  broken[30][0] = broken[2][0];         // time going backwards
  files.push(["ev01-broken-rows.csv", csv(header(EV01, "day 8 with DELIBERATELY BROKEN rows (5) to show error reporting"),
    ["time_s", "pack_voltage_v", "current_a", "soc_pct", "temp_c", "speed_kph", "odometer_km"], broken)]);

  // Sessions: the generator's own trips and charges; energy = trapezoid of V·I at the terminals (out for trips, in for charges).
  const ev02 = simulatePack(EV02, t0, 10);
  const sessions = ev02.sessions.map((sess) => {
    const xs = ev02.samples.slice(sess.startIndex, sess.endIndex + 1);
    let wh = 0;
    for (let i = 1; i < xs.length; i++) wh += (0.5 * (xs[i].packVoltageV * xs[i].packCurrentA + xs[i - 1].packVoltageV * xs[i - 1].packCurrentA) * (xs[i].timeS - xs[i - 1].timeS)) / 3600;
    return { kind: sess.kind, start: xs[0], end: xs[xs.length - 1], energyWh: sess.kind === "trip" ? -wh : wh, distanceKm: sess.distanceKm };
  });
  files.push(["ev02-sessions.csv", csv(header(EV02, "trip/charge summary export"),
    ["kind", "start_time", "end_time", "start_soc_pct", "end_soc_pct", "energy_kwh", "distance_km"],
    sessions.map((s) => [s.kind, new Date(s.start.timeS * 1000).toISOString(), new Date(s.end.timeS * 1000).toISOString(),
      s.start.socPct, s.end.socPct, round(s.energyWh / 1000, 3), round(s.distanceKm, 2)]))]);

  const moped = simulatePack(MOPED, t0, 2, 95, 800).samples;
  files.push(["moped-cells.csv", csv(header(MOPED, "16 cell voltages per sample (one simulated cell per series group)"),
    ["time_s", "pack_voltage_v", "current_a", "soc_pct", "temp_c", "speed_kph", ...Array.from({ length: MOPED.cellsInSeries }, (_, i) => `cell_${String(i + 1).padStart(3, "0")}_mv`)],
    moped.map((s) => [s.timeS, s.packVoltageV, s.packCurrentA, s.socPct, s.temperatureC, s.speedKph, ...s.cellVoltagesV!.map((v) => Math.round(v * 1000))]))]);

  // A file cut off mid-write: the importer must report it and carry on with the others.
  files.push(["corrupt-truncated.json", JSON.stringify({ meta: { simulated: true, vehicle_id: "SIM-EV-01" }, samples: cut(0, 1).slice(0, 3) }).slice(0, 150)]);

  for (const [name, text] of files) await writeFile(join(dir, name), text);
  return files.map(([n]) => n);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = resolve(process.argv[2] ?? "samples/bms-logs");
  writeSampleLogs(dir).then((names) => console.log(`wrote ${names.length} SIMULATED logs to ${dir}:\n  ${names.join("\n  ")}`));
}
