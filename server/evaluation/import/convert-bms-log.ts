/**
 * convert_bms_log: read one EV BMS log file (JSON or CSV, any shape a column map describes) into the
 * normalised BmsLog (server/domain/evaluation/bms-log.ts). Bad rows are skipped and reported with file,
 * row and reason; a file that cannot be read gives an ImportError value, never a throw.
 */
import { readFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import type {
  BmsLog, BmsLogMeta, BmsSample, ImportError, ImportIssue, ImportResult, SessionSummary,
} from "../../domain/evaluation/bms-log.ts";
import {
  parseTimestampS, toBaseUnit, toCelsius,
  type ColumnMap, type ColumnMaps, type LinearUnit, type SessionsColumnMap, type TimeseriesColumnMap,
} from "./column-map.ts";

/** A row of the file, before mapping: values by lower-cased header, and where it came from. */
interface RawRow {
  row: number;
  values: Map<string, unknown>;
  /** set when the row cannot be mapped at all (e.g. wrong field count) */
  defect?: string;
}

interface RawTable {
  headers: string[];
  rows: RawRow[];
  meta: Record<string, unknown>;
}

class RowError extends Error {}

export async function convertBmsLog(path: string, maps: ColumnMaps): Promise<ImportResult> {
  const file = basename(path);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    return fail({ file, kind: "unreadable", message: `cannot read ${path}: ${(e as Error).message}` });
  }
  return convertBmsLogContent(file, bytes, maps);
}

/** The same as convertBmsLog on content already in memory (file names the source in every message). */
export function convertBmsLogContent(file: string, bytes: Buffer, maps: ColumnMaps): ImportResult {
  if (bytes.includes(0)) return fail({ file, kind: "not-text", message: `${file} contains NUL bytes: not a text log` });
  const text = bytes.toString("utf8").replace(/^\uFEFF/, "");
  const table = extname(file).toLowerCase() === ".json" ? readJsonTable(file, text) : readCsvTable(file, text);
  if ("kind" in table) return fail(table);

  const map = maps.maps.find((m) => hasRequiredFields(m, table.headers));
  if (!map) {
    return fail({
      file,
      kind: "unknown-shape",
      message: `${file}: no column map matches its columns (${table.headers.join(", ")}); add one to station-config/evaluation/column-maps.yaml`,
    });
  }
  const meta = readMeta(file, table.meta);
  const issues: ImportIssue[] = [];
  const log: BmsLog =
    map.shape === "timeseries"
      ? { shape: "timeseries", source: file, meta, samples: mapRows(file, table, issues, rowToSample(map, table.headers)) }
      : { shape: "sessions", source: file, meta, sessions: mapRows(file, table, issues, rowToSession(map)) };
  const count = log.shape === "timeseries" ? log.samples.length : log.sessions.length;
  if (count === 0) {
    return { ok: false, issues, error: { file, kind: "no-valid-rows", message: `${file}: none of its ${table.rows.length} rows is valid` } };
  }
  return { ok: true, log, issues };
}

function fail(error: ImportError): ImportResult {
  return { ok: false, error, issues: [] };
}

function readJsonTable(file: string, text: string): RawTable | ImportError {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { file, kind: "malformed", message: `${file} is not valid JSON: ${(e as Error).message}` };
  }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  let rows: unknown[];
  let meta: Record<string, unknown> = {};
  if (Array.isArray(doc)) rows = doc;
  else if (isObject(doc) && Array.isArray(doc.samples ?? doc.sessions)) {
    rows = (doc.samples ?? doc.sessions) as unknown[];
    meta = isObject(doc.meta) ? doc.meta : {};
  } else {
    return { file, kind: "unknown-shape", message: `${file}: JSON must be an array of samples or {meta, samples|sessions}` };
  }
  const headers = new Set<string>();
  const raw = rows.map((r, i): RawRow => {
    if (!isObject(r)) return { row: i + 1, values: new Map(), defect: "not an object" };
    const values = new Map<string, unknown>();
    for (const [k, v] of Object.entries(r)) {
      values.set(k.trim().toLowerCase(), v);
      headers.add(k.trim().toLowerCase());
    }
    return { row: i + 1, values };
  });
  return { headers: [...headers], rows: raw, meta };
}

