/**
 * Recipes and grading rules: list, read (current and any published version), validate without saving, and
 * publish a new version (admin). Both are versioned YAML documents with one store and one set of routes.
 */
import type { Router } from "express";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { parseRecipeYaml } from "../domain/recipes/recipe.compiler.ts";
import { routingRulesSchema } from "../domain/second-life/routing-rules.schema.ts";
import { createVersionedDocStore, type VersionedDocStore } from "../store/versioned-docs.ts";
import { actor, allow, RequestValidationError, validate, type ApiDeps } from "./api-context.ts";

export const docBody = z.object({ yaml: z.string().min(1).max(512 * 1024) }).strict();
const nameParam = z.object({ name: z.string().min(1).max(64) });
const versionParam = z.object({ name: z.string().min(1).max(64), version: z.string().min(1).max(32) });

function describeRecipe(yaml: string, name: string): { version: string } {
  const recipe = parseRecipeYaml(yaml, name);
  if (recipe.name !== name) throw new RequestValidationError([{ path: "name", message: `the document is recipe "${recipe.name}", not "${name}"` }]);
  return { version: recipe.version };
}

function describeRules(yaml: string): { version: string } {
  let document: unknown;
  try {
    document = parseYaml(yaml);
  } catch (e) {
    throw new RequestValidationError([{ path: "yaml", message: `not valid YAML: ${(e as Error).message}` }]);
  }
  return { version: validate(routingRulesSchema, document).version };
}

/** one set of routes per document kind; `base` is the URL segment */
function documentRoutes(r: Router, deps: ApiDeps, base: string, auditKind: string, store: VersionedDocStore, check: (yaml: string) => object): void {
  r.get(`/${base}/:name`, allow("station.read"), (req, res) => {
    const { name } = validate(nameParam, req.params, "params");
    const doc = store.current(name);
    res.json({ ...doc, summary: check(doc.yaml) });
  });
  r.get(`/${base}/:name/versions/:version`, allow("station.read"), (req, res) => {
    const { name, version } = validate(versionParam, req.params, "params");
    res.json({ name, version, yaml: store.version(name, version) });
  });
  r.post(`/${base}/validate`, allow("config.validate"), (req, res) => {
    const { yaml } = validate(docBody, req.body);
    res.json({ ok: true, summary: check(yaml) });
  });
  r.post(`/${base}/:name/versions`, allow("config.edit"), (req, res) => {
    const { name } = validate(nameParam, req.params, "params");
    const { yaml } = validate(docBody, req.body);
    const saved = store.save(name, yaml);
    deps.audit.append({ actor: actor(res).username, action: `${auditKind}.publish`, target: name, details: { version: saved.version } });
    res.status(201).json(saved);
  });
}

export function recipeRoutes(r: Router, deps: ApiDeps): void {
  const recipes = createVersionedDocStore("recipe", deps.recipesDir, describeRecipe);
  const rules = createVersionedDocStore("grading rules", deps.gradingRulesDir, (yaml) => describeRules(yaml));
  // What the station can run (name, version, kind, description), as the station itself reports it.
  r.get("/recipes", allow("station.read"), async (_req, res) => {
    res.json(await deps.station.recipes());
  });
  r.get("/grading-rules", allow("station.read"), (_req, res) => {
    res.json(rules.list());
  });
  documentRoutes(r, deps, "recipes", "recipe", recipes, (yaml) => {
    const recipe = parseRecipeYaml(yaml, "recipe");
    // Step texts with their kind, so the HMI can show a phase's steps and which one the channel is on.
    return {
      name: recipe.name,
      version: recipe.version,
      kind: recipe.kind,
      phases: recipe.phases.map((p) => ({ name: p.name, steps: p.steps.map((s) => ({ text: s.text, kind: s.spec.kind, role: s.role })) })),
    };
  });
  documentRoutes(r, deps, "grading-rules", "grading-rules", rules, describeRules);
}
