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

export function canonicalJson(value: unknown): string {
  return serialise(value, "$");
}

function serialise(value: unknown, path: string): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new CanonicalJsonError(path, `${value} is not a JSON number`);
      // ECMAScript Number::toString is the RFC 8785 number format; -0 becomes "0".
      return JSON.stringify(value);
    case "string":
      return JSON.stringify(value);
    case "object":
      return Array.isArray(value) ? serialiseArray(value, path) : serialiseObject(value as object, path);
    default:
      throw new CanonicalJsonError(path, `${typeof value} is not JSON data`);
  }
}

function serialiseArray(items: unknown[], path: string): string {
  const parts = items.map((item, i) => {
    if (item === undefined) throw new CanonicalJsonError(`${path}[${i}]`, "undefined is not JSON data");
    return serialise(item, `${path}[${i}]`);
  });
  return `[${parts.join(",")}]`;
}

function serialiseObject(object: object, path: string): string {
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) {
    throw new CanonicalJsonError(path, `${proto?.constructor?.name ?? "object"} is not a plain JSON object`);
  }
  // Default sort compares UTF-16 code units, which is what RFC 8785 §3.2.3 prescribes.
  const keys = Object.keys(object).sort();
  const parts: string[] = [];
  for (const key of keys) {
    const member = (object as Record<string, unknown>)[key];
    // Absent optional fields (undefined) are omitted, as JSON.stringify does.
    if (member === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${serialise(member, `${path}.${key}`)}`);
  }
  return `{${parts.join(",")}}`;
}
