/**
 * Second-life equipment time per cell (`npx tsx bench/second-life.bench.ts`): the fast recipe
 * (station-config/recipes/second_life.yaml) against the potentiometric reference (second_life_reference.yaml).
 * Each recipe is compiled phase by phase, as the station does, and run on a simulated cycler with simulated
 * returned cells (simulated clock, advanced as fast as possible); a phase's equipment time is the channel's test
 * time when its program finishes. Reported per recipe (mean over the cells) and as ratios: whole recipe and the
 * entropy phases alone (the part the fast method replaces).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { getChemistry } from "../server/domain/chemistry/registry.ts";
import { compilePhase, parseRecipeYaml, type Recipe } from "../server/domain/recipes/recipe.compiler.ts";
import { secondLifeCells } from "../simulators/cell/population.ts";
import { createSimCycler, SIM_CYCLER_LIMITS } from "../simulators/cycler/sim-cycler.ts";
import { emit, type Figure } from "./support/report.ts";

const CELLS = 4;
const CHUNK_S = 60;
const RECIPES = path.resolve(import.meta.dirname, "../station-config/recipes");

interface Timing {
  totalH: number;
  entropyH: number;
  faults: string[];
}

function run(recipe: Recipe): Timing {
  const chemistry = recipe.chemistry ?? "nmc811-graphite";
  const nominalCapacityAh = getChemistry(chemistry).nominalCapacityAh;
  const cells = secondLifeCells({ seed: 42, count: CELLS, chemistry, serialPrefix: "SL" });
  const sim = createSimCycler({ id: "bench-second-life", cells, watchdogMs: 0, recordBufferSize: 1000 });
  const totalS = new Array<number>(CELLS).fill(0);
  const entropyS = new Array<number>(CELLS).fill(0);
  const restV = new Array<number | undefined>(CELLS).fill(undefined);
  const faults: string[] = [];
  const active = new Set(cells.map((_, i) => i + 1));
  for (const phase of recipe.phases) {
    const running = [...active];
    for (const ch of running) {
      const compiled = compilePhase(recipe, phase.name, { nominalCapacityAh, chemistry }, SIM_CYCLER_LIMITS, { restVoltageV: restV[ch - 1] });
      sim.load(ch, compiled.program);
      sim.command(ch, "start");
    }
    for (let guard = 0; running.some((ch) => sim.live()[ch - 1].state === "running"); guard++) {
      if (guard > 10_000_000 / CHUNK_S) throw new Error(`${recipe.name}: phase ${phase.name} did not finish within ${10_000_000 / 3600} h`);
      sim.advance(CHUNK_S);
    }
    for (const ch of running) {
      const live = sim.live()[ch - 1];
      if (live.state !== "finished") {
        faults.push(`cell ${ch} ${phase.name}: ${live.state} (alarm ${live.alarmCode})`);
        active.delete(ch);
        continue;
      }
      totalS[ch - 1] += live.testTimeS;
      if (phase.name.startsWith("entropy")) entropyS[ch - 1] += live.testTimeS;
      restV[ch - 1] = live.voltageV;
    }
  }
  const mean = (xs: number[]) => xs.filter((_, i) => active.has(i + 1)).reduce((a, b) => a + b, 0) / Math.max(1, active.size) / 3600;
  return { totalH: mean(totalS), entropyH: mean(entropyS), faults };
}

const load = (name: string) => {
  const file = path.join(RECIPES, `${name}.yaml`);
  return existsSync(file) ? parseRecipeYaml(readFileSync(file, "utf8"), file) : undefined;
};
const fast = load("second_life");
const reference = load("second_life_reference");
if (!fast || !reference) {
  emit([{ bench: "second-life", metric: "equipment time, fast vs reference", value: null, unit: "×", note: `not available: ${!fast ? "second_life.yaml" : "second_life_reference.yaml"} is missing` }]);
} else {
  const f = run(fast);
  const r = run(reference);
  const faults = [...f.faults, ...r.faults];
  const figures: Figure[] = [
    { bench: "second-life", metric: "fast recipe (second_life), equipment time per cell", value: f.totalH, unit: "h", note: `entropy phases ${f.entropyH.toFixed(1)} h; mean of ${CELLS} simulated returned cells, simulated clock` },
    { bench: "second-life", metric: "reference recipe (second_life_reference), equipment time per cell", value: r.totalH, unit: "h", note: `entropy phases ${r.entropyH.toFixed(1)} h` },
    { bench: "second-life", metric: "reference / fast, whole recipe", value: r.totalH / f.totalH, unit: "×", target: { op: ">=", value: 5 }, note: "capacity, pseudo-OCV, DCIR and hold phases are the same in both" },
    { bench: "second-life", metric: "reference / fast, entropy profile phases only", value: r.entropyH / f.entropyH, unit: "×", target: { op: ">=", value: 5 } },
  ];
  if (faults.length > 0) figures.push({ bench: "second-life", metric: "phases that did not finish", value: faults.length, unit: "phases", note: faults.slice(0, 5).join("; ") });
  emit(figures);
}
