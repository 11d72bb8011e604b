/**
 * Canonical JSON after RFC 8785 (JSON Canonicalization Scheme): object keys sorted by
 * UTF-16 code units, no whitespace, numbers and strings serialised as ECMAScript
 * JSON.stringify does (RFC 8785 §3.2.2.2/§3.2.2.3 adopt exactly that serialisation).
 * Signatures are computed over these bytes, so two parties agree on them without
 * agreeing on key order or formatting.
 */

export class CanonicalJsonError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`canonical JSON: ${reason} at ${path || "$"}`);
    this.name = "CanonicalJsonError";
  }
}

/**
 * `serialised`: objects inside `value` whose canonical JSON the caller already has (e.g. a signed
 * certificate's content, serialised for its digest), written as given instead of again.
 */
export function canonicalJson(value: unknown, serialised?: ReadonlyMap<object, string>): string {
  return serialise(value, serialised);
}

/**
 * The path of an offending value is assembled while the error unwinds (each level prepends its
 * key or index), so a valid document — certificates carry thousands of curve samples — builds
 * no path strings at all.
 */
class MisplacedValue extends Error {
  constructor(
    readonly reason: string,
    readonly segments: string[] = [],
  ) {
    super(reason);
  }
}

function within(error: unknown, segment: string): unknown {
  if (error instanceof MisplacedValue) error.segments.unshift(segment);
  return error;
}

function serialise(value: unknown, serialised: ReadonlyMap<object, string> | undefined): string {
  try {
    return serialiseValue(value, serialised);
  } catch (error) {
    if (error instanceof MisplacedValue) throw new CanonicalJsonError(`$${error.segments.join("")}`, error.reason);
    throw error;
  }
}

type Known = ReadonlyMap<object, string> | undefined;

function serialiseValue(value: unknown, known: Known): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new MisplacedValue(`${value} is not a JSON number`);
      // ECMAScript Number::toString is the RFC 8785 number format; -0 becomes "0".
      return String(value);
    case "string":
      return JSON.stringify(value);
    case "object":
      return known?.get(value) ?? (Array.isArray(value) ? serialiseArray(value, known) : serialiseObject(value as object, known));
    default:
      throw new MisplacedValue(`${typeof value} is not JSON data`);
  }
}

function serialiseArray(items: unknown[], known: Known): string {
  // Curves are long arrays of numbers: the engine's own JSON.stringify writes them with the same
  // Number::toString, several times faster than joining them one by one.
  if (items.every(isFiniteNumber)) return JSON.stringify(items);
  let out = "[";
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    try {
      if (item === undefined) throw new MisplacedValue("undefined is not JSON data");
      out += (i === 0 ? "" : ",") + serialiseValue(item, known);
    } catch (error) {
      throw within(error, `[${i}]`);
    }
  }
  return `${out}]`;
}

function isFiniteNumber(item: unknown): boolean {
  return typeof item === "number" && Number.isFinite(item);
}

function serialiseObject(object: object, known: Known): string {
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) {
    throw new MisplacedValue(`${proto?.constructor?.name ?? "object"} is not a plain JSON object`);
  }
  // Default sort compares UTF-16 code units, which is what RFC 8785 §3.2.3 prescribes.
  const keys = Object.keys(object).sort();
  let out = "{";
  for (const key of keys) {
    const member = (object as Record<string, unknown>)[key];
    // Absent optional fields (undefined) are omitted, as JSON.stringify does.
    if (member === undefined) continue;
    try {
      out += `${out.length === 1 ? "" : ","}${JSON.stringify(key)}:${serialiseValue(member, known)}`;
    } catch (error) {
      throw within(error, `.${key}`);
    }
  }
  return `${out}}`;
}
