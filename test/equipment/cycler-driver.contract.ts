/**
 * The one contract every CyclerDriver passes against its simulator (STYLE example 12).
 * A protocol's integration test calls cyclerDriverContract(name, setup) with a setup that starts the simulator core,
 * its protocol front-end on loopback and the driver under test; the suite reads ground truth from the core.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ALARM_CODES, type ChannelRecord } from "../../server/domain/equipment/channel.ts";
import type { Program } from "../../server/domain/equipment/program.ts";
import { EquipmentError, type CyclerDriver, type CyclerInfo, type LinkState } from "../../server/equipment/cycler-driver.ts";
import type { LinkFaults, SimCyclerApi } from "../../simulators/cycler/sim-cycler-api.ts";

export interface CyclerContractHarness {
  driver: CyclerDriver;
  /** the protocol-free simulator core behind the front-end: the ground truth */
  sim: SimCyclerApi;
  /** the front-end's link faults, switchable at run time */
  faults: LinkFaults;
  /** advance the simulator's clock by this many simulated seconds; resolves when done */
  advanceS(seconds: number): Promise<void>;
  /** the driver's request timeout [ms], so the suite can provoke a timeout */
  requestTimeoutMs: number;
  /** the core's heartbeat watchdog timeout [ms wall time], as asked of setup */
  watchdogMs: number;
  teardown(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const hit = await probe();
    if (hit !== undefined) return hit;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

async function expectEquipmentError(p: Promise<unknown>, kind: EquipmentError["kind"], messagePart?: RegExp): Promise<EquipmentError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected EquipmentError ${kind}`).toBeInstanceOf(EquipmentError);
  const eqErr = err as EquipmentError;
  expect(eqErr.kind).toBe(kind);
  if (messagePart) expect(eqErr.message).toMatch(messagePart);
  return eqErr;
}

/** A program well inside the instrument's limits: 5 s rest, then a 20 s charge at 5 % of max current, logging every second. */
export function shortProgram(info: CyclerInfo, id = "contract-short"): Program {
  return {
    id,
    steps: [
      { mode: "rest", ends: [{ on: "time", op: ">=", value: 5, then: "next" }], log: { everyS: 1 } },
      { mode: "cc", currentA: info.limits.maxCurrentA * 0.05, ends: [{ on: "time", op: ">=", value: 20, then: "end" }], log: { everyS: 1 } },
    ],
    safety: { ...info.limits },
  };
}

/** A long rest, so a channel stays running while the suite pauses, drops links or starves the watchdog. */
function longProgram(info: CyclerInfo): Program {
  return {
    id: "contract-long",
    steps: [{ mode: "rest", ends: [{ on: "time", op: ">=", value: 1e6, then: "end" }], log: { everyS: 1 } }],
    safety: { ...info.limits },
  };
}

/** Read every record after afterSeq in pages of pageSize, the way the station backfills. */
async function drainRecords(driver: CyclerDriver, channel: number, afterSeq: bigint, pageSize: number): Promise<ChannelRecord[]> {
  const all: ChannelRecord[] = [];
  let cursor = afterSeq;
  for (;;) {
    const page = await driver.readRecords(channel, cursor, pageSize);
    if (page.length === 0) return all;
    all.push(...page);
    cursor = page[page.length - 1].seq;
  }
}

function expectContiguous(records: ChannelRecord[], afterSeq: bigint): void {
  records.forEach((r, i) => expect(r.seq, `record ${i}`).toBe(afterSeq + BigInt(i) + 1n));
}

/** setup starts a fresh core + front-end + driver (not yet connected); watchdogMs 0 = watchdog disabled. */
export type CyclerContractSetup = (o: { watchdogMs: number }) => Promise<CyclerContractHarness>;

export function cyclerDriverContract(name: string, setup: CyclerContractSetup): void {
  describe(`CyclerDriver contract: ${name}`, () => {
    let h: CyclerContractHarness;
    let info: CyclerInfo;
    const states: LinkState[] = [];

    const start = async (watchdogMs: number) => {
      h = await setup({ watchdogMs });
      states.length = 0;
      h.driver.on("state", (s) => states.push(s));
      info = await h.driver.connect();
    };
    beforeEach(() => start(0));
    afterEach(async () => {
      await h?.teardown();
    });

    it("connect returns the instrument's identification and limits", () => {
      expect(info).toEqual(h.sim.info());
    });

    it("readLive returns every channel with the simulator's values", async () => {
      h.sim.load(2, shortProgram(info));
      h.sim.command(2, "start");
      await h.advanceS(7);
      const live = await h.driver.readLive();
      expect(live).toEqual(h.sim.live());
      expect(live.map((c) => c.channel)).toEqual(Array.from({ length: info.channelCount }, (_, i) => i + 1));
      expect(live[1].state).toBe("running");
      expect(live[1].programId).toBe("contract-short");
    });

    it("load + start runs a program whose records arrive in order with no gap", async () => {
      await h.driver.load(1, shortProgram(info));
      expect(h.sim.live()[0].state).toBe("loaded");
      await h.driver.command(1, "start");
      await h.advanceS(10);
      const first = await drainRecords(h.driver, 1, 0n, 4);
      expect(first.length).toBeGreaterThan(5);
      await h.advanceS(30);
      const rest = await drainRecords(h.driver, 1, first[first.length - 1].seq, 7);
      const all = [...first, ...rest];
      expectContiguous(all, all[0].seq - 1n);
      expect(all).toEqual(h.sim.records(1, 0n, 1_000_000));
      expect(h.sim.live()[0].state).toBe("finished");
      // the charge step's current, with the pinned sign convention (charge > 0)
      expect(all.some((r) => r.stepIndex === 1 && r.currentA > 0)).toBe(true);
    });

    it("rejects a program beyond the instrument's limits, naming the field, before download", async () => {
      const tooHigh = shortProgram(info);
      tooHigh.steps[1] = { ...tooHigh.steps[1], currentA: info.limits.maxCurrentA * 2 };
      await expectEquipmentError(h.driver.load(1, tooHigh), "rejected", /currentA/);
      const unsafe = { ...shortProgram(info), safety: { ...info.limits, maxVoltageV: info.limits.maxVoltageV + 1 } };
      await expectEquipmentError(h.driver.load(1, unsafe), "rejected", /maxVoltageV/);
      const malformed = { ...shortProgram(info), steps: [] } as Program;
      await expectEquipmentError(h.driver.load(1, malformed), "rejected", /steps/);
      expect(h.sim.live()[0].state).toBe("idle");
    });

    it("rejects an invalid channel number", async () => {
      for (const channel of [0, info.channelCount + 1]) {
        await expectEquipmentError(h.driver.load(channel, shortProgram(info)), "rejected", /channel/);
        await expectEquipmentError(h.driver.command(channel, "start"), "rejected", /channel/);
        await expectEquipmentError(h.driver.readRecords(channel, 0n, 10), "rejected", /channel/);
      }
    });

    it("rejects a command the channel's state does not allow", async () => {
      await expectEquipmentError(h.driver.command(1, "start"), "rejected");
    });

    it("pause, resume and stop follow the simulator's state", async () => {
      await h.driver.load(3, longProgram(info));
      await h.driver.command(3, "start");
      await h.advanceS(2);
      await h.driver.command(3, "pause");
      expect(h.sim.live()[2].state).toBe("paused");
      expect((await h.driver.readLive())[2].state).toBe("paused");
      await h.driver.command(3, "resume");
      expect(h.sim.live()[2].state).toBe("running");
      await h.driver.command(3, "stop");
      const stopped = h.sim.live()[2].state;
      expect(["finished", "idle"]).toContain(stopped);
      expect((await h.driver.readLive())[2].state).toBe(stopped);
    });

    it("heartbeat keeps the watchdog quiet; without it the running channel is brought to a safe rest", async () => {
      await h.teardown();
      await start(400);
      await h.driver.load(1, longProgram(info));
      await h.driver.command(1, "start");
      const until = Date.now() + h.watchdogMs * 3;
      while (Date.now() < until) {
        await h.driver.heartbeat();
        await h.advanceS(1);
        await sleep(h.watchdogMs / 4);
      }
      expect(h.sim.live()[0]).toMatchObject({ state: "running", alarmCode: ALARM_CODES.none });
      await sleep(h.watchdogMs * 2);
      await h.advanceS(1);
      const starved = h.sim.live()[0];
      expect(starved.alarmCode).toBe(ALARM_CODES.commsWatchdog);
      expect(starved.currentA).toBe(0);
      expect(starved.state).not.toBe("running");
    });

    it("reports a dropped link, reconnects by itself and backfills records with no gap or duplicate", async () => {
      await h.driver.load(1, longProgram(info));
      await h.driver.command(1, "start");
      await h.advanceS(5);
      const before = await drainRecords(h.driver, 1, 0n, 100);
      expect(before.length).toBeGreaterThan(3);

      h.faults.dropped = true;
      await waitFor("link lost/degraded", () => states.find((s) => s.status !== "connected"));
      await expect(h.driver.readLive()).rejects.toBeInstanceOf(EquipmentError);
      await h.advanceS(20); // the channel runs on while the link is down (DESIGN §4)

      h.faults.dropped = false;
      const lostAt = states.findIndex((s) => s.status !== "connected");
      await waitFor("reconnected", () => states.slice(lostAt).find((s) => s.status === "connected"), 20_000);
      const after = await drainRecords(h.driver, 1, before[before.length - 1].seq, 9);
      const all = [...before, ...after];
      expectContiguous(all, all[0].seq - 1n);
      expect(all).toEqual(h.sim.records(1, 0n, 1_000_000));
      expect(after.length).toBeGreaterThanOrEqual(19);
    });

    it("turns a slow instrument into an EquipmentError timeout and recovers", async () => {
      h.faults.delayMs = h.requestTimeoutMs + 1000;
      const started = Date.now();
      await expectEquipmentError(h.driver.readRecords(1, 0n, 10), "timeout");
      expect(Date.now() - started).toBeLessThan(h.requestTimeoutMs + 900);
      h.faults.delayMs = 0;
      await waitFor("link usable again", async () => (await h.driver.readLive().catch(() => undefined)) ? true : undefined, 20_000);
      expect(await h.driver.readLive()).toEqual(h.sim.live());
    });

    it("flags corrupted live values instead of passing them on", async () => {
      h.faults.corruptChannels = [2];
      const live = await h.driver.readLive();
      expect(live[1].alarmCode).toBe(ALARM_CODES.invalidReading);
      expect(Number.isNaN(live[1].voltageV)).toBe(true);
      expect(live[0]).toEqual(h.sim.live()[0]);
    });
  });
}
