/**
 * Station configuration schema (station-config/*.yaml), validated once at start-up (server/config/load-config.ts).
 * Every default is stated here; the rest of the code trusts the typed, frozen result.
 */
import { z } from "zod";
import { envVarName, secretFilePath, secretSourceIssues } from "../plant/plant-secrets.ts";

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "an id of letters, digits, '_', '.', '-' (max 64)");
const port = z.number().int().min(0).max(65535); // 0 = ephemeral (tests)

/** Simulated clock: simulated seconds per wall second, or "afap" (as fast as possible, tests only). */
const clockSchema = z
  .object({
    speed: z.union([z.number().min(1).max(1_000_000), z.literal("afap")]).default(60),
    /** simulated start time, ISO 8601; default: the wall clock at start */
    start: z.string().datetime().optional(),
  })
  .strict();

const populationSchema = z
  .object({
    /** new cells for factory imprint, or returned second-life cells */
    kind: z.enum(["new", "second-life"]).default("new"),
    chemistry: z.enum(["nmc811-graphite", "lfp-graphite"]).default("nmc811-graphite"),
    seed: z.number().int().default(1),
    /** fraction of cells with a micro-short (new lots) */
    microShortRate: z.number().min(0).max(1).default(0),
    /** fraction of cells with abnormally high resistance (new lots) */
    highResistanceRate: z.number().min(0).max(1).default(0),
    serialPrefix: z.string().max(24).default("SIM"),
    /** channels (1-based) that get a micro-short / high-resistance cell, in addition to the rates (tests, demos) */
    microShortChannels: z.array(z.number().int().min(1)).default([]),
    highResistanceChannels: z.array(z.number().int().min(1)).default([]),
  })
  .strict();

export const OPCUA_SECURITY_MODES = ["None", "Sign", "SignAndEncrypt"] as const;
export const OPCUA_SECURITY_POLICIES = ["None", "Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"] as const;
export type OpcuaSecurityModeName = (typeof OPCUA_SECURITY_MODES)[number];
export type OpcuaSecurityPolicyName = (typeof OPCUA_SECURITY_POLICIES)[number];

/**
 * OPC UA security of one instrument (docs/operations.md). On equipment: what the station connects with. On a
 * simulator: the only endpoint its server offers, and the one user it accepts (anonymous is then refused).
 * The password is never written here: `passwordEnv` names the environment variable that holds it.
 */
export const opcuaSecuritySchema = z
  .object({
    mode: z.enum(OPCUA_SECURITY_MODES).default("SignAndEncrypt"),
    policy: z.enum(OPCUA_SECURITY_POLICIES).default("Basic256Sha256"),
    username: z.string().min(1).max(128).optional(),
    /** name of the environment variable holding the password, e.g. AXVIAM_CYCLER1_OPCUA_PASSWORD */
    passwordEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name").optional(),
  })
  .strict()
  .refine((s) => (s.username === undefined) === (s.passwordEnv === undefined), { message: "set both username and passwordEnv, or neither", path: ["passwordEnv"] })
  .refine((s) => (s.mode === "None") === (s.policy === "None"), { message: "mode None goes with policy None, and Sign/SignAndEncrypt need a real policy", path: ["policy"] });
export type OpcuaSecurityConfig = z.infer<typeof opcuaSecuritySchema>;

const opcuaOnly = { message: "security applies to OPC UA equipment only", path: ["security"] };

const simCyclerSchema = z
  .object({
    id,
    protocol: z.enum(["opcua", "modbus"]),
    host: z.string().default("127.0.0.1"),
    port: port,
    channels: z.number().int().min(1).max(512),
    /** chamber (by id) the cycler's cells sit in; none = ambient at ambientC */
    chamber: id.optional(),
    ambientC: z.number().min(-40).max(80).default(25),
    population: populationSchema.default(populationSchema.parse({})),
    /** heartbeat watchdog timeout [ms wall time]; 0 = disabled */
    watchdogMs: z.number().int().min(0).default(30_000),
    recordBufferSize: z.number().int().min(64).max(1_000_000).default(20_000),
    security: opcuaSecuritySchema.optional(),
  })
  .strict()
  .refine((c) => c.security === undefined || c.protocol === "opcua", opcuaOnly);

