/**
 * OPC UA address-space maps (station-config/maps/opcua-*.yaml) as validated data: the simulator front-end builds
 * its address space from a map, the driver finds its nodes through the same map, the docs render it.
 * Node ids: objects carry an explicit string id; a variable's or method's id is `<parent id>.<browseName>`.
 */
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { describeIssues } from "../../domain/equipment/program.ts";

export const OPCUA_DATA_TYPES = ["String", "Boolean", "UInt32", "UInt64", "Double"] as const;
export type OpcuaDataType = (typeof OPCUA_DATA_TYPES)[number];

const browseName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*(\{nn\})?$/, "a browse name of letters and digits");
const nodeId = z.string().regex(/^[A-Za-z][A-Za-z0-9_.]*(\{nn\})?$/, "a string node id of letters, digits, '.'");

const unitSchema = z
  .object({
    /** UNECE Rec 20 common code; absent = no code (unitId -1) */
    code: z.string().regex(/^[A-Z0-9]{2,3}$/).optional(),
    symbol: z.string().min(1),
    name: z.string().min(1),
  })
  .strict();
export type OpcuaUnit = z.infer<typeof unitSchema>;

const rangeEnd = z.union([z.number(), z.string().regex(/^-?[A-Za-z]+$/, "a number or a (negated) limit name")]);

const variableSchema = z
  .object({
    browseName,
    field: z.string().min(1),
    dataType: z.enum(OPCUA_DATA_TYPES),
    unit: unitSchema.optional(),
    euRange: z.tuple([rangeEnd, rangeEnd]).optional(),
    description: z.string().optional(),
    /** absent from the address space when the instrument has no value for it */
    optional: z.boolean().default(false),
  })
  .strict()
  .refine((v) => v.euRange === undefined || v.unit !== undefined, { message: "euRange needs a unit", path: ["euRange"] });
export type OpcuaVariableMap = z.infer<typeof variableSchema>;

const argumentSchema = z
  .object({
    name: browseName,
    dataType: z.enum(OPCUA_DATA_TYPES),
    array: z.boolean().default(false),
    description: z.string().optional(),
  })
  .strict();
export type OpcuaArgumentMap = z.infer<typeof argumentSchema>;

const objectSchema = z.object({ browseName, nodeId }).strict();
const groupSchema = z.object({ browseName, nodeId, variables: z.array(variableSchema).min(1) }).strict();

function methodSchema<A extends readonly [string, ...string[]]>(actions: A) {
  return z
    .object({
      browseName,
      action: z.enum(actions),
      inputs: z.array(argumentSchema),
      outputs: z.array(argumentSchema).default([]),
      description: z.string().optional(),
    })
    .strict();
}

export const CYCLER_METHOD_ACTIONS = ["load", "start", "pause", "resume", "stop", "ack-fault", "read-records", "heartbeat"] as const;
export type CyclerMethodAction = (typeof CYCLER_METHOD_ACTIONS)[number];

export const LIVE_COLUMNS = [
  "stateCode", "voltageV", "currentA", "temperatureC", "stepCapacityAh", "stepEnergyWh",
  "stepIndex", "stepTimeS", "testTimeS", "cycle", "lastSeq", "alarmCode",
] as const;
export type LiveColumn = (typeof LIVE_COLUMNS)[number];

export const RECORD_COLUMNS = [
  "seq", "unixTimeS", "testTimeS", "stepIndex", "cycle", "voltageV", "currentA", "temperatureC",
  "chargeAh", "dischargeAh", "chargeWh", "dischargeWh", "flags",
] as const;
export type RecordColumn = (typeof RECORD_COLUMNS)[number];

function everyOnce<T extends string>(all: readonly T[]) {
  return z
    .array(z.enum(all as [T, ...T[]]))
    .refine((cols) => new Set(cols).size === cols.length && cols.length === all.length, { message: `must list each of ${all.join(", ")} once` });
}

function requireEachAction(methods: { action: string }[], actions: readonly string[], ctx: z.RefinementCtx): void {
  for (const action of actions) {
    if (methods.filter((x) => x.action === action).length !== 1) {
      ctx.addIssue({ code: "custom", path: ["methods"], message: `needs exactly one method with action "${action}"` });
    }
  }
}

