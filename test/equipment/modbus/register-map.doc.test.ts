import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderRegisterMapMarkdown } from "../../../server/equipment/modbus/register-map.doc.ts";
import { loadRegisterMap } from "../../../server/equipment/modbus/register-map.ts";

const map = await loadRegisterMap();

describe("register map markdown", () => {
  const md = renderRegisterMapMarkdown(map);
  it("lists every field with its address, resolution, unit and range", () => {
    expect(md).toContain("| 1003 + 27·k | voltageV | i32 | 2 | 0.00001 V | V | -10 … 100 |");
    expect(md).toContain("| 1005 + 27·k | currentA | i32 | 2 | 0.0000001 A | A | -200 … 200 |");
    expect(md).toContain("| 40008 + 29·j | seq | u64 | 4 | 1 | 1 |");
    expect(md).toContain("| 1001 + 27·k | state | enum | 1 | 0 = idle, 1 = loaded, 2 = running, 3 = paused, 4 = finished, 5 = fault, 6 = offline |");
  });
  it("is what docs/modbus-register-map.md holds (regenerate with npx tsx server/cli/gen-docs.ts)", () => {
    expect(readFileSync(new URL("../../../docs/modbus-register-map.md", import.meta.url), "utf8")).toBe(md);
  });
});
