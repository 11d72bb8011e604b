/** Test harness: a whole station (embedded simulators, drivers, HTTP) on ephemeral ports in a temp data folder. */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { LoadedConfig } from "../../server/config/load-config.ts";
import { stationConfigSchema, type StationConfig } from "../../server/config/station-config.schema.ts";
import { silentLogger } from "../../server/log/logger.ts";
import { startStation, type StationHandle, type StationOverrides } from "../../server/station/station-app.ts";

export const CONFIG_DIR = path.resolve(import.meta.dirname, "../../station-config");

export interface TestStationOptions {
  channels?: number;
  protocol?: "opcua" | "modbus";
  population?: Record<string, unknown>;
  overrides?: StationOverrides;
  pollIntervalMs?: number;
  /** raw config fragments merged over the defaults */
  config?: Partial<Record<keyof StationConfig, unknown>>;
}

export function testConfig(o: TestStationOptions = {}): LoadedConfig {
  const protocol = o.protocol ?? "opcua";
  const raw = {
    station: { id: "test-station", name: "Test station", dataDir: "unused" },
    http: { host: "127.0.0.1", port: 0 },
    logging: { level: "error" },
    simulators: {
      enabled: true,
      clock: { speed: 60 },
      cyclers: [{ id: "sim-cycler", protocol, port: 0, channels: o.channels ?? 8, chamber: "sim-chamber", watchdogMs: 0, population: { seed: 7, serialPrefix: "TST", ...o.population } }],
      chambers: [{ id: "sim-chamber", port: 0 }],
    },
    equipment: {
      cyclers: [{ id: "cycler-1", protocol, simulator: "sim-cycler", channels: o.channels ?? 8, chamber: "chamber-1", pollIntervalMs: o.pollIntervalMs ?? 200, heartbeatIntervalMs: 500 }],
      chambers: [{ id: "chamber-1", simulator: "sim-chamber" }],
    },
    ...o.config,
  };
  return { config: stationConfigSchema.parse(raw), file: path.join(CONFIG_DIR, "test.yaml"), dir: CONFIG_DIR };
}

export interface TestStation extends StationHandle {
  dataDir: string;
  close(): Promise<void>;
}

export async function startTestStation(o: TestStationOptions = {}, dataDir?: string): Promise<TestStation> {
  const dir = dataDir ?? mkdtempSync(path.join(os.tmpdir(), "axviam-station-"));
  const station = await startStation(testConfig(o), silentLogger(), { dataDir: dir, ...o.overrides });
  return {
    ...station,
    dataDir: dir,
    async close() {
      await station.stop();
      if (!dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until check() returns a value (not undefined), or fails after timeoutMs with the last state described. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
