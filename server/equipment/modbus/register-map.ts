/**
 * The Modbus cycler register map (station-config/maps/*.yaml) as validated data: blocks of registers, each field
 * with an offset, a type, a scale and a unit. Both the station's driver and the simulator's server read the same
 * map, so a vendor with another layout is a new YAML file, not new code (DESIGN §4).
 */
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { z } from "zod";
import { CHANNEL_COMMANDS, CHANNEL_STATES } from "../../domain/equipment/channel.ts";
import { END_QUANTITIES, STEP_MODES, describeIssues } from "../../domain/equipment/program.ts";

export const FIELD_TYPES = ["u16", "i16", "u32", "i32", "u64", "ascii", "enum", "bool"] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

const name = z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, "a field name of letters and digits");

const fieldSchema = z
  .object({
    name,
    offset: z.number().int().min(0),
    type: z.enum(FIELD_TYPES),
    /** ascii only: registers reserved (2 characters each) */
    registers: z.number().int().min(1).optional(),
    /** raw counts per engineering unit: value = raw / scale */
    scale: z.number().positive().optional(),
    unit: z.string().min(1),
    /** valid engineering range; a raw value outside it is an invalid reading */
    min: z.number().optional(),
    max: z.number().optional(),
    /** raw value meaning "not set" (optional fields only) */
    absentRaw: z.number().int().optional(),
    /** enum only: names of raw codes 0, 1, 2 … */
    values: z.array(z.string().min(1)).min(1).optional(),
    description: z.string().min(1),
  })
  .strict()
  .superRefine((f, ctx) => {
    if ((f.type === "ascii") !== (f.registers !== undefined)) {
      ctx.addIssue({ code: "custom", path: ["registers"], message: `${f.name}: registers is required for ascii and only for ascii` });
    }
    if ((f.type === "enum") !== (f.values !== undefined)) {
      ctx.addIssue({ code: "custom", path: ["values"], message: `${f.name}: values is required for enum and only for enum` });
    }
    if (f.scale !== undefined && !["u16", "i16", "u32", "i32", "u64"].includes(f.type)) {
      ctx.addIssue({ code: "custom", path: ["scale"], message: `${f.name}: scale applies to integer types only` });
    }
  });
export type RegisterField = z.infer<typeof fieldSchema>;

const groupSchema = z
  .object({
    name,
    offset: z.number().int().min(0),
    count: z.number().int().min(1),
    stride: z.number().int().min(1),
    fields: z.array(fieldSchema).min(1),
  })
  .strict();
export type RegisterGroup = z.infer<typeof groupSchema>;

const blockSchema = z
  .object({
    /** first register address (0-based PDU address) */
    base: z.number().int().min(0).max(65535),
    /** registers per instance */
    size: z.number().int().min(1),
    /** instances (e.g. one per channel), laid out back to back */
    count: z.number().int().min(1).default(1),
    /** holding blocks only: must be written whole, in one request, which runs the action */
    trigger: z.boolean().default(false),
    description: z.string().min(1),
    fields: z.array(fieldSchema).min(1),
    groups: z.array(groupSchema).default([]),
  })
  .strict();
export type RegisterBlock = z.infer<typeof blockSchema>;

const scaleSchema = z.object({ scale: z.number().positive(), unit: z.string().min(1) }).strict();

export const registerMapSchema = z
  .object({
    name: z.string().min(1),
    mapVersion: z.number().int().min(1).max(65535),
    maxReadRegisters: z.number().int().min(1).max(125),
    maxWriteRegisters: z.number().int().min(1).max(123),
    /**
     * Requests the instrument accepts pipelined on one connection (replies matched by MBAP transaction id). Many
     * devices serve one at a time and may drop a second, so a map that does not declare more gets 1.
     */
    maxRequestsInFlight: z.number().int().min(1).max(64).default(1),
    input: z
      .object({
        identification: blockSchema,
        live: blockSchema,
        programId: blockSchema,
        commandResult: blockSchema,
        recordWindow: blockSchema,
      })
      .strict(),
    holding: z
      .object({
        heartbeat: blockSchema,
        command: blockSchema,
        recordRequest: blockSchema,
        programHeader: blockSchema,
        programSteps: blockSchema,
      })
      .strict(),
    endValueScales: z
      .object({
        time: scaleSchema,
        voltage: scaleSchema,
        current: scaleSchema,
        capacity: scaleSchema,
        energy: scaleSchema,
        dVdt: scaleSchema,
        temperature: scaleSchema,
      })
      .strict(),
  })
  .strict();
