/**
 * Ground truth by experiment on the model itself: a noise-free clone of a simulated cell (same spec, no cycler, no
 * protocol, no measurement noise) is put through the same procedure the station's recipe uses, and the figure is read
 * off exactly. Rate-dependent figures (C/3 capacity, pulse resistance) have no single "true" parameter value; this is
 * the value the physics gives for that very measurement.
 */
import { createCell, type CellSpec, type SimCell } from "../../simulators/cell/sim-cell.ts";

const DT_S = 0.5;

function runUntil(cell: SimCell, currentA: (c: SimCell) => number, done: (c: SimCell, i: number) => boolean, ambientC: number, maxS: number): number {
  let moved = 0;
  for (let t = 0; t < maxS; t += DT_S) {
    const i = currentA(cell);
    if (done(cell, i)) break;
    cell.advance(DT_S, i, ambientC);
    moved += (i * DT_S) / 3600;
  }
  return moved;
}

/** factory_init's capacity cycle: CCCV charge C/3 to 4.2 V until C/20, rest 30 min, CC discharge C/3 to 2.5 V, at 25 °C. */
export function trueC3CapacityAh(spec: CellSpec, nominalAh: number): number {
  const cell = createCell({ ...spec, initialSoc: 0.3, initialTemperatureC: 25 });
  const c3 = nominalAh / 3;
  runUntil(cell, () => c3, (c) => c.voltageAt(c3) >= 4.2, 25, 6 * 3600);
  runUntil(cell, (c) => Math.min(c3, c.currentForVoltage(4.2)), (_c, i) => i <= nominalAh / 20, 25, 6 * 3600);
  runUntil(cell, () => 0, () => false, 25, 1800);
  return -runUntil(cell, () => -c3, (c) => c.voltageAt(-c3) <= 2.5, 25, 6 * 3600);
}

/**
 * IEC 61960-style pulse at 50 % SOC after a long rest, 25 °C: 0.2C for 10 s then 1C for 1 s (discharge).
 * Returns the two-level resistance (V1−V2)/(I1−I2) and the 10 s resistance (V0−V1)/I1, in mΩ.
 */
export function truePulseResistanceMilliohm(spec: CellSpec, nominalAh: number): { dcirMilliohm: number; r10sMilliohm: number } {
  const cell = createCell({ ...spec, initialSoc: 0.5, initialTemperatureC: 25 });
  const v0 = cell.voltageAt(0);
  const i1 = -0.2 * nominalAh;
  const i2 = -1 * nominalAh;
  for (let t = 0; t < 10; t += 0.01) cell.advance(0.01, i1, 25);
  const v1 = cell.voltageAt(i1);
  for (let t = 0; t < 1; t += 0.01) cell.advance(0.01, i2, 25);
  const v2 = cell.voltageAt(i2);
  return { dcirMilliohm: ((v1 - v2) / (i1 - i2)) * 1000, r10sMilliohm: ((v1 - v0) / i1) * 1000 };
}
