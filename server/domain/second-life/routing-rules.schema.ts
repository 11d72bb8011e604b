/**
 * Second-life routing rules (station-config/grading/second_life.yaml), validated once where the file is loaded.
 * Routes are tried in order; the first whose conditions all pass is the cell's destination. Safety screens force
 * recycling whatever the routes say; a low-confidence screen sends the cell to re-test rather than to a route its
 * figures may not deserve. Every default is stated here.
 */
import { z } from "zod";

const fraction = z.number().min(0).max(10);

const referenceSchema = z
  .object({
    /** rated capacity [Ah] and its standard uncertainty (manufacturing spread when no imprint exists) */
    capacityAh: z.number().positive(),
    capacityUncertaintyAh: z.number().min(0),
    /** fresh 10 s DCIR at 50 % SOC, 25 °C [mΩ] and its standard uncertainty */
    dcirMilliohm: z.number().positive(),
    dcirUncertaintyMilliohm: z.number().min(0),
  })
  .strict();

const routeSchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
    label: z.string().min(1).max(80),
    /** minimum SOH by capacity (0..1) */
    minSohCapacity: fraction,
    /** maximum resistance growth vs the reference (0.5 = +50 %); omitted = no limit */
    maxResistanceGrowth: fraction.optional(),
  })
  .strict();

export const routingRulesSchema = z
  .object({
    version: z.string().regex(/^\d+\.\d+\.\d+$/),
    /** fresh-cell references per chemistry, used when the cell has no imprint */
    reference: z.partialRecord(z.enum(["nmc811-graphite", "lfp-graphite"]), referenceSchema),
    /** resistance growth at end of life, for SOH by resistance; default 1.0 (resistance doubled) */
    endOfLifeResistanceGrowth: z.number().positive().default(1),
    /** assumed standard uncertainties of the instrument's figures (relative), Type B */
    measurement: z
      .object({ capacityRelative: z.number().min(0).default(0.002), dcirRelative: z.number().min(0).default(0.01) })
      .strict()
      .default({ capacityRelative: 0.002, dcirRelative: 0.01 }),
    safety: z
      .object({
        /** potentiostatic hold current above which the cell has a (micro-)short [µA] */
        maxSelfDischargeMicroA: z.number().positive(),
        /** resistance growth above which the cell is abnormal [fraction] */
        maxResistanceGrowth: fraction,
        plating: z
          .object({
            /** LAM_NE above this alone flags plating risk */
            maxLamNe: fraction,
            /** LAM_NE − LLI above this flags plating risk */
            maxLamNeOverLli: fraction,
            /** negative-electrode stoichiometry at 100 % SOC above this: the NE is (nearly) full at top of charge */
            maxNegStoichiometryAtFull: z.number().min(0).max(1),
          })
          .strict(),
      })
      .strict(),
    confidence: z
      .object({
        maxSohUncertainty: fraction,
        maxModeUncertainty: fraction,
        maxDudtUncertaintyMvPerK: z.number().positive(),
        maxResistanceGrowthUncertainty: fraction,
      })
      .strict(),
    routes: z.array(routeSchema).min(1),
    /** where a cell goes when no route accepts it */
    fallback: z.object({ id: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/), label: z.string() }).strict(),
  })
  .strict()
  .superRefine((r, ctx) => {
    const seen = new Set<string>();
    r.routes.forEach((route, i) => {
      if (seen.has(route.id)) ctx.addIssue({ code: "custom", path: ["routes", i, "id"], message: `route "${route.id}" is listed twice` });
      seen.add(route.id);
    });
  });

export type RoutingRules = z.infer<typeof routingRulesSchema>;
export type RouteRule = RoutingRules["routes"][number];
