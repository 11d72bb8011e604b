/**
 * The plant's PostgreSQL repository: idempotent writes of station messages and the aggregate queries behind the
 * plant REST API. Every write is keyed by the message's deterministic id (or its station/channel/lot key with a
 * newer-wins rule), so redelivered messages change nothing.
 */
import type { Pool } from "pg";
import type { AlarmMessage, ChannelsMessage, GradeMessage, PlantMessage, RunsMessage, StatusMessage, TopicKind } from "./plant-messages.ts";

export interface StationRow {
  stationId: string;
  plantId: string;
  lineId: string;
  name: string;
  online: boolean;
  simulated: boolean;
  statusAt: string;
  links: StatusMessage["links"];
  channelsByState: Record<string, number>;
  activeAlarms: number;
  gradesLast24h: number;
  lastGradeAt: string | null;
}

export interface YieldRow {
  plantId: string;
  lineId: string;
  kind: "imprint" | "second-life";
  graded: number;
  passed: number;
  /** passed / graded */
  yield: number;
  /** bin (imprint) or route id (second life) → cells */
  outcomes: Record<string, number>;
}

export interface ThroughputRow {
  plantId: string;
  lineId: string;
  stationId: string;
  cells: number;
  cellsPerHour: number;
  /** hour start (ISO, UTC) → cells graded in that hour */
  hourly: { hour: string; cells: number }[];
}

export interface CellHistory {
  serial: string;
  chemistry: string;
  nominalCapacityAh: number;
  firstGradedAt: string;
  lastGradedAt: string;
  grades: {
    id: string;
    stationId: string;
    lineId: string;
    lotId: string;
    lotName: string;
    kind: "imprint" | "second-life";
    recipe: { name: string; version: string };
    simulated: boolean;
    bin: string | null;
    route: { id: string; label: string } | null;
    passed: boolean;
    reasons: string[];
    figures: GradeMessage["figures"];
    certificate: { id: string; issuedAt: string } | null;
    gradedAt: string;
  }[];
}

