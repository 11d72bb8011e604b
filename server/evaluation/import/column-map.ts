/**
 * Column maps for the BMS log importer: which header means which normalised field, in which unit
 * (station-config/evaluation/column-maps.yaml). Validated once here; the importer trusts the typed result.
 */
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { describeIssues } from "../../domain/equipment/program.ts";

/** Unit → factor to the normalised unit (V, A, %, km/h, km, kWh). Temperature is affine, handled apart. */
const LINEAR_UNITS = {
  V: 1, mV: 1e-3,
  A: 1, mA: 1e-3,
  pct: 1, fraction: 100,
  kph: 1, mph: 1.609344, mps: 3.6,
  km: 1, mi: 1.609344, m: 1e-3,
  kWh: 1, Wh: 1e-3,
} as const;
const TEMPERATURE_UNITS = ["degC", "degF", "K"] as const;
const TIME_UNITS = ["auto", "s", "ms", "iso"] as const;

export type LinearUnit = keyof typeof LINEAR_UNITS;
export type TemperatureUnit = (typeof TEMPERATURE_UNITS)[number];
export type TimeUnit = (typeof TIME_UNITS)[number];

const column = <U extends z.ZodType>(unit: U) => z.array(z.object({ header: z.string().min(1), unit }).strict()).min(1);
const linearUnit = (allowed: readonly LinearUnit[]) => z.enum(allowed as [LinearUnit, ...LinearUnit[]]);

const timeseriesMapSchema = z
  .object({
    id: z.string().min(1),
    shape: z.literal("timeseries"),
    currentSign: z.enum(["charge-positive", "discharge-positive"]).default("charge-positive"),
    fields: z
      .object({
        time: column(z.enum(TIME_UNITS)),
        packVoltage: column(linearUnit(["V", "mV"])),
        packCurrent: column(linearUnit(["A", "mA"])),
        soc: column(linearUnit(["pct", "fraction"])).optional(),
        temperature: column(z.enum(TEMPERATURE_UNITS)).optional(),
        speed: column(linearUnit(["kph", "mph", "mps"])).optional(),
        odometer: column(linearUnit(["km", "mi", "m"])).optional(),
      })
      .strict(),
    /** regex over lower-cased headers; group 1 = cell number, group 2 = "mv" or "v" */
    cellVoltagePattern: z
      .string()
      .refine((s) => { try { new RegExp(s); return true; } catch { return false; } }, "not a valid regular expression")
      .optional(),
  })
  .strict();

const sessionsMapSchema = z
  .object({
    id: z.string().min(1),
    shape: z.literal("sessions"),
    fields: z
      .object({
        kind: z.array(z.object({ header: z.string().min(1) }).strict()).min(1).optional(),
        startTime: column(z.enum(TIME_UNITS)),
        endTime: column(z.enum(TIME_UNITS)),
        startSoc: column(linearUnit(["pct", "fraction"])),
        endSoc: column(linearUnit(["pct", "fraction"])),
        energy: column(linearUnit(["kWh", "Wh"])),
        distance: column(linearUnit(["km", "mi", "m"])).optional(),
      })
      .strict(),
  })
  .strict();

export const columnMapsSchema = z
  .object({ maps: z.array(z.discriminatedUnion("shape", [timeseriesMapSchema, sessionsMapSchema])).min(1) })
  .strict();

export type ColumnMaps = z.infer<typeof columnMapsSchema>;
export type ColumnMap = ColumnMaps["maps"][number];
export type TimeseriesColumnMap = z.infer<typeof timeseriesMapSchema>;
export type SessionsColumnMap = z.infer<typeof sessionsMapSchema>;

export const DEFAULT_COLUMN_MAPS_PATH = new URL("../../../station-config/evaluation/column-maps.yaml", import.meta.url);

export class ColumnMapConfigError extends Error {
  constructor(readonly path: string, readonly details: string) {
    super(`column map config ${path} is invalid:\n${details}`);
    this.name = "ColumnMapConfigError";
  }
}

/** Validate parsed YAML/JSON into column maps; throws ColumnMapConfigError naming every bad field. */
export function parseColumnMaps(raw: unknown, path = "(inline)"): ColumnMaps {
  const result = columnMapsSchema.safeParse(raw);
  if (!result.success) throw new ColumnMapConfigError(path, describeIssues(result.error.issues));
  return result.data;
}

export async function loadColumnMaps(path: string | URL = DEFAULT_COLUMN_MAPS_PATH): Promise<ColumnMaps> {
  const text = await readFile(path, "utf8");
  return parseColumnMaps(parseYaml(text), String(path));
}

export function toBaseUnit(value: number, unit: LinearUnit): number {
  return value * LINEAR_UNITS[unit];
}

export function toCelsius(value: number, unit: TemperatureUnit): number {
  if (unit === "degF") return ((value - 32) * 5) / 9;
  if (unit === "K") return value - 273.15;
  return value;
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;
/** Epoch values above this are milliseconds: 1e11 s is the year 5138, 1e11 ms is 1973. */
const EPOCH_MS_THRESHOLD = 1e11;

/** Parse a timestamp to Unix seconds, or return a reason it cannot be read. */
export function parseTimestampS(raw: unknown, unit: TimeUnit): number | string {
  if (raw === undefined || raw === null || raw === "") return "missing timestamp";
  const text = String(raw).trim();
  const numeric = typeof raw === "number" ? raw : /^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN;
  if (unit === "iso" || (unit === "auto" && Number.isNaN(numeric))) {
    // Date.parse reads many non-ISO forms differently per engine; accept ISO 8601 only.
    if (!ISO_8601.test(text)) return `timestamp "${text}" is not ISO 8601`;
    // A time without offset is read as UTC, so a log reads the same on every machine.
    const withZone = /(Z|[+-]\d{2}:?\d{2})$/.test(text) ? text : `${text}Z`;
    const ms = Date.parse(withZone.replace(" ", "T"));
    return Number.isFinite(ms) ? ms / 1000 : `timestamp "${text}" is not a valid date`;
  }
  if (!Number.isFinite(numeric)) return `timestamp "${text}" is not a number`;
  if (unit === "ms") return numeric / 1000;
  if (unit === "s") return numeric;
  return numeric > EPOCH_MS_THRESHOLD ? numeric / 1000 : numeric;
}
