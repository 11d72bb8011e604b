/** ChamberDriver over OPC UA, for any server that follows station-config/maps/opcua-chamber.yaml. */
import { DataType, StatusCodes, Variant, VariantArrayType } from "node-opcua-client";
import { EquipmentError, type ChamberDriver, type ChamberInfo, type ChamberProfilePoint, type ChamberReading, type LinkState } from "../cycler-driver.ts";
import { OpcuaLink } from "./opcua-link.ts";
import type { OpcuaSecurity } from "./opcua-security.ts";
import { childNodeId, DEFAULT_OPCUA_CHAMBER_MAP, loadOpcuaChamberMap, type ChamberMethodAction, type OpcuaChamberMap } from "./opcua-map.ts";

export interface OpcuaChamberDriverOptions {
  endpointUrl: string;
  map?: OpcuaChamberMap | string;
  equipmentId?: string;
  requestTimeoutMs?: number;
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  pkiDir?: string;
  /** message security and user token; default None/anonymous */
  security?: OpcuaSecurity;
}

/** A chamber reading this far outside its own range is not a temperature. */
const PLAUSIBLE_MARGIN_K = 50;

export function createOpcuaChamberDriver(o: OpcuaChamberDriverOptions): ChamberDriver {
  const equipmentId = o.equipmentId ?? o.endpointUrl;
  const listeners: ((s: LinkState) => void)[] = [];
  let map: OpcuaChamberMap | undefined = typeof o.map === "object" ? o.map : undefined;
  let link: OpcuaLink | undefined;
  let info: ChamberInfo | undefined;

  /** Read the map's variables of one group into {field: value}; a missing optional node is left out. */
  const readGroup = async (l: OpcuaLink, what: string, parentNodeId: string, vars: OpcuaChamberMap["variables"]) => {
    const values = await l.read(what, vars.map((v) => l.nodeId(childNodeId(parentNodeId, v.browseName))));
    const out: Record<string, unknown> = {};
    vars.forEach((v, i) => {
      const dv = values[i];
      if (dv.statusCode.isGood()) out[v.field] = dv.value.value;
      else if (!(v.optional && dv.statusCode.value === StatusCodes.BadNodeIdUnknown.value)) {
        throw new EquipmentError("protocol", `${equipmentId}: ${what}: ${v.browseName}: ${dv.statusCode.name}`, equipmentId);
      }
    });
    return out;
  };
  const call = (map: OpcuaChamberMap, link: OpcuaLink, action: ChamberMethodAction, args: Variant[]) => {
    const method = map.methods.find((m) => m.action === action)!;
    return link.call(method.browseName, link.nodeId(map.root.nodeId), link.nodeId(childNodeId(map.root.nodeId, method.browseName)), args);
  };
  const connected = () => {
    if (map === undefined || link === undefined || info === undefined) throw new EquipmentError("unreachable", `${equipmentId}: connect() first`, equipmentId);
    return { map, link, info };
  };

  return {
    async connect(signal) {
      map ??= await loadOpcuaChamberMap(typeof o.map === "string" ? o.map : DEFAULT_OPCUA_CHAMBER_MAP);
      const m = map;
      if (link === undefined) {
        link = new OpcuaLink({
        endpointUrl: o.endpointUrl, namespaceUri: m.namespaceUri, equipmentId, requestTimeoutMs: o.requestTimeoutMs, reconnect: o.reconnect, pkiDir: o.pkiDir, security: o.security,
        async onSession(l) {
          const raw = await readGroup(l, "read identification", m.identification.nodeId, m.identification.variables);
          const minC = Number(raw.minC);
          const maxC = Number(raw.maxC);
          if (!Number.isFinite(minC) || !Number.isFinite(maxC) || minC >= maxC) {
            throw new EquipmentError("invalid-reading", `${equipmentId}: chamber range ${raw.minC}..${raw.maxC} °C is not a range`, equipmentId);
          }
          info = { model: String(raw.model ?? ""), serial: String(raw.serial ?? ""), minC, maxC, simulated: raw.simulated === true };
          return undefined;
        },
        });
        link.on((s) => listeners.forEach((fn) => fn(s)));
      }
      await link.connect(signal);
      return { ...connected().info };
    },
    async read(): Promise<ChamberReading> {
      const { map, link, info } = connected();
      const raw = await readGroup(link, "read chamber", map.root.nodeId, map.variables);
      const temperature = (field: "setpointC" | "actualC") => {
        const t = raw[field];
        if (typeof t !== "number" || !Number.isFinite(t) || t < info.minC - PLAUSIBLE_MARGIN_K || t > info.maxC + PLAUSIBLE_MARGIN_K) {
          throw new EquipmentError("invalid-reading", `${equipmentId}: chamber ${field} reads ${String(t)}`, equipmentId);
        }
        return t;
      };
      return { setpointC: temperature("setpointC"), actualC: temperature("actualC"), stable: raw.stable === true, alarmCode: Number(raw.alarmCode ?? 0) };
    },
    async setpoint(celsius, rampKPerMin) {
      const { map, link, info } = connected();
      if (!Number.isFinite(celsius) || celsius < info.minC || celsius > info.maxC) {
        throw new EquipmentError("rejected", `${equipmentId}: setpoint ${celsius} °C is outside the chamber's ${info.minC}..${info.maxC} °C`, equipmentId);
      }
      if (rampKPerMin !== undefined && !(rampKPerMin > 0)) throw new EquipmentError("rejected", `${equipmentId}: rampKPerMin ${rampKPerMin} must be > 0`, equipmentId);
      await call(map, link, "set-setpoint", [
        new Variant({ dataType: DataType.Double, value: celsius }),
        new Variant({ dataType: DataType.Double, value: rampKPerMin ?? 0 }),
      ]);
    },
    async profile(points: ChamberProfilePoint[]) {
      const { map, link, info } = connected();
      if (points.length === 0) throw new EquipmentError("rejected", `${equipmentId}: a profile needs at least one point`, equipmentId);
      points.forEach((p, i) => {
        if (!Number.isFinite(p.setpointC) || p.setpointC < info.minC || p.setpointC > info.maxC) {
          throw new EquipmentError("rejected", `${equipmentId}: profile point ${i}: setpoint ${p.setpointC} °C is outside the chamber's ${info.minC}..${info.maxC} °C`, equipmentId);
        }
        if (!Number.isFinite(p.holdMin) || p.holdMin < 0) throw new EquipmentError("rejected", `${equipmentId}: profile point ${i}: holdMin ${p.holdMin} must be ≥ 0`, equipmentId);
      });
      const doubles = (values: number[]) => new Variant({ dataType: DataType.Double, arrayType: VariantArrayType.Array, value: Float64Array.from(values) });
      await call(map, link, "run-profile", [doubles(points.map((p) => p.setpointC)), doubles(points.map((p) => p.holdMin))]);
    },
    async close() {
      await link?.close();
    },
    on(_event: "state", fn: (s: LinkState) => void) {
      listeners.push(fn);
    },
  };
}
