/**
 * The plant service (DESIGN §13): one subscriber on the plant broker (`<prefix>/+/+/+/<kind>` for every station →
 * plant kind, QoS 1, persistent session under a fixed client id) that lands every station's messages in
 * PostgreSQL, plus the plant REST API.
 * After a grade or alarm change is committed, the service publishes its id in a receipt (QoS 1) on the station's
 * `<...>/<station>/receipts` topic: the station keeps the message until then and re-sends it otherwise, so even a
 * broker crash that loses its queue loses nothing (end-to-end receipt; the ids make re-sends harmless).
 * A QoS 1 message is also acknowledged to the broker (PUBACK) only after its row is committed: mqtt.js sends the
 * PUBACK when the `handleMessage` callback is called (`customHandleAcks` only picks an MQTT 5 reason code before
 * that, so it is not needed). While the database is away the service retries with backoff and the broker holds the
 * rest of the queue.
 * Invalid messages are logged with their topic and acknowledged (a poison message must not block the queue); they
 * get no receipt, so the station keeps them (and retries, rarely) until a plant that accepts them answers.
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
import { digest, parsePlantMessage, plantTopic, PlantMessageError, RECEIPTED_KINDS, RECEIPTS_KIND, TOPIC_KINDS, type ReceiptMessage, type TopicKind } from "./plant-messages.ts";
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
/** ids committed within this window go out in one receipt per station */
const RECEIPT_BATCH_MS = 20;
const RECEIPT_BATCH_IDS = 500;

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

  const health: PlantHealth = { broker: { connected: false, error: `not yet connected to ${cfg.mqtt.url}` }, subscribed: false, database: { ok: true }, written: {}, rejected: 0 };
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
  const receipts = receiptBatcher(cfg.mqtt.topicPrefix, (topic, m) => {
    client.publish(topic, JSON.stringify(m), { qos: 1 }, (err) => {
      // a lost receipt only means the station sends the message again
      if (err && !stopped) plog.debug({ topic, err: err.message }, "receipt not delivered; the station will re-send");
    });
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
      if ((RECEIPTED_KINDS as readonly TopicKind[]).includes(parsed.kind)) receipts.add(parsed.message);
      done();
    }, done);
  };
  client.on("connect", (ack) => {
    health.broker = { connected: true };
    plog.info({ broker: cfg.mqtt.url, sessionPresent: ack.sessionPresent }, "connected to the plant broker");
    if (health.subscribed && ack.sessionPresent) return;
    health.subscribed = false;
    const filters = TOPIC_KINDS.map((kind) => `${cfg.mqtt.topicPrefix}/+/+/+/${kind}`);
    // a session from a version that subscribed to <prefix>/# would hand the service its own receipts
    client.unsubscribe(`${cfg.mqtt.topicPrefix}/#`);
    client.subscribe(filters, { qos: 1 }, (err) => {
      if (err) plog.error({ err: err.message }, `subscribing to ${filters.join(", ")} failed`);
      else health.subscribed = true;
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
      receipts.flush();
      await client.endAsync(true);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end();
    },
  };
}

/** Collects committed ids per station and publishes them as one receipt per station every RECEIPT_BATCH_MS. */
function receiptBatcher(prefix: string, send: (topic: string, m: ReceiptMessage) => void) {
  const batches = new Map<string, { origin: { plantId: string; lineId: string; stationId: string }; ids: string[] }>();
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    for (const [topic, b] of batches) send(topic, { schema: "axviam.receipt/1", id: digest(b.ids), ...b.origin, at: new Date().toISOString(), ids: b.ids });
    batches.clear();
  };
  return {
    add(m: { id: string; plantId: string; lineId: string; stationId: string }) {
      const origin = { plantId: m.plantId, lineId: m.lineId, stationId: m.stationId };
      const topic = plantTopic({ prefix, ...origin, kind: RECEIPTS_KIND });
      const b = batches.get(topic) ?? { origin, ids: [] };
      b.ids.push(m.id);
      batches.set(topic, b);
      if (b.ids.length >= RECEIPT_BATCH_IDS) flush();
      else timer ??= setTimeout(flush, RECEIPT_BATCH_MS);
    },
    flush,
  };
}
