/**
 * What the simulated cycler and chamber OPC UA front-ends share: server start/stop with a private PKI folder,
 * typed variables built from a map entry (engineering units, EURange), method binding that turns core errors
 * into Bad status codes with a message, and the run-time link faults.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DataType, OPCUAServer, StatusCodes, Variant, VariantArrayType, makeEUInformation,
  type CallMethodResultOptions, type Namespace, type StatusCode, type UAMethod, type UAObject, type UAVariable,
} from "node-opcua";
import { OPCUACertificateManager } from "node-opcua-certificate-manager";
import { timingSafeEqual } from "node:crypto";
import { messageSecurityMode, securityPolicy, type OpcuaSecurity } from "../../server/equipment/opcua/opcua-security.ts";
import { childNodeId, resolveRangeEnd, type OpcuaArgumentMap, type OpcuaDataType, type OpcuaUnit, type OpcuaVariableMap } from "../../server/equipment/opcua/opcua-map.ts";
import { SimRequestError, type LinkFaults } from "../cycler/sim-cycler-api.ts";

export interface OpcuaServerShellOptions {
  host: string;
  /** 0 = ephemeral; the actual port is reported */
  port: number;
  namespaceUri: string;
  productName: string;
  /** PKI folder; default: a fresh temp folder removed at stop */
  pkiDir?: string;
  faults?: LinkFaults;
  /**
   * Offer only this security mode/policy, and with a user require it (anonymous refused). Default: node-opcua's
   * defaults (None, Sign and SignAndEncrypt endpoints, anonymous allowed) — the simulator on a bench.
   */
  security?: OpcuaSecurity;
}

export interface OpcuaServerShell {
  server: OPCUAServer;
  namespace: Namespace;
  port: number;
  endpointUrl: string;
  faults: LinkFaults;
  /** apply a change of faults.dropped (called from the front-end's poll loop) */
  applyLinkFaults(): Promise<void>;
  stop(): Promise<void>;
}

export function noLinkFaults(): LinkFaults {
  return { dropped: false, delayMs: 0, corruptChannels: [] };
}