const simChamberSchema = z
  .object({
    id,
    protocol: z.enum(["opcua", "modbus"]).default("opcua"),
    host: z.string().default("127.0.0.1"),
    port,
    initialC: z.number().default(25),
    /** air time constant of the chamber [s] */
    timeConstantS: z.number().positive().default(300),
    maxRampKPerMin: z.number().positive().default(5),
    security: opcuaSecuritySchema.optional(),
  })
  .strict()
  .refine((c) => c.security === undefined || c.protocol === "opcua", opcuaOnly);

export const simulatorsSchema = z
  .object({
    enabled: z.boolean().default(true),
    clock: clockSchema.default(clockSchema.parse({})),
    cyclers: z.array(simCyclerSchema).default([]),
    chambers: z.array(simChamberSchema).default([]),
  })
  .strict();

const equipmentCyclerSchema = z
  .object({
    id,
    protocol: z.enum(["opcua", "modbus"]),
    /** opc.tcp://host:port or modbus://host:port; or name an embedded simulator instead */
    endpoint: z.string().optional(),
    simulator: id.optional(),
    channels: z.number().int().min(1).max(512),
    /** protocol map (node ids / register map) relative to the config folder; default per protocol */
    map: z.string().optional(),
    unitId: z.number().int().min(0).max(255).default(1),
    pollIntervalMs: z.number().int().min(50).default(1000),
    heartbeatIntervalMs: z.number().int().min(100).default(2000),
    requestTimeoutMs: z.number().int().min(100).default(3000),
    chamber: id.optional(),
    security: opcuaSecuritySchema.optional(),
  })
  .strict()
  .refine((c) => (c.endpoint === undefined) !== (c.simulator === undefined), {
    message: "set exactly one of endpoint or simulator",
    path: ["endpoint"],
  })
  .refine((c) => c.security === undefined || c.protocol === "opcua", opcuaOnly);

const equipmentChamberSchema = z
  .object({
    id,
    protocol: z.enum(["opcua", "modbus"]).default("opcua"),
    endpoint: z.string().optional(),
    simulator: id.optional(),
    requestTimeoutMs: z.number().int().min(100).default(3000),
    security: opcuaSecuritySchema.optional(),
  })
  .strict()
  .refine((c) => (c.endpoint === undefined) !== (c.simulator === undefined), {
    message: "set exactly one of endpoint or simulator",
    path: ["endpoint"],
  })
  .refine((c) => c.security === undefined || c.protocol === "opcua", opcuaOnly);

/**
 * Joining a plant (DESIGN §13): publish live summaries, alarms and finished grades to an MQTT broker. Off by default:
 * the station is self-contained; with the plant enabled it still works alone while the broker is away (grades and
 * alarms wait in a persistent outbox in the data folder).
 */
