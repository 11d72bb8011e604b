/**
 * Station side of the plant view (DESIGN §13): publishes to the plant's MQTT broker
 *   status   retained, QoS 1, every publishLiveEveryMs and as the last will (online: false)
 *   channels QoS 0, every publishLiveEveryMs (live summary; a lost one is replaced by the next)
 *   runs     QoS 0 on every lot change (progress)
 *   alarms   QoS 1 through the persistent outbox, one message per ISA-18.2 state change
 *   grades   QoS 1 through the persistent outbox, one message per finished cell when its lot completes
 * The station never waits for the broker: everything that must arrive is on disk first and leaves the outbox only
 * on PUBACK. On attach, finished lots not yet handed to the outbox (station was offline from the plant, crashed,
 * or joined the plant later) are enqueued, so the plant receives the station's whole history exactly once per id.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { certificatesDir } from "../certificates/certificate.service.ts";
import type { PlantConfig } from "../config/station-config.schema.ts";
import type { Logger } from "../log/logger.ts";
import type { LiveHub } from "../station/live-hub.ts";
import type { Lot } from "../station/run.types.ts";
import type { StationService } from "../station/station-service.ts";
import { openOutbox, type Outbox, type OutboxMessage } from "./outbox.ts";
import { plantTopic, type TopicKind } from "./plant-messages.ts";
import { readSecret } from "./plant-secrets.ts";
import { alarmMessage, channelsMessage, gradeMessages, runsMessage, statusMessage, type CertificateLookup, type Origin } from "./station-messages.ts";

export interface PlantPublisherDeps {
  service: StationService;
  hub: LiveHub;
  /** the station config's `plant` section; must be enabled */
  config: PlantConfig;
  stationId: string;
  /** default: the station id */
  stationName?: string;
  /** the station runs simulated equipment (stated in every status message) */
  simulated?: boolean;
  dataDir: string;
  /** folder a relative plant.mqtt.passwordFile resolves against (the station config's) */
  configDir?: string;
  /** where plant.mqtt.passwordEnv is looked up; default: process.env */
  env?: NodeJS.ProcessEnv;
  log: Logger;
  /** wall clock; tests may pass their own */
  now?: () => Date;
}

export interface PlantPublisher {
  stop(): Promise<void>;
  /** messages waiting for the broker's acknowledgement */
  outboxSize(): number;
  /** connected to the broker right now */
  connected(): boolean;
  /** the last connection problem, for the station's status display; undefined while connected */
  lastError(): string | undefined;
}

/** QoS 1 messages in flight at once (the broker's receive window is ≥ 20; more buys little on loopback). */
const WINDOW = 64;

export class PlantConfigError extends Error {
  constructor(message: string) {
    super(`plant: ${message}`);
    this.name = "PlantConfigError";
  }
}

