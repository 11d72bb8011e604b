-- Plant-wide store: every station's grades, alarms and live status (DESIGN §13).
-- Ids come from the stations and are deterministic, so every write is an idempotent upsert.

CREATE TABLE stations (
  station_id   text PRIMARY KEY,
  plant_id     text NOT NULL,
  line_id      text NOT NULL,
  name         text NOT NULL,
  online       boolean NOT NULL,
  simulated    boolean NOT NULL,
  links        jsonb NOT NULL DEFAULT '[]',
  channels_by_state jsonb NOT NULL DEFAULT '{}',
  active_alarms integer NOT NULL DEFAULT 0,
  status_at    timestamptz NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stations_line ON stations (plant_id, line_id);

-- A cell is known plant-wide by its serial: imprint at one station, second-life grade at another years later.
CREATE TABLE cells (
  serial       text PRIMARY KEY,
  chemistry    text NOT NULL,
  nominal_capacity_ah double precision NOT NULL,
  first_graded_at timestamptz NOT NULL,
  last_graded_at  timestamptz NOT NULL
);

CREATE TABLE grades (
  id           text PRIMARY KEY,             -- <stationId>:<lotId>:<serial>:<runId>
  serial       text NOT NULL REFERENCES cells (serial),
  plant_id     text NOT NULL,
  line_id      text NOT NULL,
  station_id   text NOT NULL,
  lot_id       text NOT NULL,
  lot_name     text NOT NULL,
  run_id       text NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('imprint', 'second-life')),
  recipe_name  text NOT NULL,
  recipe_version text NOT NULL,
  simulated    boolean NOT NULL,
  bin          text,
  route        text,
  route_label  text,
  passed       boolean NOT NULL,
  reasons      jsonb NOT NULL,
  figures      jsonb NOT NULL,
  certificate_id text,
  certificate_issued_at timestamptz,
  graded_at    timestamptz NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX grades_serial ON grades (serial, graded_at);
CREATE INDEX grades_lot ON grades (station_id, lot_id);
CREATE INDEX grades_time ON grades (graded_at);
CREATE INDEX grades_line_time ON grades (plant_id, line_id, graded_at);

CREATE TABLE alarms (
  alarm_id     text NOT NULL,
  change_id    text NOT NULL,
  plant_id     text NOT NULL,
  line_id      text NOT NULL,
  station_id   text NOT NULL,
  source       text NOT NULL,
  condition    text NOT NULL,
  severity     text NOT NULL,
  state        text NOT NULL,
  message      text NOT NULL,
  raised_at    timestamptz NOT NULL,
  cleared_at   timestamptz,
  acknowledged_at timestamptz,
  acknowledged_by text,
  shelved      jsonb,
  changed_at   timestamptz NOT NULL,
  PRIMARY KEY (alarm_id, change_id)
);
CREATE INDEX alarms_station_time ON alarms (station_id, changed_at);
CREATE INDEX alarms_time ON alarms (changed_at);

-- Latest reading per channel; older summaries never overwrite newer ones.
CREATE TABLE channel_status (
  station_id   text NOT NULL,
  channel_key  text NOT NULL,
  cycler_id    text NOT NULL,
  channel      integer NOT NULL,
  state        text NOT NULL,
  voltage_v    double precision NOT NULL,
  current_a    double precision NOT NULL,
  temperature_c double precision NOT NULL,
  step_index   integer NOT NULL,
  cycle        integer NOT NULL,
  alarm_code   integer NOT NULL,
  serial       text,
  run_id       text,
  progress     double precision,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (station_id, channel_key)
);

-- Latest known state of each lot (progress messages are best effort; grades are the record).
CREATE TABLE lots (
  station_id   text NOT NULL,
  lot_id       text NOT NULL,
  line_id      text NOT NULL,
  name         text NOT NULL,
  kind         text NOT NULL,
  recipe_name  text NOT NULL,
  recipe_version text NOT NULL,
  state        text NOT NULL,
  phase_index  integer NOT NULL,
  cells        integer NOT NULL,
  simulated    boolean NOT NULL,
  created_at   timestamptz NOT NULL,
  finished_at  timestamptz,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (station_id, lot_id)
);
