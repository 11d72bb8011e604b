/** Reads and validates a station-config YAML file once, at the edge; returns a frozen, typed config. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { stationConfigSchema, type StationConfig } from "./station-config.schema.ts";

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: { path: string; expected: string }[],
  ) {
    super(`${file}: invalid configuration\n${problems.map((p) => `  - ${p.path}: ${p.expected}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export interface LoadedConfig {
  config: StationConfig;
  /** absolute path of the file it came from */
  file: string;
  /** folder the config's relative paths (maps, recipes) resolve against */
  dir: string;
}

function issuePath(issue: z.core.$ZodIssue): string {
  return issue.path.length === 0 ? "(root)" : issue.path.map(String).join(".");
}

/** Parse YAML text and validate it; `file` names the source in every error. */
export function parseConfig<S extends z.ZodType>(text: string, file: string, schema: S): z.infer<S> {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({
        path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : "(yaml)",
        expected: `valid YAML (${e.code}: ${e.message.split("\n")[0]})`,
      })),
    );
  }
  const result = schema.safeParse(doc.toJS());
  if (!result.success) {
    throw new ConfigError(
      file,
      result.error.issues.map((i) => ({ path: issuePath(i), expected: i.message })),
    );
  }
  return deepFreeze(result.data);
}

/** Reads a config file; an unreadable one is a ConfigError naming it, like any other bad config. */
export function readConfigFile(file: string): { abs: string; text: string } {
  const abs = path.resolve(file);
  try {
    return { abs, text: readFileSync(abs, "utf8") };
  } catch (e) {
    throw new ConfigError(abs, [{ path: "(file)", expected: `a readable file (${(e as NodeJS.ErrnoException).code ?? String(e)})` }]);
  }
}

export function loadStationConfig(file: string): LoadedConfig {
  const { abs, text } = readConfigFile(file);
  return { config: parseConfig(text, abs, stationConfigSchema), file: abs, dir: path.dirname(abs) };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}
