/** ISA-18.2 alarm states and the per-source lookup the monitors use on every poll. */
import { Low, Memory } from "lowdb";
import { describe, expect, it } from "vitest";
import { createAlarmManager, type AlarmFile } from "../../server/station/alarms.ts";

const db = () => new Low<AlarmFile>(new Memory(), { alarms: [] });

describe("alarm manager", () => {
  it("walks active-unack → active-ack → normal, and active-unack → returned-unack → normal", () => {
    const m = createAlarmManager(db());
    const a = m.raise({ source: "c/1", condition: "fault-overvoltage", severity: "high", message: "x" });
    expect(a.state).toBe("active-unack");
    expect(m.acknowledge(a.id, "op").state).toBe("active-ack");
    m.clear("c/1", "fault-overvoltage");
    expect(m.active()).toEqual([]);

    const b = m.raise({ source: "c/2", condition: "invalid-reading", severity: "medium", message: "y" });
    m.clear("c/2", "invalid-reading");
    expect(m.active().map((x) => [x.id, x.state])).toEqual([[b.id, "returned-unack"]]);
    // raised again before acknowledgement: the same alarm is active again, not a second one
    expect(m.raise({ source: "c/2", condition: "invalid-reading", severity: "medium", message: "y2" }).id).toBe(b.id);
    m.clear("c/2", "invalid-reading");
    expect(m.acknowledge(b.id, "op").state).toBe("normal");
    expect(m.active()).toEqual([]);
    expect(m.history().length).toBe(2);
  });

  it("raising an active alarm again changes nothing and tells no one", () => {
    const m = createAlarmManager(db());
    let told = 0;
    m.onChange(() => told++);
    m.raise({ source: "c/1", condition: "link-lost", severity: "high", message: "x" });
    m.raise({ source: "c/1", condition: "link-lost", severity: "high", message: "x" });
    expect(told).toBe(1);
    expect(m.active().length).toBe(1);
  });

  it("clears by prefix only that source's matching alarms, also for alarms loaded from the file", () => {
    const file = db();
    const first = createAlarmManager(file);
    first.raise({ source: "c/1", condition: "fault-overvoltage", severity: "high", message: "x" });
    first.raise({ source: "c/1", condition: "fault-overtemperature", severity: "high", message: "x" });
    first.raise({ source: "c/1", condition: "invalid-reading", severity: "medium", message: "x" });
    first.raise({ source: "c/2", condition: "fault-overvoltage", severity: "high", message: "x" });
    const reloaded = createAlarmManager(file); // a restarted station finds its open alarms
    reloaded.clearPrefixed("c/1", "fault-");
    const states = Object.fromEntries(reloaded.active().map((a) => [`${a.source} ${a.condition}`, a.state]));
    expect(states).toEqual({
      "c/1 fault-overvoltage": "returned-unack",
      "c/1 fault-overtemperature": "returned-unack",
      "c/1 invalid-reading": "active-unack",
      "c/2 fault-overvoltage": "active-unack",
    });
  });
});
