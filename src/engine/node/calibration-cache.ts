// The CLI's calibration cache: one small JSON file in the CLI's cache directory
// ($TABSHARD_CACHE_DIR, else $XDG_CACHE_HOME/tabshard, else ~/.cache/tabshard), keyed as the
// browser's cache is (adapter, CPU path, model layer shape). Written whole through a temp file and
// a rename, so a crash mid-write leaves the previous file.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CalibrationCache } from '../auto/index.ts';

export function cliCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TABSHARD_CACHE_DIR) return env.TABSHARD_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tabshard');
}

async function readAll(path: string): Promise<Record<string, unknown>> {
  try {
    const x = JSON.parse(await readFile(path, 'utf8')) as unknown;
    return x && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : {};
  } catch {
    // Absent or unreadable: an empty cache (the next calibration rewrites it).
    return {};
  }
}

export function fileCalibrationCache(path = join(cliCacheDir(), 'calibration.json')): CalibrationCache {
  return {
    async get(key) {
      return (await readAll(path))[key];
    },
    async put(key, value) {
      const all = await readAll(path);
      all[key] = { ...value, at: new Date().toISOString() };
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(all, null, 1)}\n`);
      await rename(tmp, path);
    },
  };
}
