import { describe, expect, it } from "vitest";
import { certificateContentSchema } from "../../server/certificates/certificate.types.ts";
import {
  imprintCertificateContent,
  passportFromResults,
  roundWithUncertainty,
  secondLifeCertificateContent,
} from "../../server/certificates/content-from-results.ts";
import { gradingRules, imprintLot, imprintOf, lotOf, runOf, secondLifeGradeOf } from "./results-fixture.ts";

const station = { id: "st-01", name: "AXVIAM Station 01" };
const id = "0b8e7c1a-2222-4a2b-9c3d-000000000001";
const issuedAt = "2026-03-15T10:00:00.000Z";

describe("roundWithUncertainty (GUM §7.2.6: U to 2 significant digits, value to the same place)", () => {
  it.each([
    [4.98734, 0.0122, 4.987, 0.012],
    [21.4377, 0.24, 21.44, 0.24],
    [0.99871, 0.0004, 0.99871, 0.0004],
    [1234.4, 56, 1234, 56],
    [12345, 560, 12350, 560],
  ])("%d ± %d → %d ± %d", (value, u, v, rounded) => {
    expect(roundWithUncertainty(value, u)).toEqual({ value: v, uncertainty: rounded });
  });
  it("keeps six significant digits without an uncertainty", () => {
    expect(roundWithUncertainty(3.14159265, 0)).toEqual({ value: 3.14159, uncertainty: 0 });
  });
});

describe("imprintCertificateContent", () => {
  const { lot, runs, imprints, grade } = imprintLot();
  const content = (i: number) => imprintCertificateContent({ id, issuedAt, station, lot, run: runs[i] }, imprints[i], grade.perCell[i], gradingRules);

  it("states identity from the lot and run, k = 2 uncertainties and the rule limits", () => {
    const c = certificateContentSchema.parse(content(0));
    expect(c.identity).toMatchObject({ serial: "CELL-0001", lot: lot.id, cycler: "sim-cycler-1", channel: 1, recipe: { name: "factory_init", version: "1.0.0" }, operator: "op-0042" });
    expect(c.simulated).toBe(true);
    const capacity = c.results.find((r) => r.figure === "capacityAh")!;
    // u = 0.0061 Ah → U = 0.0122 → 0.012; value to 3 decimals
    expect(capacity).toMatchObject({ value: 4.987, uncertainty: 0.012, unit: "Ah", limit: { min: 4.85 }, pass: true });
    expect(c.results.find((r) => r.figure === "ocvV")).toMatchObject({ limit: { min: 3.55, max: 3.8 }, pass: true });
    expect(c.decision).toMatchObject({ kind: "bin", value: "A" });
    expect(c.decision.reasons[0].message).toBe("graded by rules factory_init v1.0.0");
    expect(c.curves.map((x) => x.id)).toEqual(["voltage", "dqdv", "dudt"]);
    expect(c.curves[2].series[0]).toEqual({ name: "imprint", x: [20, 50, 80], y: [0.11, -0.03, -0.08], err: [0.008, 0.008, 0.008] });
  });

  it("fails the figure grading held against the cell and lists every reason of a reject", () => {
    const c = content(3);
    expect(c.decision.value).toBe("reject");
    expect(c.results.find((r) => r.figure === "capacityAh")).toMatchObject({ value: 4.701, pass: false });
    expect(c.results.find((r) => r.figure === "dcirMilliohm")!.pass).toBe(true);
    const reasons = c.decision.reasons.slice(1);
    expect(reasons).toHaveLength(grade.perCell[3].reasons.length);
    expect(reasons.map((r) => r.figure)).toEqual(["capacityAh", "capacityAh"]);
    expect(reasons[0]).toMatchObject({ value: 4.7012, unit: "Ah", threshold: 4.85 });
  });

  it("prints bin-C misses as reasons without failing any figure", () => {
    const c = content(1);
    expect(c.decision.value).toBe("C");
    expect(c.results.filter((r) => r.pass === false)).toEqual([]);
    expect(c.decision.reasons.slice(1).map((r) => r.message)).toEqual(grade.perCell[1].reasons.map((r) => r.message));
  });

  it("refuses results of another cell", () => {
    expect(() => imprintCertificateContent({ id, issuedAt, station, lot, run: runs[0] }, imprints[1], grade.perCell[1])).toThrow(/CELL-0001.*CELL-0002/);
  });
});

