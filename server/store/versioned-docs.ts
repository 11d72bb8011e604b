/**
 * Versioned YAML documents (recipes, grading rules) in a config folder. The current version of `<name>` is
 * `<dir>/<name>.yaml` — the file the station loads; every published version is also kept, immutable, as
 * `<dir>/versions/<name>/<version>.yaml`. Saving never overwrites a published version: the version must be new
 * and higher than every earlier one, and the archive file is created exclusively.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";

export class DocumentVersionError extends Error {
  constructor(
    readonly status: 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = "DocumentVersionError";
  }
}

export interface DocumentSummary {
  name: string;
  version: string;
}

export interface VersionedDocStore {
  list(): DocumentSummary[];
  current(name: string): DocumentSummary & { yaml: string; versions: string[] };
  version(name: string, version: string): string;
  /** validate and publish; returns the published version */
  save(name: string, yaml: string): DocumentSummary;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const VERSION = /^\d+\.\d+\.\d+$/;

/** numeric semver comparison of x.y.z */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

/**
 * `describe` validates a document and returns its version; it throws the domain's own error (with the field
 * path) when the document is invalid, and is also what the validate endpoints call.
 */
export function createVersionedDocStore(kind: string, dir: string, describe: (yaml: string, name: string) => { version: string }): VersionedDocStore {
  const file = (name: string) => path.join(dir, `${assertName(kind, name)}.yaml`);
  const archiveDir = (name: string) => path.join(dir, "versions", assertName(kind, name));
  const archived = (name: string) =>
    existsSync(archiveDir(name))
      ? readdirSync(archiveDir(name))
          .filter((f) => f.endsWith(".yaml"))
          .map((f) => f.slice(0, -5))
          .filter((v) => VERSION.test(v))
      : [];
  const read = (name: string) => {
    if (!existsSync(file(name))) throw new DocumentVersionError(404, `no ${kind} "${name}"`);
    const yaml = readFileSync(file(name), "utf8");
    return { yaml, version: describe(yaml, name).version };
  };
  const allVersions = (name: string) => {
    const versions = new Set(archived(name));
    if (existsSync(file(name))) versions.add(read(name).version);
    return [...versions].sort(compareVersions);
  };
  return {
    list() {
      if (!existsSync(dir)) return [];
      return readdirSync(dir)
        .filter((f) => f.endsWith(".yaml") && NAME.test(f.slice(0, -5)))
        .map((f) => f.slice(0, -5))
        .sort()
        .map((name) => ({ name, version: read(name).version }));
    },
    current(name) {
      const { yaml, version } = read(name);
      return { name, version, yaml, versions: allVersions(name) };
    },
    version(name, version) {
      if (!VERSION.test(version)) throw new DocumentVersionError(404, `no ${kind} "${name}" version ${version}`);
      const archivedFile = path.join(archiveDir(name), `${version}.yaml`);
      if (existsSync(archivedFile)) return readFileSync(archivedFile, "utf8");
      const cur = existsSync(file(name)) ? read(name) : undefined;
      if (cur?.version === version) return cur.yaml;
      throw new DocumentVersionError(404, `no ${kind} "${name}" version ${version}`);
    },
    save(name, yaml) {
      const { version } = describe(yaml, name);
      const newest = allVersions(name).at(-1);
      if (newest !== undefined && compareVersions(version, newest) <= 0) {
        throw new DocumentVersionError(409, `${kind} "${name}" version ${version} is not newer than the published ${newest}: published versions are never overwritten`);
      }
      mkdirSync(archiveDir(name), { recursive: true });
      if (existsSync(file(name))) {
        const cur = read(name);
        const curArchive = path.join(archiveDir(name), `${cur.version}.yaml`);
        if (!existsSync(curArchive)) copyFileSync(file(name), curArchive);
      }
      try {
        writeFileSync(path.join(archiveDir(name), `${version}.yaml`), yaml, { flag: "wx" });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new DocumentVersionError(409, `${kind} "${name}" version ${version} is already published`);
        throw e;
      }
      const tmp = `${file(name)}.${process.pid}.tmp`;
      writeFileSync(tmp, yaml);
      renameSync(tmp, file(name));
      return { name, version };
    },
  };
}

function assertName(kind: string, name: string): string {
  if (!NAME.test(name)) throw new DocumentVersionError(404, `"${name}" is not a ${kind} name (lower-case letters, digits, '_', '-')`);
  return name;
}
