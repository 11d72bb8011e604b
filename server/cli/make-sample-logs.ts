/**
 * Write the SIMULATED sample BMS logs of samples/bms-logs/ (npx tsx server/cli/make-sample-logs.ts [folder]).
 * simulators/cell has no pack-level model yet, so the logs come from the simple, documented pack model below;
 * every file says it is simulated (meta field or header comment).
 *
 * Pack model (deliberately simple, stated so nobody mistakes it for a measurement):
 * - cells in series, one string; cell OCV = 3.40 V + 0.80 V · SOC (linear), pack resistance R;
 *   terminal voltage V = n·OCV + I·R (charge current > 0);
 * - true capacity = rated capacity × SOH; the BMS SOC is the exact coulomb count on the true capacity,
 *   rounded to 0.1 %, so the analysis must recover SOH = true capacity / rated;
 * - driving power = consumption [Wh/km] · speed [km/h] + auxiliary load; no regeneration;
 *   charging at constant power from below the plug-in SOC up to the target SOC;
 * - pack temperature = ambient + (I²R heating) / thermal conductance, updated per sample.
 * Trip lengths vary with a seeded linear congruential generator, so the files are reproducible.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { BmsSample } from "../domain/evaluation/bms-log.ts";

export interface PackSpec {
  vehicleId: string;
  cellsInSeries: number;
  ratedCapacityAh: number;
  soh: number;
  resistanceOhm: number;
  consumptionWhPerKm: number;
  auxW: number;
  chargePowerW: number;
  ambientC: number;
  /** per-cell OCV offsets [V] to give a visible cell spread; empty = no cell columns */
  cellOffsetsV: number[];
}

const cellOcvV = (socPct: number) => 3.4 + 0.8 * (socPct / 100);
export const ratedEnergyKwh = (p: PackSpec) => (p.cellsInSeries * cellOcvV(50) * p.ratedCapacityAh) / 1000;

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const round = (v: number, digits: number) => Number(v.toFixed(digits));

/** Simulate `days` days from startS: two commutes a day, a home charge in the evening when SOC < plugInSocPct. */
export function simulatePack(p: PackSpec, startS: number, days: number, seed = 1, startSocPct = 90, startOdometerKm = 12_000): BmsSample[] {
  const rand = lcg(seed);
  const capAh = p.ratedCapacityAh * p.soh;
  let soc = startSocPct;
  let odo = startOdometerKm;
  let temp = p.ambientC;
  const out: BmsSample[] = [];
  const step = (t: number, currentA: number, speedKph: number, dtS: number) => {
    const v = p.cellsInSeries * cellOcvV(soc) + currentA * p.resistanceOhm;
    temp += ((p.ambientC + (currentA ** 2 * p.resistanceOhm) / 40 - temp) * dtS) / 1800;
    const s: BmsSample = {
      timeS: t, packVoltageV: round(v, 2), packCurrentA: round(currentA, 2), socPct: round(soc, 1),
      temperatureC: round(temp, 1), speedKph: round(speedKph, 1), odometerKm: round(odo, 3),
    };
    if (p.cellOffsetsV.length) s.cellVoltagesV = p.cellOffsetsV.map((o) => round(cellOcvV(soc) + o + (currentA * p.resistanceOhm) / p.cellsInSeries, 4));
    out.push(s);
    soc += (currentA * dtS) / 3600 / capAh * 100;
    odo += (speedKph * dtS) / 3600;
  };
  const drive = (t0: number, km: number) => {
    let t = t0;
    let done = 0;
    const dt = 10;
    while (done < km) {
      const speed = 45 + 15 * Math.sin((t - t0) / 120);
      const powerW = p.consumptionWhPerKm * speed + p.auxW;
      const v = p.cellsInSeries * cellOcvV(soc);
      step(t, -powerW / v, speed, dt);
      done += (speed * dt) / 3600;
      t += dt;
    }
    step(t, 0, 0, 0);
  };
  const charge = (t0: number, targetPct: number) => {
    let t = t0;
    while (soc < targetPct) {
      step(t, p.chargePowerW / (p.cellsInSeries * cellOcvV(soc)), 0, 60);
      t += 60;
    }
    step(t, 0, 0, 0);
  };
  for (let d = 0; d < days; d++) {
    const day = startS + d * 86_400;
    drive(day + 7.5 * 3600, 18 + 14 * rand());
    drive(day + 17 * 3600, 18 + 14 * rand());
    if (soc < 60) charge(day + 20 * 3600, 90);
  }
  return out;
}

