import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { chargeCRateAt, deriveEnvelope, envelopeRulesSchema } from "../../../server/domain/envelope/envelope.ts";

const rules = envelopeRulesSchema.parse(parse(readFileSync(new URL("../../../station-config/evaluation/envelope.yaml", import.meta.url), "utf8")));

describe("operating envelope from a grade", () => {
  it("a healthy cell gets the base envelope with only the calendar rule", () => {
    const env = deriveEnvelope(rules, { sohPct: 95 });
    expect(env).toMatchObject({ socMinPct: 5, socMaxPct: 90, maxChargeCRate: 1, maxDischargeCRate: 2, noChargeBelowC: 0 });
    expect(env.applied.map((a) => a.id)).toEqual(["calendar-high-soc"]);
  });
  it("LAM_NE (plating risk) lowers the charge rate, forbids charging below 10 °C; the tightest value wins", () => {
    const env = deriveEnvelope(rules, { sohPct: 80, lamNePct: 12, resistanceGrowthPct: 40 });
    expect(env).toMatchObject({ socMinPct: 10, socMaxPct: 80, maxChargeCRate: 0.3, maxDischargeCRate: 0.7, noChargeBelowC: 10 });
    expect(env.applied.map((a) => a.id)).toEqual(["calendar-high-soc", "second-life-soh", "high-resistance-growth", "lam-ne-plating-risk"]);
    expect(env.applied.every((a) => a.rationale.length > 20 && a.citation.length > 5)).toBe(true);
  });
  it("unknown degradation modes do not trigger mode rules; a route does", () => {
    expect(deriveEnvelope(rules, { sohPct: 90 }).applied.map((a) => a.id)).not.toContain("lam-ne-plating-risk");
    expect(deriveEnvelope(rules, { sohPct: 90, route: "low-power" }).maxDischargeCRate).toBe(0.5);
  });
  it("charge derating interpolates the table and is zero at or below the no-charge temperature", () => {
    const env = deriveEnvelope(rules, { sohPct: 95 });
    expect(chargeCRateAt(env, 25)).toBe(1);
    expect(chargeCRateAt(env, 15)).toBeCloseTo(0.65, 12);
    expect(chargeCRateAt(env, 52.5)).toBeCloseTo(0.25, 12);
    expect(chargeCRateAt(env, 0)).toBe(0);
    const plating = deriveEnvelope(rules, { sohPct: 80, lamNePct: 12 });
    expect(chargeCRateAt(plating, 9)).toBe(0);
    expect(chargeCRateAt(plating, 20)).toBeCloseTo(0.3, 12);
  });
  it("rejects a rule set that leaves an empty SOC window", () => {
    const bad = { ...rules, rules: [...rules.rules, { id: "x", when: {}, then: { socMinPct: 95 }, rationale: "r", citation: "c" }] };
    expect(() => deriveEnvelope(bad, { sohPct: 95 })).toThrow(/empty SOC window/);
  });
});
