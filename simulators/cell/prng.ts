/**
 * Small seeded pseudo-random source for the simulators: mulberry32 (T. Ettinger, public domain; 32-bit state,
 * passes PractRand to 2^32 outputs — ample for populations of thousands) and Box–Muller normals.
 * Deterministic from the seed; never Math.random.
 */
export interface Prng {
  /** uniform in [0, 1) */
  uniform(): number;
  /** uniform in [lo, hi) */
  between(lo: number, hi: number): number;
  /** normal with the given mean and standard deviation */
  normal(mean: number, sigma: number): number;
}

export function createPrng(seed: number): Prng {
  let state = seed >>> 0;
  let spareNormal: number | undefined;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform,
    between: (lo, hi) => lo + (hi - lo) * uniform(),
    normal(mean, sigma) {
      if (spareNormal !== undefined) {
        const z = spareNormal;
        spareNormal = undefined;
        return mean + sigma * z;
      }
      const u1 = 1 - uniform(); // (0, 1]: log stays finite
      const u2 = uniform();
      const radius = Math.sqrt(-2 * Math.log(u1));
      spareNormal = radius * Math.sin(2 * Math.PI * u2);
      return mean + sigma * radius * Math.cos(2 * Math.PI * u2);
    },
  };
}
