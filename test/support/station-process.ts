/**
 * Test harness for fault tests that must kill the station for real: the station as a child process (`server/main.ts`)
 * against simulators that live in the test process, so the equipment keeps running while the station is dead.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CONFIG_DIR } from "./station.ts";

export interface StationProcess {
  child: ChildProcess;
  /** HTTP port, once the station listens (rejects with the station's own output if it exits first) */
  port: Promise<number>;
  /** the first-start admin PIN, or undefined when the data folder already has users */
  adminPin: Promise<string | undefined>;
  exited: Promise<number | null>;
  /** everything the station printed (JSON log lines), for failure messages */
  output(): string;
  /** SIGKILL, resolved once the process is gone */
  kill(): Promise<void>;
}

export function startStationProcess(configFile: string): StationProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts", "--config", configFile], {
    cwd: path.resolve(import.meta.dirname, "../.."),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let buffered = "";
  let output = "";
  let resolvePort!: (p: number) => void;
  let resolvePin!: (p: string | undefined) => void;
  const port = new Promise<number>((r) => (resolvePort = r));
  const adminPin = new Promise<string | undefined>((r) => (resolvePin = r));
  child.stdout!.on("data", (chunk: Buffer) => {
    output += chunk.toString();
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
        // the first-start PIN is logged before the HTTP server starts: none by now means users exist
        setTimeout(() => resolvePin(undefined), 50);
      }
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  // a station that dies before listening fails the test with its own words, instead of a timeout
  const failed = exited.then((code) => {
    throw new Error(`station exited (${code}) before listening:\n${output.slice(-3000)}`);
  });
  failed.catch(() => undefined);
  return {
    child,
    port: Promise.race([port, failed]),
    adminPin: Promise.race([adminPin, failed]),
    exited,
    output: () => output,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

export interface StationFolderOptions {
  /** temp folder that receives config/ and data/ */
  dir: string;
  stationId: string;
  cyclers: { id: string; protocol: "opcua" | "modbus"; endpoint: string; channels: number; chamber?: string }[];
  chambers?: { id: string; endpoint: string }[];
  /** extra recipes: file stem → YAML */
  recipes?: Record<string, string>;
  pollIntervalMs?: number;
  heartbeatIntervalMs?: number;
}

/**
 * Writes a station config folder for external equipment: the shipped recipes, grading rules and protocol maps
 * (symlinked) plus any test recipes; returns the station.yaml path and the data folder.
 */
export function writeStationFolder(o: StationFolderOptions): { configFile: string; dataDir: string } {
  const configDir = path.join(o.dir, "config");
  const recipesDir = path.join(configDir, "recipes");
  mkdirSync(recipesDir, { recursive: true });
  for (const sub of ["grading", "maps"]) symlinkSync(path.join(CONFIG_DIR, sub), path.join(configDir, sub));
  for (const f of ["factory_init", "quick_check", "second_life", "second_life_reference"]) {
    symlinkSync(path.join(CONFIG_DIR, "recipes", `${f}.yaml`), path.join(recipesDir, `${f}.yaml`));
  }
  for (const [name, yaml] of Object.entries(o.recipes ?? {})) writeFileSync(path.join(recipesDir, `${name}.yaml`), yaml);
  const dataDir = path.join(o.dir, "data");
  const poll = o.pollIntervalMs ?? 200;
  const beat = o.heartbeatIntervalMs ?? 500;
  const config = {
    station: { id: o.stationId, name: `Fault test ${o.stationId}`, dataDir },
    http: { host: "127.0.0.1", port: 0 },
    logging: { level: "info" },
    equipment: {
      cyclers: o.cyclers.map((c) => ({ ...c, pollIntervalMs: poll, heartbeatIntervalMs: beat })),
      chambers: o.chambers ?? [],
    },
  };
  const configFile = path.join(configDir, "station.yaml");
  // JSON is YAML: no second serialiser needed
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  return { configFile, dataDir };
}

/** A logged-in HTTP client of a station process (cookie session). */
export interface StationClient {
  call(method: string, url: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }>;
}

export async function loginClient(port: number, user: string, pin: string): Promise<StationClient> {
  const base = `http://127.0.0.1:${port}`;
  let cookie = "";
  const call: StationClient["call"] = async (method, url, body) => {
    const res = await fetch(`${base}${url}`, { method, headers: { "content-type": "application/json", cookie }, body: body === undefined ? undefined : JSON.stringify(body) });
    const set = res.headers.get("set-cookie");
    if (set) cookie = set.split(";")[0];
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
  const login = await call("POST", "/api/auth/login", { user, pin });
  if (login.status !== 200) throw new Error(`login as ${user} failed: ${login.status} ${JSON.stringify(login.json)}`);
  return { call };
}
