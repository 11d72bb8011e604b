/**
 * The plant service (DESIGN §13): one subscriber on the plant broker (`<prefix>/#`, QoS 1, persistent session
 * under a fixed client id) that lands every station's messages in PostgreSQL, plus the plant REST API.
 * A QoS 1 message is acknowledged (PUBACK) only after its row is committed: while the database is away the
 * service retries with backoff and the broker holds the rest of the queue, so nothing acknowledged is unwritten.
 * Invalid messages are logged with their topic and acknowledged (a poison message must not block the queue).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import mqtt, { type MqttClient } from "mqtt";
import pg from "pg";
import type { Logger } from "../log/logger.ts";
import { migrate } from "./migrate.ts";
import { mountPlantApi, type PlantHealth } from "./plant-api.ts";
import type { PlantServiceConfig } from "./plant-config.schema.ts";
import { parsePlantMessage, PlantMessageError } from "./plant-messages.ts";
import { readSecret } from "./plant-secrets.ts";
import { createPlantStore, type PlantStore } from "./plant-store.ts";

export interface PlantServiceHandle {
  url: string;
  port: number;
  store: PlantStore;
  health(): PlantHealth;
  stop(): Promise<void>;
}

export class PlantDatabaseError extends Error {
  constructor(url: string, cause: string) {
    super(`plant database ${redact(url)} unreachable or refused: ${cause}`);
    this.name = "PlantDatabaseError";
  }
}

/** Connection strings carry passwords: never log them. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}

const MAX_RETRY_MS = 30_000;

export interface PlantServiceOptions {
  /** folder relative secret files resolve against (the config file's); default: the working directory */
  configDir?: string;
  /** where passwordEnv/tokenEnv are looked up; default: process.env */
  env?: NodeJS.ProcessEnv;
}

/** The config's secrets, read once (files, environment); throws PlantSecretError naming the field. */
function resolveSecrets(cfg: PlantServiceConfig, plog: Logger, o: PlantServiceOptions) {
  const so = { baseDir: o.configDir, env: o.env, warn: (m: string) => plog.warn(m) };
  const dbPassword = readSecret("postgres.password", { file: cfg.postgres.passwordFile, env: cfg.postgres.passwordEnv }, so);
  let databaseUrl = cfg.postgres.url;
  if (dbPassword !== undefined) {
    // pg lets the connection string win over a separate password option, so the password goes into the URL
    const u = new URL(databaseUrl);
    u.password = encodeURIComponent(dbPassword);
    databaseUrl = u.toString();
  } else if (redact(databaseUrl) !== databaseUrl) {
    so.warn("postgres.url carries the password inline; prefer postgres.passwordFile or postgres.passwordEnv");
  }
  return {
    databaseUrl,
    mqttPassword: readSecret("mqtt.password", { inline: cfg.mqtt.password, file: cfg.mqtt.passwordFile, env: cfg.mqtt.passwordEnv }, so),
    apiToken: readSecret("http.token", { inline: cfg.http.token, file: cfg.http.tokenFile, env: cfg.http.tokenEnv }, so),
  };
}

