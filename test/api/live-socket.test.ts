/** socket.io side: session-cookie handshake, snapshots then deltas, role-checked acknowledge, session end. */
import { io as connect, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChannelView, ClientToServerEvents, ServerToClientEvents } from "../../server/api/events.ts";
import { startHarness, type Harness } from "./api-harness.ts";

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
let h: Harness;
const open: Client[] = [];
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  open.forEach((s) => s.close());
  await h.close();
});

const client = (cookie?: string): Client => {
  const s: Client = connect(h.url, { transports: ["websocket"], extraHeaders: cookie ? { cookie } : {}, reconnection: false });
  open.push(s);
  return s;
};
const connected = (s: Client) => new Promise<void>((resolve) => (s.connected ? resolve() : s.once("connect", () => resolve())));
const next = <E extends keyof ServerToClientEvents>(s: Client, event: E) =>
  new Promise<Parameters<ServerToClientEvents[E]>[0]>((resolve) => s.once(event as never, resolve as never));

describe("live socket", () => {
  it("refuses a handshake without a session", async () => {
    const s = client();
    const err = await new Promise<Error>((resolve) => s.once("connect_error", resolve));
    expect(err.message).toBe("unauthenticated");
  });

  it("sends snapshots on join, then lot and alarm deltas; checks the role on acknowledge", async () => {
    h.station.feed();
    const alarm = h.station.alarmManager.raise({ source: "cycler-1/3", condition: "over-temperature", severity: "high", message: "cell at 61 °C" });
    const qa = client(await h.loginAs("qa"));
    const op = client(await h.loginAs("operator"));
    const snapshot = next(op, "station.snapshot");
    const alarms = next(op, "alarms.snapshot");
    const lots = next(op, "lots.snapshot");
    op.emit("live.join", {});
    expect((await snapshot).channels).toHaveLength(8);
    expect((await alarms).map((a) => a.id)).toEqual([alarm.id]);
    expect(await lots).toEqual([]);

    const lotUpdate = next(op, "lot.updated");
    const lot = await h.station.startLot({ name: "S1", recipe: "factory_init", cyclerId: "cycler-1", cells: [{ slot: 1, serial: "X1" }], nominalCapacityAh: 5, chemistry: "nmc811-graphite", operator: "olga" });
    h.station.advance(lot.id, 2, 0.4);
    const update = await lotUpdate;
    expect(update.lot.id).toBe(lot.id);
    expect(update.lot.phaseIndex).toBe(2); // coalesced: the start and the advance arrive as one, the latest
    expect(update.runs[0].serial).toBe("X1");

    await connected(qa);
    const refused = await qa.emitWithAck("alarm.acknowledge", alarm.id);
    expect(refused).toEqual({ ok: false, status: 403, error: "role qa may not alarm.acknowledge" });
    const changed = next(op, "alarm.changed");
    const acked = await op.emitWithAck("alarm.acknowledge", alarm.id);
    expect(acked.ok && acked.value.state).toBe("active-ack");
    expect(await changed).toMatchObject({ id: alarm.id, state: "active-ack", acknowledgedBy: "olga" });
    expect(h.audit.query({ action: "alarm.acknowledge" })[0]).toMatchObject({ actor: "olga", target: alarm.id });
  });

  it("streams values only for the channels a client shows, the state of every channel, and catches up on scrolling", async () => {
    h.station.feed();
    const op = client(await h.loginAs("operator"));
    const snapshot = next(op, "station.snapshot");
    op.emit("live.join", {});
    await snapshot;
    op.emit("live.visible", ["cycler-1/1"]);
    const received: ChannelView[] = [];
    op.on("channels.updated", (views) => received.push(...views));
    await new Promise((r) => setTimeout(r, 100));
    const v = (k: number) => h.hub.get(`cycler-1/${k}`)!;
    h.hub.upsert({ ...v(1), voltageV: 3.91 }); // shown: its value streams
    h.hub.upsert({ ...v(2), voltageV: 3.92 }); // not shown: a value change stays on the server
    h.hub.upsert({ ...v(3), state: "fault", alarmCode: 5 }); // not shown: a state change still goes out
    const until = Date.now() + 3000;
    while (!(received.some((x) => x.key === "cycler-1/1") && received.some((x) => x.key === "cycler-1/3")) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    expect(received.find((x) => x.key === "cycler-1/1")?.voltageV).toBe(3.91);
    expect(received.find((x) => x.key === "cycler-1/3")).toMatchObject({ state: "fault", alarmCode: 5 });
    expect(received.some((x) => x.key === "cycler-1/2")).toBe(false);

    // scrolled to channel 2: its newest value arrives at once
    op.emit("live.visible", ["cycler-1/1", "cycler-1/2"]);
    const until2 = Date.now() + 3000;
    while (!received.some((x) => x.key === "cycler-1/2") && Date.now() < until2) await new Promise((r) => setTimeout(r, 20));
    expect(received.find((x) => x.key === "cycler-1/2")?.voltageV).toBe(3.92);
    // a malformed declaration is ignored, not a crash: the socket stays as it was and connected
    op.emit("live.visible", "all" as unknown as string[]);
    h.hub.upsert({ ...v(4), voltageV: 3.94 });
    await new Promise((r) => setTimeout(r, 300));
    expect(received.some((x) => x.key === "cycler-1/4")).toBe(false);
    expect(op.connected).toBe(true);
    op.close();
  });

  it("tells the socket and disconnects it on logout", async () => {
    const cookie = await h.loginAs("supervisor");
    const s = client(cookie);
    await connected(s);
    const ended = next(s, "session.ended");
    const gone = new Promise<string>((resolve) => s.once("disconnect", resolve));
    await h.call("POST", "/auth/logout", { cookie });
    expect(await ended).toBe("logged out");
    expect(await gone).toBe("io server disconnect");
  });
});
