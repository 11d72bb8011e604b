import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { renderOpcuaAddressSpaceDoc } from "../../server/docs/opcua-address-space.ts";
import { DEFAULT_OPCUA_CHAMBER_MAP, DEFAULT_OPCUA_CYCLER_MAP, loadOpcuaChamberMap, loadOpcuaCyclerMap, parseOpcuaMap } from "../../server/equipment/opcua/opcua-map.ts";

describe("OPC UA address-space docs", () => {
  it("docs/opcua-address-space.md is what the maps render to (regenerate with npx tsx server/cli/gen-docs.ts)", async () => {
    const rendered = renderOpcuaAddressSpaceDoc(
      { map: await loadOpcuaCyclerMap(DEFAULT_OPCUA_CYCLER_MAP), source: "station-config/maps/opcua-cycler.yaml" },
      { map: await loadOpcuaChamberMap(DEFAULT_OPCUA_CHAMBER_MAP), source: "station-config/maps/opcua-chamber.yaml" },
    );
    expect(await readFile(new URL("../../docs/opcua-address-space.md", import.meta.url), "utf8")).toBe(rendered);
    expect(rendered).toContain("| Voltage | `s=Cycler.Channel{nn}.Voltage` | Double | V (volt, UNECE VLT) | minVoltageV … maxVoltageV |");
  });

  it("rejects a map that misses a method action, naming the file and field", () => {
    const text = `kind: chamber\nnamespaceUri: urn:x\nroot: { browseName: C, nodeId: C }\nidentification: { browseName: I, nodeId: C.I, variables: [{ browseName: Model, field: model, dataType: String }] }\nvariables: [{ browseName: Actual, field: actualC, dataType: Double, euRange: [0, 1] }]\nmethods: []\n`;
    expect(() => parseOpcuaMap(text, "bad.yaml")).toThrow(/bad\.yaml[\s\S]*variables\.0\.euRange: euRange needs a unit[\s\S]*methods/);
  });
});