describe("secondLifeCertificateContent", () => {
  const lot = lotOf("second-life");
  const run = runOf(lot, "CELL-0001", 5);
  const grade = secondLifeGradeOf("CELL-0001");

  it("maps SOH, growth and modes to % with the route's thresholds, and every route check as a reason", () => {
    const c = certificateContentSchema.parse(secondLifeCertificateContent({ id, issuedAt, station, lot, run }, grade));
    expect(c.kind).toBe("second-life");
    expect(c.decision).toMatchObject({ kind: "route", value: "Stationary storage, grade B" });
    expect(c.decision.reasons).toHaveLength(grade.route.reasons.length);
    expect(c.decision.reasons.filter((r) => r.message.startsWith("FAIL"))).toHaveLength(3);
    // 0.8204 ± 0.004 → 82.04 % ± 0.8 % (k = 2)
    expect(c.results.find((r) => r.figure === "sohCapacityPercent")).toMatchObject({ value: 82.04, uncertainty: 0.8, unit: "%", limit: { min: 75 }, pass: true });
    expect(c.results.find((r) => r.figure === "resistanceGrowthPercent")).toMatchObject({ value: 30, uncertainty: 4, limit: { max: 150 }, pass: true });
    expect(c.results.find((r) => r.figure === "selfDischargeMicroA")).toMatchObject({ value: 15, uncertainty: 4, limit: { max: 200 }, pass: true });
    expect(c.results.find((r) => r.figure === "lamNePercent")).toMatchObject({ value: 4, limit: { max: 20 }, pass: true });
    expect(c.curves.map((x) => [x.id, x.series.length])).toEqual([["voltage", 2], ["dqdv", 1], ["dudt", 1]]);
  });

  it("overlays the imprint on dQ/dV and dU/dT when the cell has one", () => {
    const c = secondLifeCertificateContent({ id, issuedAt, station, lot, run }, grade, imprintOf("CELL-0001", 4.9873, 21.4));
    const dudt = c.curves.find((x) => x.id === "dudt")!;
    expect(dudt.title).toBe("Entropy profile dU/dT vs imprint");
    expect(dudt.series.map((s) => s.name)).toEqual(["second life", "imprint"]);
    // ascending SOC for plotting, though the grade lists points in discharge order
    expect(dudt.series[0].x).toEqual([20, 50, 80]);
    expect(c.curves.find((x) => x.id === "dqdv")!.series.map((s) => s.name)).toEqual(["second life", "imprint"]);
  });
});

describe("passportFromResults", () => {
  it("imprint: initial = remaining capacity, full equivalent cycles from the discharged charge", () => {
    const { lot, runs, imprints, grade } = imprintLot();
    const p = passportFromResults({ lot, run: runs[0], station, certificateId: id }, { kind: "imprint", imprint: imprints[0], grade: grade.perCell[0] });
    expect(p.remainingCapacity).toEqual({ value: 4.9873, unit: "Ah", uncertainty: 0.0122 });
    expect(p.stateOfHealth.value).toBeCloseTo((4.9873 / 5) * 100, 10);
    expect(p.fullEquivalentCycles).toEqual({ value: Number(((2 * 4.9873) / 5).toFixed(3)), unit: "1" });
    expect(p.selfDischargeRate).toEqual({ value: 0.3, unit: "mV/day" });
    expect(p.negativeEvents).toEqual([]);
    expect(p.simulated).toBe(true);
  });

  it("second life: fade and resistance increase against the imprint", () => {
    const lot = lotOf("second-life");
    const p = passportFromResults({ lot, run: runOf(lot, "CELL-0001", 5), station }, { kind: "second-life", grade: secondLifeGradeOf("CELL-0001"), imprint: imprintOf("CELL-0001", 5.0, 21.4) });
    expect(p.capacityFade!.value).toBeCloseTo(((5.0 - 4.1017) / 5.0) * 100, 10);
    expect(p.internalResistanceIncrease!.value).toBeCloseTo(((27.82 - 21.4) / 21.4) * 100, 10);
    expect(p.initialCapacity).toEqual({ value: 5, unit: "Ah" });
  });

  it("flags a K-value outlier as a suspected micro-short", () => {
    const { lot, runs, imprints } = imprintLot();
    const imps = [...imprints.slice(0, 3), imprintOf("CELL-0004", 4.99, 21.5, 5)];
    const grade = imprintLot().grade.perCell.map((g) => (g.serial === "CELL-0004" ? { ...g, bin: "reject" as const, reasons: [{ figure: "kValueMvPerDay" as const, value: 5, unit: "mV/day", limit: 1, rule: "spec-max" as const, message: "k" }] } : g));
    const p = passportFromResults({ lot, run: runs[3], station }, { kind: "imprint", imprint: imps[3], grade: grade[3] });
    expect(p.negativeEvents.map((e) => e.kind)).toEqual(["micro-short-suspected"]);
  });
});
