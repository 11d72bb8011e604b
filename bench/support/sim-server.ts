/**
 * Child process of the polling and HMI benchmarks: simulated cyclers (≤ 512 channels each) behind one protocol
 * front-end each, every channel running C/3 cycling, on a real-time clock at a modest speed factor. Living in its
 * own process keeps the simulators' CPU out of the station figures.
 * IPC: argv[2] is a JSON SimServerSpec; the child answers {kind:"ready", endpoints}; on {kind:"freeze"} it stops
 * the clock and answers {kind:"frozen", lastSeqs} (per cycler, per channel); on {kind:"stop"} it closes and exits.
 */
import { loadRegisterMap } from "../../server/equipment/modbus/register-map.ts";
import { newLot } from "../../simulators/cell/population.ts";
import { createSimClock } from "../../simulators/clock.ts";
import { createSimCycler, type SimCycler } from "../../simulators/cycler/sim-cycler.ts";
import { startModbusCyclerServer } from "../../simulators/modbus/cycler-server.ts";
import { startOpcuaCyclerServer } from "../../simulators/opcua/cycler-server.ts";
import { c3CyclingProgram } from "./workload.ts";

export interface SimServerSpec {
  protocol: "opcua" | "modbus";
  channels: number;
  /** simulated seconds per wall second */
  speed: number;
  /** record logging period [simulated s] */
  logEveryS: number;
  /** OPC UA server PKI root (one sub-folder per cycler); default a fresh temp folder per server */
  pkiDir?: string;
}

export type SimServerMessage =
  | { kind: "ready"; endpoints: string[] }
  /** cpuS / wallS: the simulator process's own CPU since "ready" (one Node thread: ≈ 1 core means saturated) */
  | { kind: "frozen"; lastSeqs: number[][]; cpuS: number; wallS: number };

export const MAX_CHANNELS_PER_CYCLER = 512;

async function main(spec: SimServerSpec): Promise<void> {
  const startUnixS = Math.floor(Date.now() / 1000);
  const cyclers: SimCycler[] = [];
  for (let c = 0; c * MAX_CHANNELS_PER_CYCLER < spec.channels; c++) {
    const count = Math.min(MAX_CHANNELS_PER_CYCLER, spec.channels - c * MAX_CHANNELS_PER_CYCLER);
    const cells = newLot({ seed: 100 + c, count, chemistry: "nmc811-graphite", serialPrefix: `P${c}-` });
    // watchdog off: the benchmark measures polling, not the safe-rest reaction
    const sim = createSimCycler({ id: `bench-${c}`, cells, recordBufferSize: 4096, watchdogMs: 0, seed: 100 + c, startUnixS });
    cells.forEach((cell, i) => {
      sim.load(i + 1, c3CyclingProgram(cell.freshCapacityAh, { everyS: spec.logEveryS }));
      sim.command(i + 1, "start");
    });
    cyclers.push(sim);
  }
  const map = spec.protocol === "modbus" ? await loadRegisterMap() : undefined;
  const servers: { endpoint: string; stop(): Promise<void> }[] = [];
  for (const cycler of cyclers) {
    if (map) {
      const s = await startModbusCyclerServer({ cycler, port: 0, unitId: 1, map });
      servers.push({ endpoint: `modbus://127.0.0.1:${s.port}`, stop: s.stop });
    } else {
      // change pushes for subscribers at 1 Hz (default 10 Hz): the benchmarked station reads in bulk, never subscribes
      const s = await startOpcuaCyclerServer({ cycler, pushIntervalMs: 1000, ...(spec.pkiDir ? { pkiDir: `${spec.pkiDir}/server-${cyclers.indexOf(cycler)}` } : {}) });
      servers.push({ endpoint: s.endpointUrl, stop: s.stop });
    }
  }
  const clock = createSimClock({ speed: spec.speed, startUnixS });
  clock.onAdvance((dtS, unixS) => cyclers.forEach((c) => c.advance(dtS, unixS)));
  clock.start();

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      clock.stop();
      for (const s of servers) await s.stop();
      if (process.connected) process.disconnect();
    })());
  process.on("message", (m: { kind: string }) => {
    if (m.kind === "freeze") {
      clock.stop();
      const cpu = process.cpuUsage(cpu0);
      process.send!({
        kind: "frozen", lastSeqs: cyclers.map((c) => c.live().map((ch) => Number(ch.lastSeq))), cpuS: (cpu.user + cpu.system) / 1e6, wallS: (performance.now() - t0) / 1000,
      } satisfies SimServerMessage);
    } else if (m.kind === "stop") {
      void stop().then(() => process.exit(0));
    }
  });
  // the parent died: do not linger
  process.on("disconnect", () => void stop().then(() => process.exit(0)));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  process.send!({ kind: "ready", endpoints: servers.map((s) => s.endpoint) } satisfies SimServerMessage);
}

await main(JSON.parse(process.argv[2]) as SimServerSpec);
