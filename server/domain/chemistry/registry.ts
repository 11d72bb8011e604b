/** The chemistries the station knows, by id. */
import type { Chemistry, ChemistryId } from "./chemistry.ts";
import { LFP_GRAPHITE } from "./lfp-graphite.ts";
import { NMC811_GRAPHITE } from "./nmc811-graphite.ts";

const CHEMISTRIES: Readonly<Record<ChemistryId, Chemistry>> = Object.freeze({
  "nmc811-graphite": NMC811_GRAPHITE,
  "lfp-graphite": LFP_GRAPHITE,
});

export function getChemistry(id: ChemistryId): Chemistry {
  const chem = CHEMISTRIES[id];
  if (chem === undefined) {
    throw new RangeError(`unknown chemistry "${String(id)}"; known: ${Object.keys(CHEMISTRIES).join(", ")}`);
  }
  return chem;
}

export const CHEMISTRY_IDS: readonly ChemistryId[] = Object.freeze(Object.keys(CHEMISTRIES) as ChemistryId[]);
