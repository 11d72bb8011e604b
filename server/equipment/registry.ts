/**
 * Drivers picked by the validated config's protocol field (STYLE: a registry, not an if/else chain).
 * Adding a protocol = a folder under equipment/ and one entry here.
 */
import path from "node:path";
import type { EquipmentChamberConfig, EquipmentCyclerConfig } from "../config/station-config.schema.ts";
import type { ChamberDriver, CyclerDriver } from "./cycler-driver.ts";
import { loadRegisterMap } from "./modbus/register-map.ts";
import { createModbusCyclerDriver } from "./modbus/modbus-cycler-driver.ts";
import { createOpcuaChamberDriver } from "./opcua/opcua-chamber-driver.ts";
import { createOpcuaCyclerDriver } from "./opcua/opcua-cycler-driver.ts";
import { resolveOpcuaSecurity } from "./opcua/opcua-security.ts";

export interface DriverContext {
  /** the resolved endpoint (from the config, or the embedded simulator's actual address) */
  endpoint: string;
  /** folder that config-relative paths resolve against */
  configDir: string;
  /** PKI folder for OPC UA clients */
  pkiDir?: string;
}

function hostPort(endpoint: string, scheme: string): { host: string; port: number } {
  const url = new URL(endpoint);
  if (url.protocol !== `${scheme}:`) throw new Error(`endpoint ${endpoint}: expected ${scheme}://host:port`);
  return { host: url.hostname, port: Number(url.port) };
}

type CyclerFactory = (cfg: EquipmentCyclerConfig, ctx: DriverContext) => Promise<CyclerDriver>;
type ChamberFactory = (cfg: EquipmentChamberConfig, ctx: DriverContext) => Promise<ChamberDriver>;

const cyclerDrivers: Record<EquipmentCyclerConfig["protocol"], CyclerFactory> = {
  opcua: async (cfg, ctx) =>
    createOpcuaCyclerDriver({
      endpointUrl: ctx.endpoint,
      equipmentId: cfg.id,
      requestTimeoutMs: cfg.requestTimeoutMs,
      ...(cfg.map ? { map: path.resolve(ctx.configDir, cfg.map) } : {}),
      ...(ctx.pkiDir ? { pkiDir: ctx.pkiDir } : {}),
      security: resolveOpcuaSecurity(cfg.security, `equipment.cyclers[${cfg.id}].security`),
    }),
  modbus: async (cfg, ctx) =>
    createModbusCyclerDriver({
      ...hostPort(ctx.endpoint, "modbus"),
      unitId: cfg.unitId,
      map: await loadRegisterMap(cfg.map ? path.resolve(ctx.configDir, cfg.map) : undefined),
      requestTimeoutMs: cfg.requestTimeoutMs,
      equipmentId: cfg.id,
    }),
};

const chamberDrivers: Partial<Record<EquipmentChamberConfig["protocol"], ChamberFactory>> = {
  opcua: async (cfg, ctx) =>
    createOpcuaChamberDriver({
      endpointUrl: ctx.endpoint,
      equipmentId: cfg.id,
      requestTimeoutMs: cfg.requestTimeoutMs,
      ...(ctx.pkiDir ? { pkiDir: ctx.pkiDir } : {}),
      security: resolveOpcuaSecurity(cfg.security, `equipment.chambers[${cfg.id}].security`),
    }),
};

export function createCyclerDriver(cfg: EquipmentCyclerConfig, ctx: DriverContext): Promise<CyclerDriver> {
  return cyclerDrivers[cfg.protocol](cfg, ctx);
}

export function createChamberDriver(cfg: EquipmentChamberConfig, ctx: DriverContext): Promise<ChamberDriver> {
  const factory = chamberDrivers[cfg.protocol];
  if (!factory) throw new Error(`chamber ${cfg.id}: no ${cfg.protocol} chamber driver (supported: ${Object.keys(chamberDrivers).join(", ")})`);
  return factory(cfg, ctx);
}
