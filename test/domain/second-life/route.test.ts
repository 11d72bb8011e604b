import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { routeCell, type RoutingFigures } from "../../../server/domain/second-life/route.ts";
import { routingRulesSchema } from "../../../server/domain/second-life/routing-rules.schema.ts";

const rules = routingRulesSchema.parse(parse(readFileSync(new URL("../../../station-config/grading/second_life.yaml", import.meta.url), "utf8")));

const e = (value: number, uncertainty = 0.001) => ({ value, uncertainty });
function cell(over: Partial<RoutingFigures> = {}): RoutingFigures {
  return {
    sohCapacity: e(0.87, 0.008),
    resistanceGrowth: e(0.3, 0.02),
    selfDischargeMicroA: e(25, 2),
    modes: { lli: e(0.1, 0.01), lamNe: e(0.04, 0.01), lamPe: e(0.05, 0.01), negStoichiometryAtFull: 0.85 },
    maxDudtUncertaintyMvPerK: 0.008,
    ...over,
  };
}

describe("routeCell", () => {
  it("sends a healthy 87 % cell to stationary storage A and lists every check", () => {
    const d = routeCell(cell(), rules);
    expect(d.route).toBe("stationary-storage-a");
    // 5 safety + 4 confidence + 2 conditions × 4 routes
    expect(d.reasons).toHaveLength(17);
    const failed = d.reasons.filter((r) => !r.passed).map((r) => r.rule);
    expect(failed).toEqual(["routes.module-rebuild.minSohCapacity", "routes.module-rebuild.maxResistanceGrowth"]);
    const soh = d.reasons.find((r) => r.rule === "routes.stationary-storage-a.minSohCapacity")!;
    expect(soh).toMatchObject({ figure: "SOH (capacity)", unit: "%", passed: true });
    expect(soh.value).toBeCloseTo(87, 9);
    expect(soh.threshold).toBeCloseTo(85, 9);
    expect(soh.message).toContain("87 % meets >= 85 %");
  });

  it.each([
    [0.93, 0.1, "module-rebuild"],
    [0.87, 0.6, "stationary-storage-b"],
    [0.78, 0.3, "stationary-storage-b"],
    [0.7, 0.9, "low-power"],
    [0.6, 0.3, "recycle"],
    [0.85, 0.3, "stationary-storage-a"], // exactly on the threshold passes
  ])("SOH %f with growth %f → %s", (soh, growth, route) => {
    expect(routeCell(cell({ sohCapacity: e(soh, 0.008), resistanceGrowth: e(growth, 0.02) }), rules).route).toBe(route);
  });

  it("forces recycle on each safety screen, even for an excellent cell, naming the failed rule", () => {
    const good = { sohCapacity: e(0.95, 0.008), resistanceGrowth: e(0.1, 0.02) };
    const screens: [Partial<RoutingFigures>, string][] = [
      [{ selfDischargeMicroA: e(1500, 20) }, "safety.maxSelfDischargeMicroA"],
      [{ resistanceGrowth: e(1.8, 0.02) }, "safety.maxResistanceGrowth"],
      [{ modes: { lli: e(0.22, 0.01), lamNe: e(0.25, 0.01), lamPe: e(0, 0.01), negStoichiometryAtFull: 0.9 } }, "safety.plating.maxLamNe"],
      [{ modes: { lli: e(0.02, 0.01), lamNe: e(0.12, 0.01), lamPe: e(0, 0.01), negStoichiometryAtFull: 0.9 } }, "safety.plating.maxLamNeOverLli"],
      [{ modes: { lli: e(0.05, 0.01), lamNe: e(0.05, 0.01), lamPe: e(0, 0.01), negStoichiometryAtFull: 0.995 } }, "safety.plating.maxNegStoichiometryAtFull"],
    ];
    for (const [over, rule] of screens) {
      const d = routeCell(cell({ ...good, ...over }), rules);
      expect(d.route).toBe("recycle");
      expect(d.label).toContain("safety");
      expect(d.reasons.filter((r) => r.kind === "safety" && !r.passed).map((r) => r.rule)).toEqual([rule]);
    }
  });

  it("sends an uncertain or incompletely measured cell to re-test, not to a route", () => {
    expect(routeCell(cell({ sohCapacity: e(0.87, 0.04) }), rules).route).toBe("retest");
    expect(routeCell(cell({ maxDudtUncertaintyMvPerK: 0.05 }), rules).route).toBe("retest");
    const noHold = routeCell(cell({ selfDischargeMicroA: undefined }), rules);
    expect(noHold.route).toBe("retest");
    expect(noHold.reasons.find((r) => r.rule === "safety.maxSelfDischargeMicroA")?.message).toContain("not measured");
  });

  it("rejects a rules file with a duplicated route, naming it", () => {
    const bad = { ...rules, routes: [...rules.routes, rules.routes[0]] };
    const result = routingRulesSchema.safeParse(bad);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([["routes.4.id", 'route "module-rebuild" is listed twice']]);
  });
});
