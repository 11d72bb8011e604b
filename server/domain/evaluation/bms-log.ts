/**
 * Normalised EV BMS log, the one vocabulary every importer (server/evaluation/import/) produces (DESIGN §11).
 * Sign convention, pinned by test/evaluation/convert-bms-log.test.ts and shared with the station
 * (server/domain/equipment/program.ts): pack current > 0 charges the pack, < 0 discharges it.
 * Power P = V·I follows the same sign.
 */

/** One logged sample of a pack. Optional fields are absent when the log has no such column. */
export interface BmsSample {
  /** Unix time [s] */
  timeS: number;
  packVoltageV: number;
  /** charge > 0, discharge < 0 */
  packCurrentA: number;
  /** displayed/BMS state of charge [%], 0..100 */
  socPct?: number;
  temperatureC?: number;
  speedKph?: number;
  odometerKm?: number;
  /** per-cell voltages [V], in cell-number order */
  cellVoltagesV?: number[];
}

/** One row of a trip/charge-session summary export (one row per trip or charge). */
export interface SessionSummary {
  kind: "trip" | "charge";
  startTimeS: number;
  endTimeS: number;
  startSocPct: number;
  endSocPct: number;
  /** energy moved at the pack terminals during the session, always ≥ 0 [kWh] (out for trips, in for charges) */
  energyKwh: number;
  /** 0 for charge sessions */
  distanceKm: number;
}

/** What a log says about itself (meta object, header comments or the column map). */
export interface BmsLogMeta {
  /** logs of one vehicle share this id; default: the file name */
  vehicleId: string;
  /** true when the file declares itself simulated; carried into every report */
  simulated: boolean;
  /** declared rated (nameplate) capacity [Ah] and energy [kWh], when the log states them */
  ratedCapacityAh?: number;
  ratedEnergyKwh?: number;
  /** free-text notes from the log (e.g. the model that generated it) */
  notes: string[];
}

export type BmsLog =
  | { shape: "timeseries"; source: string; meta: BmsLogMeta; samples: BmsSample[] }
  | { shape: "sessions"; source: string; meta: BmsLogMeta; sessions: SessionSummary[] };

/** A row that was skipped: which file, which row (1-based line number for CSV, 1-based index for JSON), why. */
export interface ImportIssue {
  file: string;
  row: number;
  reason: string;
}

/** A file that could not be read at all. */
export interface ImportError {
  file: string;
  kind: "unreadable" | "not-text" | "malformed" | "unknown-shape" | "no-valid-rows";
  message: string;
}

export type ImportResult =
  | { ok: true; log: BmsLog; issues: ImportIssue[] }
  | { ok: false; error: ImportError; issues: ImportIssue[] };
