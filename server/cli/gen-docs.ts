/**
 * Regenerates the reference pages in docs/ from the protocol maps in station-config (the maps are the truth).
 * Usage: npx tsx server/cli/gen-docs.ts   — add a page by adding one entry to DOC_PAGES.
 */
import { writeFile } from "node:fs/promises";
import { relative } from "node:path";
import { renderOpcuaAddressSpaceDoc } from "../docs/opcua-address-space.ts";
import { renderRegisterMapMarkdown } from "../equipment/modbus/register-map.doc.ts";
import { DEFAULT_MODBUS_CYCLER_MAP_PATH, loadRegisterMap } from "../equipment/modbus/register-map.ts";
import { DEFAULT_OPCUA_CHAMBER_MAP, DEFAULT_OPCUA_CYCLER_MAP, loadOpcuaChamberMap, loadOpcuaCyclerMap } from "../equipment/opcua/opcua-map.ts";

const repoRoot = new URL("../../", import.meta.url).pathname;
const fromRoot = (path: string) => relative(repoRoot, path);

interface DocPage {
  /** output path relative to the repository root */
  output: string;
  render(): Promise<string>;
}

const DOC_PAGES: DocPage[] = [
  {
    output: "docs/opcua-address-space.md",
    async render() {
      return renderOpcuaAddressSpaceDoc(
        { map: await loadOpcuaCyclerMap(DEFAULT_OPCUA_CYCLER_MAP), source: fromRoot(DEFAULT_OPCUA_CYCLER_MAP) },
        { map: await loadOpcuaChamberMap(DEFAULT_OPCUA_CHAMBER_MAP), source: fromRoot(DEFAULT_OPCUA_CHAMBER_MAP) },
      );
    },
  },
  {
    output: "docs/modbus-register-map.md",
    async render() {
      return renderRegisterMapMarkdown(await loadRegisterMap(DEFAULT_MODBUS_CYCLER_MAP_PATH), fromRoot(DEFAULT_MODBUS_CYCLER_MAP_PATH.pathname));
    },
  },
];

for (const page of DOC_PAGES) {
  await writeFile(new URL(page.output, `file://${repoRoot}`), await page.render());
  console.log(`wrote ${page.output}`);
}
