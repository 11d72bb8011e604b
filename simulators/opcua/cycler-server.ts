/**
 * OPC UA front-end of the simulated cycler: builds the address space from the map (station-config/maps/opcua-cycler.yaml)
 * and maps reads and method calls onto the protocol-free core (SimCyclerApi). Per-channel variables are pushed on
 * change from a poll of the core; the bulk LiveValues variable is read from the core at request time.
 */
import { DataType, DataValue, StatusCodes, Variant, type UAObject, type UAVariable } from "node-opcua";
import type { ChannelLive, ChannelRecord } from "../../server/domain/equipment/channel.ts";
import { describeIssues, programSchema } from "../../server/domain/equipment/program.ts";
import {
  DEFAULT_OPCUA_CYCLER_MAP, forChannel, loadOpcuaCyclerMap, readField, type CyclerMethodAction, type OpcuaCyclerMap,
} from "../../server/equipment/opcua/opcua-map.ts";
import type { OpcuaSecurity } from "../../server/equipment/opcua/opcua-security.ts";
import { SimRequestError, type LinkFaults, type SimCyclerApi } from "../cycler/sim-cycler-api.ts";
import {
  addMappedMethod, addMappedVariable, bindMappedMethod, doubleArray, fromUInt64, listen, startOpcuaServerShell, stringArray, toVariant,
  type OpcuaServerShell,
} from "./opcua-server-shell.ts";

export interface OpcuaCyclerServerOptions {
  cycler: SimCyclerApi;
  /** default 127.0.0.1 */
  host?: string;
  /** default 0 = ephemeral; the actual port is reported */
  port?: number;
  /** a parsed map or a path to one; default station-config/maps/opcua-cycler.yaml */
  map?: OpcuaCyclerMap | string;
  /** PKI folder; default a fresh temp folder, removed at stop */
  pkiDir?: string;
  /** shared, mutable link faults; default none */
  faults?: LinkFaults;
  /** security mode/policy and the one user the server accepts; default open (see OpcuaServerShellOptions) */
  security?: OpcuaSecurity;
  /** wall-clock period of the core poll that pushes changed values [ms]; default 50 (20 Hz, like an instrument publishing its internal sampling) */
  pushIntervalMs?: number;
  /** Identification.Manufacturer; default "AXVIAM (simulated)" */
  manufacturer?: string;
}

export interface OpcuaSimServer {
  endpointUrl: string;
  port: number;
  /** switch at run time: dropped, delayMs, corruptChannels */
  faults: LinkFaults;
  stop(): Promise<void>;
}

/** Share of wall time all cycler front-ends of one process may spend pushing per-channel changes. */
const PUSH_CPU_SHARE = 0.1;
/** the running cycler front-ends of this process, which share PUSH_CPU_SHARE */
const pushingServers = new Set<object>();

/** channel variables a client must see change at once; the others are measurements, pushed as CPU allows */
const DISCRETE_FIELDS = new Set(["state", "stateCode", "stepIndex", "cycle", "alarmCode", "programId"]);

/** The most records one ReadRecords call returns. */
export const MAX_RECORDS_PER_CALL = 1000;

/** A corrupted channel as a broken front-end would serve it: NaN and far out-of-range raw values. */
function corrupt(c: ChannelLive): ChannelLive {
  return { ...c, voltageV: Number.NaN, currentA: 1e9, temperatureC: -1e6 };
}

function liveWithFaults(cycler: SimCyclerApi, faults: LinkFaults): ChannelLive[] {
  return cycler.live().map((c) => (faults.corruptChannels.includes(c.channel) ? corrupt(c) : c));
}

function liveField(c: ChannelLive, field: string, stateCodes: readonly string[]): unknown {
  return field === "stateCode" ? stateCodes.indexOf(c.state) : readField(c, field);
}