export interface PlantStore {
  write(kind: TopicKind, message: PlantMessage): Promise<void>;
  stations(): Promise<StationRow[]>;
  yield(q: { lineId?: string; since?: Date }): Promise<YieldRow[]>;
  throughput(q: { lineId?: string; hours: number; until: Date }): Promise<ThroughputRow[]>;
  cell(serial: string): Promise<CellHistory | undefined>;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

export function createPlantStore(pool: Pool): PlantStore {
  const writers: { [K in TopicKind]: (m: never) => Promise<unknown> } = {
    status: (m: StatusMessage) =>
      pool.query(
        `INSERT INTO stations (station_id, plant_id, line_id, name, online, simulated, links, channels_by_state, active_alarms, status_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (station_id) DO UPDATE SET plant_id = EXCLUDED.plant_id, line_id = EXCLUDED.line_id, name = EXCLUDED.name,
           online = EXCLUDED.online, simulated = EXCLUDED.simulated, links = EXCLUDED.links, channels_by_state = EXCLUDED.channels_by_state,
           active_alarms = EXCLUDED.active_alarms, status_at = EXCLUDED.status_at, received_at = now()
         WHERE stations.status_at <= EXCLUDED.status_at`,
        [m.stationId, m.plantId, m.lineId, m.stationName, m.online, m.simulated, JSON.stringify(m.links), JSON.stringify(m.channelsByState), m.activeAlarms, m.at],
      ),
    channels: (m: ChannelsMessage) =>
      pool.query(
        `INSERT INTO channel_status (station_id, channel_key, cycler_id, channel, state, voltage_v, current_a, temperature_c, step_index, cycle, alarm_code, serial, run_id, progress, updated_at)
         SELECT $1, x.key, x."cyclerId", x.channel, x.state, x."voltageV", x."currentA", x."temperatureC", x."stepIndex", x.cycle, x."alarmCode", x.serial, x."runId", x.progress,
                to_timestamp(x."updatedAtMs" / 1000.0)
         FROM jsonb_to_recordset($2::jsonb) AS x(key text, "cyclerId" text, channel int, state text, "voltageV" float8, "currentA" float8, "temperatureC" float8,
              "stepIndex" int, cycle int, "alarmCode" int, serial text, "runId" text, progress float8, "updatedAtMs" float8)
         ON CONFLICT (station_id, channel_key) DO UPDATE SET cycler_id = EXCLUDED.cycler_id, channel = EXCLUDED.channel, state = EXCLUDED.state,
           voltage_v = EXCLUDED.voltage_v, current_a = EXCLUDED.current_a, temperature_c = EXCLUDED.temperature_c, step_index = EXCLUDED.step_index,
           cycle = EXCLUDED.cycle, alarm_code = EXCLUDED.alarm_code, serial = EXCLUDED.serial, run_id = EXCLUDED.run_id, progress = EXCLUDED.progress,
           updated_at = EXCLUDED.updated_at
         WHERE channel_status.updated_at <= EXCLUDED.updated_at`,
        [m.stationId, JSON.stringify(m.channels)],
      ),
    alarms: (m: AlarmMessage) =>
      pool.query(
        `INSERT INTO alarms (alarm_id, change_id, plant_id, line_id, station_id, source, condition, severity, state, message, raised_at, cleared_at,
           acknowledged_at, acknowledged_by, shelved, changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         ON CONFLICT (alarm_id, change_id) DO NOTHING`,
        [m.alarmId, m.changeId, m.plantId, m.lineId, m.stationId, m.source, m.condition, m.severity, m.state, m.message, m.raisedAt, m.clearedAt ?? null,
          m.acknowledgedAt ?? null, m.acknowledgedBy ?? null, m.shelved ? JSON.stringify(m.shelved) : null, m.changedAt],
      ),
    runs: (m: RunsMessage) =>
      pool.query(
        `INSERT INTO lots (station_id, lot_id, line_id, name, kind, recipe_name, recipe_version, state, phase_index, cells, simulated, created_at, finished_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (station_id, lot_id) DO UPDATE SET state = EXCLUDED.state, phase_index = EXCLUDED.phase_index, cells = EXCLUDED.cells,
           finished_at = EXCLUDED.finished_at, updated_at = EXCLUDED.updated_at
         WHERE lots.updated_at <= EXCLUDED.updated_at`,
        [m.stationId, m.lot.id, m.lineId, m.lot.name, m.lot.kind, m.lot.recipe.name, m.lot.recipe.version, m.lot.state, m.lot.phaseIndex, m.runs.length,
          m.lot.simulated, m.lot.createdAt, m.lot.finishedAt ?? null, m.at],
      ),
    // one statement: the cell row (first/last grade times widen) and the grade; a re-sent grade may add its certificate
    grades: (m: GradeMessage) =>
      pool.query(
        `WITH cell AS (
           INSERT INTO cells (serial, chemistry, nominal_capacity_ah, first_graded_at, last_graded_at) VALUES ($2, $13, $14, $21, $21)
           ON CONFLICT (serial) DO UPDATE SET first_graded_at = LEAST(cells.first_graded_at, EXCLUDED.first_graded_at),
             last_graded_at = GREATEST(cells.last_graded_at, EXCLUDED.last_graded_at),
             chemistry = CASE WHEN EXCLUDED.last_graded_at >= cells.last_graded_at THEN EXCLUDED.chemistry ELSE cells.chemistry END
         )
         INSERT INTO grades (id, serial, plant_id, line_id, station_id, lot_id, lot_name, run_id, kind, recipe_name, recipe_version, simulated,
           bin, route, route_label, passed, reasons, figures, certificate_id, certificate_issued_at, graded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $15, $16, $17, $18, $19, $20, $22, $23, $21)
         ON CONFLICT (id) DO UPDATE SET certificate_id = COALESCE(EXCLUDED.certificate_id, grades.certificate_id),
           certificate_issued_at = COALESCE(EXCLUDED.certificate_issued_at, grades.certificate_issued_at)`,
        [m.id, m.serial, m.plantId, m.lineId, m.stationId, m.lotId, m.lotName, m.runId, m.kind, m.recipe.name, m.recipe.version, m.simulated,
          m.chemistry, m.nominalCapacityAh, m.bin ?? null, m.route?.id ?? null, m.route?.label ?? null, m.passed, JSON.stringify(m.reasons),
          JSON.stringify(m.figures), m.gradedAt, m.certificate?.id ?? null, m.certificate?.issuedAt ?? null],
      ),
  };

  return {
    async write(kind, message) {
      await writers[kind](message as never);
    },

    async stations() {
      const r = await pool.query(
        `SELECT s.*, COALESCE(g.n, 0)::int AS grades_24h, g.last AS last_grade_at
         FROM stations s
         LEFT JOIN (SELECT station_id, count(*) AS n, max(graded_at) AS last FROM grades WHERE graded_at > now() - interval '24 hours' GROUP BY station_id) g
           USING (station_id)
         ORDER BY s.plant_id, s.line_id, s.station_id`,
      );
      return r.rows.map((x) => ({
        stationId: x.station_id, plantId: x.plant_id, lineId: x.line_id, name: x.name, online: x.online, simulated: x.simulated, statusAt: iso(x.status_at)!,
        links: x.links, channelsByState: x.channels_by_state, activeAlarms: x.active_alarms, gradesLast24h: x.grades_24h, lastGradeAt: iso(x.last_grade_at),
      }));
    },

    async yield({ lineId, since }) {
      const r = await pool.query(
        `SELECT plant_id, line_id, kind, COALESCE(bin, route, 'none') AS outcome, count(*)::int AS n, count(*) FILTER (WHERE passed)::int AS passed
         FROM grades
         WHERE ($1::text IS NULL OR line_id = $1) AND ($2::timestamptz IS NULL OR graded_at >= $2)
         GROUP BY plant_id, line_id, kind, outcome
         ORDER BY plant_id, line_id, kind, outcome`,
        [lineId ?? null, since ?? null],
      );
      const rows = new Map<string, YieldRow>();
      for (const x of r.rows) {
        const key = `${x.plant_id}/${x.line_id}/${x.kind}`;
        const row: YieldRow = rows.get(key) ?? { plantId: x.plant_id, lineId: x.line_id, kind: x.kind, graded: 0, passed: 0, yield: 0, outcomes: {} };
        row.graded += x.n;
        row.passed += x.passed;
        row.outcomes[x.outcome] = x.n;
        rows.set(key, row);
      }
      return [...rows.values()].map((row) => ({ ...row, yield: row.passed / row.graded }));
    },

    async throughput({ lineId, hours, until }) {
      const r = await pool.query(
        `SELECT plant_id, line_id, station_id, date_trunc('hour', graded_at) AS hour, count(*)::int AS n
         FROM grades
         WHERE graded_at > $2::timestamptz - make_interval(hours => $3) AND graded_at <= $2 AND ($1::text IS NULL OR line_id = $1)
         GROUP BY plant_id, line_id, station_id, hour
         ORDER BY plant_id, line_id, station_id, hour`,
        [lineId ?? null, until, hours],
      );
      const rows = new Map<string, ThroughputRow>();
      for (const x of r.rows) {
        const key = `${x.plant_id}/${x.line_id}/${x.station_id}`;
        const row: ThroughputRow = rows.get(key) ?? { plantId: x.plant_id, lineId: x.line_id, stationId: x.station_id, cells: 0, cellsPerHour: 0, hourly: [] };
        row.cells += x.n;
        row.hourly.push({ hour: iso(x.hour)!, cells: x.n });
        rows.set(key, row);
      }
      return [...rows.values()].map((row) => ({ ...row, cellsPerHour: row.cells / hours }));
    },

    async cell(serial) {
      const c = await pool.query("SELECT * FROM cells WHERE serial = $1", [serial]);
      if (c.rowCount === 0) return undefined;
      const g = await pool.query("SELECT * FROM grades WHERE serial = $1 ORDER BY graded_at, id", [serial]);
      const x = c.rows[0];
      return {
        serial: x.serial, chemistry: x.chemistry, nominalCapacityAh: x.nominal_capacity_ah, firstGradedAt: iso(x.first_graded_at)!, lastGradedAt: iso(x.last_graded_at)!,
        grades: g.rows.map((y) => ({
          id: y.id, stationId: y.station_id, lineId: y.line_id, lotId: y.lot_id, lotName: y.lot_name, kind: y.kind,
          recipe: { name: y.recipe_name, version: y.recipe_version }, simulated: y.simulated, bin: y.bin,
          route: y.route === null ? null : { id: y.route, label: y.route_label }, passed: y.passed, reasons: y.reasons, figures: y.figures,
          certificate: y.certificate_id === null ? null : { id: y.certificate_id, issuedAt: iso(y.certificate_issued_at)! }, gradedAt: iso(y.graded_at)!,
        })),
      };
    },
  };
}
