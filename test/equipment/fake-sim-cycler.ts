/**
 * A small, deterministic SimCyclerApi for protocol tests: programs run on a manual clock (advanceS), time end
 * conditions only, linear made-up cell values. It stands in for the real simulator core where only the protocol
 * mapping is under test; nothing here is physics.
 */
import { ALARM_CODES, RECORD_FLAGS, type ChannelCommand, type ChannelLive, type ChannelRecord, type ChannelState } from "../../server/domain/equipment/channel.ts";
import type { Program } from "../../server/domain/equipment/program.ts";
import type { CyclerInfo } from "../../server/equipment/cycler-driver.ts";
import { SimRequestError, type SimCyclerApi } from "../../simulators/cycler/sim-cycler-api.ts";

interface FakeChannel {
  live: ChannelLive;
  program?: Program;
  records: ChannelRecord[];
  sinceLogS: number;
  chargeAh: number;
  dischargeAh: number;
}

export interface FakeSimCycler extends SimCyclerApi {
  advanceS(seconds: number): void;
}

const START_UNIX_S = 1_800_000_000;

export function createFakeSimCycler(o: { channelCount: number; watchdogMs: number }): FakeSimCycler {
  const info: CyclerInfo = {
    model: "FAKE-8",
    serial: "FAKE-0001",
    firmware: "0.0.1-fake",
    channelCount: o.channelCount,
    limits: { maxVoltageV: 5, minVoltageV: 0, maxCurrentA: 10, maxTemperatureC: 60, minTemperatureC: -20 },
    simulated: true,
    recordBufferSize: 10_000,
    bootId: 7,
  };
  let clockS = 0;
  let lastHeartbeatMs = Date.now();
  const channels: FakeChannel[] = Array.from({ length: o.channelCount }, (_, i) => ({
    live: {
      channel: i + 1, state: "idle", voltageV: 3.6 + i * 0.001, currentA: 0, temperatureC: 25, stepCapacityAh: 0, stepEnergyWh: 0,
      stepIndex: 0, stepTimeS: 0, testTimeS: 0, cycle: 0, lastSeq: 0n, alarmCode: 0, programId: "",
    },
    records: [],
    sinceLogS: 0,
    chargeAh: 0,
    dischargeAh: 0,
  }));

  const get = (channel: number): FakeChannel => {
    const c = channels[channel - 1];
    if (!Number.isInteger(channel) || c === undefined) throw new SimRequestError("bad-channel", `channel ${channel} does not exist (1..${o.channelCount})`);
    return c;
  };
  const log = (c: FakeChannel, flags: number) => {
    const l = c.live;
    l.lastSeq += 1n;
    c.records.push({
      seq: l.lastSeq, unixTimeS: START_UNIX_S + clockS, testTimeS: l.testTimeS, stepIndex: l.stepIndex, cycle: l.cycle,
      voltageV: l.voltageV, currentA: l.currentA, temperatureC: l.temperatureC, chargeAh: c.chargeAh, dischargeAh: c.dischargeAh,
      chargeWh: c.chargeAh * l.voltageV, dischargeWh: c.dischargeAh * l.voltageV, flags,
    });
    c.sinceLogS = 0;
  };
  const enterStep = (c: FakeChannel, index: number) => {
    const step = c.program!.steps[index];
    Object.assign(c.live, { stepIndex: index, stepTimeS: 0, stepCapacityAh: 0, stepEnergyWh: 0, currentA: step.currentA ?? 0 });
    c.chargeAh = 0;
    c.dischargeAh = 0;
    log(c, RECORD_FLAGS.stepStart);
  };
  const tick = (c: FakeChannel, dtS: number) => {
    const l = c.live;
    const step = c.program!.steps[l.stepIndex];
    l.stepTimeS += dtS;
    l.testTimeS += dtS;
    const dAh = (Math.abs(l.currentA) * dtS) / 3600;
    if (l.currentA > 0) c.chargeAh += dAh;
    else c.dischargeAh += dAh;
    l.stepCapacityAh += dAh;
    l.voltageV += l.currentA * 1e-4 * dtS;
    l.stepEnergyWh = l.stepCapacityAh * l.voltageV;
    c.sinceLogS += dtS;
    const end = step.ends.find((e) => e.on === "time" && e.value <= l.stepTimeS);
    if (end === undefined) {
      if (c.sinceLogS >= step.log.everyS - 1e-9) log(c, 0);
      return;
    }
    const next = end.then === "next" ? l.stepIndex + 1 : end.then === "end" ? c.program!.steps.length : end.then.goto;
    if (next >= c.program!.steps.length) {
      l.state = "finished";
      l.currentA = 0;
      log(c, RECORD_FLAGS.stepEnd | RECORD_FLAGS.programEnd);
    } else {
      log(c, RECORD_FLAGS.stepEnd);
      enterStep(c, next);
    }
  };
  const require = (c: FakeChannel, cmd: string, allowed: ChannelState[]) => {
    if (!allowed.includes(c.live.state)) throw new SimRequestError("bad-state", `channel ${c.live.channel}: cannot ${cmd} while ${c.live.state}`);
  };

  return {
    info: () => structuredClone(info),
    live: () => channels.map((c) => ({ ...c.live })),
    records: (channel, afterSeq, max) => get(channel).records.filter((r) => r.seq > afterSeq).slice(0, max).map((r) => ({ ...r })),
    load(channel, program) {
      const c = get(channel);
      require(c, "load", ["idle", "loaded", "finished"]);
      c.program = structuredClone(program);
      Object.assign(c.live, { state: "loaded", programId: program.id, stepIndex: 0, stepTimeS: 0, testTimeS: 0, alarmCode: 0 });
    },
    command(channel: number, cmd: ChannelCommand) {
      const c = get(channel);
      if (cmd === "start") {
        require(c, cmd, ["loaded"]);
        c.live.state = "running";
        enterStep(c, 0);
      } else if (cmd === "pause") {
        require(c, cmd, ["running"]);
        Object.assign(c.live, { state: "paused", currentA: 0 });
      } else if (cmd === "resume") {
        require(c, cmd, ["paused"]);
        Object.assign(c.live, { state: "running", currentA: c.program!.steps[c.live.stepIndex].currentA ?? 0, alarmCode: 0 });
      } else if (cmd === "stop") {
        require(c, cmd, ["running", "paused"]);
        Object.assign(c.live, { state: "finished", currentA: 0 });
        log(c, RECORD_FLAGS.programEnd);
      } else {
        require(c, cmd, ["fault"]);
        Object.assign(c.live, { state: "idle", alarmCode: 0 });
      }
    },
    heartbeat() {
      lastHeartbeatMs = Date.now();
    },
    advanceS(seconds) {
      const watchdogExpired = o.watchdogMs > 0 && Date.now() - lastHeartbeatMs > o.watchdogMs;
      for (const c of channels) {
        if (c.live.state === "running" && watchdogExpired) {
          Object.assign(c.live, { state: "paused", currentA: 0, alarmCode: ALARM_CODES.commsWatchdog });
        }
      }
      for (let s = 0; s < seconds; s++) {
        clockS += 1;
        for (const c of channels) if (c.live.state === "running") tick(c, 1);
      }
    },
  };
}
