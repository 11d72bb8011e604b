/** The simulated cycler with the real cell model: ground truth, validation, watchdog, faults, determinism. */
import { describe, expect, it } from "vitest";
import { ALARM_CODES, RECORD_FLAGS } from "../../../server/domain/equipment/channel.ts";
import type { Program } from "../../../server/domain/equipment/program.ts";
import { newLot } from "../../../simulators/cell/population.ts";
import { createSimCycler, SIM_CYCLER_LIMITS, type SimCycler } from "../../../simulators/cycler/sim-cycler.ts";
import { SimRequestError } from "../../../simulators/cycler/sim-cycler-api.ts";

const cells = (count = 4, seed = 3) =>
  newLot({ seed, count, chemistry: "nmc811-graphite", serialPrefix: "T", microShortRate: 0, highResistanceRate: 0 });

const SAFETY = { maxVoltageV: 4.25, minVoltageV: 2.45, maxCurrentA: 10, maxTemperatureC: 60 };

function restProgram(seconds = 1e6): Program {
  return { id: "rest", steps: [{ mode: "rest", ends: [{ on: "time", op: ">=", value: seconds, then: "end" }], log: { everyS: 10 } }], safety: SAFETY };
}

function ccProgram(currentA: number, seconds: number): Program {
  return { id: "cc", steps: [{ mode: "cc", currentA, ends: [{ on: "time", op: ">=", value: seconds, then: "end" }], log: { everyS: 10 } }], safety: SAFETY };
}

function advance(sim: SimCycler, seconds: number, chunkS = 10): void {
  for (let t = 0; t < seconds; t += chunkS) sim.advance(chunkS);
}

function thrown(fn: () => void): SimRequestError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SimRequestError);
    return e as SimRequestError;
  }
  throw new Error("expected a SimRequestError");
}

