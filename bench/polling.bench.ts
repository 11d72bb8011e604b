/**
 * Station polling cost vs channel count (`npx tsx bench/polling.bench.ts [--quick]`). The simulated cyclers
 * (≤ 512 channels each) run in a child process on a real-time clock at SPEED× with a record every LOG_EVERY_S
 * simulated seconds, so this process holds only the station side: one driver and one station cycler monitor
 * (server/station/cycler-monitor.ts) per cycler, polling live values in bulk at 1 Hz, plus a drain that reads the
 * records of every channel whose live lastSeq moved (readRecords since the last received seq), as the lot runner
 * does. Measured over a fixed wall window: this process's CPU seconds per channel-hour, resident memory, the
 * interval between consecutive live readings, and records lost (gaps in the received seqs and seqs the simulator
 * logged that never arrived, after a final drain with the simulated clock frozen).
 * Baseline, same run, same simulators: a naive client reading each channel's values one request per value
 * (OPC UA: one Read per variable; Modbus: one register read per field), compared per channel·sweep.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import ModbusSerial from "modbus-serial";
import type { ChannelLive } from "../server/domain/equipment/channel.ts";
import type { CyclerDriver } from "../server/equipment/cycler-driver.ts";
import { fieldWidth, loadRegisterMap } from "../server/equipment/modbus/register-map.ts";
import { createModbusCyclerDriver } from "../server/equipment/modbus/modbus-cycler-driver.ts";
import { createOpcuaCyclerDriver } from "../server/equipment/opcua/opcua-cycler-driver.ts";
import { OpcuaLink } from "../server/equipment/opcua/opcua-link.ts";
import { childNodeId, DEFAULT_OPCUA_CYCLER_MAP, forChannel, loadOpcuaCyclerMap } from "../server/equipment/opcua/opcua-map.ts";
import { silentLogger } from "../server/log/logger.ts";
import { startCyclerMonitor, type CyclerMonitor } from "../server/station/cycler-monitor.ts";
import { createLiveHub } from "../server/station/live-hub.ts";
import { startSimProcess } from "./support/sim-process.ts";
import { cpuSecondsSince, emit, isQuick, percentile, type Figure } from "./support/report.ts";

type Protocol = "opcua" | "modbus";
const quick = isQuick();
// A record per channel every 10 s of wall time: the rate of a real-time run at the recipes' default logging period.
const SPEED = 6;
const LOG_EVERY_S = 60;
const FINAL_DRAIN_S = 60;
const POLL_MS = 1000;
const WINDOW_S = quick ? 8 : 20;
const WARMUP_S = quick ? 2 : 3;
const NAIVE_S = quick ? 3 : 8;
const CHANNEL_COUNTS = [64, 512, 4096];
const RECORD_BATCH = 1000;
const LABEL: Record<Protocol, string> = { opcua: "OPC UA", modbus: "Modbus TCP" };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One client PKI for every OPC UA client here: its certificate is made once, not once per connection. */
const PKI_ROOT = mkdtempSync(path.join(os.tmpdir(), "axviam-bench-pki-"));
const CLIENT_PKI = path.join(PKI_ROOT, "client");

function driverFor(protocol: Protocol, endpoint: string, id: string, modbusMap: Awaited<ReturnType<typeof loadRegisterMap>>): CyclerDriver {
  if (protocol === "opcua") return createOpcuaCyclerDriver({ endpointUrl: endpoint, equipmentId: id, requestTimeoutMs: 10_000, pkiDir: CLIENT_PKI });
  const url = new URL(endpoint);
  return createModbusCyclerDriver({ host: url.hostname, port: Number(url.port), unitId: 1, map: modbusMap, requestTimeoutMs: 10_000, equipmentId: id });
}

/** Per channel: the last record seq received and the gaps seen. */
class RecordTally {
  readonly last: number[];
  gaps = 0;
  duplicates = 0;
  received = 0;
  constructor(channels: number) {
    this.last = new Array<number>(channels).fill(0);
  }
  take(channel: number, seqs: number[]): void {
    for (const s of seqs) {
      if (s <= this.last[channel - 1]) {
        this.duplicates++;
        continue;
      }
      this.gaps += s - this.last[channel - 1] - 1;
      this.last[channel - 1] = s;
      this.received++;
    }
  }
}

