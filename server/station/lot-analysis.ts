/**
 * Connects finished runs to the domain analyses: factory imprint + lot grading for new cells, second-life grading
 * (with the cell's imprint as baseline where the station has one) for returned cells. The rules files are read at
 * the edge, validated, and handed to the pure domain functions.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseConfig } from "../config/load-config.ts";
import { getChemistry } from "../domain/chemistry/registry.ts";
import type { ChemistryId } from "../domain/chemistry/chemistry.ts";
import type { ImprintBaseline } from "../domain/degradation/imprint-comparison.ts";
import { gradingRulesSchema, type GradingRules } from "../domain/grading/grading-rules.schema.ts";
import { gradeLot, type GradableImprint } from "../domain/grading/lot-grading.ts";
import { analyseImprint, type Imprint } from "../domain/imprint/imprint.ts";
import type { Recipe } from "../domain/recipes/recipe.compiler.ts";
import { analyseSecondLife, type SecondLifeGrade } from "../domain/second-life/grade.ts";
import { routingRulesSchema, type RoutingRules } from "../domain/second-life/routing-rules.schema.ts";
import type { StationStore } from "../store/station-store.ts";
import type { LotAnalysis } from "./lot-runner.ts";

/** What the station stores per cell: the analysis result, tagged by kind. */
export type CellResult = ({ kind: "imprint" } & Imprint) | ({ kind: "second-life" } & SecondLifeGrade);

export interface DomainAnalysisDeps {
  configDir: string;
  store: StationStore;
  recipe(name: string): Recipe;
}

function rulesFile<T>(configDir: string, name: string, schema: import("zod").ZodType<T>): T {
  const file = path.join(configDir, "grading", `${name}.yaml`);
  return parseConfig(readFileSync(file, "utf8"), file, schema) as T;
}

/** The cell's most recent imprint on this station, if it has one. */
export async function latestImprint(store: StationStore, serial: string): Promise<Imprint | undefined> {
  const entries = (await store.lookupSerial(serial)).filter((e) => e.kind === "imprint");
  const last = entries[entries.length - 1];
  if (!last) return undefined;
  const result = (await store.results(last.lotId)).cells[serial] as CellResult | undefined;
  return result?.kind === "imprint" ? result : undefined;
}

/** The imprint figures the second-life comparison needs. */
async function imprintBaseline(store: StationStore, serial: string): Promise<ImprintBaseline | undefined> {
  const imprint = await latestImprint(store, serial);
  if (!imprint) return undefined;
  return {
    ...(imprint.capacityAh ? { capacityAh: imprint.capacityAh } : {}),
    ...(imprint.dcirMilliohm ? { dcirMilliohm: imprint.dcirMilliohm } : {}),
    ...(imprint.kValueMvPerDay ? { kValueMvPerDay: imprint.kValueMvPerDay } : {}),
    icaPeaksV: imprint.icaPeaks.map((p) => p.voltageV),
    entropyProfile: imprint.entropyProfile
      .filter((p) => p.soc !== null)
      .map((p) => ({ soc: p.soc!, dudtMvPerK: p.dudtMvPerK, dudtUncertaintyMvPerK: p.dudtUncertaintyMvPerK })),
  };
}

/** Grading and routing rules by name (station-config/grading/<name>.yaml), validated once and cached. */
export function createRulesCache(configDir: string) {
  const grading = new Map<string, GradingRules>();
  const routing = new Map<string, RoutingRules>();
  return {
    grading: (name: string) => grading.get(name) ?? grading.set(name, rulesFile(configDir, name, gradingRulesSchema)).get(name)!,
    routing: (name: string) => routing.get(name) ?? routing.set(name, rulesFile(configDir, name, routingRulesSchema)).get(name)!,
  };
}

export function createDomainAnalysis(deps: DomainAnalysisDeps & { rules: ReturnType<typeof createRulesCache> }): LotAnalysis {
  const gradingRules = deps.rules.grading;
  const routingRules = deps.rules.routing;

  return {
    async cell(lot, run, segments): Promise<CellResult> {
      const recipe = deps.recipe(lot.recipe.name);
      if (lot.kind === "imprint") {
        const imprint = analyseImprint(
          segments,
          { serial: run.serial, nominalCapacityAh: lot.nominalCapacityAh },
          { recipeName: lot.recipe.name, recipeVersion: lot.recipe.version, simulated: lot.simulated },
          recipe.analysis,
        );
        return { kind: "imprint", ...imprint };
      }
      const chemistry = getChemistry(lot.chemistry as ChemistryId);
      const grade = analyseSecondLife(
        segments,
        { serial: run.serial, chemistry: chemistry.id, ratedCapacityAh: lot.nominalCapacityAh, simulated: lot.simulated },
        chemistry,
        routingRules(recipe.grading ?? "second_life"),
        await imprintBaseline(deps.store, run.serial),
        recipe.analysis,
      );
      return { kind: "second-life", ...grade };
    },
    async lot(lot, cells) {
      const recipe = deps.recipe(lot.recipe.name);
      if (lot.kind === "imprint") {
        const imprints = [...cells.values()] as GradableImprint[];
        return { kind: "imprint", ...gradeLot(imprints, gradingRules(recipe.grading ?? "factory_init")) };
      }
      const routes: Record<string, number> = {};
      for (const c of cells.values()) {
        const r = (c as SecondLifeGrade).route.route;
        routes[r] = (routes[r] ?? 0) + 1;
      }
      return { kind: "second-life", routes };
    },
  };
}
