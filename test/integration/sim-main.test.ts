/**
 * `npm run sim` as a process: spawned with a temp config on ephemeral ports, read by a driver, stopped by SIGINT.
 * Also the command line's refusals: a bad config file exits 2 naming the file and field.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createModbusCyclerDriver } from "../../server/equipment/modbus/modbus-cycler-driver.ts";
import { loadRegisterMap } from "../../server/equipment/modbus/register-map.ts";
import { createOpcuaCyclerDriver } from "../../server/equipment/opcua/opcua-cycler-driver.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "axviam-sim-main-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Sim {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function runSim(args: string[]): Sim {
  const child = spawn(process.execPath, ["--import", "tsx", "simulators/main.ts", ...args], { cwd: ROOT, stdio: "pipe" });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

async function waitForLine(sim: Sim, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const m = sim.stdout().match(pattern);
    if (m) return m;
    if (sim.child.exitCode !== null) throw new Error(`npm run sim exited ${sim.child.exitCode}:\n${sim.stdout()}\n${sim.stderr()}`);
    if (Date.now() > until) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${sim.stdout()}\n${sim.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const portIsFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = net.createServer().once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });

describe("npm run sim", () => {
  it("serves a station config's simulators on ephemeral ports until SIGINT, then exits 0 and frees the ports", async () => {
    const file = path.join(dir, "station.yaml");
    // a station-shaped file: the sim uses its `simulators:` section and leaves the rest to the station
    await writeFile(
      file,
      [
        "station: { id: s1, name: smoke }",
        "equipment: { cyclers: [{ id: c1, protocol: opcua, endpoint: 'opc.tcp://127.0.0.1:1', channels: 3 }] }",
        "simulators:",
        "  clock: { speed: 3600 }",
        "  cyclers:",
        "    - { id: ua, protocol: opcua, port: 0, channels: 3, population: { seed: 5, serialPrefix: SMK } }",
        "    - { id: mb, protocol: modbus, port: 0, channels: 2, population: { kind: second-life, seed: 6 } }",
      ].join("\n"),
    );
    const sim = runSim(["--config", file, "--control-port", "0"]);
    try {
      await waitForLine(sim, /running; Ctrl-C stops/, 60_000);
      const ua = sim.stdout().match(/cycler ua \(opcua, 3 channels\): (opc\.tcp:\/\/127\.0\.0\.1:(\d+))/)!;
      const mb = sim.stdout().match(/cycler mb \(modbus, 2 channels\): modbus:\/\/127\.0\.0\.1:(\d+)/)!;
      const ctl = sim.stdout().match(/control API .*: (http:\/\/127\.0\.0\.1:(\d+))/)!;
      expect(sim.stdout()).toMatch(/SIMULATED/);

      const opcua = createOpcuaCyclerDriver({ endpointUrl: ua[1], requestTimeoutMs: 3000, pkiDir: path.join(dir, "pki") });
      const modbus = createModbusCyclerDriver({ host: "127.0.0.1", port: Number(mb[1]), unitId: 1, map: await loadRegisterMap(), requestTimeoutMs: 3000 });
      try {
        expect(await opcua.connect()).toMatchObject({ channelCount: 3, simulated: true });
        expect(await modbus.connect()).toMatchObject({ channelCount: 2, simulated: true });
        const first = await opcua.readLive();
        // an idle cell at 3600× still rests toward its ambient; its live values are plausible readings of a cell
        expect(first.map((c) => c.state)).toEqual(["idle", "idle", "idle"]);
        for (const c of [...first, ...(await modbus.readLive())]) {
          expect(c.voltageV).toBeGreaterThan(2.5);
          expect(c.voltageV).toBeLessThan(4.3);
          expect(c.temperatureC).toBeGreaterThan(15);
        }
        // the same instrument's ground truth, on the control API only
        const truth = (await (await fetch(`${ctl[1]}/cyclers/ua/channels/1/truth`)).json()) as { serial: string; ocvV: number };
        expect(truth.serial).toBe("SMK0001");
        expect(Math.abs(first[0].voltageV - truth.ocvV)).toBeLessThan(0.01);
      } finally {
        await opcua.close();
        await modbus.close();
      }

      sim.child.kill("SIGINT");
      expect(await sim.exited).toBe(0);
      expect(sim.stdout()).toMatch(/SIGINT: stopping[\s\S]*stopped/);
      for (const port of [ua[2], mb[1], ctl[2]]) expect(await portIsFree(Number(port)), `port ${port} freed`).toBe(true);
    } finally {
      if (sim.child.exitCode === null) sim.child.kill("SIGKILL");
    }
  }, 90_000);

  it("exits 2 on a bad config file, naming the file and the field path", async () => {
    const file = path.join(dir, "bad.yaml");
    await writeFile(file, "cyclers:\n  - { id: x, protocol: profibus, port: 0, channels: 2 }\n");
    const sim = runSim(["--config", file]);
    expect(await sim.exited).toBe(2);
    expect(sim.stderr()).toContain(file);
    expect(sim.stderr()).toMatch(/cyclers\.0\.protocol/);
  }, 30_000);

  it("exits 2 without --config and for a file with no simulated instrument", async () => {
    const none = runSim([]);
    expect(await none.exited).toBe(2);
    expect(none.stderr()).toMatch(/--config <file> is required/);
    const file = path.join(dir, "empty.yaml");
    await writeFile(file, "clock: { speed: 10 }\n");
    const empty = runSim(["--config", file]);
    expect(await empty.exited).toBe(2);
    expect(empty.stderr()).toMatch(/at least one simulated cycler or chamber/);
  }, 30_000);
});