export type RegisterMap = z.infer<typeof registerMapSchema>;
export type InputBlockName = keyof RegisterMap["input"];
export type HoldingBlockName = keyof RegisterMap["holding"];

/** Fields the codec reads by name; a map without one of them is refused at load, not at the first request. */
const REQUIRED: Record<string, string[]> = {
  "input.identification": ["mapVersion", "model", "serial", "firmware", "channelCount", "bootId", "simulated", "recordBufferSize", "maxVoltageV", "minVoltageV", "maxCurrentA", "maxTemperatureC", "minTemperatureC", "maxCapacityAh"],
  "input.live": ["channel", "state", "alarmCode", "voltageV", "currentA", "temperatureC", "stepCapacityAh", "stepEnergyWh", "stepIndex", "stepTimeS", "testTimeS", "cycle", "lastSeq", "programIdCrc32"],
  "input.programId": ["programId"],
  "input.commandResult": ["status", "command", "channel", "message"],
  "input.recordWindow": ["channel", "afterSeq", "count"],
  "input.recordWindow.records": ["seq", "unixTimeS", "testTimeS", "stepIndex", "cycle", "voltageV", "currentA", "temperatureC", "chargeAh", "dischargeAh", "chargeWh", "dischargeWh", "flags"],
  "holding.heartbeat": ["heartbeat"],
  "holding.command": ["channel", "command"],
  "holding.recordRequest": ["channel", "afterSeq", "max"],
  "holding.programHeader": ["programId", "stepCount", "maxVoltageV", "minVoltageV", "maxCurrentA", "maxTemperatureC", "minTemperatureC", "maxCapacityAh"],
  "holding.programSteps": ["mode", "currentA", "voltageV", "powerW", "endCount", "logEveryS", "logDeltaV", "logDeltaI", "segmentCount"],
  "holding.programSteps.ends": ["quantity", "op", "value", "then", "goto", "repeat"],
  "holding.programSteps.segments": ["kind", "value", "durationS"],
};

/** Registers a field occupies. */
export function fieldWidth(f: RegisterField): number {
  switch (f.type) {
    case "u32":
    case "i32":
      return 2;
    case "u64":
      return 4;
    case "ascii":
      return f.registers ?? 1;
    default:
      return 1;
  }
}

/** Total registers of a block: all its instances. */
export function blockExtent(b: RegisterBlock): number {
  return b.size * b.count;
}

/** Registers actually used by one instance (the end of its last field or group), what one write must carry. */
export function blockUsedSize(b: RegisterBlock): number {
  const fieldEnds = b.fields.map((f) => f.offset + fieldWidth(f));
  const groupEnds = b.groups.map((g) => g.offset + g.count * g.stride);
  return Math.max(...fieldEnds, ...groupEnds);
}

/** Fields by name per field list, built once: the codec looks fields up for every value of every poll. Maps are not mutated. */
const fieldIndexes = new WeakMap<readonly RegisterField[], Map<string, RegisterField>>();

export function field(fields: readonly RegisterField[], fieldName: string): RegisterField {
  let index = fieldIndexes.get(fields);
  if (!index) fieldIndexes.set(fields, (index = new Map(fields.map((x) => [x.name, x]))));
  const f = index.get(fieldName);
  if (!f) throw new Error(`register map has no field "${fieldName}"`);
  return f;
}

export function group(block: RegisterBlock, groupName: string): RegisterGroup {
  const g = block.groups.find((x) => x.name === groupName);
  if (!g) throw new Error(`register map has no group "${groupName}"`);
  return g;
}

/** The block a request [address, address + count) falls in whole, or undefined (→ exception 0x02). */
export function locate<K extends string>(
  table: Record<K, RegisterBlock>,
  address: number,
  count: number,
): { name: K; block: RegisterBlock } | undefined {
  for (const key of Object.keys(table) as K[]) {
    const block = table[key];
    if (address >= block.base && address + count <= block.base + blockExtent(block)) return { name: key, block };
  }
  return undefined;
}

