// Several registries side by side (this browser's, the site's registry.json, ones added by URL or
// CID): every entry keeps the name of the registry it came from, and two registries that publish
// the same name@version with different CIDs are a conflict that is reported, not merged away. For
// resolving names, the first registry in order wins a conflict (the user orders them).
import { addEntry, emptyRegistry, type Registry, type RegistryEntry } from './registry.ts';

export type SourcedEntry = RegistryEntry & { registry: string };

export interface RegistryConflict {
  /** `name@version` */
  key: string;
  /** Every registry's entry for it, in registry order (the first one is used). */
  entries: SourcedEntry[];
}

export interface MergedRegistries {
  /** Every entry of every registry (duplicates with the same CID once, from the first registry). */
  entries: SourcedEntry[];
  conflicts: RegistryConflict[];
  /** What names resolve against: each name@version from the first registry that has it. */
  effective: Registry;
}

export function mergeRegistries(sources: Array<{ registry: string; doc: Registry }>): MergedRegistries {
  const byKey = new Map<string, SourcedEntry[]>();
  for (const { registry, doc } of sources) {
    for (const e of doc.entries) {
      const key = `${e.name}@${e.version}`;
      const list = byKey.get(key) ?? [];
      if (!list.some((x) => x.cid === e.cid)) list.push({ ...e, registry });
      byKey.set(key, list);
    }
  }
  const entries = [...byKey.values()].flat();
  const conflicts = [...byKey].filter(([, l]) => l.length > 1).map(([key, l]) => ({ key, entries: l }));
  let effective = emptyRegistry();
  for (const [, l] of byKey) {
    const { registry: _from, ...winner } = l[0]!;
    // Tags move between versions as in a publish: a tag two registries set ends on the later one's version.
    effective = addEntry(effective, winner);
  }
  return { entries, conflicts, effective };
}
