/**
 * Restart (issue 4): the station process is SIGKILLed twice in the middle of a lot and started again; the
 * cycler — a separate simulator that keeps running — holds the records meanwhile. Every run must resume and
 * finish, and every trace must hold exactly the records the cycler logged: no gap, no duplicate.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simulatorsSchema } from "../../server/config/station-config.schema.ts";
import { readTrace } from "../../server/store/trace-store.ts";
import { startSimHost, type SimHost } from "../../simulators/sim-host.ts";
import { CONFIG_DIR, waitFor } from "../support/station.ts";

const CHANNELS = 4;
const RECIPE = `
name: restart_check
version: 1.0.0
description: Three short phases, logged densely, to SIGKILL the station in the middle of.
kind: imprint
safety: { maxVoltageV: 4.25, minVoltageV: 2.45, maxCurrent: 1C, maxTemperatureC: 55 }
phases:
  - name: one
    steps:
      - CC discharge C/5 for 10% capacity to 2.5 V log every 5 s
      - rest 1 h log every 5 s
  - name: two
    steps:
      - CC charge C/5 for 10% capacity to 4.2 V log every 5 s
      - rest 1 h log every 5 s
  - name: three
    steps:
      - rest 2 h log every 5 s
analysis: {}
`;

interface StationProcess {
  child: ChildProcess;
  port: Promise<number>;
  adminPin: Promise<string | undefined>;
  exited: Promise<number | null>;
}

function startStationProcess(configFile: string): StationProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts", "--config", configFile], { stdio: ["ignore", "pipe", "pipe"] });
  let buffered = "";
  let resolvePort!: (p: number) => void;
  let resolvePin!: (p: string | undefined) => void;
  const port = new Promise<number>((r) => (resolvePort = r));
  const adminPin = new Promise<string | undefined>((r) => (resolvePin = r));
  child.stdout!.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    for (;;) {
      const nl = buffered.indexOf("\n");
      if (nl < 0) break;
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.startsWith("{")) continue;
      const entry = JSON.parse(line) as { msg?: string; port?: number; pin?: string };
      if (entry.pin) resolvePin(entry.pin);
      if (entry.msg === "HTTP server listening") {
        resolvePort(entry.port!);
        setTimeout(() => resolvePin(undefined), 50);
      }
    }
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  // a station that dies before listening fails the test with its own words, instead of a timeout
  const failed = exited.then((code) => {
    throw new Error(`station exited (${code}) before listening:\n${stderr.slice(-2000)}`);
  });
  failed.catch(() => undefined);
  return { child, port: Promise.race([port, failed]), adminPin: Promise.race([adminPin, failed]), exited };
}

describe("station restart after SIGKILL", () => {
  let sims: SimHost;
  let dir: string;
  let station: StationProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "axviam-restart-"));
    sims = await startSimHost(
      simulatorsSchema.parse({
        enabled: true,
        clock: { speed: 600 },
        cyclers: [{ id: "sim-cycler", protocol: "opcua", port: 0, channels: CHANNELS, watchdogMs: 60_000, population: { seed: 3, serialPrefix: "RST" } }],
      }),
      { configDir: CONFIG_DIR, pkiDir: path.join(dir, "sim-pki") },
    );
    const configDir = path.join(dir, "config");
    mkdirSync(path.join(configDir, "recipes"), { recursive: true });
    writeFileSync(path.join(configDir, "recipes", "restart_check.yaml"), RECIPE);
    symlinkSync(path.join(CONFIG_DIR, "grading"), path.join(configDir, "grading"));
    writeFileSync(
      path.join(configDir, "station.yaml"),
      [
        "station: { id: restart-test, name: Restart test, dataDir: " + JSON.stringify(path.join(dir, "data")) + " }",
        "http: { host: 127.0.0.1, port: 0 }",
        "logging: { level: info }",
        "equipment:",
        `  cyclers: [{ id: cycler-1, protocol: opcua, endpoint: "${sims.endpoint("sim-cycler")}", channels: ${CHANNELS}, pollIntervalMs: 200, heartbeatIntervalMs: 500 }]`,
      ].join("\n"),
    );
  });

  afterAll(async () => {
    station?.child.kill("SIGKILL");
    await sims?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("resumes every run with no gap and no duplicate record, while the cycler kept running", async () => {
    const configFile = path.join(dir, "config", "station.yaml");
    station = startStationProcess(configFile);
    const base = `http://127.0.0.1:${await station.port}`;
    const pin = await station.adminPin;
    expect(pin).toMatch(/^\d{6}$/);

    let cookie = "";
    const call = async (method: string, url: string, body?: unknown) => {
      const res = await fetch(`${base}${url}`, { method, headers: { "content-type": "application/json", cookie }, body: body === undefined ? undefined : JSON.stringify(body) });
      const set = res.headers.get("set-cookie");
      if (set) cookie = set.split(";")[0];
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    expect((await call("POST", "/api/auth/login", { user: "admin", pin })).status).toBe(200);
    expect((await call("POST", "/api/auth/change-pin", { currentPin: pin, newPin: "482916" })).status).toBe(200);
    await waitFor("cycler connected", async () => ((await call("GET", "/api/health")).json.links as { status: string }[]).some((l) => l.status === "connected") || undefined);
    const sim = sims.env.cyclers.get("sim-cycler")!;
    const started = await call("POST", "/api/lots", {
      name: "restart", recipe: "restart_check", cyclerId: "cycler-1", nominalCapacityAh: 5, chemistry: "nmc811-graphite",
      cells: Array.from({ length: CHANNELS }, (_, i) => ({ slot: i + 1, serial: sim.cell(i + 1).serial })),
    });
    expect(started.status).toBe(201);
    const lotId = (started.json as { id: string }).id;

    // Kill 1: in phase one, once records flow. Kill 2: after the restart, once phase two runs.
    await waitFor("records of phase one", () => (sim.live()[0].state === "running" && sim.live()[0].lastSeq > 20n) || undefined);
    station.child.kill("SIGKILL");
    await station.exited;
    const seqAtKill = sim.live()[0].lastSeq;
    await waitFor("cycler logging on without the station", () => sim.live()[0].lastSeq > seqAtKill + 50n || undefined, 30_000);

    station = startStationProcess(configFile);
    const base2 = `http://127.0.0.1:${await station.port}`;
    const relogin = async () => {
      const res = await fetch(`${base2}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user: "admin", pin: "482916" }) });
      expect(res.status).toBe(200);
      return res.headers.get("set-cookie")!.split(";")[0];
    };
    let cookie2 = await relogin();
    const lot = async (b: string, c: string) => (await (await fetch(`${b}/api/lots/${lotId}`, { headers: { cookie: c } })).json()) as { lot: { phaseIndex: number; state: string }; runs: { id: string; channel: number; state: string; startSeq?: string }[] };
    await waitFor("phase two running after the restart", async () => ((await lot(base2, cookie2)).lot.phaseIndex >= 1 && sim.live()[0].programId.endsWith("/two") && sim.live()[0].state === "running") || undefined, 60_000);
    station.child.kill("SIGKILL");
    await station.exited;

    station = startStationProcess(configFile);
    const base3 = `http://127.0.0.1:${await station.port}`;
    const b2 = base2;
    void b2;
    cookie2 = "";
    const res = await fetch(`${base3}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user: "admin", pin: "482916" }) });
    const cookie3 = res.headers.get("set-cookie")!.split(";")[0];
    const done = await waitFor("lot complete after two restarts", async () => {
      const d = await lot(base3, cookie3);
      return d.lot.state === "complete" || d.lot.state === "aborted" ? d : undefined;
    }, 120_000, 250);
    expect(done.runs.map((r) => `${r.state}${r.state === "complete" ? "" : `: ${(r as { reason?: string }).reason}`}`)).toEqual(Array(CHANNELS).fill("complete"));
    expect(done.lot.state).toBe("complete");

    for (const run of done.runs) {
      const trace = readTrace(path.join(dir, "data", "traces", lotId, `${run.id}.csv`)).map((r) => r.seq);
      const logged = sim.records(run.channel, BigInt(run.startSeq ?? "0"), 1_000_000).map((r) => r.seq);
      expect(trace.length).toBeGreaterThan(100);
      expect(new Set(trace).size).toBe(trace.length); // no duplicate
      expect(trace).toEqual(logged.slice(0, trace.length)); // exactly the cycler's records, in order, no gap
      expect(trace[trace.length - 1]).toBeGreaterThanOrEqual(logged[logged.length - 1] - 1n); // nothing left behind
    }
  }, 240_000);
});