export const opcuaCyclerMapSchema = z
  .object({
    kind: z.literal("cycler"),
    namespaceUri: z.string().min(1),
    root: objectSchema,
    identification: groupSchema,
    stateCodes: z.array(z.string()).min(1),
    channels: groupSchema,
    live: z.object({ values: objectSchema, programIds: objectSchema, columns: everyOnce(LIVE_COLUMNS) }).strict(),
    records: z.object({ columns: everyOnce(RECORD_COLUMNS) }).strict(),
    methods: z.array(methodSchema(CYCLER_METHOD_ACTIONS)),
  })
  .strict()
  .superRefine((m, ctx) => requireEachAction(m.methods, CYCLER_METHOD_ACTIONS, ctx));
export type OpcuaCyclerMap = z.infer<typeof opcuaCyclerMapSchema>;

export const CHAMBER_METHOD_ACTIONS = ["set-setpoint", "run-profile"] as const;
export type ChamberMethodAction = (typeof CHAMBER_METHOD_ACTIONS)[number];
export const opcuaChamberMapSchema = z
  .object({
    kind: z.literal("chamber"),
    namespaceUri: z.string().min(1),
    root: objectSchema,
    identification: groupSchema,
    variables: z.array(variableSchema).min(1),
    methods: z.array(methodSchema(CHAMBER_METHOD_ACTIONS)),
  })
  .strict()
  .superRefine((m, ctx) => requireEachAction(m.methods, CHAMBER_METHOD_ACTIONS, ctx));
export type OpcuaChamberMap = z.infer<typeof opcuaChamberMapSchema>;

export type OpcuaMap = OpcuaCyclerMap | OpcuaChamberMap;

/** Parse a map's YAML text; errors name the file and the field. */
export function parseOpcuaMap(yamlText: string, source: string): OpcuaMap {
  const raw: unknown = parseYaml(yamlText);
  const kind = (raw as { kind?: unknown } | null)?.kind;
  const schema = kind === "chamber" ? opcuaChamberMapSchema : opcuaCyclerMapSchema;
  const result = schema.safeParse(raw);
  if (!result.success) throw new Error(`${source}: invalid OPC UA map\n${describeIssues(result.error.issues)}`);
  return result.data;
}

export async function loadOpcuaCyclerMap(path: string): Promise<OpcuaCyclerMap> {
  const map = parseOpcuaMap(await readFile(path, "utf8"), path);
  if (map.kind !== "cycler") throw new Error(`${path}: expected a cycler map, found kind "${map.kind}"`);
  return map;
}

export async function loadOpcuaChamberMap(path: string): Promise<OpcuaChamberMap> {
  const map = parseOpcuaMap(await readFile(path, "utf8"), path);
  if (map.kind !== "chamber") throw new Error(`${path}: expected a chamber map, found kind "${map.kind}"`);
  return map;
}

/** The default maps shipped in station-config/maps. */
export const DEFAULT_OPCUA_CYCLER_MAP = new URL("../../../station-config/maps/opcua-cycler.yaml", import.meta.url).pathname;
export const DEFAULT_OPCUA_CHAMBER_MAP = new URL("../../../station-config/maps/opcua-chamber.yaml", import.meta.url).pathname;

/** `{nn}` → the channel number, zero-padded to 2 digits (3 when the cycler has more than 99 channels). */
export function forChannel(pattern: string, channel: number, channelCount: number): string {
  return pattern.replace("{nn}", String(channel).padStart(channelCount > 99 ? 3 : 2, "0"));
}

export function childNodeId(parentNodeId: string, childBrowseName: string): string {
  return `${parentNodeId}.${childBrowseName}`;
}

/** Resolve a euRange end: a number, or a (negated) field of `limits`. */
export function resolveRangeEnd(end: number | string, limits: Record<string, unknown>, where: string): number {
  if (typeof end === "number") return end;
  const negate = end.startsWith("-");
  const value = limits[negate ? end.slice(1) : end];
  if (typeof value !== "number") throw new Error(`${where}: euRange refers to "${end}", which is not a numeric limit`);
  return negate ? -value : value;
}

/** A dotted field path ("limits.maxVoltageV") read from an object. */
export function readField(source: object, field: string): unknown {
  return field.split(".").reduce<unknown>((o, k) => (o !== null && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), source);
}
