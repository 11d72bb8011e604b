/**
 * `npm start`: loads the station config, starts the embedded simulators when configured, the station and its HMI.
 * Ctrl-C (SIGINT) or SIGTERM shuts everything down in order; a second signal forces exit.
 */
import { parseArgs } from "node:util";
import { ConfigError, loadStationConfig, type LoadedConfig } from "./config/load-config.ts";

const { values } = parseArgs({
  options: {
    config: { type: "string", default: process.env.AXVIAM_CONFIG ?? "station-config/default.yaml" },
    "data-dir": { type: "string" },
    port: { type: "string" },
  },
});

let loaded: LoadedConfig;
try {
  loaded = loadStationConfig(values.config!);
} catch (e) {
  if (e instanceof ConfigError) {
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
  throw e;
}

// Heavy modules (OPC UA stack) load only after the config is known to be good.
const { createLogger } = await import("./log/logger.ts");
const { startStation } = await import("./station/station-app.ts");
const log = createLogger(loaded.config.logging.level);

const station = await startStation(loaded, log, {
  dataDir: values["data-dir"],
  httpPort: values.port === undefined ? undefined : Number(values.port),
}).catch((e: Error) => {
  log.fatal({ err: e }, "station failed to start");
  process.exit(1);
});
log.info({ url: station.url }, `AXVIAM Station is up: open ${station.url}`);

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) {
    log.warn({ signal }, "forced exit");
    process.exit(130);
  }
  stopping = true;
  log.info({ signal }, "shutting down");
  station.stop().then(
    () => process.exit(0),
    (e: Error) => {
      log.error({ err: e }, "unclean shutdown");
      process.exit(1);
    },
  );
};
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGTERM", () => shutdown("SIGTERM"));
