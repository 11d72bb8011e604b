import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ConfigError, loadStationConfig } from "../../server/config/load-config.ts";

const broken = (name: string) => path.join(import.meta.dirname, "broken", name);

function problemsOf(file: string): { path: string; expected: string }[] {
  try {
    loadStationConfig(file);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const err = e as ConfigError;
    expect(err.file).toBe(file);
    expect(err.message).toContain(file);
    return err.problems;
  }
  throw new Error(`${file} was accepted`);
}

describe("station config", () => {
  it("accepts the shipped embedded default and fills defaults", () => {
    const { config } = loadStationConfig("station-config/default.yaml");
    expect(config.http.port).toBe(8080);
    expect(config.equipment.cyclers).toHaveLength(1);
    expect(config.equipment.cyclers[0]).toMatchObject({ protocol: "opcua", channels: 8, pollIntervalMs: 1000 });
    expect(config.simulators.cyclers[0].channels).toBe(8);
    expect(Object.isFrozen(config.equipment.cyclers[0])).toBe(true);
  });

  it.each([
    ["bad-port.yaml", "http.port", /<=65535/],
    ["unknown-protocol.yaml", "equipment.cyclers.0.protocol", /opcua.*modbus/],
    ["missing-channels.yaml", "equipment.cyclers.0.channels", /number/],
    ["unknown-simulator.yaml", "equipment.cyclers.0.simulator", /sim-b/],
    ["typo-field.yaml", "equipment.cyclers.0", /pollIntervalMS/],
  ])("%s names the field path %s and what was expected", (file, fieldPath, expected) => {
    const problems = problemsOf(broken(file));
    const hit = problems.find((p) => p.path === fieldPath);
    expect(hit, JSON.stringify(problems)).toBeDefined();
    expect(hit!.expected).toMatch(expected);
  });

  it("reports YAML syntax errors with line and column", () => {
    const problems = problemsOf(broken("bad-yaml.yaml"));
    expect(problems[0].path).toMatch(/^line \d+, column \d+$/);
    expect(problems[0].expected).toMatch(/valid YAML/);
  });

  it("reports a missing file as a config error, not a crash", () => {
    const problems = problemsOf(broken("does-not-exist.yaml"));
    expect(problems[0].expected).toMatch(/ENOENT/);
  });

  it("the station exits non-zero naming file, field and expectation", async () => {
    const file = broken("unknown-protocol.yaml");
    const run = promisify(execFile)(process.execPath, ["--import", "tsx", "server/main.ts", "--config", file]);
    const err = await run.then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr).toContain(file);
    expect(err?.stderr).toContain("equipment.cyclers.0.protocol");
  });
});
