/**
 * The simulated cycler (DESIGN §4, §5): channels executing programs on simulated cells, record rings, measurement,
 * heartbeat watchdog and fault injection. Protocol-free: the OPC UA and Modbus front-ends wrap it as SimCyclerApi;
 * tests and the simulator environment also use SimCyclerControl (ground truth, faults, advancing time).
 * Channels are numbered 1..channelCount. Everything it reports is simulated (info().simulated).
 */
import { ALARM_CODES, type ChannelCommand, type ChannelLive, type ChannelRecord } from "../../server/domain/equipment/channel.ts";
import { describeIssues, programSchema, type Limits, type Program } from "../../server/domain/equipment/program.ts";
import type { CyclerInfo } from "../../server/equipment/cycler-driver.ts";
import { createCell, type CellSpec, type SimCell } from "../cell/sim-cell.ts";
import { ChannelExecutor, type RecordSink } from "./channel-executor.ts";
import { createMeasurement, quantize, RESOLUTION } from "./measurement.ts";
import { RecordRing } from "./record-ring.ts";
import { SimRequestError, type SimCyclerApi } from "./sim-cycler-api.ts";

/** The simulated instrument's ratings (this simulator's specification, not a vendor's). */
export const SIM_CYCLER_LIMITS: Readonly<Limits> = Object.freeze({
  maxVoltageV: 5,
  minVoltageV: 0,
  maxCurrentA: 15,
  maxTemperatureC: 80,
  minTemperatureC: -30,
});

/** Smallest logging interval a program may ask for [s] (the pulse resolution). */
export const MIN_LOG_INTERVAL_S = 0.01;

export interface SimCyclerOptions {
  id: string;
  /** cells in channels 1..n, in order; their count is the channel count */
  cells: readonly CellSpec[];
  serial?: string;
  limits?: Limits;
  /** records each channel keeps (default 20 000) */
  recordBufferSize?: number;
  /** heartbeat watchdog [ms wall time]; 0 = disabled (default 30 000). Armed by the first heartbeat. */
  watchdogMs?: number;
  /** seed of the measurement noise (default 1) */
  seed?: number;
  /** the cells' ambient until setAmbientC [°C] (default 25) */
  ambientC?: number;
  /** simulated epoch seconds at start (default 0; the environment passes its clock's time to advance) */
  startUnixS?: number;
  /** contact check threshold [Ω]; a channel carrying current through more faults with contactResistance */
  maxContactOhm?: number;
  /** wall clock for the watchdog [ms] (default Date.now) */
  wallNowMs?: () => number;
}

/** Simulator-only surface: ground truth, fault injection and the passage of time. Never exposed by a protocol. */
export interface SimCyclerControl {
  readonly id: string;
  /** the cell in a channel, with its ground truth (truth()) */
  cell(channel: number): SimCell;
  /** puts a new cell into a channel that is not running or paused; returns it */
  insertCell(channel: number, spec: CellSpec): SimCell;
  readonly faults: SimCyclerFaults;
  /** advances every channel by dtS simulated seconds, starting at unixStartS (default: where the last advance ended) */
  advance(dtS: number, unixStartS?: number): void;
  /** ambient the cells exchange heat with [°C] (the chamber's air, or the room) */
  setAmbientC(celsius: number): void;
  /** simulated epoch seconds the channels have reached */
  nowUnixS(): number;
  /** true while the heartbeat watchdog has expired and no heartbeat has come since */
  watchdogExpired(): boolean;
}

export interface SimCyclerFaults {
  /** a channel hardware fault: a running program ends in fault (alarm hardware); ack-fault is refused while active */
  hardware(channel: number, active: boolean): void;
  /** contact resistance in series with the cell [Ω]; above maxContactOhm a channel carrying current faults */
  contactResistance(channel: number, ohm: number): void;
  /** forced heating: the cell's surroundings sit heatingK above ambient (a hot fixture); 0 ends it */
  overTemperature(channel: number, heatingK: number): void;
  /** the channel drops off (offline) or comes back; a program cut off by it reports the hardware fault */
  offline(channel: number, offline: boolean): void;
  /** restart: buffers cleared, new bootId, channels offline for downtimeS simulated seconds, then idle (alarm reboot) */
  reboot(downtimeS?: number): void;
}