export async function attachPlantPublisher(deps: PlantPublisherDeps): Promise<PlantPublisher> {
  const { service, hub, config, stationId, log, dataDir } = deps;
  const now = deps.now ?? (() => new Date());
  if (!config.enabled) throw new PlantConfigError("attachPlantPublisher called with plant.enabled = false");
  if (!config.mqtt) throw new PlantConfigError("plant.mqtt.url is not configured");
  const mq = config.mqtt;
  const origin: Origin = { plantId: config.plantId, lineId: config.lineId, stationId };
  const topic = (kind: TopicKind) => plantTopic({ prefix: mq.topicPrefix, ...origin, kind });
  const plog = log.child({ part: "plant-publisher", broker: mq.url });
  const password = readSecret("plant.mqtt.password", { inline: mq.password, file: mq.passwordFile, env: mq.passwordEnv }, { baseDir: deps.configDir, env: deps.env, warn: (m) => plog.warn(m) });
  const outbox: Outbox = await openOutbox(path.join(dataDir, "plant-outbox"));
  const stationName = deps.stationName ?? stationId;
  const simulated = deps.simulated ?? false;

  const status = (online: boolean) =>
    statusMessage(origin, { stationName, online, simulated, at: now(), links: hub.links(), channels: hub.channels(), activeAlarms: service.alarms.active().length });

  const client: MqttClient = mqtt.connect(mq.url, {
    clientId: mq.clientId ?? `axviam-${stationId}`,
    ...(mq.username !== undefined ? { username: mq.username } : {}),
    ...(password !== undefined ? { password } : {}),
    clean: true,
    reconnectPeriod: mq.reconnectMs,
    connectTimeout: 10_000,
    // nothing waits in mqtt.js's memory: QoS 0 is dropped while offline, QoS 1 lives in our outbox
    queueQoSZero: false,
    will: { topic: topic("status"), payload: Buffer.from(JSON.stringify(status(false))), qos: 1, retain: true },
  });

  let stopped = false;
  let lastError: string | undefined = `not yet connected to ${mq.url}`;
  // a publish's callback from before a reconnect belongs to an old generation: its in-flight slot is gone
  let generation = 0;
  const inFlight = new Set<string>();

  const pump = () => {
    if (stopped || !client.connected) return;
    const gen = generation;
    for (const m of outbox.pending(WINDOW - inFlight.size, (id) => inFlight.has(id))) {
      inFlight.add(m.id);
      client.publish(m.topic, m.payload, { qos: 1 }, (err) => {
        // the slot stays taken until the outbox has forgotten the message, else the next pump sends it again
        const release = () => void (gen === generation && inFlight.delete(m.id));
        if (err) {
          release();
          if (!stopped) plog.debug({ id: m.id, err: err.message }, "publish not acknowledged; stays in the outbox");
          return;
        }
        outbox.ack(m.id).then(
          () => (release(), pump()),
          (e: Error) => (release(), plog.error({ err: e.message }, "outbox ack failed")),
        );
      });
    }
  };

  const enqueue = async (messages: OutboxMessage[]) => {
    await outbox.add(messages);
    pump();
  };

  const publishLive = () => {
    if (stopped || !client.connected) return;
    const at = now();
    client.publish(topic("status"), JSON.stringify(status(true)), { qos: 1, retain: true });
    client.publish(topic("channels"), JSON.stringify(channelsMessage(origin, hub.channels(), at)), { qos: 0 });
  };

  client.on("connect", () => {
    if (lastError !== undefined) plog.info({ outbox: outbox.size() }, "connected to the plant broker; draining the outbox");
    lastError = undefined;
    publishLive();
    pump();
  });
  client.on("close", () => {
    generation++;
    inFlight.clear();
  });
  client.on("error", (e) => {
    const msg = `plant broker ${mq.url}: ${e.message}`;
    if (msg !== lastError) plog.warn({ err: e.message, outbox: outbox.size() }, "plant broker unreachable; the station goes on and keeps grades and alarms in its outbox");
    lastError = msg;
  });
  client.on("offline", () => {
    if (lastError === undefined) {
      lastError = `plant broker ${mq.url}: connection lost`;
      plog.warn({ outbox: outbox.size() }, "plant broker connection lost; queueing in the outbox");
    }
  });

  const certificateOf = certificateLookup(dataDir);
  const enqueuing = new Map<string, Promise<void>>();
  const enqueueLot = (lotId: string): Promise<void> => {
    const key = `lot:${lotId}`;
    if (outbox.hasMark(key)) return Promise.resolve();
    const running = enqueuing.get(key);
    if (running) return running;
    const p = (async () => {
      const grades = await gradeMessages(origin, await service.lot(lotId), certificateOf);
      await enqueue(grades.map((g) => ({ id: g.id, topic: topic("grades"), payload: JSON.stringify(g) })));
      await outbox.mark(key);
      plog.info({ lot: lotId, grades: grades.length }, "lot grades queued for the plant");
    })()
      .catch((e: Error) => plog.error({ lot: lotId, err: e.message }, "could not queue the lot's grades for the plant; retried at the next start"))
      .finally(() => enqueuing.delete(key));
    enqueuing.set(key, p);
    return p;
  };

  const onLot = (lot: Lot, runs: Parameters<typeof runsMessage>[2]) => {
    if (stopped) return;
    if (client.connected) client.publish(topic("runs"), JSON.stringify(runsMessage(origin, lot, runs, now())), { qos: 0 });
    if (lot.state === "complete") void enqueueLot(lot.id);
  };
  service.onLotChanged(onLot);
  service.onAlarm((a) => {
    if (stopped) return;
    const m = alarmMessage(origin, a);
    enqueue([{ id: m.id, topic: topic("alarms"), payload: JSON.stringify(m) }]).catch((e: Error) => plog.error({ alarm: a.id, err: e.message }, "could not queue an alarm change for the plant"));
  });
  hub.onLink(() => publishLive());

  // catch up: active alarms (ids dedupe on the plant) and finished lots the outbox has not seen
  await enqueue(service.alarms.active().map((a) => alarmMessage(origin, a)).map((m) => ({ id: m.id, topic: topic("alarms"), payload: JSON.stringify(m) })));
  for (const lot of await service.listLots()) if (lot.state === "complete") await enqueueLot(lot.id);

  const liveTimer = setInterval(publishLive, config.publishLiveEveryMs);

  return {
    async stop() {
      if (stopped) return;
      clearInterval(liveTimer);
      await Promise.allSettled([...enqueuing.values()]);
      if (client.connected) await client.publishAsync(topic("status"), JSON.stringify(status(false)), { qos: 1, retain: true }).catch(() => undefined);
      stopped = true;
      await client.endAsync(true);
      await outbox.close();
    },
    outboxSize: () => outbox.size(),
    connected: () => client.connected,
    lastError: () => lastError,
  };
}

/** The newest certificate issued for a cell of a lot, from the certificate store's folder layout. */
function certificateLookup(dataDir: string): CertificateLookup {
  return async (lotId, serial) => {
    const dir = path.join(certificatesDir(dataDir), lotId);
    const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.startsWith(`${serial}-`) && f.endsWith(".json"));
    let newest: { id: string; issuedAt: string } | undefined;
    for (const f of files) {
      const content = (JSON.parse(await readFile(path.join(dir, f), "utf8")) as { content?: { id?: unknown; issuedAt?: unknown } }).content;
      if (typeof content?.id !== "string" || typeof content.issuedAt !== "string") continue;
      if (!newest || content.issuedAt > newest.issuedAt) newest = { id: content.id, issuedAt: content.issuedAt };
    }
    return newest;
  };
}
