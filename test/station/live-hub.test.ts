/** Live hub: a change goes out at once, each channel at most twice in any second, noise within deadbands is not a change. */
import { describe, expect, it } from "vitest";
import type { ChannelView } from "../../server/api/events.ts";
import { createLiveHub } from "../../server/station/live-hub.ts";

const view = (channel: number, voltageV: number, state: ChannelView["state"] = "running", extra: Partial<ChannelView> = {}): ChannelView => ({
  key: `c/${channel}`, cyclerId: "c", channel, state, voltageV, currentA: 0, temperatureC: 25, stepIndex: 0, stepTimeS: 0, cycle: 0, alarmCode: 0, lastSeq: "0", updatedAtMs: 0, ...extra,
});

describe("live hub rate limit", () => {
  it("sends the first two changes of a second at once and holds a third until the second is over, with its newest value", () => {
    const hub = createLiveHub();
    let notified = 0;
    hub.onChange(() => notified++);
    hub.upsert(view(1, 3.7));
    expect(notified).toBe(1);
    expect(hub.takeDue(1000)).toEqual({ due: [view(1, 3.7)], nextDueMs: undefined });

    // a state change 100 ms later still goes out at once (second sending within the second)
    hub.upsert(view(1, 3.7, "finished"));
    expect(hub.takeDue(1100).due.map((v) => v.state)).toEqual(["finished"]);

    // a third within the same second waits until 1000 ms after the first sending
    hub.upsert(view(1, 3.71, "finished"));
    hub.upsert(view(1, 3.72, "finished"));
    expect(hub.takeDue(1200)).toEqual({ due: [], nextDueMs: 2000 });
    const later = hub.takeDue(2000);
    expect(later.due.map((v) => v.voltageV)).toEqual([3.72]);
    expect(later.nextDueMs).toBeUndefined();
    // the window slides: the sending at 1100 and the one at 2000 allow the next at 2100
    hub.upsert(view(1, 3.8, "finished"));
    expect(hub.takeDue(2050)).toEqual({ due: [], nextDueMs: 2100 });
    expect(hub.takeDue(2100).due.map((v) => v.voltageV)).toEqual([3.8]);
    expect(hub.takeDue(9000).due).toEqual([]); // nothing changed since
  });

  it("does not hold back one channel for another's sendings", () => {
    const hub = createLiveHub();
    hub.upsert(view(1, 3.7));
    hub.takeDue(1000);
    hub.upsert(view(1, 3.8));
    hub.takeDue(1010);
    hub.upsert(view(1, 3.9));
    hub.upsert(view(2, 3.6, "idle"));
    const r = hub.takeDue(1100);
    expect(r.due.map((v) => v.key)).toEqual(["c/2"]);
    expect(r.nextDueMs).toBe(2000);
  });
});

describe("live hub deadbands", () => {
  it("ignores noise within the deadbands of what was last sent, but sends a drift that adds up to one", () => {
    const hub = createLiveHub();
    let notified = 0;
    hub.onChange(() => notified++);
    hub.upsert(view(1, 3.7, "idle"));
    hub.takeDue(0);
    for (const v of [3.7002, 3.6998, 3.7004]) hub.upsert(view(1, v, "idle", { temperatureC: 25.02 }));
    expect(notified).toBe(1);
    expect(hub.takeDue(5000).due).toEqual([]);
    expect(hub.get("c/1")?.voltageV).toBe(3.7004); // the latest reading is kept for snapshots all the same
    hub.upsert(view(1, 3.7006, "idle")); // 0.6 mV from what was sent
    expect(notified).toBe(2);
    expect(hub.takeDue(6000).due.map((v) => v.voltageV)).toEqual([3.7006]);
  });

  it("sends any discrete change, and an analog value turning impossible, however small", () => {
    const hub = createLiveHub();
    hub.upsert(view(1, 3.7, "idle"));
    hub.takeDue(0);
    hub.upsert(view(1, 3.7, "idle", { alarmCode: 7 }));
    expect(hub.takeDue(5000).due.map((v) => v.alarmCode)).toEqual([7]);
    hub.upsert(view(1, Number.NaN, "idle", { alarmCode: 7 }));
    expect(hub.takeDue(10_000).due.map((v) => v.voltageV)).toEqual([Number.NaN]);
    hub.upsert(view(1, Number.NaN, "idle", { alarmCode: 7, socPercent: 40 }));
    expect(hub.takeDue(15_000).due.map((v) => v.socPercent)).toEqual([40]);
  });
});
