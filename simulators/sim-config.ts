/**
 * Loads the simulators' part of a config file for `npm run sim`: either a station config (its `simulators:` section
 * is used, the rest is left to the station) or a standalone file holding only what `simulators:` would hold.
 * Validated once with the shared schema; errors name the file and the field path (ConfigError).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { ConfigError, parseConfig, readConfigFile } from "../server/config/load-config.ts";
import { simulatorsSchema, type SimulatorsConfig } from "../server/config/station-config.schema.ts";

export interface LoadedSimulatorsConfig {
  config: SimulatorsConfig;
  /** absolute path of the file */
  file: string;
  /** "station" when the file is a station config and its `simulators:` section was used */
  shape: "station" | "standalone";
}

/** The other sections of a station config belong to the station; only `simulators` is validated here. */
const stationShapedSchema = z.object({ simulators: simulatorsSchema }).passthrough();

function isStationShaped(text: string): boolean {
  try {
    const top: unknown = parse(text);
    return top !== null && typeof top === "object" && "simulators" in top;
  } catch {
    return false; // parseConfig reports the YAML error with its line
  }
}

export function loadSimulatorsConfig(file: string): LoadedSimulatorsConfig {
  const { abs, text } = readConfigFile(file);
  const shape = isStationShaped(text) ? "station" : "standalone";
  const config = shape === "station" ? parseConfig(text, abs, stationShapedSchema).simulators : parseConfig(text, abs, simulatorsSchema);
  if (config.cyclers.length === 0 && config.chambers.length === 0) {
    const at = shape === "station" ? "simulators" : "(root)";
    throw new ConfigError(abs, [{ path: `${at}.cyclers`, expected: "at least one simulated cycler or chamber" }]);
  }
  return { config, file: abs, shape };
}

/**
 * The folder whose `maps/` holds the protocol maps (sim-host resolves maps/<protocol>-<kind>.yaml against it): the
 * config file's own folder when it has one, else the repository's station-config/.
 */
export function mapsBaseDir(configFile: string): string {
  const own = path.dirname(configFile);
  return existsSync(path.join(own, "maps")) ? own : path.resolve(import.meta.dirname, "..", "station-config");
}
