/**
 * Simulator throughput: simulated channel·seconds per wall second for 512 and 4096 channels running a C/3 cycling
 * program on the real cell model (plain tsx script: `npx tsx bench/simulator.bench.ts`; prints numbers, asserts nothing).
 * Target (DESIGN §5 / the simulator brief): 4096 channels at ≥ 250× real time on one core, i.e. ≥ 1e6 channel·s/s.
 */
import type { Program } from "../server/domain/equipment/program.ts";
import { newLot } from "../simulators/cell/population.ts";
import { createSimCycler, type SimCycler } from "../simulators/cycler/sim-cycler.ts";

const CHANNELS_PER_CYCLER = 512;

function c3Cycling(capacityAh: number): Program {
  const log = { everyS: 30, deltaV: 0.005 };
  return {
    id: "bench-c3",
    safety: { maxVoltageV: 4.25, minVoltageV: 2.45, maxCurrentA: 10, maxTemperatureC: 60 },
    steps: [
      { mode: "cccv", currentA: capacityAh / 3, voltageV: 4.2, ends: [{ on: "current", op: "<=", value: capacityAh / 20, then: "next" }], log },
      { mode: "rest", ends: [{ on: "time", op: ">=", value: 1800, then: "next" }], log },
      { mode: "cc", currentA: -capacityAh / 3, ends: [{ on: "voltage", op: "<=", value: 2.5, then: "next" }], log },
      { mode: "rest", ends: [{ on: "time", op: ">=", value: 1800, then: { goto: 0, repeat: 100 } }], log },
    ],
  };
}

function build(channels: number): SimCycler[] {
  const cyclers: SimCycler[] = [];
  for (let c = 0; c * CHANNELS_PER_CYCLER < channels; c++) {
    const cells = newLot({ seed: c + 1, count: Math.min(CHANNELS_PER_CYCLER, channels - c * CHANNELS_PER_CYCLER), chemistry: "nmc811-graphite", serialPrefix: `B${c}-` });
    const sim = createSimCycler({ id: `bench-${c}`, cells, recordBufferSize: 2048 });
    cells.forEach((spec, i) => {
      sim.load(i + 1, c3Cycling(spec.freshCapacityAh));
      sim.command(i + 1, "start");
    });
    cyclers.push(sim);
  }
  return cyclers;
}

function run(channels: number, simulatedS: number, chunkS: number): void {
  const cyclers = build(channels);
  const started = performance.now();
  for (let t = 0; t < simulatedS; t += chunkS) for (const c of cyclers) c.advance(chunkS);
  const wallS = (performance.now() - started) / 1000;
  const records = cyclers.reduce((n, c) => n + c.live().reduce((m, ch) => m + Number(ch.lastSeq), 0), 0);
  const rate = (channels * simulatedS) / wallS;
  console.log(
    `${String(channels).padStart(5)} channels, ${simulatedS / 3600} h simulated in ${wallS.toFixed(2)} s wall: ` +
      `${(rate / 1e6).toFixed(2)}e6 channel·s/s = ${(simulatedS / wallS).toFixed(0)}× real time, ${(records / channels).toFixed(0)} records/channel`,
  );
}

console.log("simulated data: AXVIAM SimCycler with the NMC811 cell model, C/3 CCCV/CC cycling with 30 min rests, logging every 30 s or 5 mV");
console.log(
  "time-step control: sub-steps land exactly on the logging grid, time ends and pulse edges; start at 0.1 s after each setpoint change and " +
    "at most double; voltage/current/capacity/energy/temperature ends and ΔV/ΔI thresholds are approached geometrically (half the predicted " +
    "time, then across within 50 ms); re-solved CV/CP currents change ≤ 5 % per sub-step (trapezoidal current)",
);
run(512, 6 * 3600, 60);
run(4096, 3 * 3600, 60);
