/**
 * Watches one cycler: connects (retrying with backoff), keeps the watchdog fed, polls live values in bulk and
 * publishes them to the live hub. The run engine listens to the same readings; this module owns no runs.
 */
import type { ChannelLive } from "../domain/equipment/channel.ts";
import type { ChannelView } from "../api/events.ts";
import type { ChannelChange, CyclerDriver, CyclerInfo, LinkState } from "../equipment/cycler-driver.ts";
import type { Logger } from "../log/logger.ts";
import type { LiveHub } from "./live-hub.ts";

export interface CyclerMonitorOptions {
  cyclerId: string;
  driver: CyclerDriver;
  hub: LiveHub;
  pollIntervalMs: number;
  heartbeatIntervalMs: number;
  log: Logger;
  /** decorates a channel view with run information (serial, run id, SOC, progress, ETA), from this reading when given */
  annotate?: (cyclerId: string, channel: number, live?: ChannelLive) => Partial<Pick<ChannelView, "serial" | "runId" | "socPercent" | "progress" | "etaS" | "stepCount" | "stepMode">>;
}

export interface CyclerMonitor {
  readonly cyclerId: string;
  readonly driver: CyclerDriver;
  info(): CyclerInfo | undefined;
  onLive(fn: (live: ChannelLive[]) => void): void;
  onConnected(fn: (info: CyclerInfo) => void): void;
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 30_000;
/** consecutive failed bulk reads after which the link counts as lost */
const LOST_AFTER_FAILED_POLLS = 3;

export function startCyclerMonitor(o: CyclerMonitorOptions): CyclerMonitor {
  let info: CyclerInfo | undefined;
  let stopped = false;
  const liveListeners: ((l: ChannelLive[]) => void)[] = [];
  const connectedListeners: ((i: CyclerInfo) => void)[] = [];
  const abort = new AbortController();
  const timers: NodeJS.Timeout[] = [];
  const log = o.log.child({ cycler: o.cyclerId });
  let link: LinkState = { status: "lost", reason: "not connected yet" };

  const setLink = (s: LinkState) => {
    if (s.status !== link.status || s.reason !== link.reason) log.info({ link: s }, "link state");
    link = s;
    o.hub.setLink({ equipmentId: o.cyclerId, kind: "cycler", status: s.status, reason: s.reason, simulated: info?.simulated ?? false });
  };
  o.driver.on("state", setLink);
  setLink(link);

  const connect = async () => {
    for (let attempt = 0; !stopped; attempt++) {
      try {
        info = await o.driver.connect(abort.signal);
        log.info({ model: info.model, serial: info.serial, channels: info.channelCount, simulated: info.simulated }, "cycler connected");
        setLink({ status: "connected" });
        connectedListeners.forEach((fn) => fn(info!));
        return;
      } catch (e) {
        const waitMs = Math.min(MAX_BACKOFF_MS, 250 * 2 ** attempt);
        setLink({ status: "lost", reason: (e as Error).message });
        log.warn({ err: (e as Error).message, retryInMs: waitMs }, "cycler connect failed");
        await new Promise((r) => timers.push(setTimeout(r, waitMs)));
      }
    }
  };

  /**
   * Changes a subscription reported after the running bulk read was sent: that read may have been answered before
   * them, so they win over it until a read sent after them confirms or supersedes them.
   */
  const fresher = new Map<number, { receivedAtMs: number; change: ChannelChange }>();
  const keyOf = (channel: number) => `${o.cyclerId}/${channel}`;
  const onChanges = (changes: ChannelChange[]) => {
    const now = Date.now();
    for (const change of changes) {
      const merged = { ...fresher.get(change.channel)?.change, ...change };
      fresher.set(change.channel, { receivedAtMs: now, change: merged });
      const view = o.hub.get(keyOf(change.channel));
      if (view) o.hub.upsert({ ...view, ...merged, key: view.key, updatedAtMs: now, ...o.annotate?.(o.cyclerId, change.channel) });
    }
  };

  let polling = false;
  let failures = 0;
  const poll = async () => {
    if (!info || polling || stopped) return;
    polling = true;
    try {
      const sentAtMs = Date.now();
      const readings = await o.driver.readLive();
      const bootId = o.driver.bootId?.();
      if (info && bootId !== undefined && bootId !== info.bootId) {
        log.warn({ from: info.bootId, to: bootId }, "cycler rebooted: its record buffers were cleared");
        info = { ...info, bootId };
      }
      const now = Date.now();
      for (const c of readings) {
        const f = fresher.get(c.channel);
        if (f && f.receivedAtMs < sentAtMs) fresher.delete(c.channel);
        const view: ChannelView = {
          key: keyOf(c.channel),
          cyclerId: o.cyclerId,
          channel: c.channel,
          state: c.state,
          voltageV: c.voltageV,
          currentA: c.currentA,
          temperatureC: c.temperatureC,
          stepIndex: c.stepIndex,
          stepTimeS: c.stepTimeS,
          cycle: c.cycle,
          alarmCode: c.alarmCode,
          lastSeq: c.lastSeq.toString(),
          updatedAtMs: now,
          ...o.annotate?.(o.cyclerId, c.channel, c),
        };
        o.hub.upsert(f && f.receivedAtMs >= sentAtMs ? { ...view, ...f.change, channel: c.channel } : view);
      }
      liveListeners.forEach((fn) => fn(readings));
      failures = 0;
      if (link.status !== "connected") setLink({ status: "connected", reason: "live values answered again" });
    } catch (e) {
      // The supervisor judges the link by what it gets, not only by what the protocol stack reports: an instrument
      // that keeps the session open but answers nothing is as lost as one that closed it.
      failures += 1;
      log.debug({ err: (e as Error).message, failures }, "live poll failed");
      if (failures >= LOST_AFTER_FAILED_POLLS && link.status !== "lost") setLink({ status: "lost", reason: (e as Error).message });
    } finally {
      polling = false;
    }
  };
  const beat = () => {
    if (info && !stopped) o.driver.heartbeat().catch((e: Error) => log.debug({ err: e.message }, "heartbeat failed"));
  };

  void connect().then(() => {
    if (stopped) return;
    try {
      o.driver.watchChanges?.(onChanges);
    } catch (e) {
      log.warn({ err: (e as Error).message }, "no change subscription: live values by polling only");
    }
    void poll();
    beat();
    timers.push(setInterval(() => void poll(), o.pollIntervalMs), setInterval(beat, o.heartbeatIntervalMs));
  });

  return {
    cyclerId: o.cyclerId,
    driver: o.driver,
    info: () => info,
    onLive: (fn) => void liveListeners.push(fn),
    onConnected: (fn) => void connectedListeners.push(fn),
    async stop() {
      stopped = true;
      abort.abort();
      timers.forEach((t) => clearTimeout(t));
      await o.driver.close();
    },
  };
}
