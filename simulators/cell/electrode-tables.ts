/**
 * Lookup tables of the electrode OCPs and entropic coefficients on a uniform stoichiometry grid, shared by every
 * simulated cell of a chemistry (one table per chemistry, not per cell: 4096 aged cells share 256 kB).
 * Linear interpolation on 8192 intervals: the worst curvature (Chen 2020 graphite near x = 0, ~3·10³ V per unit
 * stoichiometry²; Afshar 2017 LFP near y = 0, ~1·10⁴) gives an error ≤ h²·|f''|/8 ≈ 2·10⁻⁵ V, inside the 0.1 mV budget.
 */
import type { Chemistry } from "../../server/domain/chemistry/chemistry.ts";

const INTERVALS = 8192;

export interface ElectrodeTables {
  negOcpV: Float64Array;
  posOcpV: Float64Array;
  negDudtMvPerK: Float64Array;
  posDudtMvPerK: Float64Array;
}

const cache = new Map<Chemistry, ElectrodeTables>();

function tabulate(f: (s: number) => number): Float64Array {
  const table = new Float64Array(INTERVALS + 1);
  for (let i = 0; i <= INTERVALS; i++) table[i] = f(i / INTERVALS);
  return table;
}

export function electrodeTables(chem: Chemistry): ElectrodeTables {
  let tables = cache.get(chem);
  if (tables === undefined) {
    tables = {
      negOcpV: tabulate(chem.negOcpV),
      posOcpV: tabulate(chem.posOcpV),
      negDudtMvPerK: tabulate(chem.negDudtMvPerK),
      posDudtMvPerK: tabulate(chem.posDudtMvPerK),
    };
    cache.set(chem, tables);
  }
  return tables;
}

/**
 * Interpolates table at stoichiometry s; s outside [0, 1] is clamped (an electrode cannot be emptied or filled
 * beyond its lattice: the model holds the end value there and the cycler's overpotential still moves the voltage).
 */
export function lookup(table: Float64Array, s: number): number {
  const pos = (s <= 0 ? 0 : s >= 1 ? 1 : s) * INTERVALS;
  const i = pos >= INTERVALS ? INTERVALS - 1 : Math.floor(pos);
  const frac = pos - i;
  return table[i] + frac * (table[i + 1] - table[i]);
}