const EV01: PackSpec = {
  vehicleId: "SIM-EV-01", cellsInSeries: 96, ratedCapacityAh: 60, soh: 0.9, resistanceOhm: 0.1,
  consumptionWhPerKm: 150, auxW: 300, chargePowerW: 11_000, ambientC: 18, cellOffsetsV: [],
};
const EV02: PackSpec = { ...EV01, vehicleId: "SIM-EV-02", ratedCapacityAh: 120, soh: 0.82, consumptionWhPerKm: 170, ambientC: 28 };
const MOPED: PackSpec = {
  vehicleId: "SIM-MOPED-16S", cellsInSeries: 16, ratedCapacityAh: 30, soh: 0.95, resistanceOhm: 0.03,
  consumptionWhPerKm: 25, auxW: 20, chargePowerW: 600, ambientC: 15,
  cellOffsetsV: Array.from({ length: 16 }, (_, i) => ((i * 7) % 16 - 8) * 0.0015),
};

const header = (p: PackSpec, note: string) => [
  "# simulated: true",
  `# vehicle_id: ${p.vehicleId}`,
  `# rated_capacity_ah: ${p.ratedCapacityAh}`,
  `# rated_energy_kwh: ${ratedEnergyKwh(p).toFixed(2)}`,
  `# notes: SIMULATED by server/cli/make-sample-logs.ts (simple pack model, true SOH ${p.soh}); ${note}`,
];

const csv = (head: string[], cols: string[], rows: (string | number | undefined)[][]) =>
  [...head, cols.join(","), ...rows.map((r) => r.map((v) => (v === undefined ? "" : String(v))).join(","))].join("\n") + "\n";

export async function writeSampleLogs(dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const t0 = Date.UTC(2026, 2, 2) / 1000;
  const ev01 = simulatePack(EV01, t0, 8, 7);
  const cut = (fromDay: number, toDay: number) => ev01.filter((s) => s.timeS >= t0 + fromDay * 86_400 && s.timeS < t0 + toDay * 86_400);
  const files: [string, string][] = [];

  files.push(["ev01-generic.csv", csv(header(EV01, "generic time series, days 1-3"),
    ["time_s", "pack_voltage_v", "current_a", "soc_pct", "temp_c", "speed_kph", "odometer_km"],
    cut(0, 3).map((s) => [s.timeS, s.packVoltageV, s.packCurrentA, s.socPct, s.temperatureC, s.speedKph, s.odometerKm]))]);

  files.push(["ev01-imperial-units.json", JSON.stringify({
    meta: { simulated: true, vehicle_id: EV01.vehicleId, rated_capacity_ah: EV01.ratedCapacityAh, rated_energy_kwh: round(ratedEnergyKwh(EV01), 2),
      notes: "SIMULATED by server/cli/make-sample-logs.ts; days 4-5 in mV, mA, degF, mph, miles, ISO timestamps" },
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

  // Sessions: cut EV02's time series into trips and charges by the simulator's own knowledge (speed > 0 / I > 0).
  const ev02 = simulatePack(EV02, t0, 10, 11);
  const sessions: { kind: string; start: BmsSample; end: BmsSample; energyWh: number }[] = [];
  for (let i = 1; i < ev02.length; i++) {
    const a = ev02[i - 1];
    const b = ev02[i];
    const kind = a.speedKph! > 0 ? "trip" : a.packCurrentA > 0 ? "charge" : undefined;
    if (!kind) continue;
    const last = sessions.at(-1);
    const energyWh = Math.abs(a.packVoltageV * a.packCurrentA) * (b.timeS - a.timeS) / 3600;
    if (last && last.kind === kind && last.end.timeS === a.timeS) { last.end = b; last.energyWh += energyWh; }
    else sessions.push({ kind, start: a, end: b, energyWh });
  }
  files.push(["ev02-sessions.csv", csv(header(EV02, "trip/charge summary export"),
    ["kind", "start_time", "end_time", "start_soc_pct", "end_soc_pct", "energy_kwh", "distance_km"],
    sessions.map((s) => [s.kind, new Date(s.start.timeS * 1000).toISOString(), new Date(s.end.timeS * 1000).toISOString(),
      s.start.socPct, s.end.socPct, round(s.energyWh / 1000, 3), round(s.end.odometerKm! - s.start.odometerKm!, 2)]))]);

  const moped = simulatePack(MOPED, t0, 2, 3, 95, 800).filter((_, i) => i % 3 === 0);
  files.push(["moped-cells.csv", csv(header(MOPED, "16 cell voltages per sample, every 3rd sample kept"),
    ["time_s", "pack_voltage_v", "current_a", "soc_pct", "temp_c", "speed_kph", ...MOPED.cellOffsetsV.map((_, i) => `cell_${String(i + 1).padStart(3, "0")}_mv`)],
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
