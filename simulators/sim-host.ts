/**
 * Starts the simulated equipment of a `simulators` config: the environment (clock, chambers, cyclers) and one
 * protocol front-end per instrument, picked from a registry by protocol. Used by `npm run sim` and by the station's
 * embedded mode; reports each instrument's actual endpoint (ports may be ephemeral).
 */
import path from "node:path";
import type { SimChamberConfig, SimCyclerConfig, SimulatorsConfig } from "../server/config/station-config.schema.ts";
import { loadRegisterMap } from "../server/equipment/modbus/register-map.ts";
import { resolveOpcuaSecurity } from "../server/equipment/opcua/opcua-security.ts";
import type { ClockSpeed } from "./clock.ts";
import type { SimChamber } from "./chamber/sim-chamber.ts";
import type { LinkFaults } from "./cycler/sim-cycler-api.ts";
import type { SimCycler } from "./cycler/sim-cycler.ts";
import { startModbusCyclerServer } from "./modbus/cycler-server.ts";
import { startOpcuaChamberServer } from "./opcua/chamber-server.ts";
import { startOpcuaCyclerServer } from "./opcua/cycler-server.ts";
import { createSimEnvironment, type SimEnvironment } from "./sim-environment.ts";

export interface FrontEnd {
  endpoint: string;
  faults: LinkFaults;
  stop(): Promise<void>;
}

export interface SimHostOptions {
  /** folder the protocol maps resolve against (station-config/) */
  configDir: string;
  pkiDir?: string;
  speed?: ClockSpeed;
}

export interface SimHost {
  env: SimEnvironment;
  /** by simulator id */
  frontEnds: Map<string, FrontEnd>;
  endpoint(id: string): string;
  stop(): Promise<void>;
}

type CyclerFrontEnd = (cycler: SimCycler, cfg: SimCyclerConfig, o: SimHostOptions) => Promise<FrontEnd>;
type ChamberFrontEnd = (chamber: SimChamber, cfg: SimChamberConfig, o: SimHostOptions) => Promise<FrontEnd>;

const cyclerFrontEnds: Record<SimCyclerConfig["protocol"], CyclerFrontEnd> = {
  opcua: async (cycler, cfg, o) => {
    const s = await startOpcuaCyclerServer({ cycler, host: cfg.host, port: cfg.port, map: path.join(o.configDir, "maps", "opcua-cycler.yaml"), ...(o.pkiDir ? { pkiDir: path.join(o.pkiDir, cfg.id) } : {}), security: resolveOpcuaSecurity(cfg.security, `simulators.cyclers[${cfg.id}].security`) });
    return { endpoint: s.endpointUrl, faults: s.faults, stop: s.stop };
  },
  modbus: async (cycler, cfg, o) => {
    const s = await startModbusCyclerServer({ cycler, host: cfg.host, port: cfg.port, unitId: 1, map: await loadRegisterMap(path.join(o.configDir, "maps", "modbus-cycler.yaml")) });
    return { endpoint: `modbus://${cfg.host}:${s.port}`, faults: s.faults, stop: s.stop };
  },
};

const chamberFrontEnds: Partial<Record<SimChamberConfig["protocol"], ChamberFrontEnd>> = {
  opcua: async (chamber, cfg, o) => {
    const s = await startOpcuaChamberServer({ chamber, host: cfg.host, port: cfg.port, map: path.join(o.configDir, "maps", "opcua-chamber.yaml"), ...(o.pkiDir ? { pkiDir: path.join(o.pkiDir, cfg.id) } : {}), security: resolveOpcuaSecurity(cfg.security, `simulators.chambers[${cfg.id}].security`) });
    return { endpoint: s.endpointUrl, faults: s.faults, stop: s.stop };
  },
};

export async function startSimHost(cfg: SimulatorsConfig, o: SimHostOptions): Promise<SimHost> {
  const env = createSimEnvironment(cfg, o.speed === undefined ? {} : { speed: o.speed });
  const frontEnds = new Map<string, FrontEnd>();
  const stopAll = async () => {
    env.stop();
    await Promise.allSettled([...frontEnds.values()].map((f) => f.stop()));
  };
  try {
    for (const c of cfg.cyclers) frontEnds.set(c.id, await cyclerFrontEnds[c.protocol](env.cyclers.get(c.id)!, c, o));
    for (const c of cfg.chambers) {
      const start = chamberFrontEnds[c.protocol];
      if (!start) throw new Error(`simulators.chambers ${c.id}: no ${c.protocol} front-end for chambers`);
      frontEnds.set(c.id, await start(env.chambers.get(c.id)!, c, o));
    }
  } catch (e) {
    await stopAll();
    throw e;
  }
  env.start();
  return {
    env,
    frontEnds,
    endpoint(id) {
      const f = frontEnds.get(id);
      if (!f) throw new Error(`no simulator with id ${id}`);
      return f.endpoint;
    },
    stop: stopAll,
  };
}
