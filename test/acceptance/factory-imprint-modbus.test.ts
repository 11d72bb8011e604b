import { it } from "vitest";
import { runImprintAcceptance } from "./factory-imprint.ts";

it("factory_init on 64 simulated cells over Modbus TCP matches ground truth and bins the defects", () => runImprintAcceptance("modbus"), 1_500_000);