async function drain(driver: CyclerDriver, tally: RecordTally, channel: number, untilSeq: number, deadlineMs = Infinity): Promise<void> {
  while (tally.last[channel - 1] < untilSeq && performance.now() < deadlineMs) {
    const records = await driver.readRecords(channel, BigInt(tally.last[channel - 1]), RECORD_BATCH);
    if (records.length === 0) return;
    tally.take(channel, records.map((r) => Number(r.seq)));
  }
}

/** The naive client: every live value of every channel in its own request, sweeping channels in order. */
async function naiveSweeps(protocol: Protocol, endpoints: string[], channelsPer: number[], wallS: number): Promise<{ values: number; valuesPerChannel: number; cpuS: number; wallS: number }> {
  let until = 0;
  let values = 0;
  let valuesPerChannel = 0;
  let cpu0: NodeJS.CpuUsage | undefined;
  let t0 = 0;
  const clients: { readValue: (channel: number, i: number) => Promise<void>; perChannel: number; close(): Promise<void> }[] = [];
  try {
    if (protocol === "opcua") {
      const map = await loadOpcuaCyclerMap(DEFAULT_OPCUA_CYCLER_MAP);
      for (const [k, endpoint] of endpoints.entries()) {
        const link = new OpcuaLink({ endpointUrl: endpoint, namespaceUri: map.namespaceUri, equipmentId: `naive-${k}`, requestTimeoutMs: 10_000, pkiDir: CLIENT_PKI });
        await link.connect();
        const vars = map.channels.variables;
        clients.push({
          perChannel: vars.length,
          readValue: async (channel, i) => {
            const objectId = forChannel(map.channels.nodeId, channel, channelsPer[k]);
            await link.read("naive read", [link.nodeId(childNodeId(objectId, vars[i].browseName))]);
          },
          close: () => link.close(),
        });
      }
    } else {
      const map = await loadRegisterMap();
      const block = map.input.live;
      for (const endpoint of endpoints) {
        const url = new URL(endpoint);
        // modbus-serial's typings expose the class as `.default` (see modbus-cycler-driver.ts)
        const client = new ModbusSerial.default();
        await client.connectTCP(url.hostname, { port: Number(url.port) });
        client.setID(1);
        client.setTimeout(10_000);
        clients.push({
          perChannel: block.fields.length,
          readValue: async (channel, i) => {
            const f = block.fields[i];
            await client.readInputRegisters(block.base + (channel - 1) * block.size + f.offset, fieldWidth(f));
          },
          close: () => new Promise<void>((r) => client.close(() => r())),
        });
      }
    }
    valuesPerChannel = clients[0].perChannel;
    cpu0 = process.cpuUsage();
    t0 = performance.now();
    until = t0 + wallS * 1000;
    await Promise.all(
      clients.map(async (c, k) => {
        for (let channel = 1; performance.now() < until; channel = (channel % channelsPer[k]) + 1) {
          for (let i = 0; i < c.perChannel; i++) {
            await c.readValue(channel, i);
            values++;
          }
        }
      }),
    );
    return { values, valuesPerChannel, cpuS: cpuSecondsSince(cpu0), wallS: (performance.now() - t0) / 1000 };
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
  }
}