/** CSV: optional "# key: value" comment lines before the header carry the meta. */
function readCsvTable(file: string, text: string): RawTable | ImportError {
  const meta: Record<string, unknown> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line.startsWith("#")) break;
    const m = /^#\s*([A-Za-z_][\w-]*)\s*:\s*(.*)$/.exec(line);
    if (m) meta[m[1]] = m[2].trim();
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parseCsv(text, { comment: "#", info: true, skip_empty_lines: true, relax_column_count: true, trim: true }) as unknown as typeof records;
  } catch (e) {
    return { file, kind: "malformed", message: `${file} is not valid CSV: ${(e as Error).message}` };
  }
  if (records.length === 0) return { file, kind: "no-valid-rows", message: `${file} has no header row` };
  const headers = records[0].record.map((h) => h.toLowerCase());
  const rows = records.slice(1).map(({ record, info }): RawRow => {
    const values = new Map<string, unknown>(headers.map((h, i) => [h, record[i]]));
    const defect = record.length !== headers.length ? `has ${record.length} fields, the header has ${headers.length}` : undefined;
    return { row: info.lines, values, defect };
  });
  return { headers, rows, meta };
}

function readMeta(file: string, raw: Record<string, unknown>): BmsLogMeta {
  const get = (...keys: string[]) => keys.map((k) => raw[k]).find((v) => v !== undefined && v !== "");
  const num = (...keys: string[]) => {
    const v = Number(get(...keys));
    return Number.isFinite(v) && v > 0 ? v : undefined;
  };
  const simulated = get("simulated");
  const notes = get("notes", "generator", "note");
  return {
    vehicleId: String(get("vehicle_id", "vehicleId") ?? file.replace(/\.[^.]+$/, "")),
    simulated: simulated === true || String(simulated).toLowerCase() === "true",
    ratedCapacityAh: num("rated_capacity_ah", "ratedCapacityAh"),
    ratedEnergyKwh: num("rated_energy_kwh", "ratedEnergyKwh"),
    notes: notes === undefined ? [] : [String(notes)],
  };
}

type FieldColumns = { header: string; unit?: string }[];

function findColumn<C extends { header: string }>(columns: C[] | undefined, headers: readonly string[]): C | undefined {
  return columns?.find((c) => headers.includes(c.header.toLowerCase()));
}

function hasRequiredFields(map: ColumnMap, headers: readonly string[]): boolean {
  const required: FieldColumns[] =
    map.shape === "timeseries"
      ? [map.fields.time, map.fields.packVoltage, map.fields.packCurrent]
      : [map.fields.startTime, map.fields.endTime, map.fields.startSoc, map.fields.endSoc, map.fields.energy];
  return required.every((cols) => findColumn(cols, headers) !== undefined);
}

/** Map every row, collecting the bad ones as issues; rows must move forward in time. */
function mapRows<T extends { timeS?: number; startTimeS?: number }>(
  file: string, table: RawTable, issues: ImportIssue[], toValue: (r: RawRow) => T,
): T[] {
  const out: T[] = [];
  let lastTimeS = -Infinity;
  for (const r of table.rows) {
    try {
      if (r.defect) throw new RowError(r.defect);
      const v = toValue(r);
      const t = v.timeS ?? v.startTimeS ?? 0;
      if (t <= lastTimeS) throw new RowError(`time ${t} s is not after the previous valid row (${lastTimeS} s)`);
      lastTimeS = t;
      out.push(v);
    } catch (e) {
      if (!(e instanceof RowError)) throw e;
      issues.push({ file, row: r.row, reason: e.message });
    }
  }
  return out;
}

/** Read a number and convert it to the normalised unit: a LinearUnit, or a conversion function. */
function readNumber(r: RawRow, header: string, unit: LinearUnit | ((n: number) => number), range?: [number, number]): number {
  const raw = r.values.get(header.toLowerCase());
  if (raw === undefined || raw === null || raw === "") throw new RowError(`${header} is empty`);
  const n = typeof raw === "number" ? raw : Number(String(raw).trim());
  if (!Number.isFinite(n)) throw new RowError(`${header} "${String(raw)}" is not a number`);
  const value = typeof unit === "function" ? unit(n) : toBaseUnit(n, unit);
  if (range && (value < range[0] || value > range[1])) {
    throw new RowError(`${header} = ${String(raw)} is outside the plausible range ${range[0]}..${range[1]}`);
  }
  return value;
}

function readOptional(r: RawRow, header: string | undefined, read: (h: string) => number): number | undefined {
  if (header === undefined) return undefined;
  const raw = r.values.get(header.toLowerCase());
  return raw === undefined || raw === null || raw === "" ? undefined : read(header);
}

function readTime(r: RawRow, column: { header: string; unit: Parameters<typeof parseTimestampS>[1] }): number {
  const t = parseTimestampS(r.values.get(column.header.toLowerCase()), column.unit);
  if (typeof t === "string") throw new RowError(`${column.header}: ${t}`);
  return t;
}

