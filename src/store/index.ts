// The store's browser-safe public API in one import. Node-only parts live in their own modules:
// fs-blockstore.ts, gateway-server.ts, static-files.ts, publish.ts.
export * from './errors.ts';
export { verifyBlock, isValidBlock, canVerify, parseCid, blockKey } from './verify.ts';
export { MemoryBlockstore, type Blockstore, type BlockGetter, type AbortOptions } from './blockstore.ts';
export { storeFirst } from './block-getter.ts';
export { importFile, computeCids, CHUNK_SIZE, MAX_LINKS, type ImportOptions, type ImportProgress, type ImportResult, type CidReport, type ByteSource } from './cid.ts';
export {
  GatewayClient, MAX_BLOCK_BYTES, type GatewayClientOptions, type GatewayClientEvent, type GetBlockOptions, type GatewayStatus,
} from './gateway-client.ts';
export { createRangeSource, type RangeSource, type UnixFSRangeSource, type RangeSourceOptions, type RangeStats } from './unixfs-range.ts';
export { carStream, scopeBlocks, parseEntityBytes, type DagScope, type EntityBytes } from './car.ts';
export * from './registry.ts';
export { parseVersion, compareVersions, satisfies } from './semver.ts';
export { MemoryModelStore, type MemoryModelStoreOptions } from './memory-model-store.ts';
export { planEviction, isQuotaExceeded, quotaError, type ModelStore, type ModelRecord, type EvictResult, type EvictOptions, type StoreStats, type BlockInfo } from './model-store.ts';
export { IdbBlockstore, type IdbBlockstoreOptions } from './idb-blockstore.ts';
export { HeliaBlockstore, type ListableBlockstore } from './helia-blockstore.ts';
export { IdbRegistry } from './idb-registry.ts';
export { openTabshardDb, DEFAULT_DB_NAME, type TabshardDatabase } from './idb-schema.ts';
export { Loader, type LoaderOptions, type LoadOptions, type LoadResult, type NetworkOptions, type RangeRead, type Resolved } from './loader.ts';
export { RateMeter, type LoadProgress, type BlockSource } from './load-progress.ts';
export { storageStatus, requestPersistence, type StorageStatus } from './storage-status.ts';
