/**
 * `npm run sim -- --config <file> [--control-port <port>] [--speed <n|afap>] [--pki-dir <dir>]`: runs the simulated
 * equipment alone, so a station elsewhere or a third-party client (mbpoll, UaExpert, …) can connect. The file is a
 * station config (its `simulators:` section) or a standalone simulators file (station-config/simulators.yaml).
 * Prints each instrument's endpoint; with --control-port also serves the simulator-only control API (ground truth,
 * fault injection; docs/simulators.md) on loopback. SIGINT / SIGTERM stop everything; a second signal forces exit.
 * Exit codes: 0 clean stop, 1 start-up or shutdown failure, 2 bad command line or config file.
 */
import { parseArgs } from "node:util";
import { ConfigError } from "../server/config/load-config.ts";
import type { ClockSpeed } from "./clock.ts";
import { loadSimulatorsConfig, mapsBaseDir, type LoadedSimulatorsConfig } from "./sim-config.ts";

const USAGE = "usage: npm run sim -- --config <file> [--control-port <port>] [--speed <simulated s per wall s | afap>] [--pki-dir <dir>]";

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

let args: ReturnType<typeof readArgs>;
function readArgs() {
  return parseArgs({
    options: {
      config: { type: "string" },
      "control-port": { type: "string" },
      speed: { type: "string" },
      "pki-dir": { type: "string" },
    },
  }).values;
}
try {
  args = readArgs();
} catch (e) {
  fail((e as Error).message);
}
if (args.config === undefined) fail("--config <file> is required");

const portArg = (name: string, raw: string | undefined): number | undefined => {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`--${name} ${raw}: expected a port 0..65535 (0 = ephemeral)`);
  return n;
};
const controlPort = portArg("control-port", args["control-port"]);
let speed: ClockSpeed | undefined;
if (args.speed !== undefined) {
  speed = args.speed === "afap" ? "afap" : Number(args.speed);
  if (speed !== "afap" && !(speed >= 1 && speed <= 1_000_000)) fail(`--speed ${args.speed}: expected 1..1000000 or afap`);
}

let loaded: LoadedSimulatorsConfig;
try {
  loaded = loadSimulatorsConfig(args.config);
} catch (e) {
  if (e instanceof ConfigError) fail(e.message);
  throw e;
}

// The OPC UA stack loads only after the config is known to be good.
const { startSimHost } = await import("./sim-host.ts");
const { startSimControlServer } = await import("./control/control-server.ts");

const cfg = loaded.config;
const out = (line: string) => process.stdout.write(`${line}\n`);
let host: Awaited<ReturnType<typeof startSimHost>>;
try {
  host = await startSimHost(cfg, { configDir: mapsBaseDir(loaded.file), ...(args["pki-dir"] ? { pkiDir: args["pki-dir"] } : {}), ...(speed !== undefined ? { speed } : {}) });
} catch (e) {
  process.stderr.write(`simulators failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
let control: Awaited<ReturnType<typeof startSimControlServer>> | undefined;
if (controlPort !== undefined) {
  try {
    control = await startSimControlServer(host, { port: controlPort });
  } catch (e) {
    await host.stop();
    process.stderr.write(`control API failed to start on port ${controlPort}: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}

out(`AXVIAM simulators (SIMULATED equipment) from ${loaded.file}${loaded.shape === "station" ? " (simulators section)" : ""}`);
out(`clock: ${host.env.clock.speed === "afap" ? "as fast as possible" : `${host.env.clock.speed}× real time`}`);
for (const c of cfg.cyclers) out(`cycler ${c.id} (${c.protocol}, ${c.channels} channels${c.chamber ? `, in chamber ${c.chamber}` : ""}): ${host.endpoint(c.id)}`);
for (const c of cfg.chambers) out(`chamber ${c.id} (${c.protocol}): ${host.endpoint(c.id)}`);
if (control) out(`control API (simulator-only: ground truth, fault injection): ${control.url}`);
out("running; Ctrl-C stops");

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) {
    process.stderr.write(`${signal} again: forced exit\n`);
    process.exit(130);
  }
  stopping = true;
  out(`${signal}: stopping`);
  Promise.all([control?.stop(), host.stop()]).then(
    () => {
      out("stopped");
      process.off("SIGINT", onSigint);
      process.off("SIGTERM", onSigterm);
      // Nothing should be left to keep the process alive; if something is, say so rather than hang.
      setTimeout(() => {
        process.stderr.write("a handle stayed open after stop; exiting\n");
        process.exit(1);
      }, 10_000).unref();
    },
    (e: Error) => {
      process.stderr.write(`unclean stop: ${e.message}\n`);
      process.exit(1);
    },
  );
};
const onSigint = () => shutdown("SIGINT");
const onSigterm = () => shutdown("SIGTERM");
process.on("SIGINT", onSigint);
process.on("SIGTERM", onSigterm);