describe("sim cycler with the real cell model", () => {
  it("a C/20 discharge after a full CCCV charge returns the cell's true capacity within 0.5 %", () => {
    const sim = createSimCycler({ id: "c", cells: cells(1) });
    const capAh = sim.cell(1).truth().capacityAh;
    sim.load(1, {
      id: "cap",
      safety: SAFETY,
      steps: [
        { mode: "cccv", currentA: capAh / 3, voltageV: 4.2, ends: [{ on: "current", op: "<=", value: capAh / 50, then: "next" }], log: { everyS: 120 } },
        { mode: "rest", ends: [{ on: "time", op: ">=", value: 3600, then: "next" }], log: { everyS: 120 } },
        { mode: "cc", currentA: -capAh / 20, ends: [{ on: "voltage", op: "<=", value: 2.5, then: "end" }], log: { everyS: 120 } },
      ],
    });
    sim.command(1, "start");
    advance(sim, 40 * 3600, 60);
    expect(sim.live()[0].state).toBe("finished");
    const end = sim.records(1, 0n, 1e6).filter((r) => r.flags & RECORD_FLAGS.programEnd)[0];
    expect(end.stepIndex).toBe(2);
    expect(Math.abs(end.dischargeAh / capAh - 1)).toBeLessThan(0.005);
    expect(end.voltageV).toBeCloseTo(2.5, 3);
  });

  it("charge current > 0 raises the cell's true SOC; readings carry noise within the instrument's spec", () => {
    const sim = createSimCycler({ id: "c", cells: cells(1) });
    const soc0 = sim.cell(1).truth().socFraction;
    sim.load(1, ccProgram(2.5, 3600));
    sim.command(1, "start");
    advance(sim, 1800);
    const truthV = sim.cell(1).voltageAt(2.5);
    const live = sim.live()[0];
    expect(live.currentA).toBeGreaterThan(0);
    expect(Math.abs(live.currentA - 2.5)).toBeLessThan(15 * 1e-4 * 5); // 5σ of 0.01 % FS
    expect(Math.abs(live.voltageV - truthV)).toBeLessThan(0.25e-3); // 5σ of 0.05 mV
    expect(live.stepCapacityAh).toBeCloseTo((2.5 * 1800) / 3600, 5);
    expect(sim.cell(1).truth().socFraction - soc0).toBeCloseTo((2.5 * 0.5 * (1 - 2e-4)) / sim.cell(1).truth().capacityAh, 3);
    expect(sim.live()).toEqual(sim.live()); // a reading at one instant reads the same twice
  });

  it("rejects programs beyond the instrument, naming the step and field", () => {
    const sim = createSimCycler({ id: "c", cells: cells(2) });
    const tooMuch = ccProgram(SIM_CYCLER_LIMITS.maxCurrentA * 2, 10);
    const e1 = thrown(() => sim.load(1, tooMuch));
    expect(e1.code).toBe("bad-program");
    expect(e1.message).toMatch(/channel 1: program\.steps\.0\.currentA: \|30\| A exceeds the instrument's maxCurrentA 15 A/);
    const e2 = thrown(() => sim.load(2, { ...restProgram(), safety: { ...SAFETY, maxVoltageV: 6 } }));
    expect(e2.message).toMatch(/safety\.maxVoltageV/);
    const e3 = thrown(() => sim.load(2, { ...restProgram(), steps: [] }));
    expect(e3.message).toMatch(/program\.steps/);
    const e4 = thrown(() => sim.load(2, { ...restProgram(), steps: [{ mode: "rest", ends: [{ on: "time", op: "<=", value: 5, then: "end" }], log: { everyS: 1 } }] }));
    expect(e4.message).toMatch(/steps\.0\.ends\.0/);
    expect(sim.live().map((c) => c.state)).toEqual(["idle", "idle"]);
    expect(thrown(() => sim.load(3, restProgram())).code).toBe("bad-channel");
    expect(thrown(() => sim.records(0, 0n, 1)).code).toBe("bad-channel");
    expect(thrown(() => sim.command(1, "start")).code).toBe("bad-state");
    sim.load(1, restProgram());
    expect(thrown(() => sim.command(1, "jump" as never)).code).toBe("bad-command");
  });

  it("watchdog: without heartbeats for watchdogMs wall time running channels rest (paused, 0 A, commsWatchdog), records kept; resume after a heartbeat", () => {
    let wallMs = 0;
    const sim = createSimCycler({ id: "c", cells: cells(3), watchdogMs: 1000, wallNowMs: () => wallMs });
    sim.load(1, ccProgram(1, 1e5));
    sim.load(2, restProgram());
    sim.command(1, "start");
    sim.command(2, "start");
    sim.heartbeat();
    for (let k = 0; k < 5; k++) {
      wallMs += 900;
      sim.heartbeat();
      advance(sim, 60);
    }
    expect(sim.live()[0]).toMatchObject({ state: "running", alarmCode: ALARM_CODES.none });
    const before = sim.records(1, 0n, 1e6);
    wallMs += 1001;
    advance(sim, 60);
    const [a, b, c] = sim.live();
    expect(a).toMatchObject({ state: "paused", alarmCode: ALARM_CODES.commsWatchdog, currentA: 0 });
    expect(b).toMatchObject({ state: "paused", alarmCode: ALARM_CODES.commsWatchdog });
    expect(c.state).toBe("idle");
    expect(sim.records(1, 0n, 1e6).slice(0, before.length)).toEqual(before);
    const stepTime = a.stepTimeS;
    advance(sim, 120);
    expect(sim.live()[0].stepTimeS).toBe(stepTime);
    expect(thrown(() => sim.command(1, "resume")).message).toMatch(/watchdog expired/);
    sim.heartbeat();
    sim.command(1, "resume");
    advance(sim, 60);
    expect(sim.live()[0]).toMatchObject({ state: "running", alarmCode: ALARM_CODES.none });
    expect(sim.live()[0].stepTimeS).toBeCloseTo(stepTime + 60, 6);
  });

  it("reboot clears the buffers, changes bootId, goes offline, then idle with the reboot alarm", () => {
    const sim = createSimCycler({ id: "c", cells: cells(2) });
    sim.load(1, restProgram());
    sim.command(1, "start");
    advance(sim, 100);
    expect(sim.live()[0].lastSeq).toBeGreaterThan(5n);
    const bootId = sim.info().bootId;
    sim.faults.reboot(30);
    expect(sim.info().bootId).not.toBe(bootId);
    expect(sim.records(1, 0n, 100)).toEqual([]);
    expect(sim.live().map((c) => c.state)).toEqual(["offline", "offline"]);
    expect(thrown(() => sim.load(1, restProgram())).code).toBe("bad-state");
    advance(sim, 30);
    expect(sim.live().map((c) => [c.state, c.alarmCode, c.lastSeq])).toEqual([
      ["idle", ALARM_CODES.reboot, 0n],
      ["idle", ALARM_CODES.reboot, 0n],
    ]);
    sim.load(1, restProgram());
    sim.command(1, "start");
    advance(sim, 20);
    expect(sim.records(1, 0n, 100)[0].seq).toBe(1n);
  });

  it("hardware fault ends the program; ack-fault is refused until it clears", () => {
    const sim = createSimCycler({ id: "c", cells: cells(1) });
    sim.load(1, ccProgram(1, 1e4));
    sim.command(1, "start");
    advance(sim, 50);
    sim.faults.hardware(1, true);
    expect(sim.live()[0]).toMatchObject({ state: "fault", alarmCode: ALARM_CODES.hardware, currentA: 0 });
    const last = sim.records(1, 0n, 1e6).at(-1);
    expect(last?.flags).toBe(RECORD_FLAGS.fault | RECORD_FLAGS.stepEnd | RECORD_FLAGS.programEnd);
    expect(thrown(() => sim.command(1, "ack-fault")).message).toMatch(/hardware fault is active/);
    sim.faults.hardware(1, false);
    sim.command(1, "ack-fault");
    expect(sim.live()[0]).toMatchObject({ state: "loaded", alarmCode: ALARM_CODES.none });
  });

  it("contact resistance raises the terminal voltage under current by I·R; beyond the contact check it faults", () => {
    const sim = createSimCycler({ id: "c", cells: cells(1), maxContactOhm: 0.05 });
    sim.load(1, ccProgram(2, 1e4));
    sim.command(1, "start");
    advance(sim, 100);
    const before = sim.cell(1).voltageAt(2);
    sim.faults.contactResistance(1, 0.03);
    expect(sim.cell(1).voltageAt(2) - before).toBeCloseTo(0.06, 9);
    advance(sim, 20);
    const records = sim.records(1, 0n, 1e6);
    const jump = records.at(-1)!.voltageV - records.at(-3)!.voltageV;
    expect(jump).toBeGreaterThan(0.055);
    expect(jump).toBeLessThan(0.07);
    sim.faults.contactResistance(1, 0.08);
    advance(sim, 10);
    expect(sim.live()[0]).toMatchObject({ state: "fault", alarmCode: ALARM_CODES.contactResistance });
  });

  it("forced heating warms the cell with its thermal lag until overTemperature faults the channel", () => {
    const sim = createSimCycler({ id: "c", cells: cells(1), ambientC: 25 });
    sim.load(1, restProgram());
    sim.command(1, "start");
    sim.faults.overTemperature(1, 50);
    advance(sim, 300);
    const t300 = sim.cell(1).temperatureC;
    expect(t300).toBeGreaterThan(26);
    expect(t300).toBeLessThan(60); // a lumped mass does not jump to its surroundings
    advance(sim, 4 * 3600);
    expect(sim.live()[0]).toMatchObject({ state: "fault", alarmCode: ALARM_CODES.overTemperature });
    expect(sim.cell(1).temperatureC).toBeGreaterThan(60);
  });

  it("offline channel: commands refused; back online it reports the cut program as a hardware fault", () => {
    const sim = createSimCycler({ id: "c", cells: cells(2) });
    sim.load(1, restProgram());
    sim.command(1, "start");
    sim.faults.offline(1, true);
    expect(sim.live()[0].state).toBe("offline");
    expect(thrown(() => sim.command(1, "pause")).code).toBe("bad-state");
    sim.faults.offline(1, false);
    expect(sim.live()[0]).toMatchObject({ state: "fault", alarmCode: ALARM_CODES.hardware });
  });

  it("is deterministic given the seeds", () => {
    const runOnce = (measurementSeed: number) => {
      const sim = createSimCycler({ id: "c", cells: cells(2, 11), seed: measurementSeed });
      sim.load(2, ccProgram(-2, 600));
      sim.command(2, "start");
      advance(sim, 700, 7);
      return sim.records(2, 0n, 1e6);
    };
    const a = runOnce(5);
    expect(a.length).toBeGreaterThan(50);
    expect(runOnce(5)).toEqual(a);
    expect(runOnce(6).map((r) => r.voltageV)).not.toEqual(a.map((r) => r.voltageV));
  });
});