export async function startOpcuaServerShell(o: OpcuaServerShellOptions): Promise<OpcuaServerShell> {
  const ownPki = o.pkiDir === undefined ? await mkdtemp(join(tmpdir(), "axviam-opcua-pki-")) : undefined;
  const certificateManager = new OPCUACertificateManager({ rootFolder: o.pkiDir ?? ownPki, automaticallyAcceptUnknownCertificate: true });
  // X.509 user tokens are checked against this store: our own folder (not node-opcua's default in the home folder),
  // trusting nobody, so with a configured user only the username/password gets in.
  const userCertificateManager = new OPCUACertificateManager({ rootFolder: join(o.pkiDir ?? ownPki!, "user"), automaticallyAcceptUnknownCertificate: false });
  const server = new OPCUAServer({
    host: o.host,
    port: o.port,
    // before the certificate is first created, else clients find no suitable endpoint (DESIGN §15)
    alternateHostname: ["127.0.0.1", o.host],
    serverCertificateManager: certificateManager,
    userCertificateManager,
    buildInfo: { productName: o.productName, manufacturerName: "AXVIAM (simulator)", softwareVersion: "0.1.0" },
    ...(o.security ? securityOptions(o.security) : {}),
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace;
  if (!addressSpace) throw new Error(`${o.productName}: OPC UA server has no address space after initialize()`);
  const namespace = addressSpace.registerNamespace(o.namespaceUri);
  const faults = o.faults ?? noLinkFaults();
  let droppedApplied = false;
  const endpoint = () => server.endpoints[0];
  const callback = (fn: (cb: (err?: Error) => void) => void) => new Promise<void>((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));

  const shell: OpcuaServerShell = {
    server,
    namespace,
    port: 0,
    endpointUrl: "",
    faults,
    async applyLinkFaults() {
      if (faults.dropped === droppedApplied) return;
      droppedApplied = faults.dropped;
      if (droppedApplied) {
        await callback((cb) => endpoint().suspendConnection(cb));
        await callback((cb) => endpoint().killClientSockets(cb));
      } else {
        await callback((cb) => endpoint().restoreConnection(cb));
      }
    },
    async stop() {
      if (droppedApplied) await callback((cb) => endpoint().restoreConnection(cb)).catch(() => undefined);
      await server.shutdown(0);
      await certificateManager.dispose();
      await userCertificateManager.dispose();
      if (ownPki !== undefined) await rm(ownPki, { recursive: true, force: true });
    },
  };
  // the address space is built by the caller before start(); start() is deferred to listen()
  return shell;
}

function securityOptions(security: OpcuaSecurity) {
  const user = security.user;
  const same = (a: string, b: string) => {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  };
  return {
    securityModes: [messageSecurityMode(security)],
    securityPolicies: [securityPolicy(security)],
    allowAnonymous: user === undefined,
    ...(user ? { userManager: { isValidUser: (username: string, password: string) => same(username, user.username) && same(password, user.password) } } : {}),
  };
}

/** Start listening once the address space is built; fills in the actual port and endpoint URL. */
export async function listen(shell: OpcuaServerShell, host: string): Promise<void> {
  await shell.server.start();
  shell.port = shell.server.endpoints[0].port;
  shell.endpointUrl = `opc.tcp://${host}:${shell.port}`;
}

const DATA_TYPES: Record<OpcuaDataType, DataType> = {
  String: DataType.String,
  Boolean: DataType.Boolean,
  UInt32: DataType.UInt32,
  UInt64: DataType.UInt64,
  Double: DataType.Double,
};

export function opcuaDataType(t: OpcuaDataType): DataType {
  return DATA_TYPES[t];
}

/** OPC UA UInt64 travels as [high, low] 32-bit words. */
export function toUInt64(value: bigint): [number, number] {
  return [Number(value >> 32n), Number(value & 0xffffffffn)];
}
export function fromUInt64(value: unknown): bigint {
  if (Array.isArray(value) && value.length === 2) return (BigInt(value[0] as number) << 32n) + BigInt(value[1] as number);
  if (typeof value === "number" || typeof value === "bigint") return BigInt(value);
  throw new Error(`not a UInt64: ${JSON.stringify(value)}`);
}

export function toVariant(dataType: OpcuaDataType, value: unknown): Variant {
  if (dataType === "UInt64") {
    return new Variant({ dataType: DataType.UInt64, arrayType: VariantArrayType.Scalar, value: toUInt64(BigInt(value as bigint | number)) });
  }
  return new Variant({ dataType: DATA_TYPES[dataType], value });
}

export function euInformation(unit: OpcuaUnit): ReturnType<typeof makeEUInformation> {
  const eu = makeEUInformation(unit.code ?? "", unit.symbol, unit.name);
  // OPC UA Part 8: unitId -1 when the unit has no UNECE common code
  if (unit.code === undefined) eu.unitId = -1;
  return eu;
}

/**
 * Add one variable described by the map under `parent`. Values are pushed with setValueFromSource, so the variable
 * has minimumSamplingInterval 0: a subscription sees each change, with no sampling timer (node-opcua #1133).
 */
export function addMappedVariable(
  namespace: Namespace,
  parent: UAObject,
  parentNodeId: string,
  v: OpcuaVariableMap,
  limits: Record<string, unknown>,
  initial: unknown,
): UAVariable {
  const common = {
    componentOf: parent,
    browseName: v.browseName,
    nodeId: `s=${childNodeId(parentNodeId, v.browseName)}`,
    description: v.description,
    minimumSamplingInterval: 0,
  };
  const variable = v.unit
    ? namespace.addAnalogDataItem({
        ...common,
        dataType: DATA_TYPES[v.dataType],
        engineeringUnits: euInformation(v.unit),
        engineeringUnitsRange: v.euRange
          ? { low: resolveRangeEnd(v.euRange[0], limits, v.browseName), high: resolveRangeEnd(v.euRange[1], limits, v.browseName) }
          : { low: -1e12, high: 1e12 },
      })
    : namespace.addVariable({ ...common, dataType: DATA_TYPES[v.dataType] });
  variable.setValueFromSource(toVariant(v.dataType, initial));
  return variable;
}

function argumentDefinition(a: OpcuaArgumentMap) {
  return {
    name: a.name,
    description: a.description ?? a.name,
    dataType: DATA_TYPES[a.dataType],
    valueRank: a.array ? 1 : -1,
  };
}

const MESSAGE_OUTPUT = { name: "Message", description: "why the call was refused", dataType: DataType.String, valueRank: -1 };

export function addMappedMethod(
  namespace: Namespace,
  parent: UAObject,
  parentNodeId: string,
  m: { browseName: string; inputs: OpcuaArgumentMap[]; outputs: OpcuaArgumentMap[]; description?: string },
): UAMethod {
  return namespace.addMethod(parent, {
    browseName: m.browseName,
    nodeId: `s=${childNodeId(parentNodeId, m.browseName)}`,
    description: m.description,
    inputArguments: m.inputs.map(argumentDefinition),
    outputArguments: m.outputs.length > 0 ? m.outputs.map(argumentDefinition) : [MESSAGE_OUTPUT],
  });
}

function statusFor(err: unknown): StatusCode {
  if (err instanceof SimRequestError) return err.code === "bad-state" ? StatusCodes.BadInvalidState : StatusCodes.BadInvalidArgument;
  return StatusCodes.BadInternalError;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Bind a method to a handler returning its output variants. A thrown SimRequestError becomes a Bad status code
 * with the reason as the `Message` output; faults.delayMs delays the answer.
 */
export function bindMappedMethod(method: UAMethod, faults: LinkFaults, handler: (args: Variant[]) => Variant[]): void {
  // node-opcua treats a two-parameter handler as promise-returning (DESIGN §15)
  method.bindMethod(async (inputArguments: Variant[], _context: unknown): Promise<CallMethodResultOptions> => {
    if (faults.delayMs > 0) await sleep(faults.delayMs);
    try {
      const outputs = handler(inputArguments);
      return { statusCode: StatusCodes.Good, outputArguments: outputs.length > 0 ? outputs : [new Variant({ dataType: DataType.String, value: "" })] };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { statusCode: statusFor(err), outputArguments: [new Variant({ dataType: DataType.String, value: message })] };
    }
  });
}

export function stringArray(values: string[]): Variant {
  return new Variant({ dataType: DataType.String, arrayType: VariantArrayType.Array, value: values });
}
export function doubleArray(values: Float64Array | number[]): Variant {
  return new Variant({ dataType: DataType.Double, arrayType: VariantArrayType.Array, value: Float64Array.from(values) });
}
