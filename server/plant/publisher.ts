/**
 * Station side of the plant view (DESIGN §13): publishes to the plant's MQTT broker
 *   status   retained, QoS 1, every publishLiveEveryMs and as the last will (online: false)
 *   channels QoS 0, every publishLiveEveryMs (live summary; a lost one is replaced by the next)
 *   runs     QoS 0 on every lot change (progress)
 *   alarms   QoS 1 through the persistent outbox, one message per ISA-18.2 state change
 *   grades   QoS 1 through the persistent outbox, one message per finished cell when its lot completes
 * and subscribes to its own `receipts` topic, where the plant confirms what it has committed to PostgreSQL.
 * End-to-end receipt: a grade or alarm change leaves the outbox only on the plant's receipt — not on the broker's
 * PUBACK, because Mosquitto acknowledges before it persists, and a broker crash would lose what it held for a plant
 * whose database is away. Until the receipt the message is re-sent: after every reconnect (those the broker had
 * acknowledged; mqtt.js re-sends the others itself) and when no receipt came within receiptTimeoutMs (doubling per
 * attempt up to receiptMaxWaitMs). Re-sends are harmless: the plant upserts on the message id.
 * The station never waits for the broker: everything that must arrive is on disk first. At most RECEIPT_WINDOW
 * messages are out awaiting their receipt, so a long plant outage re-sends a bounded number and the rest waits here.
 * On attach, finished lots not yet handed to the outbox (station was offline from the plant, crashed, or joined
 * the plant later) are enqueued, so the plant receives the station's whole history exactly once per id.
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
import { parseReceipt, plantTopic, RECEIPTS_KIND, type TopicKind } from "./plant-messages.ts";
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
  /** first wait for the plant's receipt before a message is sent again [ms]; default 30 s */
  receiptTimeoutMs?: number;
  /** the wait doubles per attempt up to this [ms]; default 10 min */
  receiptMaxWaitMs?: number;
}

export interface PlantPublisher {
  stop(): Promise<void>;
  /** grades and alarm changes in the outbox: not yet confirmed by the plant's receipt */
  outboxSize(): number;
  /** of those, how many the broker has acknowledged (PUBACK) and now await the plant's receipt */
  awaitingReceipt(): number;
  /** connected to the broker right now */
  connected(): boolean;
  /** the last connection problem, for the station's status display; undefined while connected */
  lastError(): string | undefined;
}

/**
 * Messages out awaiting their receipt at once. Bounds what a plant outage makes the station re-send and the broker
 * queue; throughput per station is at most RECEIPT_WINDOW per round trip (station → broker → plant commit → back).
 */
const RECEIPT_WINDOW = 512;

