/**
 * Acceptance of "Entropy-based second-life grading" (DESIGN §7) THROUGH THE STATION: a whole station (embedded
 * simulators, OPC UA drivers, lot runner, domain analysis) grades 56 simulated returned cells (SOH 60–95 %, mixed
 * degradation modes) with the fast recipe, then re-measures 8 of the same cells with the potentiometric reference
 * recipe in a second lot. Every figure is judged against the simulator's hidden truth. All data are SIMULATED.
 *
 * SOH truth is taken on the reference the grade states: without an imprint the station grades against the rated
 * capacity (rules.reference), so the truth is the cell's true equilibrium capacity over that same rated capacity
 * (the cell's own fresh capacity, σ 0.7 % from the rated one, is unknowable without an imprint; the figure against
 * it is printed too).
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dudtAtSoc, electrodeBalance } from "../../server/domain/chemistry/electrode-balance.ts";
import { getChemistry } from "../../server/domain/chemistry/registry.ts";
import type { SecondLifeGrade } from "../../server/domain/second-life/grade.ts";
import { routeCell } from "../../server/domain/second-life/route.ts";
import { routingRulesSchema } from "../../server/domain/second-life/routing-rules.schema.ts";
import type { LotDetail } from "../../server/station/station-service.ts";
import type { CellSpec, CellTruth } from "../../simulators/cell/sim-cell.ts";
import { populationOf } from "../../simulators/sim-environment.ts";
import { truePulseResistanceMilliohm } from "../support/oracle.ts";
import { CONFIG_DIR, startTestStation, testConfig, waitFor, type TestStation, type TestStationOptions } from "../support/station.ts";

const CHANNELS = 56;
const REFERENCE_CHANNELS = [1, 8, 15, 22, 29, 36, 43, 50];
const RATED_AH = 5;
const DUDT_BAND_MV_PER_K = 0.02;
const chem = getChemistry("nmc811-graphite");
const rules = routingRulesSchema.parse(parse(readFileSync(`${CONFIG_DIR}/grading/second_life.yaml`, "utf8")));

interface Graded {
  channel: number;
  spec: CellSpec;
  truth: CellTruth;
  grade: SecondLifeGrade;
  equipmentTimeS: number;
}

const pp = (x: number) => x * 100;
const trueDudt = (truth: CellTruth, soc: number) => dudtAtSoc(chem, electrodeBalance(chem, truth.freshCapacityAh, truth.ageing), soc);

/**
 * The route the rules give on the simulator's true figures (zero uncertainty: the truth is exact). Resistance
 * growth is the rules' quantity on the truth: the cell's exact IEC 10 s pulse resistance (the procedure the recipe
 * and the rules' reference use) over the reference.
 */
function trueRoute({ spec, truth }: Graded): string {
  const reference = rules.reference["nmc811-graphite"]!;
  const exact = (value: number) => ({ value, uncertainty: 0 });
  return routeCell(
    {
      sohCapacity: exact(truth.capacityAh / reference.capacityAh),
      resistanceGrowth: exact(truePulseResistanceMilliohm(spec, RATED_AH).r10sMilliohm / reference.dcirMilliohm - 1),
      selfDischargeMicroA: exact(truth.leakCurrentA * 1e6),
      modes: {
        lli: exact(truth.ageing.lli),
        lamNe: exact(truth.ageing.lamNe),
        lamPe: exact(truth.ageing.lamPe),
        negStoichiometryAtFull: electrodeBalance(chem, truth.freshCapacityAh, truth.ageing).x100,
      },
      maxDudtUncertaintyMvPerK: 0,
    },
    rules,
  ).route;
}

