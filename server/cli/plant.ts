/**
 * `npm run plant`: the plant service — subscribes to every station on the plant broker, lands their grades,
 * alarms and status in PostgreSQL (migrating the schema first) and serves the plant REST API.
 * Usage: npm run plant -- [--config station-config/plant.yaml] [--port 8090]
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, parseConfig } from "../config/load-config.ts";
import { createLogger } from "../log/logger.ts";
import { plantServiceConfigSchema, type PlantServiceConfig } from "../plant/plant-config.schema.ts";
import { PlantSecretError } from "../plant/plant-secrets.ts";
import { startPlantService } from "../plant/plant-service.ts";

const { values } = parseArgs({
  options: {
    config: { type: "string", default: process.env.AXVIAM_PLANT_CONFIG ?? "station-config/plant.yaml" },
    port: { type: "string" },
  },
});

let cfg: PlantServiceConfig;
const file = path.resolve(values.config!);
try {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(file, [{ path: "(file)", expected: `a readable file (${(e as NodeJS.ErrnoException).code ?? String(e)})` }]);
  }
  cfg = parseConfig(text, file, plantServiceConfigSchema);
} catch (e) {
  if (e instanceof ConfigError) {
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
  throw e;
}
if (values.port !== undefined) cfg = { ...cfg, http: { ...cfg.http, port: Number(values.port) } };

const log = createLogger(cfg.logging.level, "axviam-plant");
const plant = await startPlantService(cfg, log, { configDir: path.dirname(file) }).catch((e: Error) => {
  if (e instanceof PlantSecretError) {
    process.stderr.write(`${file}: ${e.message}\n`);
    process.exit(2);
  }
  log.fatal({ err: e.message }, "plant service failed to start");
  process.exit(1);
});
log.info({ url: plant.url }, `AXVIAM plant service is up: ${plant.url}/api/plant/stations`);

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) process.exit(130);
  stopping = true;
  log.info({ signal }, "shutting down");
  plant.stop().then(
    () => process.exit(0),
    (e: Error) => {
      log.error({ err: e.message }, "unclean shutdown");
      process.exit(1);
    },
  );
};
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGTERM", () => shutdown("SIGTERM"));