export async function startPlantService(cfg: PlantServiceConfig, log: Logger, o: PlantServiceOptions = {}): Promise<PlantServiceHandle> {
  const plog = log.child({ part: "plant-service" });
  const secrets = resolveSecrets(cfg, plog, o);
  const pool = new pg.Pool({ connectionString: secrets.databaseUrl, max: cfg.postgres.poolSize, connectionTimeoutMillis: 5000 });
  // an idle client losing its server (database restart) must not crash the process
  pool.on("error", (e) => plog.warn({ err: e.message }, "idle database connection lost"));
  try {
    const applied = await migrate(pool);
    if (applied.length > 0) plog.info({ applied }, "database migrations applied");
  } catch (e) {
    await pool.end();
    throw new PlantDatabaseError(cfg.postgres.url, (e as Error).message || (e as { code?: string }).code || String(e));
  }
  const store = createPlantStore(pool);

  const health: PlantHealth = { broker: { connected: false, error: `not yet connected to ${cfg.mqtt.url}` }, database: { ok: true }, written: {}, rejected: 0 };
  let stopped = false;
  let wakeRetry: (() => void) | undefined;

  /** Writes until it succeeds; false when the service stops first (the message stays unacknowledged). */
  const writeDurably = async (write: () => Promise<void>): Promise<boolean> => {
    let waitMs = cfg.postgres.retryMs;
    for (;;) {
      if (stopped) return false;
      try {
        await write();
        if (!health.database.ok) plog.info("plant database reachable again; writing resumes");
        health.database = { ok: true };
        return true;
      } catch (e) {
        const msg = (e as Error).message || (e as { code?: string }).code || String(e);
        if (health.database.ok) plog.error({ err: msg, db: redact(cfg.postgres.url) }, "plant database write failed; holding messages (unacknowledged) and retrying");
        health.database = { ok: false, error: msg };
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, waitMs);
          wakeRetry = () => (clearTimeout(t), resolve());
        });
        waitMs = Math.min(waitMs * 2, MAX_RETRY_MS);
      }
    }
  };

  const client: MqttClient = mqtt.connect(cfg.mqtt.url, {
    clientId: cfg.mqtt.clientId,
    clean: false,
    reconnectPeriod: cfg.mqtt.reconnectMs,
    connectTimeout: 10_000,
    ...(cfg.mqtt.username !== undefined ? { username: cfg.mqtt.username } : {}),
    ...(secrets.mqttPassword !== undefined ? { password: secrets.mqttPassword } : {}),
  });
  // mqtt.js sends PUBACK when this callback is called: only after the row is committed
  client.handleMessage = (packet, done) => {
    const topic = packet.topic;
    let parsed: ReturnType<typeof parsePlantMessage>;
    try {
      parsed = parsePlantMessage(cfg.mqtt.topicPrefix, topic, packet.payload as Buffer);
    } catch (e) {
      health.rejected++;
      plog.error({ err: e instanceof PlantMessageError ? e.message : String(e) }, "plant message rejected");
      done();
      return;
    }
    writeDurably(() => store.write(parsed.kind, parsed.message)).then((ok) => {
      if (!ok) return done(new Error("plant service stopping; message left to the broker"));
      health.written[parsed.kind] = (health.written[parsed.kind] ?? 0) + 1;
      done();
    }, done);
  };
  let subscribed = false;
  client.on("connect", (ack) => {
    health.broker = { connected: true };
    plog.info({ broker: cfg.mqtt.url, sessionPresent: ack.sessionPresent }, "connected to the plant broker");
    if (subscribed && ack.sessionPresent) return;
    client.subscribe(`${cfg.mqtt.topicPrefix}/#`, { qos: 1 }, (err) => {
      if (err) plog.error({ err: err.message }, `subscribing to ${cfg.mqtt.topicPrefix}/# failed`);
      else subscribed = true;
    });
  });
  client.on("error", (e) => {
    if (health.broker.error !== e.message) plog.error({ broker: cfg.mqtt.url, err: e.message }, "plant broker unreachable; retrying");
    health.broker = { connected: false, error: `plant broker ${cfg.mqtt.url}: ${e.message}` };
  });
  client.on("offline", () => {
    if (health.broker.connected) plog.warn({ broker: cfg.mqtt.url }, "plant broker connection lost; retrying");
    health.broker = { connected: false, error: health.broker.error ?? `plant broker ${cfg.mqtt.url}: connection lost` };
  });

  const app = express();
  app.disable("x-powered-by");
  mountPlantApi(app, store, () => ({ ...health, written: { ...health.written } }), { corsOrigin: cfg.http.corsOrigin, token: secrets.apiToken });
  const server: Server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) => reject(new Error(`plant API cannot listen on ${cfg.http.host}:${cfg.http.port}: ${e.message}`)));
    server.listen(cfg.http.port, cfg.http.host, () => resolve());
  }).catch(async (e: Error) => {
    await client.endAsync(true);
    await pool.end();
    throw e;
  });
  const port = (server.address() as AddressInfo).port;
  const host = cfg.http.host === "0.0.0.0" ? "127.0.0.1" : cfg.http.host;

  return {
    url: `http://${host}:${port}`,
    port,
    store,
    health: () => ({ ...health, written: { ...health.written } }),
    async stop() {
      stopped = true;
      wakeRetry?.();
      await client.endAsync(true);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end();
    },
  };
}
