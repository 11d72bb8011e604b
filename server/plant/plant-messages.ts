/**
 * The station ↔ plant wire contract (DESIGN §13): MQTT topics `<prefix>/<plant>/<line>/<station>/<kind>` and
 * versioned JSON payloads `{ schema: "axviam.<kind>/<version>", id, ... }`. Both ends validate with these zod
 * schemas; docs/plant-schemas/*.json are rendered from them (renderPlantJsonSchemas). A breaking change is a new
 * schema version, never an edit of an old one.
 * Every message carries a deterministic id, so a redelivered or re-sent message lands on the same row.
 * One topic flows the other way: `<...>/<station>/receipts`, where the plant confirms the ids of the grades and
 * alarm changes it has committed to PostgreSQL (end-to-end receipt: the station keeps them until then).
 */
import { createHash } from "node:crypto";
import { z } from "zod";

/** station → plant */
export const TOPIC_KINDS = ["status", "channels", "alarms", "runs", "grades"] as const;
export type TopicKind = (typeof TOPIC_KINDS)[number];
/** the kinds a station sends through its outbox and keeps until the plant's receipt */
export const RECEIPTED_KINDS = ["alarms", "grades"] as const satisfies readonly TopicKind[];
/** plant → station */
export const RECEIPTS_KIND = "receipts";

/** MQTT topic levels must not contain the wildcards or the separator. */
const level = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "an id of letters, digits, '_', '.', '-' (max 64)");
const iso = z.iso.datetime({ offset: true });
const finite = z.number().finite();

const origin = { plantId: level, lineId: level, stationId: level };

export const statusMessageSchema = z.object({
  schema: z.literal("axviam.status/1"),
  /** `<station>:status:<at>` */
  id: z.string().min(1),
  ...origin,
  stationName: z.string(),
  /** false in the broker's last will: the station vanished without saying goodbye, or stopped */
  online: z.boolean(),
  simulated: z.boolean(),
  at: iso,
  links: z.array(z.object({ equipmentId: z.string(), kind: z.enum(["cycler", "chamber"]), status: z.enum(["connected", "degraded", "lost"]), reason: z.string().optional() })),
  /** channel count per channel state */
  channelsByState: z.record(z.string(), z.number().int().nonnegative()),
  activeAlarms: z.number().int().nonnegative(),
});

export const channelSummarySchema = z.object({
  key: z.string(),
  cyclerId: z.string(),
  channel: z.number().int(),
  state: z.string(),
  voltageV: finite,
  currentA: finite,
  temperatureC: finite,
  stepIndex: z.number().int(),
  cycle: z.number().int(),
  alarmCode: z.number().int(),
  serial: z.string().optional(),
  runId: z.string().optional(),
  progress: finite.optional(),
  /** wall-clock time of the reading, ms since epoch */
  updatedAtMs: z.number().int(),
});

export const channelsMessageSchema = z.object({
  schema: z.literal("axviam.channels/1"),
  id: z.string().min(1),
  ...origin,
  at: iso,
  channels: z.array(channelSummarySchema),
});

export const alarmMessageSchema = z.object({
  schema: z.literal("axviam.alarm/1"),
  /** `<alarmId>:<change>`: one id per ISA-18.2 state change of one alarm */
  id: z.string().min(1),
  ...origin,
  alarmId: z.string().min(1),
  changeId: z.string().min(1),
  source: z.string(),
  condition: z.string(),
  severity: z.enum(["high", "medium", "low"]),
  state: z.enum(["active-unack", "active-ack", "returned-unack", "normal"]),
  message: z.string(),
  raisedAt: iso,
  clearedAt: iso.optional(),
  acknowledgedAt: iso.optional(),
  acknowledgedBy: z.string().optional(),
  shelved: z.object({ by: z.string(), reason: z.string(), untilIso: z.string() }).optional(),
  /** the latest of raisedAt / clearedAt / acknowledgedAt */
  changedAt: iso,
});

export const runsMessageSchema = z.object({
  schema: z.literal("axviam.lot/1"),
  /** `<lotId>:<state>:<phase>:<hash of the runs' states>` */
  id: z.string().min(1),
  ...origin,
  at: iso,
  lot: z.object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(["imprint", "second-life"]),
    recipe: z.object({ name: z.string(), version: z.string() }),
    state: z.enum(["execute", "held", "complete", "aborted"]),
    phaseIndex: z.number().int(),
    chemistry: z.string(),
    simulated: z.boolean(),
    createdAt: iso,
    finishedAt: iso.optional(),
  }),
  runs: z.array(z.object({ id: z.string(), serial: z.string(), cyclerId: z.string(), channel: z.number().int(), state: z.enum(["idle", "execute", "held", "complete", "aborted"]), phaseIndex: z.number().int() })),
});

export const measuredFigureSchema = z.object({ value: finite, uncertainty: finite.optional() });

