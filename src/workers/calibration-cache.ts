// The browser's calibration cache for `auto`: an IndexedDB database of its own beside the block
// store's (`<db>-calibration`), because workers have no localStorage and the engine worker, the
// widget's worker and shard helper tabs all decide. One record per key (adapter, CPU path, model
// layer shape; see engine/auto/decide.ts). Where IndexedDB is missing the cache is simply absent.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { CalibrationCache } from '../engine/auto/index.ts';

interface CalibrationDB extends DBSchema {
  calibration: { key: string; value: unknown };
}

export function calibrationDbName(dbName = 'tabshard'): string {
  return `${dbName}-calibration`;
}

export function idbCalibrationCache(dbName?: string): CalibrationCache | undefined {
  if (typeof indexedDB === 'undefined') return undefined;
  let db: Promise<IDBPDatabase<CalibrationDB>> | undefined;
  const open = (): Promise<IDBPDatabase<CalibrationDB>> => {
    db ??= openDB<CalibrationDB>(calibrationDbName(dbName), 1, {
      upgrade(d) {
        d.createObjectStore('calibration');
      },
    });
    return db;
  };
  return {
    async get(key) {
      return (await open()).get('calibration', key);
    },
    async put(key, value) {
      await (await open()).put('calibration', { ...value, at: Date.now() }, key);
    },
  };
}
