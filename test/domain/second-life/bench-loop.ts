/**
 * A minimal in-memory test bench for the second-life tests: drives a simulated cell (simulators/cell) through
 * the measurement sequence step by step — CC/CCCV/CV/pulse/rest, the chamber as the cell's ambient with a
 * first-order air lag — and logs ChannelRecords through the simulated cycler's measurement model (noise and
 * resolution). Not the station runtime: just enough of a cycler to give grade.ts realistic segments.
 */
import type { ChannelRecord } from "../../../server/domain/equipment/channel.ts";
import type { SimCell } from "../../../simulators/cell/sim-cell.ts";
import { createMeasurement } from "../../../simulators/cycler/measurement.ts";

export interface BenchStep {
  role?: string;
  /** cc: signed current [A]; cccv: charge current then hold at voltageV until |I| ≤ untilA; cv: hold at voltageV
   * ("rest-voltage" = the voltage at the start of the step); pulse: segments; rest */
  kind: "cc" | "cccv" | "cv" | "pulse" | "rest";
  currentA?: number;
  voltageV?: number | "rest-voltage";
  untilA?: number;
  /** stop when the charge moved reaches this [Ah] */
  forAh?: number;
  /** stop at this terminal voltage (discharge: ≤, charge: ≥) */
  toV?: number;
  durationS?: number;
  segments?: { currentA: number; durationS: number }[];
  /** chamber setpoints during the step: [setpointC, holdS][]; the last one is held */
  chamber?: [number, number][];
  dtS: number;
}

export interface Bench {
  run(step: BenchStep): void;
  segments: { role: string; records: ChannelRecord[] }[];
  /** call at the end of the latest step: the cell's truth then */
  readonly timeS: number;
}

export function createBench(cell: SimCell, seed: number, maxCurrentA = 10): Bench {
  const meas = createMeasurement(seed, maxCurrentA);
  const segments: { role: string; records: ChannelRecord[] }[] = [];
  let timeS = 0;
  let chamberC = 25;
  let seq = 0n;
  let stepIndex = 0;

  function run(step: BenchStep): void {
    stepIndex++;
    const records: ChannelRecord[] = [];
    let stepTimeS = 0;
    let chargeAh = 0;
    let dischargeAh = 0;
    let chargeWh = 0;
    let dischargeWh = 0;
    let cvPhase = step.kind === "cv";
    const holdV = step.voltageV === "rest-voltage" ? cell.voltageAt(0) : step.voltageV;
    const setpointAt = (t: number): number => {
      if (!step.chamber) return 25;
      let acc = 0;
      for (const [c, holdS] of step.chamber) {
        acc += holdS;
        if (t < acc) return c;
      }
      return step.chamber[step.chamber.length - 1][0];
    };
    const log = (currentA: number) => {
      seq++;
      const key = Number(seq);
      records.push({
        seq,
        unixTimeS: 1.8e9 + timeS,
        testTimeS: timeS,
        stepIndex,
        cycle: 1,
        voltageV: meas.voltageV(cell.voltageAt(currentA), 0, key),
        currentA: meas.currentA(currentA, 0, key),
        temperatureC: meas.temperatureC(cell.temperatureC, 0, key),
        chargeAh,
        dischargeAh,
        chargeWh,
        dischargeWh,
        flags: 0,
      });
    };
    const currentNow = (): number => {
      if (step.kind === "rest") return 0;
      if (step.kind === "pulse") {
        let acc = 0;
        for (const s of step.segments ?? []) {
          acc += s.durationS;
          if (stepTimeS < acc - 1e-9) return s.currentA;
        }
        return 0;
      }
      if (cvPhase) return cell.currentForVoltage(holdV as number);
      return step.currentA ?? 0;
    };
    const pulseS = (step.segments ?? []).reduce((s, x) => s + x.durationS, 0);
    for (;;) {
      const i = currentNow();
      log(i);
      if (step.durationS !== undefined && stepTimeS >= step.durationS) break;
      if (step.kind === "pulse" && stepTimeS >= pulseS - 1e-9) break;
      if (step.forAh !== undefined && chargeAh + dischargeAh >= step.forAh) break;
      if (step.toV !== undefined && !cvPhase && (i < 0 ? cell.voltageAt(i) <= step.toV : cell.voltageAt(i) >= step.toV)) {
        if (step.kind === "cccv" && !cvPhase) cvPhase = true;
        else break;
      }
      if (cvPhase && step.kind === "cccv" && step.untilA !== undefined && Math.abs(i) <= step.untilA) break;
      const setpoint = setpointAt(stepTimeS);
      chamberC = setpoint + (chamberC - setpoint) * Math.exp(-step.dtS / 300);
      const v = cell.voltageAt(i);
      cell.advance(step.dtS, i, chamberC);
      const ah = (Math.abs(i) * step.dtS) / 3600;
      if (i > 0) {
        chargeAh += ah;
        chargeWh += ah * v;
      } else {
        dischargeAh += ah;
        dischargeWh += ah * v;
      }
      timeS += step.dtS;
      stepTimeS += step.dtS;
    }
    // one segment per tagged step, as the station hands them over (same-role neighbours stay separate)
    if (step.role) segments.push({ role: step.role, records });
  }
  return {
    run,
    segments,
    get timeS() {
      return timeS;
    },
  };
}
