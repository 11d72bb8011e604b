/**
 * Renders a Modbus register map (station-config/maps/*.yaml) as the markdown reference page in docs/.
 * The YAML is the truth; this page is regenerated from it by server/cli/gen-docs.ts, never edited by hand.
 */
import { blockExtent, fieldWidth, type RegisterBlock, type RegisterField, type RegisterMap } from "./register-map.ts";

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** 1e-7 as 0.0000001: resolutions read as decimals in a reference table. */
const decimal = (x: number) => x.toFixed(Math.max(0, Math.ceil(-Math.log10(x))));

function resolution(f: RegisterField): string {
  if (f.type === "ascii") return `${2 * (f.registers ?? 0)} characters`;
  if (f.type === "enum") return (f.values ?? []).map((v, i) => `${i} = ${v}`).join(", ");
  if (f.type === "bool") return "0 / 1";
  return f.scale === undefined ? "1" : `${decimal(1 / f.scale)} ${f.unit}`;
}

function validRange(f: RegisterField): string {
  const parts = [];
  if (f.min !== undefined || f.max !== undefined) parts.push(`${f.min ?? "−∞"} … ${f.max ?? "+∞"}`);
  if (f.absentRaw !== undefined) parts.push(`raw ${f.absentRaw} = not set`);
  return parts.join("; ");
}

function fieldRows(fields: readonly RegisterField[], address: (offset: number) => string): string[] {
  return [...fields]
    .sort((a, b) => a.offset - b.offset)
    .map((f) => `| ${address(f.offset)} | ${f.name} | ${f.type} | ${fieldWidth(f)} | ${cell(resolution(f))} | ${f.unit} | ${cell(validRange(f))} | ${cell(f.description)} |`);
}

const FIELD_HEADER = ["| address | field | type | registers | resolution / codes | unit | valid range | description |", "|---|---|---|---|---|---|---|---|"];

function renderBlock(name: string, b: RegisterBlock, table: string): string[] {
  const perInstance = b.count > 1 ? ` + ${b.size}·k` : "";
  const address = (offset: number) => `${b.base + offset}${perInstance}`;
  const out = [
    `### ${table} \`${name}\` — ${b.base}…${b.base + blockExtent(b) - 1}`,
    "",
    cell(b.description),
    "",
    b.count > 1 ? `${b.count} instances of ${b.size} registers; instance k (0-based) starts at ${b.base} + ${b.size}·k.` : `${b.size} registers.`,
    b.trigger ? "Write the whole block in one request (function 16); the write runs the action." : "",
    "",
    ...FIELD_HEADER,
    ...fieldRows(b.fields, address),
    "",
  ];
  for (const g of b.groups) {
    out.push(
      `#### \`${name}.${g.name}\` — ${g.count} × ${g.stride} registers from offset ${g.offset}`,
      "",
      `Entry j (0-based) starts at ${b.base + g.offset}${perInstance} + ${g.stride}·j.`,
      "",
      ...FIELD_HEADER,
      ...fieldRows(g.fields, (offset) => `${b.base + g.offset + offset}${perInstance} + ${g.stride}·j`),
      "",
    );
  }
  return out.filter((line, i, all) => !(line === "" && all[i - 1] === ""));
}

export function renderRegisterMapMarkdown(map: RegisterMap, source = "station-config/maps/modbus-cycler.yaml"): string {
  const overview = (table: string, blocks: Record<string, RegisterBlock>) =>
    Object.entries(blocks).map(([name, b]) => `| ${table} | [\`${name}\`](#${`${table} ${name}`.toLowerCase().replace(/[^a-z0-9 -]/g, "").replace(/ /g, "-")}) | ${b.base} | ${blockExtent(b)} | ${b.count > 1 ? `${b.count} × ${b.size}` : b.size} | ${cell(b.description)} |`);
  return [
    `# Modbus TCP register map: ${map.name} (map version ${map.mapVersion})`,
    "",
    `Generated from \`${source}\` by \`npx tsx server/cli/gen-docs.ts\`; edit the YAML, not this page.`,
    "",
    "## Conventions",
    "",
    "- Addresses are 0-based PDU addresses (with mbpoll use `-0`). Input registers: function 4. Holding registers: functions 3, 6, 16.",
    "- Registers are big-endian 16-bit words; 32- and 64-bit values put the most significant word first (mbpoll `-B`). Signed types are two's complement.",
    "- Scaled integers: value = raw × resolution (raw = round(value / resolution)), in the unit given.",
    "- A raw value outside the valid range (for example 0x7FFFFFFF, served for a failed measurement) is an invalid reading, never a number: the station shows the channel with alarm code 9 (invalidReading).",
    "- ascii: two characters per register, first character in the high byte, NUL-padded.",
    `- At most ${map.maxReadRegisters} registers per read and ${map.maxWriteRegisters} per write; larger requests are answered with exception 0x03 (illegal data value). Addresses outside the blocks below, and partial writes of trigger blocks, are answered with exception 0x02 (illegal data address) and change nothing. A command the instrument refuses is answered with exception 0x04 and its reason is left in \`commandResult\`. Only functions 3, 4, 6 and 16 exist; any other (coils, discrete inputs, 23 …) is answered with exception 0x01 (illegal function).`,
    `- ${map.maxRequestsInFlight > 1 ? `Up to ${map.maxRequestsInFlight} requests may be pipelined on one connection; replies carry the request's MBAP transaction id and come in request order` : "One request at a time per connection: wait for each reply before sending the next request"}.`,
    "- The record window and the step table are shared by all connections: one station per instrument. The window echoes the request (channel, afterSeq) so a reader can tell it is reading its own.",
    "",
    "## Blocks",
    "",
    "| table | block | first address | registers | instances × size | purpose |",
    "|---|---|---|---|---|---|",
    ...overview("input", map.input),
    ...overview("holding", map.holding),
    "",
    "## Input registers (read only, function 4)",
    "",
    ...Object.entries(map.input).flatMap(([name, b]) => renderBlock(name, b, "input")),
    "## Holding registers (functions 3, 6, 16)",
    "",
    ...Object.entries(map.holding).flatMap(([name, b]) => renderBlock(name, b, "holding")),
    "## End-condition thresholds",
    "",
    "`programSteps.ends.value` is an i32 whose resolution depends on the quantity compared:",
    "",
    "| quantity | resolution | unit |",
    "|---|---|---|",
    ...Object.entries(map.endValueScales).map(([q, s]) => `| ${q} | ${decimal(1 / s.scale)} | ${s.unit} |`),
    "",
    "## Sequences",
    "",
    "- **Connect:** read `identification` (check `mapVersion`, take `channelCount` and the limits).",
    "- **Poll:** read the `live` blocks of all channels, as many whole blocks per request as fit (pipelined up to the limit above); read a channel's `programId` block only when `programIdCrc32` changes.",
    "- **Records:** write `recordRequest` (channel, afterSeq, max), read the `recordWindow` header and its `count` slots; repeat with afterSeq = the last seq read until fewer than max come back.",
    "- **Program:** write `programHeader` and one write per used `programSteps` slot, then write `command` = (channel, 6 = load), then (channel, 1 = start).",
    "- **Watchdog:** write `heartbeat` (any changing value) more often than the instrument's watchdog timeout.",
    "",
  ].join("\n");
}
