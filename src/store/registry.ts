// The model registry: pure functions over a JSON document of published entries. Resolves
// `name`, `name@1.2.3`, `name@^1`, `name@~1.2`, `name@1.x`, `name@latest` and `name@<tag>`.
import { NotFoundError, RegistryError } from './errors.ts';
import { compareVersions, isValidRange, parseVersion, satisfies } from './semver.ts';

export interface GgufSummary {
  architecture: string | undefined;
  /** general.name, when present. */
  modelName: string | undefined;
  parameterCount: number;
  contextLength: number | undefined;
  /** Tensor count per ggml type name, e.g. { F32: 11, Q4_K: 35 }. */
  tensorTypes: Record<string, number>;
}

/** One file of a directory entry: its own UnixFS file DAG inside the directory's. */
export interface RegistryFile {
  cid: string;
  size: number;
  /** sha256 of the file, hex. */
  sha256: string;
}

export interface RegistryEntry {
  name: string;
  version: string;
  /** Root CID of the file's UnixFS DAG (of the directory's, for a directory entry). */
  cid: string;
  /** Bytes of the file (of all files, for a directory). */
  size: number;
  /** sha256 of the whole file, hex; for a directory, of its listing (see publish-dir.ts). */
  sha256: string;
  format: 'gguf' | 'raw' | 'onnx';
  tags: string[];
  publishedAt: string;
  gguf?: GgufSummary;
  /** Absent for a single file; 'transformers.js' for a model folder published as a UnixFS directory. */
  kind?: 'transformers.js';
  /** Pipeline tasks the folder serves, e.g. ['text-generation'] (directory entries). */
  tasks?: string[];
  /** Path inside the directory ('onnx/model.onnx') → file (directory entries). */
  files?: Record<string, RegistryFile>;
  /** Where the bytes were first fetched from, for a file imported from a URL (informative only). */
  source?: string;
}

export interface Registry {
  schema: 'tabshard-registry/1';
  entries: RegistryEntry[];
}

export type Selector = { kind: 'latest' } | { kind: 'tag'; tag: string } | { kind: 'range'; range: string };

const NAME = /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/i;
const TAG = /^[a-z][a-z0-9._-]*$/i;

export function emptyRegistry(): Registry {
  return { schema: 'tabshard-registry/1', entries: [] };
}

export function isValidName(name: string): boolean {
  return NAME.test(name) && name.length <= 214;
}

/** Split `name@selector` (the name may be scoped: `@org/model@^1`). */
export function parseSpec(spec: string): { name: string; selector: Selector } {
  const at = spec.lastIndexOf('@');
  const hasSel = at > 0;
  const name = hasSel ? spec.slice(0, at) : spec;
  const sel = hasSel ? spec.slice(at + 1) : 'latest';
  if (!isValidName(name)) throw new RegistryError(`bad model name in ${JSON.stringify(spec)}`);
  if (sel === 'latest') return { name, selector: { kind: 'latest' } };
  if (isValidRange(sel)) return { name, selector: { kind: 'range', range: sel } };
  if (TAG.test(sel)) return { name, selector: { kind: 'tag', tag: sel } };
  throw new RegistryError(`bad version, range or tag in ${JSON.stringify(spec)}`);
}

function byVersionDesc(a: RegistryEntry, b: RegistryEntry): number {
  return compareVersions(parseVersion(b.version)!, parseVersion(a.version)!);
}

/** All versions of `name`, newest first. */
export function versionsOf(registry: Registry, name: string): RegistryEntry[] {
  return registry.entries.filter((e) => e.name === name).sort(byVersionDesc);
}

/** The entry a spec names, or NotFoundError / RegistryError. */
export function resolve(registry: Registry, spec: string): RegistryEntry {
  const { name, selector } = parseSpec(spec);
  const versions = versionsOf(registry, name);
  if (versions.length === 0) throw new NotFoundError(`no model named ${name}`);
  let hit: RegistryEntry | undefined;
  if (selector.kind === 'tag') hit = versions.find((e) => e.tags.includes(selector.tag));
  else if (selector.kind === 'range') hit = versions.find((e) => satisfies(parseVersion(e.version)!, selector.range));
  else {
    // `latest`: the tag if someone set it, else the newest release, else the newest prerelease.
    hit = versions.find((e) => e.tags.includes('latest')) ?? versions.find((e) => parseVersion(e.version)!.prerelease.length === 0) ?? versions[0];
  }
  if (!hit) throw new NotFoundError(`nothing in ${name} matches ${spec}`);
  return hit;
}

