/**
 * OPC UA message security and user identity for both ends (station client and simulator server), from the config's
 * `security` section. The password never sits in YAML: the config names an environment variable, read here once.
 */
import { MessageSecurityMode, SecurityPolicy } from "node-opcua-client";
import type { OpcuaSecurityConfig, OpcuaSecurityModeName, OpcuaSecurityPolicyName } from "../../config/station-config.schema.ts";

/** Resolved security: what the client uses to connect, and what the simulator's server requires. */
export interface OpcuaSecurity {
  mode: OpcuaSecurityModeName;
  policy: OpcuaSecurityPolicyName;
  /** username token; absent = anonymous (client) / anonymous allowed (server) */
  user?: { username: string; password: string };
}

export class OpcuaSecurityConfigError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "OpcuaSecurityConfigError";
  }
}

const MODES: Record<OpcuaSecurityModeName, MessageSecurityMode> = {
  None: MessageSecurityMode.None,
  Sign: MessageSecurityMode.Sign,
  SignAndEncrypt: MessageSecurityMode.SignAndEncrypt,
};

const POLICIES: Record<OpcuaSecurityPolicyName, SecurityPolicy> = {
  None: SecurityPolicy.None,
  Basic256Sha256: SecurityPolicy.Basic256Sha256,
  Aes128_Sha256_RsaOaep: SecurityPolicy.Aes128_Sha256_RsaOaep,
  Aes256_Sha256_RsaPss: SecurityPolicy.Aes256_Sha256_RsaPss,
};

export const messageSecurityMode = (s: OpcuaSecurity): MessageSecurityMode => MODES[s.mode];
export const securityPolicy = (s: OpcuaSecurity): SecurityPolicy => POLICIES[s.policy];

/**
 * Reads the password from the environment variable the config names. `field` is the config path of the section
 * (e.g. "equipment.cyclers[cycler-1].security") so a missing variable names where it was asked for.
 */
export function resolveOpcuaSecurity(cfg: OpcuaSecurityConfig | undefined, field: string, env: NodeJS.ProcessEnv = process.env): OpcuaSecurity | undefined {
  if (cfg === undefined) return undefined;
  if (cfg.username === undefined || cfg.passwordEnv === undefined) return { mode: cfg.mode, policy: cfg.policy };
  const password = env[cfg.passwordEnv];
  if (password === undefined || password === "") {
    throw new OpcuaSecurityConfigError(`${field}.passwordEnv`, `environment variable ${cfg.passwordEnv} (the OPC UA password of user "${cfg.username}") is not set`);
  }
  return { mode: cfg.mode, policy: cfg.policy, user: { username: cfg.username, password } };
}

/** One line for logs and link states: never the password. */
export function describeSecurity(s: OpcuaSecurity | undefined): string {
  if (s === undefined) return "security None, anonymous";
  return `security ${s.mode}/${s.policy}, ${s.user ? `user "${s.user.username}"` : "anonymous"}`;
}
