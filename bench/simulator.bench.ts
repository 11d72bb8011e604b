/**
 * Simulator throughput: simulated channel·seconds per wall second for 512 and 4096 channels running a C/3 cycling
 * program on the real cell model (plain tsx script: `npx tsx bench/simulator.bench.ts [--quick]`; prints numbers,
 * asserts nothing). Two ways:
 *  - core only: the cyclers advanced in a tight loop (no sockets) — the model's own cost;
 *  - served: every cycler (≤ 512 channels each) behind both protocol front-ends (OPC UA and Modbus TCP) while the
 *    simulated clock runs "as fast as possible", yielding to the event loop every 20 ms as `npm run sim` does — the
 *    front-ends' change pushes (OPC UA, ≤ 10 Hz, all servers of the process together held to ≤ 10 % of wall time)
 *    share the thread with the physics.
 * Time-step control (unchanged by speed): the clock hands out chunks of ≤ 60 s; inside them each channel sub-steps
 * by the rules in simulators/cycler/channel-executor.ts (logging grid and time ends hit exactly, geometric approach
 * to end conditions and ΔV logging thresholds, ≤ 5 % current change per CV sub-step), each sub-step an exact
 * constant-current update of the cell model.
 * Target (DESIGN §5 / the simulator brief): 4096 channels at ≥ 250× real time, i.e. ≥ 1e6 channel·s/s.
 */
import { loadRegisterMap } from "../server/equipment/modbus/register-map.ts";
import { newLot } from "../simulators/cell/population.ts";
import { createSimClock } from "../simulators/clock.ts";
import { createSimCycler, type SimCycler } from "../simulators/cycler/sim-cycler.ts";
import { startModbusCyclerServer } from "../simulators/modbus/cycler-server.ts";
import { startOpcuaCyclerServer } from "../simulators/opcua/cycler-server.ts";
import { emit, isQuick, type Figure } from "./support/report.ts";
import { c3CyclingProgram } from "./support/workload.ts";

const CHANNELS_PER_CYCLER = 512;
const TARGET = { op: ">=", value: 1e6 } as const;
const quick = isQuick();

function build(channels: number): SimCycler[] {
  const cyclers: SimCycler[] = [];
  for (let c = 0; c * CHANNELS_PER_CYCLER < channels; c++) {
    const cells = newLot({ seed: c + 1, count: Math.min(CHANNELS_PER_CYCLER, channels - c * CHANNELS_PER_CYCLER), chemistry: "nmc811-graphite", serialPrefix: `B${c}-` });
    const sim = createSimCycler({ id: `bench-${c}`, cells, recordBufferSize: 2048 });
    cells.forEach((spec, i) => {
      sim.load(i + 1, c3CyclingProgram(spec.freshCapacityAh, { everyS: 30, deltaV: 0.005 }, "bench-c3"));
      sim.command(i + 1, "start");
    });
    cyclers.push(sim);
  }
  return cyclers;
}

const recordsPerChannel = (cyclers: SimCycler[], channels: number) =>
  cyclers.reduce((n, c) => n + c.live().reduce((m, ch) => m + Number(ch.lastSeq), 0), 0) / channels;

function coreOnly(channels: number, simulatedS: number, chunkS: number): Figure {
  const cyclers = build(channels);
  const started = performance.now();
  for (let t = 0; t < simulatedS; t += chunkS) for (const c of cyclers) c.advance(chunkS);
  const wallS = (performance.now() - started) / 1000;
  const rate = (channels * simulatedS) / wallS;
  return {
    bench: "simulator", metric: `${channels} ch, core only (no sockets)`, value: rate, unit: "channel·s/s", target: TARGET,
    note: `${(simulatedS / 3600).toFixed(1)} h simulated in ${wallS.toFixed(1)} s wall = ${(simulatedS / wallS).toFixed(0)}× real time, ${recordsPerChannel(cyclers, channels).toFixed(0)} records/channel`,
  };
}

async function served(channels: number, wallS: number): Promise<Figure> {
  const cyclers = build(channels);
  const map = await loadRegisterMap();
  const stops: (() => Promise<void>)[] = [];
  try {
    for (const cycler of cyclers) {
      stops.push((await startOpcuaCyclerServer({ cycler })).stop);
      stops.push((await startModbusCyclerServer({ cycler, port: 0, unitId: 1, map })).stop);
    }
    const clock = createSimClock({ speed: "afap", startUnixS: Date.now() / 1000, maxStepS: 60 });
    clock.onAdvance((dtS, unixStartS) => {
      for (const c of cyclers) c.advance(dtS, unixStartS);
    });
    const started = performance.now();
    clock.start();
    await new Promise((r) => setTimeout(r, wallS * 1000));
    clock.stop();
    const elapsedWallS = (performance.now() - started) / 1000;
    const rate = (channels * clock.elapsedS()) / elapsedWallS;
    return {
      bench: "simulator", metric: `${channels} ch, OPC UA + Modbus front-ends serving`, value: rate, unit: "channel·s/s", target: TARGET,
      note: `${(clock.elapsedS() / 3600).toFixed(1)} h simulated in ${elapsedWallS.toFixed(1)} s wall (afap clock, ${cyclers.length} cycler(s) × 2 front-ends, no client connected)`,
    };
  } finally {
    for (const stop of stops) await stop();
  }
}

console.log("simulated data: AXVIAM SimCycler with the NMC811 cell model, C/3 CCCV/CC cycling with 30 min rests, logging every 30 s or 5 mV");
const figures: Figure[] = [
  coreOnly(512, (quick ? 1 : 6) * 3600, 60),
  coreOnly(4096, (quick ? 0.5 : 3) * 3600, 60),
  await served(512, quick ? 4 : 15),
  await served(4096, quick ? 6 : 20),
];
emit(figures);