describe("second-life grading through the station (OPC UA, 56 simulated returned cells)", () => {
  let station: TestStation;
  let fast: Graded[] = [];
  let reference: Graded[] = [];
  let specs: CellSpec[] = [];

  async function runLot(name: string, recipe: string, channels: number[]): Promise<Graded[]> {
    const sim = station.sims!.env.cyclers.get("sim-cycler")!;
    const lot = await station.service.startLot({
      name, recipe, cyclerId: "cycler-1", cells: channels.map((ch) => ({ slot: ch, serial: sim.cell(ch).serial })),
      nominalCapacityAh: RATED_AH, chemistry: "nmc811-graphite", operator: "acceptance",
    });
    const done: LotDetail = await waitFor(`lot ${name}`, async () => {
      const d = await station.service.lot(lot.id);
      return d.lot.state === "complete" || d.lot.state === "aborted" ? d : undefined;
    }, 400_000, 250);
    return done.runs.map((run) => {
      const result = done.results[run.serial] as ({ kind: string } & SecondLifeGrade) | undefined;
      if (!result) throw new Error(`${name}: ${run.serial} (channel ${run.channel}) has no result: ${run.state} ${run.reason ?? ""}`);
      expect(result.kind).toBe("second-life");
      const spec = specs[run.channel - 1];
      expect(spec.serial).toBe(run.serial);
      return { channel: run.channel, spec, truth: sim.cell(run.channel).truth(), grade: result, equipmentTimeS: run.equipmentTimeS };
    });
  }

  beforeAll(async () => {
    const options: TestStationOptions = {
      channels: CHANNELS,
      protocol: "opcua",
      population: { kind: "second-life", seed: 11, serialPrefix: "RT" },
      overrides: { simSpeed: 5000, tickMs: 200 },
    };
    specs = populationOf(testConfig(options).config.simulators.cyclers[0]);
    station = await startTestStation(options);
    await waitFor("cycler connected", () => station.monitors.get("cycler-1")!.info(), 60_000);
    fast = await runLot("second-life fast", "second_life", Array.from({ length: CHANNELS }, (_, i) => i + 1));
    // The same simulated cells keep their state between lots: the reference lot re-measures them.
    reference = await runLot("second-life reference", "second_life_reference", REFERENCE_CHANNELS);
    const hours = (g: Graded[]) => g.reduce((s, x) => s + x.equipmentTimeS, 0) / g.length / 3600;
    const sameCells = fast.filter((g) => REFERENCE_CHANNELS.includes(g.channel));
    console.log(
      `equipment time per cell (simulated clock, Run.equipmentTimeS): fast ${hours(fast).toFixed(1)} h (same 8 cells ${hours(sameCells).toFixed(1)} h), ` +
        `reference ${hours(reference).toFixed(1)} h, ratio ${(hours(reference) / hours(sameCells)).toFixed(2)}`,
    );
  }, 900_000);

  afterAll(async () => {
    await station?.close();
  });

  it("grades every cell of SOH 60–95 % with mixed modes; SOH within 1.5 pp for every cell", () => {
    expect(fast).toHaveLength(CHANNELS);
    const soh = fast.map((g) => g.truth.sohCapacity);
    expect(Math.min(...soh)).toBeLessThan(0.65);
    expect(Math.max(...soh)).toBeGreaterThan(0.9);
    const errors = fast.map((g) => {
      expect(g.grade.soh.reference).toBe("rated");
      return pp(g.grade.soh.capacity.value - g.truth.capacityAh / RATED_AH);
    });
    const ownErrors = fast.map((g) => pp(g.grade.soh.capacity.value - g.truth.sohCapacity));
    console.log(`SOH error vs truth on the rated reference: max |${Math.max(...errors.map(Math.abs)).toFixed(2)}| pp; vs the cell's own fresh capacity: max |${Math.max(...ownErrors.map(Math.abs)).toFixed(2)}| pp`);
    for (const [k, e] of errors.entries()) expect(Math.abs(e), fast[k].truth.serial).toBeLessThanOrEqual(1.5);
  });

  it("LLI, LAM_NE and LAM_PE within 3 pp of the truth on ≥ 90 % of cells", () => {
    for (const mode of ["lli", "lamNe", "lamPe"] as const) {
      const errors = fast.map((g) => Math.abs(pp(g.grade.modes[mode].value - g.truth.ageing[mode])));
      const within = errors.filter((e) => e <= 3).length / errors.length;
      console.log(`${mode}: max error ${Math.max(...errors).toFixed(2)} pp, ${(within * 100).toFixed(0)} % of cells within 3 pp`);
      expect(within).toBeGreaterThanOrEqual(0.9);
    }
  });

  it("fast dU/dT within ±0.02 mV/K of the truth at every SOC point it reports", () => {
    let worst = 0;
    for (const g of fast) {
      expect(g.grade.entropy.method).toBe("fast-relaxation-fit");
      expect(g.grade.entropy.points.length).toBeGreaterThanOrEqual(4);
      for (const p of g.grade.entropy.points) {
        expect(p.soc).toBeGreaterThanOrEqual(0.05);
        expect(p.soc).toBeLessThanOrEqual(0.95);
        const error = p.dudtMvPerK - trueDudt(g.truth, p.soc);
        worst = Math.max(worst, Math.abs(error));
        expect(Math.abs(error), `${g.truth.serial} at SOC ${p.soc.toFixed(3)}`).toBeLessThanOrEqual(DUDT_BAND_MV_PER_K);
      }
    }
    console.log(`fast dU/dT: max |error| ${worst.toFixed(4)} mV/K over ${fast.reduce((s, g) => s + g.grade.entropy.points.length, 0)} points`);
  });

  it("the reference lot measures potentiometrically; fast and reference agree within the same band on the same cells", () => {
    expect(reference).toHaveLength(REFERENCE_CHANNELS.length);
    let worstTruth = 0;
    let worstPair = 0;
    for (const r of reference) {
      expect(r.grade.entropy.method).toBe("potentiometric");
      const f = fast.find((g) => g.channel === r.channel)!;
      for (const p of r.grade.entropy.points) {
        const error = p.dudtMvPerK - trueDudt(r.truth, p.soc);
        worstTruth = Math.max(worstTruth, Math.abs(error));
        expect(Math.abs(error), `${r.truth.serial} reference at SOC ${p.soc.toFixed(3)}`).toBeLessThanOrEqual(DUDT_BAND_MV_PER_K);
        // the two lots' points sit at nearly the same SOC: compare after removing the true change between them
        const q = f.grade.entropy.points.reduce((a, b) => (Math.abs(b.soc - p.soc) < Math.abs(a.soc - p.soc) ? b : a));
        if (Math.abs(q.soc - p.soc) > 0.03) continue;
        const difference = q.dudtMvPerK - p.dudtMvPerK - (trueDudt(r.truth, q.soc) - trueDudt(r.truth, p.soc));
        worstPair = Math.max(worstPair, Math.abs(difference));
        expect(Math.abs(difference), `${r.truth.serial} fast vs reference near SOC ${p.soc.toFixed(3)}`).toBeLessThanOrEqual(DUDT_BAND_MV_PER_K);
      }
    }
    console.log(`reference dU/dT: max |error| ${worstTruth.toFixed(4)} mV/K; fast − reference (true SOC change removed): max ${worstPair.toFixed(4)} mV/K`);
  });

  it("routes ≥ 95 % of cells where the rules send the true figures", () => {
    const mismatches = fast.filter((g) => g.grade.route.route !== trueRoute(g));
    const trueGrowth = (g: Graded) => truePulseResistanceMilliohm(g.spec, RATED_AH).r10sMilliohm / rules.reference["nmc811-graphite"]!.dcirMilliohm - 1;
    for (const g of mismatches) console.log(`route ${g.truth.serial}: measured ${g.grade.route.route}, truth ${trueRoute(g)} (true SOH ${pp(g.truth.capacityAh / RATED_AH).toFixed(1)} %, resistance growth ${pp(trueGrowth(g)).toFixed(1)} %); failed: ${g.grade.route.reasons.filter((r) => !r.passed).map((r) => r.message).join("; ")}`);
    console.log(`routes: ${fast.length - mismatches.length}/${fast.length} equal to the true-value route`);
    expect((fast.length - mismatches.length) / fast.length).toBeGreaterThanOrEqual(0.95);
  });
});