function recordsToDoubles(records: ChannelRecord[], columns: readonly string[], channel: number): Float64Array {
  const out = new Float64Array(records.length * columns.length);
  records.forEach((r, i) => {
    if (r.seq > BigInt(Number.MAX_SAFE_INTEGER)) throw new SimRequestError("bad-state", `channel ${channel}: record seq ${r.seq} exceeds 2^53`);
    columns.forEach((col, j) => (out[i * columns.length + j] = Number(r[col as keyof ChannelRecord])));
  });
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startOpcuaCyclerServer(o: OpcuaCyclerServerOptions): Promise<OpcuaSimServer> {
  const map = typeof o.map === "object" ? o.map : await loadOpcuaCyclerMap(o.map ?? DEFAULT_OPCUA_CYCLER_MAP);
  const host = o.host ?? "127.0.0.1";
  const shell = await startOpcuaServerShell({ host, port: o.port ?? 0, namespaceUri: map.namespaceUri, productName: `${o.cycler.info().model} (simulated cycler)`, pkiDir: o.pkiDir, faults: o.faults, security: o.security });
  try {
    return await serve(o, map, host, shell);
  } catch (err) {
    await shell.stop();
    throw err;
  }
}

async function serve(o: OpcuaCyclerServerOptions, map: OpcuaCyclerMap, host: string, shell: OpcuaServerShell): Promise<OpcuaSimServer> {
  const { cycler } = o;
  const info = cycler.info();
  const { namespace, faults } = shell;
  const addressSpace = shell.server.engine.addressSpace!;
  const limits = info.limits as unknown as Record<string, unknown>;

  const root = namespace.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: map.root.browseName, nodeId: `s=${map.root.nodeId}` });
  const ident = namespace.addObject({ componentOf: root, browseName: map.identification.browseName, nodeId: `s=${map.identification.nodeId}` });
  const identSource = { ...info, manufacturer: o.manufacturer ?? "AXVIAM (simulated)" };
  const identVars = new Map<string, UAVariable>();
  for (const v of map.identification.variables) {
    const value = readField(identSource, v.field);
    if (value === undefined && v.optional) continue;
    if (value === undefined) throw new Error(`opcua cycler map: identification ${v.browseName} has no value for field "${v.field}"`);
    identVars.set(v.field, addMappedVariable(namespace, ident, map.identification.nodeId, v, limits, value));
  }

  const live0 = cycler.live();
  const channelVars: { variable: UAVariable; field: string; dataType: (typeof map.channels.variables)[number]["dataType"]; last: unknown }[][] = [];
  for (const c of live0) {
    const objectId = forChannel(map.channels.nodeId, c.channel, info.channelCount);
    const obj: UAObject = namespace.addObject({ componentOf: root, browseName: forChannel(map.channels.browseName, c.channel, info.channelCount), nodeId: `s=${objectId}` });
    channelVars.push(
      map.channels.variables.map((v) => {
        const value = liveField(c, v.field, map.stateCodes);
        return { variable: addMappedVariable(namespace, obj, objectId, v, limits, value), field: v.field, dataType: v.dataType, last: value };
      }),
    );
  }

  // Bulk variables are refreshed from the core on each read (refreshFunc), so one Read sees the core's current values;
  // subscriptions to them sample at an explicit interval (a getter without one may publish nothing, node-opcua #1133).
  const bulk = (nodeId: string, browseName: string, dataType: DataType, make: (live: ChannelLive[]) => Variant) =>
    namespace.addVariable({
      componentOf: root,
      browseName,
      nodeId: `s=${nodeId}`,
      dataType,
      valueRank: 1,
      minimumSamplingInterval: 100,
      value: {
        refreshFunc(callback: (err: Error | null, dataValue?: DataValue) => void) {
          sleep(faults.delayMs).then(() => {
            if (faults.dropped) return callback(new Error("link dropped"));
            callback(null, new DataValue({ value: make(liveWithFaults(cycler, faults)), statusCode: StatusCodes.Good, sourceTimestamp: new Date() }));
          }, callback);
        },
      },
    });
  const columns = map.live.columns;
  bulk(map.live.values.nodeId, map.live.values.browseName, DataType.Double, (live) =>
    doubleArray(live.flatMap((c) => columns.map((col) => Number(liveField(c, col, map.stateCodes))))),
  );
  bulk(map.live.programIds.nodeId, map.live.programIds.browseName, DataType.String, (live) => stringArray(live.map((c) => c.programId)));

  const channelArg = (args: Variant[]) => Number(args[0].value);
  const handlers: Record<CyclerMethodAction, (args: Variant[]) => Variant[]> = {
    load: (args) => {
      const channel = channelArg(args);
      let json: unknown;
      try {
        json = JSON.parse(String(args[1].value));
      } catch (err) {
        throw new SimRequestError("bad-program", `channel ${channel}: ProgramJson is not JSON (${(err as Error).message})`);
      }
      const parsed = programSchema.safeParse(json);
      if (!parsed.success) throw new SimRequestError("bad-program", `channel ${channel}: invalid program\n${describeIssues(parsed.error.issues, "program")}`);
      cycler.load(channel, parsed.data);
      return [];
    },
    start: (args) => (cycler.command(channelArg(args), "start"), []),
    pause: (args) => (cycler.command(channelArg(args), "pause"), []),
    resume: (args) => (cycler.command(channelArg(args), "resume"), []),
    stop: (args) => (cycler.command(channelArg(args), "stop"), []),
    "ack-fault": (args) => (cycler.command(channelArg(args), "ack-fault"), []),
    "read-records": (args) => {
      const channel = channelArg(args);
      const max = Math.min(Number(args[2].value), MAX_RECORDS_PER_CALL);
      const records = cycler.records(channel, fromUInt64(args[1].value), max);
      return [stringArray([...map.records.columns]), doubleArray(recordsToDoubles(records, map.records.columns, channel))];
    },
    heartbeat: () => (cycler.heartbeat(), []),
  };
  for (const m of map.methods) {
    bindMappedMethod(addMappedMethod(namespace, root, map.root.nodeId, m), faults, handlers[m.action]);
  }

  await listen(shell, host);

  let busy = false;
  let lastBootId = info.bootId;
  // What a client must see at once (a channel starting, ending, faulting, changing step) is pushed on every tick;
  // the streaming measurements with it while that is cheap, less often when it is not (see the schedule below).
  const discreteVars = channelVars.map((vars) => vars.filter((cv) => DISCRETE_FIELDS.has(cv.field)));
  const push = async (all: boolean) => {
    if (busy) return;
    busy = true;
    try {
      await shell.applyLinkFaults();
      const bootId = cycler.info().bootId;
      if (bootId !== lastBootId) identVars.get("bootId")?.setValueFromSource(toVariant("UInt32", bootId));
      lastBootId = bootId;
      const vars = all ? channelVars : discreteVars;
      liveWithFaults(cycler, faults).forEach((c, i) =>
        vars[i].forEach((cv) => {
          const value = liveField(c, cv.field, map.stateCodes);
          if (Object.is(value, cv.last)) return;
          cv.last = value;
          cv.variable.setValueFromSource(toVariant(cv.dataType, value));
        }),
      );
    } finally {
      busy = false;
    }
  };
  // Every push waits at least pushIntervalMs, and longer when pushing is costly: all servers in this process
  // together spend at most PUSH_CPU_SHARE of the wall time on change pushes, so with thousands of channels whose
  // values all change (fast clock) the physics on the same thread is not starved. The costly part is the
  // measurements (every running channel's values change); they are stretched first, while the discrete fields keep
  // their pace. The bulk LiveValues read is unaffected (read from the core on request).
  const pushIntervalMs = o.pushIntervalMs ?? 50;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let nextFullAtMs = 0;
  const capped = (costMs: number) => (costMs * pushingServers.size) / PUSH_CPU_SHARE - costMs;
  // The cap follows a moving average of each kind's cost: one push that a GC pause made slow must not hold the
  // next one back ten times as long.
  const cost = { full: 0, discrete: 0 };
  const averaged = (kind: keyof typeof cost, ms: number) => (cost[kind] = cost[kind] === 0 ? ms : 0.8 * cost[kind] + 0.2 * ms);
  const schedule = (delayMs: number) => {
    timer = setTimeout(async () => {
      const started = performance.now();
      const full = started >= nextFullAtMs;
      // a failed push (e.g. the endpoint refusing a suspend) must not end the push loop
      await push(full).catch(() => undefined);
      if (stopped) return;
      const costMs = performance.now() - started;
      if (full) {
        nextFullAtMs = started + Math.max(pushIntervalMs, capped(averaged("full", costMs)) + costMs);
        schedule(pushIntervalMs);
      } else schedule(Math.max(pushIntervalMs, capped(averaged("discrete", costMs))));
    }, delayMs);
  };
  const handle = {};
  pushingServers.add(handle);
  schedule(pushIntervalMs);

  return {
    endpointUrl: shell.endpointUrl,
    port: shell.port,
    faults,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      pushingServers.delete(handle);
      while (busy) await sleep(5);
      await shell.stop();
    },
  };
}

