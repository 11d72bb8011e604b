/** The benchmarks' standard channel workload (a module without side effects, shared by in- and out-of-process benches). */
import type { Program } from "../../server/domain/equipment/program.ts";

/** C/3 CCCV charge, rest, C/3 discharge, rest, looped: the benchmarks' standard workload. */
export function c3CyclingProgram(capacityAh: number, log: Program["steps"][number]["log"], id = "bench-cycling"): Program {
  return {
    id,
    safety: { maxVoltageV: 4.25, minVoltageV: 2.45, maxCurrentA: 10, maxTemperatureC: 60 },
    steps: [
      { mode: "cccv", currentA: capacityAh / 3, voltageV: 4.2, ends: [{ on: "current", op: "<=", value: capacityAh / 20, then: "next" }], log },
      { mode: "rest", ends: [{ on: "time", op: ">=", value: 1800, then: "next" }], log },
      { mode: "cc", currentA: -capacityAh / 3, ends: [{ on: "voltage", op: "<=", value: 2.5, then: "next" }], log },
      { mode: "rest", ends: [{ on: "time", op: ">=", value: 1800, then: { goto: 0, repeat: 100 } }], log },
    ],
  };
}