async function measure(protocol: Protocol, channels: number): Promise<Figure[]> {
  const sim = await startSimProcess({ protocol, channels, speed: SPEED, logEveryS: LOG_EVERY_S, pkiDir: path.join(PKI_ROOT, "servers") });
  const modbusMap = await loadRegisterMap();
  const monitors: CyclerMonitor[] = [];
  const label = `${LABEL[protocol]} ${channels} ch`;
  try {
    const channelsPer = sim.endpoints.map((_, k) => Math.min(512, channels - k * 512));
    const tallies = channelsPer.map((n) => new RecordTally(n));
    const intervalsMs: number[] = [];
    let measuring = false;
    let stopped = false;
    const inFlight = new Set<Promise<void>>();
    let polls = 0;
    let drainErrors = 0;
    const hub = createLiveHub();
    const start = (endpoint: string, k: number): Promise<void> => {
      const driver = driverFor(protocol, endpoint, `bench-${k}`, modbusMap);
      const monitor = startCyclerMonitor({ cyclerId: `bench-${k}`, driver, hub, pollIntervalMs: POLL_MS, heartbeatIntervalMs: 5000, log: silentLogger() });
      let lastLiveMs: number | undefined;
      let draining = false;
      monitor.onLive((live: ChannelLive[]) => {
        const now = performance.now();
        if (measuring && lastLiveMs !== undefined) intervalsMs.push(now - lastLiveMs);
        if (measuring) polls++;
        lastLiveMs = now;
        if (draining || stopped) return; // the previous drain is still reading: it catches up on the next poll
        draining = true;
        const run = (async () => {
          for (const c of live) if (Number(c.lastSeq) > tallies[k].last[c.channel - 1]) await drain(driver, tallies[k], c.channel, Number(c.lastSeq));
        })()
          .catch(() => void drainErrors++)
          .finally(() => {
            draining = false;
            inFlight.delete(run);
          });
        inFlight.add(run);
      });
      monitors.push(monitor);
      return new Promise<void>((resolve) => monitor.onConnected(() => resolve()));
    };
    // the first OPC UA connection makes the shared client certificate; the others reuse it
    await start(sim.endpoints[0], 0);
    await Promise.all(sim.endpoints.slice(1).map((e, i) => start(e, i + 1)));
    await sleep(WARMUP_S * 1000);
    const rss0 = process.memoryUsage().rss;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    measuring = true;
    await sleep(WINDOW_S * 1000);
    measuring = false;
    const cpuS = cpuSecondsSince(cpu0);
    const wallS = (performance.now() - t0) / 1000;
    const rssMiB = process.memoryUsage().rss / 2 ** 20;
    const received = tallies.reduce((n, t) => n + t.received, 0);

    // Freeze the simulated clock, then drain to the simulators' final lastSeq: whatever is still missing is lost.
    stopped = true;
    await Promise.all([...inFlight]);
    const { lastSeqs, cpuS: simCpuS, wallS: simWallS } = await sim.freeze();
    const outstanding = () => lastSeqs.reduce((n, seqs, k) => n + seqs.reduce((m, s, i) => m + Math.max(0, s - tallies[k].last[i]), 0), 0);
    const backlog = outstanding();
    const deadline = performance.now() + FINAL_DRAIN_S * 1000;
    await Promise.all(monitors.map(async (monitor, k) => {
      for (const [i, s] of lastSeqs[k].entries()) await drain(monitor.driver, tallies[k], i + 1, s, deadline);
    }));
    const undrained = outstanding();
    const gaps = tallies.reduce((n, t) => n + t.gaps, 0);
    for (const m of monitors.splice(0)) await m.stop();

    const channelHours = (channels * wallS) / 3600;
    const cpuPerChannelHour = cpuS / channelHours;
    const bulkCpuPerChannelSweep = polls > 0 ? cpuS / (polls * (channels / channelsPer.length)) : Number.NaN;
    const naive = await naiveSweeps(protocol, sim.endpoints, channelsPer, NAIVE_S);
    const naiveChannelSweeps = naive.values / naive.valuesPerChannel;
    const naiveCpuPerChannelSweep = naive.cpuS / naiveChannelSweeps;
    const naiveSweepS = (naive.wallS / naiveChannelSweeps) * (channels / channelsPer.length) ;
    const p = (q: number) => percentile(intervalsMs, q) / 1000;
    const deviationsMs = intervalsMs.map((x) => Math.abs(x - POLL_MS));
    const figures: Figure[] = [
      {
        bench: "polling", metric: `${label} · station CPU`, value: cpuS / wallS, unit: "cores",
        ...(channels === 4096 ? { target: { op: "<=", value: 1 } as const } : {}),
        note: `${cpuS.toFixed(2)} CPU s over ${wallS.toFixed(1)} s wall, ${sim.endpoints.length} cycler(s), live at 1 Hz + record drain`,
      },
      { bench: "polling", metric: `${label} · CPU per channel-hour`, value: cpuPerChannelHour, unit: "CPU s/(channel·h)" },
      {
        bench: "polling", metric: `${label} · simulator process CPU (not counted above)`, value: simCpuS / simWallS, unit: "cores",
        note: "one Node thread serves every simulated cycler: near 1 core the simulators, not the station, limit the rates",
      },
      { bench: "polling", metric: `${label} · resident memory`, value: rssMiB, unit: "MiB", note: `${(rss0 / 2 ** 20).toFixed(0)} MiB at the start of the window` },
      {
        bench: "polling", metric: `${label} · live interval p50 / p99`, value: p(99), unit: "s",
        note: `p50 ${p(50).toFixed(3)} s, p99 ${p(99).toFixed(3)} s, |interval − 1 s| p99 ${(percentile(deviationsMs, 99) / 1000).toFixed(3)} s over ${intervalsMs.length} intervals; ${polls} polls in ${wallS.toFixed(1)} s for ${sim.endpoints.length} cycler(s)${drainErrors ? `; ${drainErrors} drain errors` : ""}`,
      },
      {
        bench: "polling", metric: `${label} · records lost`, value: undrained === 0 ? gaps : null, unit: "records", target: { op: "<=", value: 0 },
        note: `${undrained === 0 ? "" : `NOT VERIFIED: ${undrained} records still unread after a ${FINAL_DRAIN_S} s final drain (${gaps} seqs skipped so far); `}${received} records received in the window (${(received / wallS).toFixed(0)}/s), ${tallies.reduce((n, t) => n + t.duplicates, 0)} duplicates dropped, backlog ${backlog} at window end, drained after freezing the clock`,
      },
      {
        bench: "polling", metric: `${label} · naive per-value client / bulk, CPU per channel·sweep`, value: naiveCpuPerChannelSweep / bulkCpuPerChannelSweep, unit: "×",
        note: `naive: ${naive.values} single-value requests (${naive.valuesPerChannel} per channel) in ${naive.wallS.toFixed(1)} s, ${(naiveCpuPerChannelSweep * 1e3).toFixed(3)} ms CPU per channel, one sweep of ${channels / channelsPer.length} ch per cycler takes ${naiveSweepS.toFixed(2)} s wall (1 Hz ${naiveSweepS <= 1 ? "possible" : "impossible"}); bulk ${(bulkCpuPerChannelSweep * 1e3).toFixed(3)} ms CPU per channel incl. record drain`,
      },
    ];
    return figures;
  } finally {
    for (const m of monitors) await m.stop().catch(() => undefined);
    await sim.stop();
  }
}

console.log(`simulated cyclers in a child process at ${SPEED}× real time, a record every ${LOG_EVERY_S} s simulated per channel; window ${WINDOW_S} s, naive baseline ${NAIVE_S} s`);
const figures: Figure[] = [];
/** `--case=modbus:4096` runs only that case (repeatable). */
const cases = process.argv.filter((a) => a.startsWith("--case=")).map((a) => a.slice("--case=".length));
for (const protocol of ["opcua", "modbus"] as const) {
  for (const channels of CHANNEL_COUNTS) {
    if (cases.length > 0 && !cases.includes(`${protocol}:${channels}`)) continue;
    const t = performance.now();
    try {
      figures.push(...(await measure(protocol, channels)));
    } catch (e) {
      figures.push({ bench: "polling", metric: `${LABEL[protocol]} ${channels} ch`, value: null, unit: "", note: `failed: ${(e as Error).message.split("\n")[0]}` });
    }
    console.log(`${LABEL[protocol]} ${channels} ch done in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  }
}
rmSync(PKI_ROOT, { recursive: true, force: true });
emit(figures);