export const gradeMessageSchema = z.object({
  schema: z.literal("axviam.grade/1"),
  /** `<stationId>:<lotId>:<serial>:<runId>` (lot ids are unique per station only) */
  id: z.string().min(1),
  ...origin,
  lotId: z.string(),
  lotName: z.string(),
  runId: z.string(),
  serial: z.string().min(1),
  kind: z.enum(["imprint", "second-life"]),
  chemistry: z.string(),
  nominalCapacityAh: finite,
  recipe: z.object({ name: z.string(), version: z.string() }),
  /** figures come from simulated equipment */
  simulated: z.boolean(),
  /** imprint: bin from the lot grading */
  bin: z.enum(["A", "B", "C", "reject"]).optional(),
  /** second life: the route decision */
  route: z.object({ id: z.string(), label: z.string() }).optional(),
  /** the plant's yield counts the cell as good (see gradeOutcome) */
  passed: z.boolean(),
  reasons: z.array(z.string()),
  /** scalar figures of the analysis result, flattened to dotted names with the unit in the name */
  figures: z.record(z.string(), measuredFigureSchema),
  certificate: z.object({ id: z.string(), issuedAt: iso }).optional(),
  gradedAt: iso,
});

/** Plant → station: these ids are committed in the plant's database; sent after the commit, QoS 1. */
export const receiptMessageSchema = z.object({
  schema: z.literal("axviam.receipt/1"),
  /** digest of the ids (a re-sent receipt has the same id) */
  id: z.string().min(1),
  ...origin,
  at: iso,
  /** message ids of this station's grades / alarm changes; ids the station does not hold are ignored */
  ids: z.array(z.string().min(1)).min(1),
});

export type StatusMessage = z.infer<typeof statusMessageSchema>;
export type ChannelsMessage = z.infer<typeof channelsMessageSchema>;
export type AlarmMessage = z.infer<typeof alarmMessageSchema>;
export type RunsMessage = z.infer<typeof runsMessageSchema>;
export type GradeMessage = z.infer<typeof gradeMessageSchema>;
export type ReceiptMessage = z.infer<typeof receiptMessageSchema>;
export type PlantMessage = StatusMessage | ChannelsMessage | AlarmMessage | RunsMessage | GradeMessage;

export const PLANT_MESSAGE_SCHEMAS = {
  status: statusMessageSchema,
  channels: channelsMessageSchema,
  alarms: alarmMessageSchema,
  runs: runsMessageSchema,
  grades: gradeMessageSchema,
} as const satisfies Record<TopicKind, z.ZodType>;

export interface TopicParts {
  prefix: string;
  plantId: string;
  lineId: string;
  stationId: string;
  kind: TopicKind | typeof RECEIPTS_KIND;
}

export function plantTopic(p: TopicParts): string {
  return [p.prefix, p.plantId, p.lineId, p.stationId, p.kind].join("/");
}

export class PlantMessageError extends Error {
  constructor(
    readonly topic: string,
    reason: string,
  ) {
    super(`${topic}: ${reason}`);
    this.name = "PlantMessageError";
  }
}

/** Validates topic and payload together; the payload's origin must match the topic it came on. */
export function parsePlantMessage(prefix: string, topic: string, payload: Buffer | string): { kind: TopicKind; message: PlantMessage } {
  const parts = topic.split("/");
  const kind = parts[4] as TopicKind;
  if (parts.length !== 5 || parts[0] !== prefix || !TOPIC_KINDS.includes(kind)) {
    throw new PlantMessageError(topic, `not a plant topic (${prefix}/<plant>/<line>/<station>/{${TOPIC_KINDS.join(",")}})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(payload.toString());
  } catch (e) {
    throw new PlantMessageError(topic, `payload is not JSON (${(e as Error).message})`);
  }
  const r = PLANT_MESSAGE_SCHEMAS[kind].safeParse(json);
  if (!r.success) {
    throw new PlantMessageError(topic, r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; "));
  }
  const m = r.data as PlantMessage;
  if (m.plantId !== parts[1] || m.lineId !== parts[2] || m.stationId !== parts[3]) {
    throw new PlantMessageError(topic, `payload says ${m.plantId}/${m.lineId}/${m.stationId}, topic disagrees`);
  }
  return { kind, message: m };
}

/** A receipt for this station's topic, or a PlantMessageError naming what is wrong. */
export function parseReceipt(topic: string, payload: Buffer | string, expected: { plantId: string; lineId: string; stationId: string }): ReceiptMessage {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString());
  } catch (e) {
    throw new PlantMessageError(topic, `payload is not JSON (${(e as Error).message})`);
  }
  const r = receiptMessageSchema.safeParse(json);
  if (!r.success) throw new PlantMessageError(topic, r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; "));
  const m = r.data;
  if (m.plantId !== expected.plantId || m.lineId !== expected.lineId || m.stationId !== expected.stationId) {
    throw new PlantMessageError(topic, `receipt is for ${m.plantId}/${m.lineId}/${m.stationId}, not this station`);
  }
  return m;
}

/** Short stable digest of a JSON value (ids for state changes). */
export function digest(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
}

/** JSON Schema (draft 2020-12) of each payload, keyed by file name under docs/plant-schemas/. */
export function renderPlantJsonSchemas(): Record<string, string> {
  const all: [string, z.ZodType][] = [...TOPIC_KINDS.map((kind) => [kind, PLANT_MESSAGE_SCHEMAS[kind]] as [string, z.ZodType]), [RECEIPTS_KIND, receiptMessageSchema]];
  return Object.fromEntries(
    all.map(([kind, zod]) => {
      const schema = z.toJSONSchema(zod, { target: "draft-2020-12" });
      const titled = { title: `AXVIAM plant message on <prefix>/<plant>/<line>/<station>/${kind}`, ...schema };
      return [`${kind}.json`, `${JSON.stringify(titled, null, 2)}\n`];
    }),
  );
}
