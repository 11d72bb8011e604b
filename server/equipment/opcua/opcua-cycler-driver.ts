/**
 * CyclerDriver over OPC UA, for any server that follows the address-space map (station-config/maps/opcua-cycler.yaml).
 * Live values: one Read of the bulk LiveValues + LiveProgramIds variables. Records: the ReadRecords method.
 */
import { DataType, StatusCodes, Variant, VariantArrayType, type DataValue } from "node-opcua-client";
import { ALARM_CODES, CHANNEL_STATES, type ChannelCommand, type ChannelLive, type ChannelRecord, type ChannelState } from "../../domain/equipment/channel.ts";
import { programLimitViolations } from "../../domain/equipment/program-limits.ts";
import { describeIssues, limitsSchema, programSchema, type Program } from "../../domain/equipment/program.ts";
import { EquipmentError, type ChannelChange, type CyclerDriver, type CyclerInfo, type LinkState } from "../cycler-driver.ts";
import { OpcuaLink } from "./opcua-link.ts";
import type { OpcuaSecurity } from "./opcua-security.ts";
import { childNodeId, DEFAULT_OPCUA_CYCLER_MAP, forChannel, loadOpcuaCyclerMap, type CyclerMethodAction, type OpcuaCyclerMap } from "./opcua-map.ts";

export interface OpcuaCyclerDriverOptions {
  endpointUrl: string;
  /** a parsed map or a path to one; default station-config/maps/opcua-cycler.yaml */
  map?: OpcuaCyclerMap | string;
  /** names the equipment in errors; default the endpoint URL */
  equipmentId?: string;
  /** per request [ms]; default 3000 */
  requestTimeoutMs?: number;
  /** reconnect backoff; defaults 250 ms doubling to 10 s */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /** client PKI folder; default a fresh temp folder, removed at close */
  pkiDir?: string;
  /** message security and user token; default None/anonymous */
  security?: OpcuaSecurity;
  /** how often the server sends subscribed changes (watchChanges) [ms]; default 50 */
  publishingIntervalMs?: number;
}

/** The per-channel variables a change subscription watches: what an operator must see at once. */
const WATCHED_FIELDS = ["stateCode", "alarmCode", "stepIndex"] as const;

const COMMAND_ACTIONS: Record<ChannelCommand, CyclerMethodAction> = { start: "start", pause: "pause", resume: "resume", stop: "stop", "ack-fault": "ack-fault" };

/** Readings beyond these spans cannot come from a working instrument (they are not program limits). */
function measurementSpan(limits: CyclerInfo["limits"]) {
  return {
    voltageV: 2 * Math.max(Math.abs(limits.maxVoltageV), Math.abs(limits.minVoltageV)),
    currentA: 2 * limits.maxCurrentA,
    temperatureC: [-100, 300] as const,
  };
}

function setField(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let o = target;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
  o[keys[keys.length - 1]] = value;
}