/** Every entry (or every version of one name), sorted by name then newest first. */
export function list(registry: Registry, name?: string): RegistryEntry[] {
  const pick = name === undefined ? registry.entries : registry.entries.filter((e) => e.name === name);
  return [...pick].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : byVersionDesc(a, b)));
}

/** The newest version of each model whose name, architecture, model name or tags contain `query`. */
export function search(registry: Registry, query: string): RegistryEntry[] {
  const q = query.trim().toLowerCase();
  const names = [...new Set(registry.entries.map((e) => e.name))].sort();
  const out: RegistryEntry[] = [];
  for (const name of names) {
    const latest = resolve(registry, name);
    const hay = [latest.name, latest.gguf?.architecture, latest.gguf?.modelName, ...latest.tags, latest.format];
    if (hay.some((h) => h?.toLowerCase().includes(q))) out.push(latest);
  }
  return out;
}

/**
 * A registry with `entry` added. A tag moves: it leaves other versions of the same name.
 * Republishing name@version with the same CID updates it; with another CID is an error.
 */
export function addEntry(registry: Registry, entry: RegistryEntry): Registry {
  validateEntry(entry);
  const clash = registry.entries.find((e) => e.name === entry.name && e.version === entry.version);
  if (clash && clash.cid !== entry.cid) {
    throw new RegistryError(`${entry.name}@${entry.version} is already published as ${clash.cid}`);
  }
  const entries = registry.entries
    .filter((e) => e !== clash)
    .map((e) => (e.name === entry.name && e.tags.some((t) => entry.tags.includes(t)) ? { ...e, tags: e.tags.filter((t) => !entry.tags.includes(t)) } : e));
  return { ...registry, entries: [...entries, entry] };
}

function validateEntry(e: RegistryEntry): void {
  const bad = (what: string) => new RegistryError(`bad registry entry ${JSON.stringify(e?.name)}@${JSON.stringify(e?.version)}: ${what}`);
  if (typeof e !== 'object' || e === null) throw bad('not an object');
  if (typeof e.name !== 'string' || !isValidName(e.name)) throw bad('name');
  if (typeof e.version !== 'string' || !parseVersion(e.version)) throw bad('version is not semver');
  if (typeof e.cid !== 'string' || e.cid.length < 10) throw bad('cid');
  if (!Number.isSafeInteger(e.size) || e.size < 0) throw bad('size');
  if (typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256)) throw bad('sha256');
  if (e.format !== 'gguf' && e.format !== 'raw' && e.format !== 'onnx') throw bad('format');
  if (e.kind !== undefined) validateDirectory(e, bad);
  if (!Array.isArray(e.tags) || e.tags.some((t) => typeof t !== 'string' || !TAG.test(t))) throw bad('tags');
}

const SHA256 = /^[0-9a-f]{64}$/;

function validateDirectory(e: RegistryEntry, bad: (what: string) => RegistryError): void {
  if (e.kind !== 'transformers.js') throw bad('kind');
  if (!Array.isArray(e.tasks) || e.tasks.some((t) => typeof t !== 'string')) throw bad('tasks');
  if (typeof e.files !== 'object' || e.files === null || Object.keys(e.files).length === 0) throw bad('files');
  for (const [path, f] of Object.entries(e.files)) {
    // Relative, '/'-separated, no '.'/'..' segments: a path never escapes the directory.
    if (path.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) throw bad(`file path ${JSON.stringify(path)}`);
    if (typeof f?.cid !== 'string' || f.cid.length < 10 || !Number.isSafeInteger(f.size) || f.size < 0 || !SHA256.test(f.sha256)) {
      throw bad(`file ${JSON.stringify(path)}`);
    }
  }
}

export function exportRegistry(registry: Registry): string {
  return `${JSON.stringify({ schema: registry.schema, entries: list(registry) }, null, 2)}\n`;
}

/** Parse and validate registry JSON (a string or an already-parsed value). */
export function importRegistry(input: string | unknown): Registry {
  let doc: unknown;
  try {
    doc = typeof input === 'string' ? JSON.parse(input) : input;
  } catch (err) {
    throw new RegistryError(`registry is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const d = doc as Partial<Registry> | null;
  if (!d || d.schema !== 'tabshard-registry/1' || !Array.isArray(d.entries)) {
    throw new RegistryError('not a tabshard registry (schema tabshard-registry/1 with entries[])');
  }
  let reg = emptyRegistry();
  for (const e of d.entries) reg = addEntry(reg, { ...e, tags: [...(e.tags ?? [])] });
  return reg;
}
