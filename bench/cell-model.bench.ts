/**
 * Microbenchmark of the simulated cell (not a test): advance() + voltageAt() calls per wall second for a
 * 4096-cell population, the load of one cycler tick per cell at 1 s of simulated time.
 * Run: npx tsx bench/cell-model.bench.ts
 */
import { newLot } from "../simulators/cell/population.ts";
import { createCell } from "../simulators/cell/sim-cell.ts";

const CELLS = 4096;
const ROUNDS = 500;

for (const chemistry of ["nmc811-graphite", "lfp-graphite"] as const) {
  const cells = newLot({ seed: 1, count: CELLS, chemistry, serialPrefix: "B", initialSoc: 0.5 }).map(createCell);
  let sink = 0;
  const warmup = (): void => {
    for (const cell of cells) sink += cell.voltageAt(-1);
  };
  warmup();
  const start = process.hrtime.bigint();
  for (let round = 0; round < ROUNDS; round++) {
    const currentA = round % 100 < 50 ? -1 : 1;
    for (const cell of cells) {
      cell.advance(1, currentA, 25);
      sink += cell.voltageAt(currentA);
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const calls = CELLS * ROUNDS;
  console.log(
    `${chemistry}: ${(calls / seconds / 1e6).toFixed(2)} M advance()+voltageAt() per s ` +
      `(${calls} calls in ${seconds.toFixed(2)} s; ${((calls / seconds / CELLS) | 0)}× real time for ${CELLS} cells; checksum ${sink.toFixed(1)})`,
  );
}