interface Sent {
  msg: OutboxMessage;
  attempts: number;
  /** performance.now() after which the message is sent again */
  dueAtMs: number;
  /** the broker acknowledged a copy (PUBACK) since the last (re)connect */
  brokerHasIt: boolean;
}

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
  const topic = (kind: TopicKind | typeof RECEIPTS_KIND) => plantTopic({ prefix: mq.topicPrefix, ...origin, kind });
  const plog = log.child({ part: "plant-publisher", broker: mq.url });
  const password = readSecret("plant.mqtt.password", { inline: mq.password, file: mq.passwordFile, env: mq.passwordEnv }, { baseDir: deps.configDir, env: deps.env, warn: (m) => plog.warn(m) });
  const outbox: Outbox = await openOutbox(path.join(dataDir, "plant-outbox"));
  const stationName = deps.stationName ?? stationId;
  const simulated = deps.simulated ?? false;

  const status = (online: boolean) =>
    statusMessage(origin, { stationName, online, simulated, at: now(), links: hub.links(), channels: hub.channels(), activeAlarms: service.alarms.active().length });

  const receiptTimeoutMs = deps.receiptTimeoutMs ?? 30_000;
  const receiptMaxWaitMs = Math.max(receiptTimeoutMs, deps.receiptMaxWaitMs ?? 600_000);
  const receiptsTopic = topic(RECEIPTS_KIND);

  const client: MqttClient = mqtt.connect(mq.url, {
    clientId: mq.clientId ?? `axviam-${stationId}`,
    ...(mq.username !== undefined ? { username: mq.username } : {}),
    ...(password !== undefined ? { password } : {}),
    clean: true,
    reconnectPeriod: mq.reconnectMs,
    connectTimeout: 10_000,
    // nothing waits in mqtt.js's memory: QoS 0 is dropped while offline, QoS 1 lives in our outbox
    queueQoSZero: false,
    // the receipts subscription is made on every connect, and sending waits for it (see "connect")
    resubscribe: false,
    will: { topic: topic("status"), payload: Buffer.from(JSON.stringify(status(false))), qos: 1, retain: true },
  });

  let stopped = false;
  let lastError: string | undefined = `not yet connected to ${mq.url}`;
  // subscribed to the receipts topic on the current connection: before that, a fast receipt would be missed
  let receiving = false;
  const sent = new Map<string, Sent>();

  const transmit = (s: Sent) => {
    s.brokerHasIt = false;
    s.dueAtMs = performance.now() + Math.min(receiptTimeoutMs * 2 ** (s.attempts - 1), receiptMaxWaitMs);
    client.publish(s.msg.topic, s.msg.payload, { qos: 1 }, (err) => {
      if (err) {
        if (!stopped) plog.debug({ id: s.msg.id, err: err.message }, "publish not acknowledged by the broker; stays in the outbox");
        return;
      }
      s.brokerHasIt = true;
    });
  };

  const pump = () => {
    if (stopped || !client.connected || !receiving) return;
    for (const msg of outbox.pending(RECEIPT_WINDOW - sent.size, (id) => sent.has(id))) {
      const s: Sent = { msg, attempts: 1, dueAtMs: 0, brokerHasIt: false };
      sent.set(msg.id, s);
      transmit(s);
    }
  };

  /** No receipt in time: the broker or the plant lost it (crash, a plant session that did not exist yet). */
  const resendOverdue = () => {
    if (stopped || !client.connected || !receiving) return;
    const t = performance.now();
    let n = 0;
    for (const s of sent.values()) {
      if (s.dueAtMs > t) continue;
      s.attempts++;
      transmit(s);
      n++;
    }
    if (n > 0) plog.info({ resent: n, outbox: outbox.size() }, "no receipt from the plant in time; re-sent");
  };

  const onReceipt = (payload: Buffer) => {
    let ids: string[];
    try {
      ids = parseReceipt(receiptsTopic, payload, origin).ids.filter((id) => outbox.has(id));
    } catch (e) {
      plog.warn({ err: (e as Error).message }, "plant receipt ignored");
      return;
    }
    if (ids.length === 0) return;
    // the outbox forgets the ids in memory even when writing the receipt to disk fails (then a restart re-sends them)
    outbox.confirm(ids)
      .catch((e: Error) => plog.error({ err: e.message }, "could not record the plant's receipt on disk; these messages go again after a restart (harmless)"))
      .finally(() => {
        for (const id of ids) sent.delete(id);
        pump();
      });
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
    client.subscribe(receiptsTopic, { qos: 1 }, (err) => {
      if (err) {
        lastError = `plant broker ${mq.url}: subscribing to ${receiptsTopic} refused (${err.message})`;
        plog.error({ err: err.message }, "cannot subscribe to the plant's receipts; grades and alarms wait in the outbox");
        return;
      }
      receiving = true;
      // what the broker had acknowledged may have died with it: send again (the rest mqtt.js re-sends itself)
      for (const s of sent.values()) if (s.brokerHasIt) transmit(s);
      pump();
    });
  });
  client.on("message", (t, payload) => {
    if (t === receiptsTopic && !stopped) onReceipt(payload);
  });
  client.on("close", () => {
    receiving = false;
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
  const resendTimer = setInterval(resendOverdue, Math.min(1000, Math.max(50, receiptTimeoutMs / 4)));

  return {
    async stop() {
      if (stopped) return;
      clearInterval(liveTimer);
      clearInterval(resendTimer);
      await Promise.allSettled([...enqueuing.values()]);
      if (client.connected) await client.publishAsync(topic("status"), JSON.stringify(status(false)), { qos: 1, retain: true }).catch(() => undefined);
      stopped = true;
      await client.endAsync(true);
      await outbox.close();
    },
    outboxSize: () => outbox.size(),
    awaitingReceipt: () => [...sent.values()].filter((s) => s.brokerHasIt).length,
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