function checkFields(fields: readonly RegisterField[], span: number, where: string, issues: string[]): void {
  const used = new Map<number, string>();
  for (const f of fields) {
    if (f.offset + fieldWidth(f) > span) issues.push(`${where}.${f.name}: ends at ${f.offset + fieldWidth(f)}, past the ${span} registers of its block`);
    for (let r = f.offset; r < f.offset + fieldWidth(f); r++) {
      const other = used.get(r);
      if (other !== undefined) issues.push(`${where}.${f.name}: register ${r} already used by ${other}`);
      used.set(r, f.name);
    }
  }
  const names = fields.map((f) => f.name);
  const duplicates = names.filter((n, i) => names.indexOf(n) !== i);
  if (duplicates.length > 0) issues.push(`${where}: duplicate field names ${duplicates.join(", ")}`);
}

function checkTable(table: Record<string, RegisterBlock>, tableName: string, map: RegisterMap, issues: string[]): void {
  const blocks = Object.entries(table);
  for (const [key, b] of blocks) {
    const where = `${tableName}.${key}`;
    if (b.base + blockExtent(b) > 65536) issues.push(`${where}: extends past register 65535`);
    checkFields(b.fields, b.size, where, issues);
    for (const g of b.groups) {
      if (g.offset + g.count * g.stride > b.size) issues.push(`${where}.${g.name}: ends past the ${b.size} registers of its block`);
      checkFields(g.fields, g.stride, `${where}.${g.name}`, issues);
      const need = REQUIRED[`${where}.${g.name}`] ?? [];
      for (const n of need) if (!g.fields.some((f) => f.name === n)) issues.push(`${where}.${g.name}: missing field ${n}`);
    }
    for (const n of REQUIRED[where] ?? []) if (!b.fields.some((f) => f.name === n)) issues.push(`${where}: missing field ${n}`);
    for (const [otherKey, o] of blocks) {
      if (otherKey <= key) continue;
      if (b.base < o.base + blockExtent(o) && o.base < b.base + blockExtent(b)) issues.push(`${where}: overlaps ${tableName}.${otherKey}`);
    }
    if (b.trigger && b.size > map.maxWriteRegisters) issues.push(`${where}: a trigger block must fit one write (${map.maxWriteRegisters} registers)`);
  }
  for (const [key, need] of Object.entries(REQUIRED)) {
    const [t, blockName, groupName] = key.split(".");
    if (t === tableName && groupName !== undefined && !(table[blockName]?.groups ?? []).some((g) => g.name === groupName)) {
      issues.push(`${tableName}.${blockName}: missing group ${groupName} (${need.join(", ")})`);
    }
  }
}

/** Validate a parsed map; throws with every problem named by its path. */
export function parseRegisterMap(data: unknown, source: string): RegisterMap {
  const parsed = registerMapSchema.safeParse(data);
  if (!parsed.success) throw new Error(`${source}: invalid register map\n${describeIssues(parsed.error.issues)}`);
  const map = parsed.data;
  const issues: string[] = [];
  checkTable(map.input, "input", map, issues);
  checkTable(map.holding, "holding", map, issues);
  const steps = map.holding.programSteps;
  if (blockUsedSize(steps) > map.maxWriteRegisters) {
    issues.push(`holding.programSteps: a step uses ${blockUsedSize(steps)} registers, more than one write (${map.maxWriteRegisters})`);
  }
  const enumWithin = (where: string, f: RegisterField, allowed: readonly string[]) => {
    const extra = (f.values ?? []).filter((v) => !allowed.includes(v));
    if (extra.length > 0) issues.push(`${where}: values ${extra.join(", ")} are not among ${allowed.join(", ")}`);
  };
  enumWithin("input.live.state", field(map.input.live.fields, "state"), CHANNEL_STATES);
  enumWithin("holding.programSteps.mode", field(steps.fields, "mode"), STEP_MODES);
  enumWithin("holding.programSteps.ends.quantity", field(group(steps, "ends").fields, "quantity"), END_QUANTITIES);
  enumWithin("holding.command.command", field(map.holding.command.fields, "command"), ["none", "load", ...CHANNEL_COMMANDS]);
  if (map.input.live.count !== map.input.programId.count) issues.push("input.programId: count must equal input.live.count");
  if (issues.length > 0) throw new Error(`${source}: invalid register map\n${issues.join("\n")}`);
  return map;
}

/** The map shipped with the station for the AXVIAM simulated cycler. */
export const DEFAULT_MODBUS_CYCLER_MAP_PATH = new URL("../../../station-config/maps/modbus-cycler.yaml", import.meta.url);

export async function loadRegisterMap(path: string | URL = DEFAULT_MODBUS_CYCLER_MAP_PATH): Promise<RegisterMap> {
  const text = await readFile(path, "utf8");
  return parseRegisterMap(parse(text), String(path));
}
