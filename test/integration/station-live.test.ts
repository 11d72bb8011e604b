/** The walking skeleton end to end: station ↔ simulated cycler over real OPC UA on loopback, live values in the hub and REST. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStation, waitFor, type TestStation } from "../support/station.ts";

describe("station ↔ simulated cycler over OPC UA", () => {
  let station: TestStation;
  beforeAll(async () => {
    station = await startTestStation({ channels: 8 });
  });
  afterAll(async () => station?.close());

  it("reports every channel with the simulator's own values", async () => {
    const views = await waitFor("8 channels in the live hub", () => (station.hub.channels().length === 8 ? station.hub.channels() : undefined));
    const sim = station.sims!.env.cyclers.get("sim-cycler")!;
    for (const v of views) {
      const truth = sim.cell(v.channel).truth();
      expect(v.state).toBe("idle");
      // measured open-circuit voltage within the instrument's noise + one poll of drift of the true OCV
      expect(Math.abs(v.voltageV - truth.ocvV)).toBeLessThan(0.002);
      expect(Math.abs(v.temperatureC - truth.temperatureC)).toBeLessThan(0.5);
      expect(v.currentA).toBe(0);
    }
    const links = station.hub.links();
    expect(links.find((l) => l.equipmentId === "cycler-1")).toMatchObject({ status: "connected", simulated: true });
  });

  it("serves the live channels and health over REST", async () => {
    const health = await (await fetch(`${station.url}/api/health`)).json();
    expect(health.ok).toBe(true);
    // live channels need a session once the auth API is mounted (test/security/access-control.test.ts)
    expect((await fetch(`${station.url}/api/channels`)).status).toBe(401);
    await station.auth.changePin("admin", station.auth.bootstrap.adminPin!, "4444");
    const login = await fetch(`${station.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user: "admin", pin: "4444" }) });
    const cookie = login.headers.get("set-cookie")!.split(";")[0];
    const channels = (await (await fetch(`${station.url}/api/channels`, { headers: { cookie } })).json()) as { key: string }[];
    expect(channels.map((c) => c.key)).toEqual(Array.from({ length: 8 }, (_, i) => `cycler-1/${i + 1}`));
  });

  it("follows a running program live: current flows and the state changes", async () => {
    const sim = station.sims!.env.cyclers.get("sim-cycler")!;
    const info = station.monitors.get("cycler-1")!.info()!;
    await station.monitors.get("cycler-1")!.driver.load(3, {
      id: "live-check",
      steps: [{ mode: "cc", currentA: -1, ends: [{ on: "time", op: ">=", value: 36_000, then: "end" }], log: { everyS: 10 } }],
      safety: info.limits,
    });
    await station.monitors.get("cycler-1")!.driver.command(3, "start");
    const running = await waitFor("channel 3 running at -1 A", () => {
      const v = station.hub.channels().find((c) => c.channel === 3);
      return v?.state === "running" && Math.abs(v.currentA + 1) < 0.01 ? v : undefined;
    });
    expect(running.voltageV).toBeLessThan(sim.cell(3).truth().ocvV); // discharge pulls the terminal voltage below OCV
    await station.monitors.get("cycler-1")!.driver.command(3, "stop");
  });
});

describe("change subscription (OPC UA)", () => {
  let station: TestStation;
  beforeAll(async () => {
    // one bulk read at connect, the next only after 10 minutes: anything the hub learns before comes by subscription
    station = await startTestStation({ channels: 4, pollIntervalMs: 600_000 });
  });
  afterAll(async () => station?.close());

  it("shows a state and step change between bulk reads", async () => {
    await waitFor("4 channels in the live hub", () => (station.hub.channels().length === 4 ? true : undefined));
    const sim = station.sims!.env.cyclers.get("sim-cycler")!;
    const limits = sim.info().limits;
    sim.load(2, {
      id: "watch-check",
      steps: [
        { mode: "rest", ends: [{ on: "time", op: ">=", value: 1, then: "next" }], log: { everyS: 10 } },
        { mode: "cc", currentA: -1, ends: [{ on: "time", op: ">=", value: 36_000, then: "end" }], log: { everyS: 10 } },
      ],
      safety: limits,
    });
    sim.command(2, "start");
    const v = await waitFor("channel 2 running its second step in the hub", () => {
      const c = station.hub.get("cycler-1/2");
      return c?.state === "running" && c.stepIndex === 1 ? c : undefined;
    });
    // the other fields are still the connect-time bulk read: only state, alarm and step come by subscription
    expect(v.currentA).toBe(0);
    sim.command(2, "stop");
    await waitFor("channel 2 no longer running", () => (station.hub.get("cycler-1/2")?.state !== "running" ? true : undefined));
  });
});
