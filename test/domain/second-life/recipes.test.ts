import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseRecipeYaml } from "../../../server/domain/recipes/recipe.compiler.ts";
import { SECOND_LIFE_ROLES } from "../../../server/domain/second-life/grade.ts";

const load = (name: string) => parseRecipeYaml(readFileSync(new URL(`../../../station-config/recipes/${name}.yaml`, import.meta.url), "utf8"), name);
const rolesOf = (text: string) => [...text.matchAll(/role: ([a-z0-9:-]+)/g)].map((m) => m[1]);

describe("second-life recipes", () => {
  for (const [name, method, restText] of [
    ["second_life", "fast", "rest 2 h log every 10 s"],
    ["second_life_reference", "potentiometric", "rest 13 h log every 60 s"],
  ] as const) {
    it(`${name} parses, carries every role grade.ts reads and five entropy points`, () => {
      const recipe = load(name);
      expect(recipe.kind).toBe("second-life");
      expect(recipe.analysis.entropy?.method).toBe(method);
      const text = readFileSync(new URL(`../../../station-config/recipes/${name}.yaml`, import.meta.url), "utf8");
      const roles = new Set(rolesOf(text));
      for (const role of [SECOND_LIFE_ROLES.capacityDischarge, SECOND_LIFE_ROLES.pseudoOcv, SECOND_LIFE_ROLES.dcirRest, SECOND_LIFE_ROLES.dcirPulse, SECOND_LIFE_ROLES.hold]) {
        expect(roles.has(role), role).toBe(true);
      }
      expect([...roles].filter((r) => r.startsWith(`${SECOND_LIFE_ROLES.entropyPrefix}:`))).toEqual(["entropy:p1", "entropy:p2", "entropy:p3", "entropy:p4", "entropy:p5"]);
      expect(text.split(restText).length - 1).toBe(5);
    });
  }

  it("the fast entropy profile needs ≥ 5× less chamber time than the reference (profile holds)", () => {
    const holdMin = (name: string) =>
      load(name)
        .phases.filter((p) => p.name.startsWith("entropy-"))
        .map((p) => (p.chamber?.kind === "profile" ? p.chamber.profile.reduce((s, h) => s + h.holdMin, 0) : 0));
    const fast = holdMin("second_life");
    const reference = holdMin("second_life_reference");
    expect(fast).toEqual([130, 130, 130, 130, 130]);
    expect(reference).toEqual([780, 780, 780, 780, 780]);
    expect(reference.reduce((a, b) => a + b) / fast.reduce((a, b) => a + b)).toBeGreaterThanOrEqual(5);
  });
});