/** Plausibility bounds in normalised units: they catch unit mix-ups and sensor glitches, not physics. */
const RANGE = {
  packVoltageV: [0.5, 1500] as [number, number],
  currentA: [-5000, 5000] as [number, number],
  socPct: [0, 100] as [number, number],
  temperatureC: [-60, 120] as [number, number],
  speedKph: [0, 400] as [number, number],
  cellVoltageV: [0.5, 5.5] as [number, number],
};

function rowToSample(map: TimeseriesColumnMap, headers: readonly string[]): (r: RawRow) => BmsSample {
  const f = map.fields;
  const time = findColumn(f.time, headers)!;
  const voltage = findColumn(f.packVoltage, headers)!;
  const current = findColumn(f.packCurrent, headers)!;
  const soc = findColumn(f.soc, headers);
  const temperature = findColumn(f.temperature, headers);
  const speed = findColumn(f.speed, headers);
  const odometer = findColumn(f.odometer, headers);
  const sign = map.currentSign === "discharge-positive" ? -1 : 1;
  const pattern = map.cellVoltagePattern ? new RegExp(map.cellVoltagePattern) : undefined;
  const cells = pattern
    ? headers
        .map((h) => ({ h, m: pattern.exec(h) }))
        .filter((c): c is { h: string; m: RegExpExecArray } => c.m !== null)
        .map(({ h, m }) => ({ header: h, index: Number(m[1]), unit: (m[2].toLowerCase() === "mv" ? "mV" : "V") as LinearUnit }))
        .sort((a, b) => a.index - b.index)
    : [];
  return (r) => {
    const sample: BmsSample = {
      timeS: readTime(r, time),
      packVoltageV: readNumber(r, voltage.header, voltage.unit, RANGE.packVoltageV),
      packCurrentA: sign * readNumber(r, current.header, current.unit, RANGE.currentA),
    };
    const socPct = readOptional(r, soc?.header, (h) => readNumber(r, h, soc!.unit, RANGE.socPct));
    const temperatureC = readOptional(r, temperature?.header, (h) =>
      readNumber(r, h, (n) => toCelsius(n, temperature!.unit), RANGE.temperatureC),
    );
    const speedKph = readOptional(r, speed?.header, (h) => readNumber(r, h, speed!.unit, RANGE.speedKph));
    const odometerKm = readOptional(r, odometer?.header, (h) => readNumber(r, h, odometer!.unit, [0, 1e7]));
    if (socPct !== undefined) sample.socPct = socPct;
    if (temperatureC !== undefined) sample.temperatureC = temperatureC;
    if (speedKph !== undefined) sample.speedKph = speedKph;
    if (odometerKm !== undefined) sample.odometerKm = odometerKm;
    if (cells.length > 0) sample.cellVoltagesV = cells.map((c) => readNumber(r, c.header, c.unit, RANGE.cellVoltageV));
    return sample;
  };
}

function rowToSession(map: SessionsColumnMap): (r: RawRow) => SessionSummary {
  const f = map.fields;
  return (r) => {
    const headers = [...r.values.keys()];
    const col = <C extends { header: string }>(cols: C[] | undefined) => findColumn(cols, headers);
    const startTime = col(f.startTime)!;
    const endTime = col(f.endTime)!;
    const startSoc = col(f.startSoc)!;
    const endSoc = col(f.endSoc)!;
    const energy = col(f.energy)!;
    const distance = col(f.distance);
    const startTimeS = readTime(r, startTime);
    const endTimeS = readTime(r, endTime);
    if (endTimeS <= startTimeS) throw new RowError(`${endTime.header} is not after ${startTime.header}`);
    const startSocPct = readNumber(r, startSoc.header, startSoc.unit, RANGE.socPct);
    const endSocPct = readNumber(r, endSoc.header, endSoc.unit, RANGE.socPct);
    const energyKwh = Math.abs(readNumber(r, energy.header, energy.unit));
    const distanceKm = readOptional(r, distance?.header, (h) => readNumber(r, h, distance!.unit, [0, 1e5])) ?? 0;
    const kindColumn = col(f.kind);
    const declared = kindColumn ? String(r.values.get(kindColumn.header.toLowerCase()) ?? "").trim().toLowerCase() : "";
    // Without a declared kind, SOC going up means the session was a charge.
    const kind = declared === "" ? (endSocPct > startSocPct ? "charge" : "trip") : declared;
    if (kind !== "trip" && kind !== "charge") throw new RowError(`${kindColumn!.header} "${declared}" is neither trip nor charge`);
    return { kind, startTimeS, endTimeS, startSocPct, endSocPct, energyKwh, distanceKm: kind === "charge" ? 0 : distanceKm };
  };
}
