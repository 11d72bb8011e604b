/**
 * OPC UA security end to end on loopback: the simulator's server offering only SignAndEncrypt/Basic256Sha256 with
 * one user, the station's driver connecting with the password from an environment variable; a wrong password and
 * an anonymous session refused with errors that say why; and a whole station configured this way on both ends.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MessageSecurityMode, OPCUAClient, SecurityPolicy, UserTokenType } from "node-opcua-client";
import { OPCUACertificateManager } from "node-opcua-certificate-manager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stationConfigSchema } from "../../server/config/station-config.schema.ts";
import { EquipmentError } from "../../server/equipment/cycler-driver.ts";
import { createOpcuaCyclerDriver } from "../../server/equipment/opcua/opcua-cycler-driver.ts";
import { OpcuaSecurityConfigError, resolveOpcuaSecurity, type OpcuaSecurity } from "../../server/equipment/opcua/opcua-security.ts";
import { startOpcuaCyclerServer, type OpcuaSimServer } from "../../simulators/opcua/cycler-server.ts";
import { createFakeSimCycler } from "../equipment/fake-sim-cycler.ts";
import { startTestStation, waitFor } from "../support/station.ts";

const PASSWORD_ENV = "AXVIAM_TEST_OPCUA_PASSWORD";
const SECURE = { mode: "SignAndEncrypt", policy: "Basic256Sha256" } as const;
const USER = { username: "station-1", password: "correct horse battery staple" };

let pki: string;
let server: OpcuaSimServer;

beforeAll(async () => {
  pki = await mkdtemp(join(tmpdir(), "axviam-opcua-security-"));
  server = await startOpcuaCyclerServer({ cycler: createFakeSimCycler({ channelCount: 8, watchdogMs: 0 }), port: 0, pkiDir: join(pki, "server"), security: { ...SECURE, user: USER } });
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await rm(pki, { recursive: true, force: true });
});

const driver = (security: OpcuaSecurity | undefined) =>
  createOpcuaCyclerDriver({ endpointUrl: server.endpointUrl, equipmentId: "cycler-secure", requestTimeoutMs: 3000, pkiDir: join(pki, "client"), ...(security ? { security } : {}) });

async function refusal(security: OpcuaSecurity | undefined): Promise<EquipmentError> {
  const d = driver(security);
  try {
    await d.connect();
  } catch (e) {
    return e as EquipmentError;
  } finally {
    await d.close();
  }
  throw new Error("connect succeeded, expected a refusal");
}

describe("simulator server with SignAndEncrypt and a user", () => {
  it("offers only SignAndEncrypt/Basic256Sha256 endpoints, and no anonymous token", async () => {
    const manager = new OPCUACertificateManager({ rootFolder: join(pki, "probe"), automaticallyAcceptUnknownCertificate: true });
    const client = OPCUAClient.create({ endpointMustExist: false, clientCertificateManager: manager, connectionStrategy: { maxRetry: 0 } });
    await client.connect(server.endpointUrl);
    const endpoints = await client.getEndpoints();
    await client.disconnect();
    await manager.dispose();
    expect(endpoints.length).toBeGreaterThan(0);
    for (const e of endpoints) {
      expect(e.securityMode).toBe(MessageSecurityMode.SignAndEncrypt);
      expect(e.securityPolicyUri).toBe(SecurityPolicy.Basic256Sha256);
      const tokens = e.userIdentityTokens!.map((t) => t.tokenType);
      expect(tokens).toContain(UserTokenType.UserName);
      expect(tokens).not.toContain(UserTokenType.Anonymous);
    }
  }, 60_000);

  it("the driver connects with the password from the environment and reads live values", async () => {
    const security = resolveOpcuaSecurity({ ...SECURE, username: USER.username, passwordEnv: PASSWORD_ENV }, "equipment.cyclers[cycler-secure].security", { [PASSWORD_ENV]: USER.password });
    const d = driver(security);
    try {
      const info = await d.connect();
      expect(info.serial).toBe("FAKE-0001");
      const live = await d.readLive();
      expect(live.map((c) => c.channel)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    } finally {
      await d.close();
    }
  }, 60_000);

  it("a wrong password is refused, and the error says which user and why", async () => {
    const e = await refusal({ ...SECURE, user: { username: USER.username, password: "wrong" } });
    expect(e).toBeInstanceOf(EquipmentError);
    expect(e.kind).toBe("rejected");
    expect(e.message).toMatch(/cycler-secure: OPC UA server at opc\.tcp:\/\/.+ refused user "station-1" \(BadUserAccessDenied\): check the username and the password/);
    expect(e.message).not.toContain("wrong"); // the password never reaches a log line
  }, 60_000);

  it("an anonymous session is refused because the server requires a user", async () => {
    const e = await refusal({ ...SECURE });
    expect(e.kind).toBe("rejected");
    expect(e.message).toMatch(/refused an anonymous session \(.+\): the server requires a user; set security\.username and security\.passwordEnv/);
  }, 60_000);

  it("a client without message security finds no endpoint it may use", async () => {
    const e = await refusal(undefined);
    expect(e.kind).toBe("unreachable");
    expect(e.message).toMatch(/cannot connect to opc\.tcp/);
  }, 60_000);
});

describe("configuration", () => {
  it("never takes the password from YAML: it names an environment variable, which must be set", () => {
    expect(() => resolveOpcuaSecurity({ ...SECURE, username: "u", passwordEnv: "AXVIAM_UNSET_FOR_SURE" }, "equipment.cyclers[c1].security", {})).toThrow(
      new OpcuaSecurityConfigError("equipment.cyclers[c1].security.passwordEnv", 'environment variable AXVIAM_UNSET_FOR_SURE (the OPC UA password of user "u") is not set'),
    );
    const base = { station: { id: "s", name: "s" }, equipment: { cyclers: [{ id: "c1", protocol: "opcua", endpoint: "opc.tcp://h:4840", channels: 8 }] } };
    const withSecurity = (security: unknown, protocol = "opcua") => stationConfigSchema.safeParse({ ...base, equipment: { cyclers: [{ ...base.equipment.cyclers[0], protocol, security }] } });
    const issues = (r: ReturnType<typeof withSecurity>) => (r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
    expect(withSecurity({ username: "u", passwordEnv: "PW" }).success).toBe(true); // defaults: SignAndEncrypt / Basic256Sha256
    expect(issues(withSecurity({ username: "u", password: "in-yaml" }))).toContainEqual(expect.stringMatching(/equipment\.cyclers\.0\.security: Unrecognized key: "password"/));
    expect(issues(withSecurity({ username: "u" }))).toContain("equipment.cyclers.0.security.passwordEnv: set both username and passwordEnv, or neither");
    expect(issues(withSecurity({ mode: "None", policy: "Basic256Sha256" }))).toContain("equipment.cyclers.0.security.policy: mode None goes with policy None, and Sign/SignAndEncrypt need a real policy");
    expect(issues(withSecurity({ username: "u", passwordEnv: "PW" }, "modbus"))).toContain("equipment.cyclers.0.security: security applies to OPC UA equipment only");
  });
});

describe("a station with security on both ends", () => {
  it("connects cycler and chamber over SignAndEncrypt with a user and reads live values", async () => {
    process.env[PASSWORD_ENV] = USER.password;
    const security = { ...SECURE, username: USER.username, passwordEnv: PASSWORD_ENV };
    const station = await startTestStation({
      config: {
        simulators: {
          enabled: true,
          clock: { speed: 60 },
          cyclers: [{ id: "sim-cycler", protocol: "opcua", port: 0, channels: 4, chamber: "sim-chamber", watchdogMs: 0, security }],
          chambers: [{ id: "sim-chamber", port: 0, security }],
        },
        equipment: {
          cyclers: [{ id: "cycler-1", protocol: "opcua", simulator: "sim-cycler", channels: 4, chamber: "chamber-1", pollIntervalMs: 200, security }],
          chambers: [{ id: "chamber-1", simulator: "sim-chamber", security }],
        },
      },
    });
    try {
      const views = await waitFor("4 live channels", () => (station.hub.channels().length === 4 ? station.hub.channels() : undefined), 30_000);
      expect(views.every((v) => v.state === "idle")).toBe(true);
      await waitFor("chamber connected", () => station.hub.links().find((l) => l.equipmentId === "chamber-1" && l.status === "connected"), 30_000);
    } finally {
      await station.close();
      delete process.env[PASSWORD_ENV];
    }
  }, 120_000);
});
