/**
 * Secrets of the plant link (plant.mqtt.password*, the plant service's postgres.password* and http.token*): one
 * source each, read once at start with errors that name the config field, inline still accepted with a warning.
 * The broker case runs against a real Mosquitto that refuses anonymous clients.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { plantSchema } from "../../server/config/station-config.schema.ts";
import pino from "pino";
import { silentLogger } from "../../server/log/logger.ts";
import { plantServiceConfigSchema } from "../../server/plant/plant-config.schema.ts";
import { PlantSecretError, readSecret } from "../../server/plant/plant-secrets.ts";
import { attachPlantPublisher } from "../../server/plant/publisher.ts";
import { createLiveHub } from "../../server/station/live-hub.ts";
import { createFakeStation } from "../api/fake-station.ts";
import { waitUntil } from "./plant-fixture.ts";
import { startBroker, type Broker } from "./services.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "axviam-secrets-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const secretFile = (name: string, text: string, mode = 0o600) => {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  chmodSync(f, mode);
  return f;
};
const issues = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) => r.error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`);

describe("plant secrets at the config boundary", () => {
  it("the schemas admit one source per secret and name the offending field", () => {
    const mqtt = { url: "mqtt://broker:1883", password: "x", passwordEnv: "MQTT_PW" };
    expect(issues(plantSchema.safeParse({ enabled: true, mqtt }))).toEqual(["mqtt.passwordEnv: set only one of password, passwordEnv"]);
    expect(issues(plantSchema.safeParse({ enabled: true, mqtt: { url: "mqtt://b", passwordEnv: "1BAD" } }))?.[0]).toMatch(/^mqtt\.passwordEnv: an environment variable name/);
    expect(issues(plantSchema.safeParse({ service: { url: "http://plant:8090", token: "t", tokenFile: "/run/secrets/t" } }))).toEqual(["service.tokenFile: set only one of token, tokenFile"]);
    expect(plantSchema.parse({ service: { url: "http://plant:8090", tokenEnv: "PLANT_TOKEN" } }).service).toEqual({ url: "http://plant:8090", tokenEnv: "PLANT_TOKEN", timeoutMs: 5000 });

    const plant = (postgres: object) => plantServiceConfigSchema.safeParse({ mqtt: { url: "mqtt://b" }, postgres });
    expect(issues(plant({ url: "postgres://axviam:inline@db/plant", passwordFile: "/run/secrets/db" }))).toEqual(["postgres.url: the URL carries a password as well as passwordFile/passwordEnv: keep it in one place"]);
    expect(issues(plant({ url: "postgres://axviam@db/plant", passwordFile: "f", passwordEnv: "E" }))).toEqual(["postgres.passwordEnv: set only one of passwordFile, passwordEnv"]);
    expect(plant({ url: "postgres://axviam@db/plant", passwordEnv: "PGPW" }).success).toBe(true);
  });

  it("readSecret: file (one trailing newline dropped, relative to the config folder), environment, inline with a warning", () => {
    const warnings: string[] = [];
    const o = { baseDir: dir, env: { MQTT_PW: "from-env" }, warn: (m: string) => warnings.push(m) };
    secretFile("mqtt-pw", "s3cret with spaces \n");
    expect(readSecret("plant.mqtt.password", { file: "mqtt-pw" }, o)).toBe("s3cret with spaces ");
    expect(readSecret("plant.mqtt.password", { env: "MQTT_PW" }, o)).toBe("from-env");
    expect(readSecret("plant.mqtt.password", {}, o)).toBeUndefined();
    expect(warnings).toEqual([]);
    expect(readSecret("plant.mqtt.password", { inline: "in-yaml" }, o)).toBe("in-yaml");
    expect(warnings).toEqual(["plant.mqtt.password is written inline in the config file; prefer plant.mqtt.passwordFile (a secret file) or plant.mqtt.passwordEnv (an environment variable)"]);
    const open = secretFile("open-pw", "x", 0o644);
    expect(readSecret("plant.mqtt.password", { file: open }, o)).toBe("x");
    expect(warnings[1]).toBe(`plant.mqtt.passwordFile: ${open} is readable by group or others; chmod 600 it`);
  });

  it("readSecret: a missing file, an empty file or an unset variable is an error naming the field, never the value", () => {
    const o = { baseDir: dir, env: {}, warn: () => undefined };
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(PlantSecretError);
        return (e as Error).message;
      }
      throw new Error("no error");
    };
    expect(err(() => readSecret("postgres.password", { file: "nope" }, o))).toBe(`postgres.passwordFile: cannot read ${path.join(dir, "nope")} (ENOENT)`);
    secretFile("empty", "\n");
    expect(err(() => readSecret("postgres.password", { file: "empty" }, o))).toBe(`postgres.passwordFile: ${path.join(dir, "empty")} is empty`);
    expect(err(() => readSecret("http.token", { env: "PLANT_TOKEN" }, o))).toBe("http.tokenEnv: environment variable PLANT_TOKEN is not set or empty");
  });
});

describe("a broker that refuses anonymous clients", () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBroker({ users: { "station-7": "Tr0ub4dor&3" } });
  });
  afterAll(async () => broker?.dispose());

  const attach = (mqtt: object, env: NodeJS.ProcessEnv = {}, log = silentLogger()) => {
    const hub = createLiveHub();
    const fake = createFakeStation(hub, { cyclerId: "cycler-1", channels: 2 });
    return attachPlantPublisher({
      service: fake, hub, stationId: "station-7", dataDir: mkdtempSync(path.join(dir, "data-")), configDir: dir, env, log,
      config: plantSchema.parse({ enabled: true, mqtt: { url: broker.url, username: "station-7", reconnectMs: 200, ...mqtt } }),
    });
  };

  it("the station connects with the password from a secret file or an environment variable", async () => {
    secretFile("broker-pw", "Tr0ub4dor&3\n");
    for (const p of [await attach({ passwordFile: "broker-pw" }), await attach({ passwordEnv: "BROKER_PW" }, { BROKER_PW: "Tr0ub4dor&3" })]) {
      await waitUntil("connected", () => p.connected());
      await p.stop();
    }
  });

  it("a wrong password is a clear broker error; a missing secret fails the start", async () => {
    const p = await attach({ passwordEnv: "BROKER_PW" }, { BROKER_PW: "wrong" });
    try {
      await waitUntil("refusal reported", () => /Not authorized|Bad username or password/i.test(p.lastError() ?? ""));
      expect(p.lastError()).toContain(broker.url);
      expect(p.connected()).toBe(false);
    } finally {
      await p.stop();
    }
    await expect(attach({ passwordEnv: "BROKER_PW" })).rejects.toThrow("plant.mqtt.passwordEnv: environment variable BROKER_PW is not set or empty");
  });

  it("inline still works, with a warning in the log", async () => {
    const lines: string[] = [];
    const log = pino({ level: "warn" }, { write: (l: string) => void lines.push(l) });
    const p = await attach({ password: "Tr0ub4dor&3" }, {}, log);
    try {
      await waitUntil("connected", () => p.connected());
      expect(lines.some((l) => l.includes("plant.mqtt.password is written inline"))).toBe(true);
      expect(lines.some((l) => l.includes("Tr0ub4dor"))).toBe(false);
    } finally {
      await p.stop();
    }
  });
});
