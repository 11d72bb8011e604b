/**
 * OPC UA front-end of the simulated thermal chamber: address space from station-config/maps/opcua-chamber.yaml,
 * values pushed on change from a poll of the core (SimChamberApi), SetSetpoint mapped onto core.setpoint().
 */
import type { UAVariable, Variant } from "node-opcua";
import type { ChamberReading } from "../../server/equipment/cycler-driver.ts";
import { DEFAULT_OPCUA_CHAMBER_MAP, loadOpcuaChamberMap, readField, type ChamberMethodAction, type OpcuaChamberMap } from "../../server/equipment/opcua/opcua-map.ts";
import { SimRequestError, type LinkFaults, type SimChamberApi } from "../cycler/sim-cycler-api.ts";
import type { OpcuaSimServer } from "./cycler-server.ts";
import type { OpcuaSecurity } from "../../server/equipment/opcua/opcua-security.ts";
import { addMappedMethod, addMappedVariable, bindMappedMethod, listen, startOpcuaServerShell, toVariant, type OpcuaServerShell } from "./opcua-server-shell.ts";

export interface OpcuaChamberServerOptions {
  chamber: SimChamberApi;
  /** default 127.0.0.1 */
  host?: string;
  /** default 0 = ephemeral; the actual port is reported */
  port?: number;
  /** a parsed map or a path to one; default station-config/maps/opcua-chamber.yaml */
  map?: OpcuaChamberMap | string;
  pkiDir?: string;
  faults?: LinkFaults;
  security?: OpcuaSecurity;
  /** wall-clock period of the core poll [ms]; default 100 */
  pushIntervalMs?: number;
  manufacturer?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startOpcuaChamberServer(o: OpcuaChamberServerOptions): Promise<OpcuaSimServer> {
  const map = typeof o.map === "object" ? o.map : await loadOpcuaChamberMap(o.map ?? DEFAULT_OPCUA_CHAMBER_MAP);
  const host = o.host ?? "127.0.0.1";
  const shell = await startOpcuaServerShell({ host, port: o.port ?? 0, namespaceUri: map.namespaceUri, productName: `${o.chamber.info().model} (simulated chamber)`, pkiDir: o.pkiDir, faults: o.faults, security: o.security });
  try {
    return await serve(o, map, host, shell);
  } catch (err) {
    await shell.stop();
    throw err;
  }
}

async function serve(o: OpcuaChamberServerOptions, map: OpcuaChamberMap, host: string, shell: OpcuaServerShell): Promise<OpcuaSimServer> {
  const { chamber } = o;
  const { namespace, faults } = shell;
  const info = chamber.info();
  const limits = info as unknown as Record<string, unknown>;
  const root = namespace.addObject({ organizedBy: shell.server.engine.addressSpace!.rootFolder.objects, browseName: map.root.browseName, nodeId: `s=${map.root.nodeId}` });
  const ident = namespace.addObject({ componentOf: root, browseName: map.identification.browseName, nodeId: `s=${map.identification.nodeId}` });
  const identSource = { ...info, manufacturer: o.manufacturer ?? "AXVIAM (simulated)" };
  for (const v of map.identification.variables) {
    const value = readField(identSource, v.field);
    if (value === undefined && v.optional) continue;
    if (value === undefined) throw new Error(`opcua chamber map: identification ${v.browseName} has no value for field "${v.field}"`);
    addMappedVariable(namespace, ident, map.identification.nodeId, v, limits, value);
  }

  let rampKPerMin = 0;
  // A corrupted chamber serves NaN for its temperatures (LinkFaults.corruptChannels: any entry corrupts the chamber).
  const reading = (): ChamberReading & { rampKPerMin: number } => {
    const r = { ...chamber.read(), rampKPerMin };
    return faults.corruptChannels.length > 0 ? { ...r, actualC: Number.NaN, setpointC: Number.NaN } : r;
  };
  const r0 = reading();
  const vars: { variable: UAVariable; v: OpcuaChamberMap["variables"][number]; last: unknown }[] = map.variables.map((v) => {
    const value = readField(r0, v.field);
    return { variable: addMappedVariable(namespace, root, map.root.nodeId, v, limits, value), v, last: value };
  });

  const checkSetpoint = (celsius: number, what: string) => {
    if (!Number.isFinite(celsius) || celsius < info.minC || celsius > info.maxC) {
      throw new SimRequestError("bad-command", `${what} ${celsius} °C is outside ${info.minC}..${info.maxC} °C`);
    }
  };
  const handlers: Record<ChamberMethodAction, (args: Variant[]) => Variant[]> = {
    "set-setpoint": (args) => {
      const celsius = Number(args[0].value);
      const ramp = Number(args[1].value);
      checkSetpoint(celsius, "setpoint");
      if (!Number.isFinite(ramp) || ramp < 0) throw new SimRequestError("bad-command", `ramp rate ${ramp} K/min must be ≥ 0 (0 = maximum)`);
      chamber.setpoint(celsius, ramp === 0 ? undefined : ramp);
      rampKPerMin = ramp;
      return [];
    },
    "run-profile": (args) => {
      const setpoints = Array.from(args[0].value as ArrayLike<number>);
      const holds = Array.from(args[1].value as ArrayLike<number>);
      if (setpoints.length === 0 || setpoints.length !== holds.length) {
        throw new SimRequestError("bad-command", `profile needs as many HoldMinutes as Setpoints (≥ 1), got ${setpoints.length} and ${holds.length}`);
      }
      setpoints.forEach((c, i) => checkSetpoint(c, `profile point ${i} setpoint`));
      holds.forEach((h, i) => {
        if (!Number.isFinite(h) || h < 0) throw new SimRequestError("bad-command", `profile point ${i}: hold ${h} min must be ≥ 0`);
      });
      chamber.profile(setpoints.map((setpointC, i) => ({ setpointC, holdMin: holds[i] })));
      rampKPerMin = 0;
      return [];
    },
  };
  for (const m of map.methods) bindMappedMethod(addMappedMethod(namespace, root, map.root.nodeId, m), faults, handlers[m.action]);

  await listen(shell, host);
  let busy = false;
  const push = async () => {
    if (busy) return;
    busy = true;
    try {
      await shell.applyLinkFaults();
      const r = reading();
      for (const cv of vars) {
        const value = readField(r, cv.v.field);
        if (Object.is(value, cv.last)) continue;
        cv.last = value;
        cv.variable.setValueFromSource(toVariant(cv.v.dataType, value));
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void push(), o.pushIntervalMs ?? 100);
  return {
    endpointUrl: shell.endpointUrl,
    port: shell.port,
    faults,
    async stop() {
      clearInterval(timer);
      while (busy) await sleep(5);
      await shell.stop();
    },
  };
}