export interface SimCycler extends SimCyclerApi, SimCyclerControl {}

export function createSimCycler(opts: SimCyclerOptions): SimCycler {
  const channelCount = opts.cells.length;
  if (channelCount < 1) throw new RangeError(`cycler ${opts.id}: needs at least one cell (one per channel)`);
  const limits: Limits = { ...(opts.limits ?? SIM_CYCLER_LIMITS) };
  // Record rings store current as int32 counts of 0.1 µA: ±214 A.
  if (limits.maxCurrentA > 200) throw new RangeError(`cycler ${opts.id}: maxCurrentA ${limits.maxCurrentA} A exceeds the simulator's 200 A`);
  const recordBufferSize = opts.recordBufferSize ?? 20_000;
  const watchdogMs = opts.watchdogMs ?? 30_000;
  const wallNowMs = opts.wallNowMs ?? Date.now;
  const maxContactOhm = opts.maxContactOhm ?? 0.05;
  const measurement = createMeasurement(opts.seed ?? 1, limits.maxCurrentA);

  let bootId = 1;
  let nowUnixS = opts.startUnixS ?? 0;
  let ambientC = opts.ambientC ?? 25;
  let lastHeartbeatMs: number | undefined;
  let watchdogTripped = false;
  let rebootLeftS = 0;

  const rings = Array.from({ length: channelCount }, () => new RecordRing(recordBufferSize));
  const hardwareFault = new Array<boolean>(channelCount).fill(false);
  const heatingK = new Float64Array(channelCount);
  const cells: SimCell[] = opts.cells.map((spec) => createCell(spec));

  // Records are readings: noise keyed by (boot, seq) so a record reads the same however often it is read.
  const sink: RecordSink = {
    record(ex, flags) {
      const ring = rings[ex.channel - 1];
      const key = bootId * 2 ** 40 + Number(ring.lastSeq) + 1;
      ring.push(
        ex.unixS,
        ex.testTimeS,
        ex.stepIndex,
        ex.cycle,
        measurement.voltageV(ex.voltageV, ex.channel, key),
        measurement.currentA(ex.currentA, ex.channel, key),
        measurement.temperatureC(ex.temperatureC, ex.channel, key),
        ex.stepChargeAh,
        ex.stepDischargeAh,
        ex.stepChargeWh,
        ex.stepDischargeWh,
        flags,
      );
    },
  };
  const executorLimits = { maxCurrentA: limits.maxCurrentA, maxContactOhm };
  const executors = cells.map((cell, i) => new ChannelExecutor(i + 1, cell, sink, executorLimits));

  function index(channel: number): number {
    if (!Number.isInteger(channel) || channel < 1 || channel > channelCount) {
      throw new SimRequestError("bad-channel", `cycler ${opts.id}: channel ${channel} does not exist (channels 1..${channelCount})`);
    }
    return channel - 1;
  }

  function notRebooting(what: string): void {
    if (rebootLeftS > 0) throw new SimRequestError("bad-state", `cycler ${opts.id}: cannot ${what} while the cycler restarts`);
  }

  function watchdogCheck(): void {
    if (watchdogMs <= 0 || lastHeartbeatMs === undefined || watchdogTripped) return;
    if (wallNowMs() - lastHeartbeatMs <= watchdogMs) return;
    watchdogTripped = true;
    for (const ex of executors) if (ex.state === "running") ex.pause(ALARM_CODES.commsWatchdog);
  }

  function validate(channel: number, program: Program): Program {
    const parsed = programSchema.safeParse(program);
    const where = `cycler ${opts.id} channel ${channel}`;
    if (!parsed.success) throw new SimRequestError("bad-program", `${where}: ${describeIssues(parsed.error.issues, "program")}`);
    const p = parsed.data;
    const problems: string[] = [];
    const s = p.safety;
    const check = (ok: boolean, field: string, message: string) => {
      if (!ok) problems.push(`program.${field}: ${message}`);
    };
    check(s.maxVoltageV <= limits.maxVoltageV, "safety.maxVoltageV", `${s.maxVoltageV} V exceeds the instrument's maxVoltageV ${limits.maxVoltageV} V`);
    check(s.minVoltageV >= limits.minVoltageV, "safety.minVoltageV", `${s.minVoltageV} V is below the instrument's minVoltageV ${limits.minVoltageV} V`);
    check(s.minVoltageV < s.maxVoltageV, "safety.minVoltageV", `${s.minVoltageV} V is not below maxVoltageV ${s.maxVoltageV} V`);
    check(s.maxCurrentA <= limits.maxCurrentA, "safety.maxCurrentA", `${s.maxCurrentA} A exceeds the instrument's maxCurrentA ${limits.maxCurrentA} A`);
    check(s.maxTemperatureC <= limits.maxTemperatureC, "safety.maxTemperatureC", `${s.maxTemperatureC} °C exceeds the instrument's maxTemperatureC ${limits.maxTemperatureC} °C`);
    const maxPowerW = limits.maxVoltageV * limits.maxCurrentA;
    p.steps.forEach((step, i) => {
      const at = `steps.${i}`;
      if (step.currentA !== undefined) check(Math.abs(step.currentA) <= limits.maxCurrentA, `${at}.currentA`, `|${step.currentA}| A exceeds the instrument's maxCurrentA ${limits.maxCurrentA} A`);
      if (step.voltageV !== undefined) {
        check(step.voltageV <= limits.maxVoltageV && step.voltageV >= limits.minVoltageV, `${at}.voltageV`, `${step.voltageV} V is outside the instrument's ${limits.minVoltageV}..${limits.maxVoltageV} V`);
      }
      if (step.powerW !== undefined) check(Math.abs(step.powerW) <= maxPowerW, `${at}.powerW`, `|${step.powerW}| W exceeds the instrument's ${maxPowerW} W`);
      step.segments?.forEach((seg, k) => {
        if (seg.currentA !== undefined) check(Math.abs(seg.currentA) <= limits.maxCurrentA, `${at}.segments.${k}.currentA`, `|${seg.currentA}| A exceeds the instrument's maxCurrentA ${limits.maxCurrentA} A`);
        if (seg.powerW !== undefined) check(Math.abs(seg.powerW) <= maxPowerW, `${at}.segments.${k}.powerW`, `|${seg.powerW}| W exceeds the instrument's ${maxPowerW} W`);
      });
      check(step.log.everyS >= MIN_LOG_INTERVAL_S, `${at}.log.everyS`, `${step.log.everyS} s is below the instrument's ${MIN_LOG_INTERVAL_S} s`);
      step.ends.forEach((e, k) => {
        if (e.on === "time") check(e.op === ">=" && e.value > 0, `${at}.ends.${k}`, `a time end needs op ">=" and a value > 0 s`);
      });
    });
    if (problems.length > 0) throw new SimRequestError("bad-program", `${where}: ${problems.join("\n")}`);
    return p;
  }

  const faults: SimCyclerFaults = {
    hardware(channel, active) {
      const i = index(channel);
      hardwareFault[i] = active;
      if (active) executors[i].raiseFault(ALARM_CODES.hardware);
    },
    contactResistance(channel, ohm) {
      if (!(ohm >= 0 && Number.isFinite(ohm))) throw new RangeError(`contact resistance must be ≥ 0 Ω (got ${ohm})`);
      cells[index(channel)].contactResistanceOhm = ohm;
    },
    overTemperature(channel, k) {
      if (!Number.isFinite(k)) throw new RangeError(`forced heating must be finite (got ${k} K)`);
      heatingK[index(channel)] = k;
    },
    offline(channel, offline) {
      const ex = executors[index(channel)];
      if (offline) ex.setOffline();
      else ex.setOnline();
    },
    reboot(downtimeS = 10) {
      for (const ex of executors) ex.setOffline();
      for (const ring of rings) ring.clear();
      bootId++;
      lastHeartbeatMs = undefined;
      watchdogTripped = false;
      rebootLeftS = Math.max(downtimeS, Number.MIN_VALUE);
    },
  };

  return {
    id: opts.id,
    info: (): CyclerInfo => ({
      model: "AXVIAM SimCycler",
      serial: opts.serial ?? `SIM-${opts.id}`,
      firmware: "sim-1.0",
      channelCount,
      limits: { ...limits },
      simulated: true,
      recordBufferSize,
      bootId,
    }),

    live(): ChannelLive[] {
      const key = Math.round(nowUnixS * 1000);
      return executors.map((ex, i) => ({
        channel: ex.channel,
        state: ex.state,
        voltageV: measurement.voltageV(ex.voltageV, ex.channel, key),
        currentA: measurement.currentA(ex.currentA, ex.channel, key),
        temperatureC: measurement.temperatureC(ex.temperatureC, ex.channel, key),
        stepCapacityAh: quantize(ex.stepCapacityAh, RESOLUTION.capacityPerAh),
        stepEnergyWh: quantize(ex.stepEnergyWh, RESOLUTION.energyPerWh),
        stepIndex: ex.stepIndex,
        stepTimeS: quantize(ex.stepTimeS, RESOLUTION.timePerS),
        testTimeS: quantize(ex.testTimeS, RESOLUTION.timePerS),
        cycle: ex.cycle,
        lastSeq: rings[i].lastSeq,
        alarmCode: ex.alarmCode,
        programId: ex.program?.id ?? "",
      }));
    },

    records(channel: number, afterSeq: bigint, max: number): ChannelRecord[] {
      return rings[index(channel)].since(afterSeq, max);
    },

    load(channel: number, program: Program): void {
      const i = index(channel);
      notRebooting("load a program");
      executors[i].load(validate(channel, program));
    },

    command(channel: number, cmd: ChannelCommand): void {
      const i = index(channel);
      notRebooting(cmd);
      const ex = executors[i];
      switch (cmd) {
        case "start":
        case "resume":
          if (watchdogTripped) {
            throw new SimRequestError("bad-state", `cycler ${opts.id} channel ${channel}: cannot ${cmd}: the heartbeat watchdog expired, send a heartbeat first`);
          }
          if (cmd === "start") ex.start();
          else ex.resume();
          return;
        case "pause":
          return ex.pause();
        case "stop":
          return ex.stop();
        case "ack-fault":
          if (hardwareFault[i]) throw new SimRequestError("bad-state", `cycler ${opts.id} channel ${channel}: cannot ack-fault while the hardware fault is active`);
          return ex.ackFault();
        default:
          throw new SimRequestError("bad-command", `cycler ${opts.id} channel ${channel}: unknown command ${JSON.stringify(cmd)}`);
      }
    },

    heartbeat(): void {
      lastHeartbeatMs = wallNowMs();
      watchdogTripped = false;
    },

    cell: (channel) => cells[index(channel)],

    insertCell(channel, spec) {
      const i = index(channel);
      const cell = createCell(spec);
      executors[i].replaceCell(cell);
      cells[i] = cell;
      return cell;
    },

    faults,

    advance(dtS: number, unixStartS?: number): void {
      if (!(dtS >= 0 && Number.isFinite(dtS))) throw new RangeError(`cycler ${opts.id}: advance needs a finite dtS ≥ 0 (got ${dtS})`);
      if (unixStartS !== undefined) nowUnixS = unixStartS;
      watchdogCheck();
      for (let i = 0; i < channelCount; i++) executors[i].advance(dtS, ambientC + heatingK[i], nowUnixS);
      nowUnixS += dtS;
      if (rebootLeftS > 0) {
        rebootLeftS -= dtS;
        if (rebootLeftS <= 0) {
          rebootLeftS = 0;
          for (const ex of executors) ex.resetAfterReboot();
        }
      }
    },

    setAmbientC(celsius: number): void {
      ambientC = celsius;
    },

    nowUnixS: () => nowUnixS,
    watchdogExpired: () => watchdogTripped,
  };
}