export function createOpcuaCyclerDriver(o: OpcuaCyclerDriverOptions): CyclerDriver {
  const equipmentId = o.equipmentId ?? o.endpointUrl;
  let map: OpcuaCyclerMap | undefined = typeof o.map === "object" ? o.map : undefined;
  let info: CyclerInfo | undefined;

  const readInfo = async (link: OpcuaLink): Promise<CyclerInfo> => {
    const vars = map!.identification.variables;
    const values = await link.read("read identification", vars.map((v) => link.nodeId(childNodeId(map!.identification.nodeId, v.browseName))));
    const raw: Record<string, unknown> = {};
    vars.forEach((v, i) => {
      const dv = values[i];
      if (dv.statusCode.isGood()) setField(raw, v.field, dv.value.value);
      else if (!(v.optional && dv.statusCode.value === StatusCodes.BadNodeIdUnknown.value)) {
        throw new EquipmentError("protocol", `${equipmentId}: identification ${v.browseName}: ${dv.statusCode.name}`, equipmentId);
      }
    });
    const limits = limitsSchema.safeParse(raw.limits);
    if (!limits.success) throw new EquipmentError("invalid-reading", `${equipmentId}: instrument limits\n${describeIssues(limits.error.issues, "limits")}`, equipmentId);
    const text = (k: string) => String(raw[k] ?? "");
    const count = (k: string) => {
      const n = raw[k];
      if (typeof n !== "number" || !Number.isInteger(n) || n < 0) throw new EquipmentError("invalid-reading", `${equipmentId}: identification ${k} is ${String(n)}`, equipmentId);
      return n;
    };
    return {
      model: text("model"),
      serial: text("serial"),
      firmware: text("firmware"),
      channelCount: count("channelCount"),
      limits: limits.data,
      simulated: raw.simulated === true,
      recordBufferSize: count("recordBufferSize"),
      bootId: count("bootId"),
    };
  };

  const listeners: ((s: LinkState) => void)[] = [];
  let link: OpcuaLink | undefined;
  const openLink = (m: OpcuaCyclerMap): OpcuaLink => {
    const l = new OpcuaLink({
      endpointUrl: o.endpointUrl,
      namespaceUri: m.namespaceUri,
      equipmentId,
      requestTimeoutMs: o.requestTimeoutMs,
      reconnect: o.reconnect,
      pkiDir: o.pkiDir,
      security: o.security,
      async onSession(session) {
        const fresh = await readInfo(session);
        const before = info;
        info = fresh;
        return before !== undefined && before.bootId !== fresh.bootId ? `cycler rebooted (bootId ${before.bootId} → ${fresh.bootId}): its record buffers were cleared` : undefined;
      },
    });
    l.on((state) => listeners.forEach((fn) => fn(state)));
    return l;
  };

  const connected = (): { map: OpcuaCyclerMap; info: CyclerInfo; link: OpcuaLink } => {
    if (map === undefined || info === undefined || link === undefined) throw new EquipmentError("unreachable", `${equipmentId}: connect() first`, equipmentId);
    return { map, info, link };
  };
  const checkChannel = (channel: number): void => {
    const { info } = connected();
    if (!Number.isInteger(channel) || channel < 1 || channel > info.channelCount) {
      throw new EquipmentError("rejected", `${equipmentId}: channel ${channel} does not exist (1..${info.channelCount})`, equipmentId, channel);
    }
  };
  const call = (action: CyclerMethodAction, args: Variant[], channel?: number): Promise<Variant[]> => {
    const { map, link } = connected();
    const m = map.methods.find((x) => x.action === action)!;
    const what = channel === undefined ? m.browseName : `channel ${channel}: ${m.browseName}`;
    return link.call(what, link.nodeId(map.root.nodeId), link.nodeId(childNodeId(map.root.nodeId, m.browseName)), args, channel);
  };
  const channelVariant = (channel: number) => new Variant({ dataType: DataType.UInt32, value: channel });

  const decodeLive = (values: DataValue, programIds: DataValue): ChannelLive[] => {
    const { map, info } = connected();
    for (const [name, dv] of [["LiveValues", values], ["LiveProgramIds", programIds]] as const) {
      if (!dv.statusCode.isGood()) throw new EquipmentError("protocol", `${equipmentId}: read ${name}: ${dv.statusCode.name}`, equipmentId);
    }
    const cols = map.live.columns;
    const doubles = values.value.value as Float64Array;
    const ids = programIds.value.value as string[];
    if (doubles.length !== info.channelCount * cols.length || ids.length !== info.channelCount) {
      throw new EquipmentError("protocol", `${equipmentId}: LiveValues holds ${doubles.length} values / ${ids.length} program ids, expected ${info.channelCount} channels × ${cols.length}`, equipmentId);
    }
    const span = measurementSpan(info.limits);
    return ids.map((programId, i) => {
      const row = Object.fromEntries(cols.map((c, j) => [c, doubles[i * cols.length + j]])) as Record<(typeof cols)[number], number>;
      const channel = i + 1;
      const state = map.stateCodes[row.stateCode] as ChannelState | undefined;
      const bad: string[] = [];
      const measured = (k: "voltageV" | "currentA", max: number) => (Number.isFinite(row[k]) && Math.abs(row[k]) <= max ? row[k] : (bad.push(k), Number.NaN));
      const counter = (k: "stepIndex" | "cycle" | "lastSeq" | "alarmCode") => (Number.isSafeInteger(row[k]) && row[k] >= 0 ? row[k] : (bad.push(k), 0));
      const amount = (k: "stepCapacityAh" | "stepEnergyWh" | "stepTimeS" | "testTimeS") => (Number.isFinite(row[k]) && row[k] >= 0 ? row[k] : (bad.push(k), Number.NaN));
      const t = row.temperatureC;
      const live: ChannelLive = {
        channel,
        state: state !== undefined && (CHANNEL_STATES as readonly string[]).includes(state) ? state : (bad.push("state"), "offline"),
        voltageV: measured("voltageV", span.voltageV),
        currentA: measured("currentA", span.currentA),
        temperatureC: Number.isFinite(t) && t >= span.temperatureC[0] && t <= span.temperatureC[1] ? t : (bad.push("temperatureC"), Number.NaN),
        stepCapacityAh: amount("stepCapacityAh"),
        stepEnergyWh: amount("stepEnergyWh"),
        stepIndex: counter("stepIndex"),
        stepTimeS: amount("stepTimeS"),
        testTimeS: amount("testTimeS"),
        cycle: counter("cycle"),
        lastSeq: BigInt(counter("lastSeq")),
        alarmCode: counter("alarmCode"),
        programId,
      };
      // An impossible reading is flagged with the invalid-reading alarm and NaN in place of the value, never passed on.
      if (bad.length > 0) live.alarmCode = ALARM_CODES.invalidReading;
      return live;
    });
  };

  const decodeRecords = (outputs: Variant[], channel: number, max: number): ChannelRecord[] => {
    const columns = outputs[0]?.value as string[] | undefined;
    const values = outputs[1]?.value as Float64Array | undefined;
    if (!Array.isArray(columns) || !(values instanceof Float64Array) || values.length % columns.length !== 0) {
      throw new EquipmentError("protocol", `${equipmentId}: channel ${channel}: ReadRecords returned no Columns/Values table`, equipmentId, channel);
    }
    const { map } = connected();
    const index = Object.fromEntries(map.records.columns.map((c) => [c, columns.indexOf(c)]));
    const missing = map.records.columns.filter((c) => index[c] < 0);
    if (missing.length > 0) throw new EquipmentError("protocol", `${equipmentId}: channel ${channel}: ReadRecords lacks columns ${missing.join(", ")}`, equipmentId, channel);
    const n = values.length / columns.length;
    if (n > max) throw new EquipmentError("protocol", `${equipmentId}: channel ${channel}: ReadRecords returned ${n} records, asked for at most ${max}`, equipmentId, channel);
    const records: ChannelRecord[] = [];
    for (let i = 0; i < n; i++) {
      const at = (c: string) => values[i * columns.length + index[c]];
      const bad = map.records.columns.filter((c) => !Number.isFinite(at(c)));
      if (bad.length > 0) {
        throw new EquipmentError("invalid-reading", `${equipmentId}: channel ${channel}: record seq ${at("seq")} has invalid ${bad.join(", ")}`, equipmentId, channel);
      }
      records.push({
        seq: BigInt(at("seq")), unixTimeS: at("unixTimeS"), testTimeS: at("testTimeS"), stepIndex: at("stepIndex"), cycle: at("cycle"),
        voltageV: at("voltageV"), currentA: at("currentA"), temperatureC: at("temperatureC"), chargeAh: at("chargeAh"),
        dischargeAh: at("dischargeAh"), chargeWh: at("chargeWh"), dischargeWh: at("dischargeWh"), flags: at("flags"),
      });
    }
    return records;
  };

  return {
    async connect(signal) {
      map ??= await loadOpcuaCyclerMap(typeof o.map === "string" ? o.map : DEFAULT_OPCUA_CYCLER_MAP);
      link ??= openLink(map);
      await link.connect(signal);
      return structuredClone(connected().info);
    },
    async readLive() {
      const { map, link, info } = connected();
      const bootVar = map.identification.variables.find((v) => v.field === "bootId");
      const nodes = [link.nodeId(map.live.values.nodeId), link.nodeId(map.live.programIds.nodeId)];
      // the boot id rides along (one more node in the same Read): a reboot that kept the session is seen at once
      if (bootVar) nodes.push(link.nodeId(childNodeId(map.identification.nodeId, bootVar.browseName)));
      const [values, programIds, boot] = await link.read("read live values", nodes);
      const live = decodeLive(values, programIds);
      const bootId = boot?.statusCode.isGood() ? Number(boot.value.value) : undefined;
      if (bootId !== undefined && Number.isSafeInteger(bootId) && bootId !== info.bootId) {
        const reason = `cycler rebooted (bootId ${info.bootId} → ${bootId}): its record buffers were cleared`;
        info.bootId = bootId;
        listeners.forEach((l) => l({ status: "connected", reason }));
      }
      return live;
    },
    bootId: () => info?.bootId,
    watchChanges(fn) {
      const { map, info, link } = connected();
      const vars = WATCHED_FIELDS.map((field) => {
        const v = map.channels.variables.find((x) => x.field === field);
        if (!v) throw new EquipmentError("protocol", `${equipmentId}: the OPC UA map has no channel variable for ${field}`, equipmentId);
        return v.browseName;
      });
      const nodeIds: string[] = [];
      for (let ch = 1; ch <= info.channelCount; ch++) {
        const objectId = forChannel(map.channels.nodeId, ch, info.channelCount);
        for (const browseName of vars) nodeIds.push(link.nodeId(childNodeId(objectId, browseName)));
      }
      // One subscription notification carries many items; hand them over as one batch per notification.
      let batch = new Map<number, ChannelChange>();
      const flush = () => {
        const out = [...batch.values()];
        batch = new Map();
        if (out.length > 0) fn(out);
      };
      link.watch({
        nodeIds,
        publishingIntervalMs: o.publishingIntervalMs ?? 50,
        onChange(index, dv) {
          if (!dv.statusCode.isGood()) return; // a bad value is left to the next bulk read, which flags it
          const channel = Math.floor(index / WATCHED_FIELDS.length) + 1;
          const field = WATCHED_FIELDS[index % WATCHED_FIELDS.length];
          const raw = Number(dv.value.value);
          const change = batch.get(channel) ?? { channel };
          if (batch.size === 0) queueMicrotask(flush);
          batch.set(channel, change);
          if (field === "stateCode") {
            const state = map.stateCodes[raw] as ChannelState | undefined;
            if (state !== undefined && (CHANNEL_STATES as readonly string[]).includes(state)) change.state = state;
          } else if (Number.isSafeInteger(raw) && raw >= 0) change[field] = raw;
        },
        onError: (err) => listeners.forEach((l) => l({ status: "connected", reason: `no change subscription (${err.message}): live values by polling only` })),
      });
    },
    async readRecords(channel, afterSeq, max) {
      checkChannel(channel);
      if (afterSeq < 0n || afterSeq > BigInt(Number.MAX_SAFE_INTEGER)) throw new EquipmentError("rejected", `${equipmentId}: channel ${channel}: afterSeq ${afterSeq} out of range`, equipmentId, channel);
      const afterSeqVariant = new Variant({ dataType: DataType.UInt64, arrayType: VariantArrayType.Scalar, value: [Number(afterSeq >> 32n), Number(afterSeq & 0xffffffffn)] });
      const outputs = await call("read-records", [channelVariant(channel), afterSeqVariant, new Variant({ dataType: DataType.UInt32, value: max })], channel);
      return decodeRecords(outputs, channel, max);
    },
    async load(channel: number, program: Program) {
      checkChannel(channel);
      const parsed = programSchema.safeParse(program);
      if (!parsed.success) throw new EquipmentError("rejected", `${equipmentId}: channel ${channel}: invalid program\n${describeIssues(parsed.error.issues, "program")}`, equipmentId, channel);
      const violations = programLimitViolations(parsed.data, connected().info.limits);
      if (violations.length > 0) throw new EquipmentError("rejected", `${equipmentId}: channel ${channel}: program "${program.id}" exceeds the instrument\n${violations.join("\n")}`, equipmentId, channel);
      await call("load", [channelVariant(channel), new Variant({ dataType: DataType.String, value: JSON.stringify(parsed.data) })], channel);
    },
    async command(channel, cmd) {
      checkChannel(channel);
      await call(COMMAND_ACTIONS[cmd], [channelVariant(channel)], channel);
    },
    async heartbeat() {
      await call("heartbeat", []);
    },
    async close() {
      await link?.close();
    },
    on(_event: "state", fn: (s: LinkState) => void) {
      listeners.push(fn);
    },
  };
}