export const plantSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** topic levels: <topicPrefix>/<plantId>/<lineId>/<station.id>/... */
    plantId: id.default("plant"),
    lineId: id.default("line-1"),
    mqtt: z
      .object({
        /** mqtt://host:1883, mqtts://host:8883, ws://… */
        url: z.string().regex(/^(mqtts?|wss?):\/\/[^\s]+$/, "an mqtt://, mqtts://, ws:// or wss:// URL"),
        /** default: axviam-<station.id> (stable, so the broker recognises the station after a restart) */
        clientId: z.string().min(1).max(128).optional(),
        username: z.string().optional(),
        /** inline works but is logged as a warning: prefer passwordFile or passwordEnv (server/plant/plant-secrets.ts) */
        password: z.string().optional(),
        /** a file holding only the password (e.g. /run/secrets/mqtt); relative to this config file's folder */
        passwordFile: secretFilePath.optional(),
        /** name of an environment variable holding the password */
        passwordEnv: envVarName.optional(),
        topicPrefix: id.default("axviam"),
        /** reconnect period after a lost connection [ms] */
        reconnectMs: z.number().int().min(100).default(2000),
      })
      .strict()
      .superRefine((m, ctx) => secretSourceIssues(m, "password", ctx))
      .optional(),
    /** period of the live channel summary and status messages [ms] */
    publishLiveEveryMs: z.number().int().min(100).default(5000),
    /**
     * The plant service's REST API (`npm run plant`), for the HMI's plant scope. The station forwards the plant
     * queries of signed-in supervisors and QA to it (permission plant.read), so the browser talks to one origin and
     * the plant API need not be reachable from every desk. Independent of `enabled`: a station can show the plant
     * without publishing to it.
     */
    service: z
      .object({
        /** http://plant-host:8090 */
        url: z.string().regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, "an http:// or https:// URL"),
        /** bearer token the plant service requires (its http.token); prefer tokenFile or tokenEnv */
        token: z.string().optional(),
        tokenFile: secretFilePath.optional(),
        tokenEnv: envVarName.optional(),
        /** a plant query slower than this answers 504 [ms] */
        timeoutMs: z.number().int().min(100).max(60_000).default(5000),
      })
      .strict()
      .superRefine((s, ctx) => secretSourceIssues(s, "token", ctx))
      .optional(),
  })
  .strict()
  .refine((p) => !p.enabled || p.mqtt !== undefined, { message: "an enabled plant needs mqtt.url", path: ["mqtt"] });

export const stationConfigSchema = z
  .object({
    station: z
      .object({
        id,
        name: z.string().min(1).max(80),
        /** runtime data (lowdb files, traces, audit, keys); relative to the working directory */
        dataDir: z.string().default("data"),
      })
      .strict(),
    http: z
      .object({
        host: z.string().default("0.0.0.0"),
        port: port.default(8080),
      })
      .strict()
      .default({ host: "0.0.0.0", port: 8080 }),
    logging: z
      .object({ level: z.enum(["fatal", "error", "warn", "info", "debug", "trace"]).default("info") })
      .strict()
      .default({ level: "info" }),
    simulators: simulatorsSchema.default(simulatorsSchema.parse({ enabled: false })),
    equipment: z
      .object({
        cyclers: z.array(equipmentCyclerSchema).min(1),
        chambers: z.array(equipmentChamberSchema).default([]),
      })
      .strict(),
    /** recipe files, relative to the config folder */
    recipesDir: z.string().default("recipes"),
    plant: plantSchema.default(plantSchema.parse({})),
  })
  .strict()
  .superRefine((c, ctx) => {
    const simIds = new Set([...c.simulators.cyclers, ...c.simulators.chambers].map((s) => s.id));
    const check = (list: { simulator?: string }[], key: "cyclers" | "chambers") =>
      list.forEach((e, i) => {
        if (e.simulator !== undefined && (!c.simulators.enabled || !simIds.has(e.simulator))) {
          ctx.addIssue({
            code: "custom",
            path: ["equipment", key, i, "simulator"],
            message: `no enabled embedded simulator with id "${e.simulator}"`,
          });
        }
      });
    check(c.equipment.cyclers, "cyclers");
    check(c.equipment.chambers, "chambers");
  });

export type StationConfig = z.infer<typeof stationConfigSchema>;
export type PlantConfig = z.infer<typeof plantSchema>;
export type SimulatorsConfig = z.infer<typeof simulatorsSchema>;
export type SimCyclerConfig = z.infer<typeof simCyclerSchema>;
export type SimChamberConfig = z.infer<typeof simChamberSchema>;
export type EquipmentCyclerConfig = z.infer<typeof equipmentCyclerSchema>;
export type EquipmentChamberConfig = z.infer<typeof equipmentChamberSchema>;
