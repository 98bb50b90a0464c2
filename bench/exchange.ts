// Block exchange between room peers (Node, loopback), side by side in one run: participant B reads a
// whole file (random bytes imported as UnixFS, 256 KiB leaves) (a) from peer A over bitswap
// (block-exchange.ts, targeted sessions, every block verified, stored in B's store) and (b) from a
// local gateway serving A's store over HTTP (the gateway client, verified, stored), at the same
// range-reader concurrency; then (c) over bitswap with a lying peer asked first (its strikes and the
// ban's cost: its wrong bytes are caught as they arrive, and those blocks are asked of A). MB/s and ratios; no wall-clock asserts. `--mb N` sets the size (default 32).
// Loopback WebSockets stand in for the browsers' WebRTC data channels (Node has no
// RTCPeerConnection), so this is the protocol's own cost, not a network's.
import { randomBytes } from 'node:crypto';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import type { Libp2p } from '@libp2p/interface';
import { webSockets } from '@libp2p/websockets';
import { createLibp2p } from 'libp2p';
import type { CID } from 'multiformats/cid';
import { BlockExchange, type BlockExchangeEvent } from '../src/shard/block-exchange.ts';
import { storeFirst } from '../src/store/block-getter.ts';
import { MemoryBlockstore, type BlockGetter } from '../src/store/blockstore.ts';
import { importFile } from '../src/store/cid.ts';
import { GatewayClient } from '../src/store/gateway-client.ts';
import { startGateway } from '../src/store/gateway-server.ts';
import type { ListableBlockstore } from '../src/store/helia-blockstore.ts';
import { MemoryModelStore } from '../src/store/memory-model-store.ts';
import { createRangeSource } from '../src/store/unixfs-range.ts';

const MiB = 2 ** 20;
const CONCURRENCY = 8;

async function peer(blocks: ListableBlockstore): Promise<{ node: Libp2p; ex: BlockExchange }> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify() },
  });
  return { node, ex: await BlockExchange.start(node, blocks) };
}

/** Reads the whole file through `get` into a fresh store; MB/s and the blocks stored. */
async function timedRead(root: CID, size: number, get: BlockGetter): Promise<{ mbPerS: number; seconds: number; blocks: number }> {
  const local = new MemoryBlockstore();
  const src = await createRangeSource(root, storeFirst(local, get), { concurrency: CONCURRENCY });
  const t0 = performance.now();
  const bytes = await src.read(0, size);
  const seconds = (performance.now() - t0) / 1000;
  if (bytes.length !== size) throw new Error(`read ${bytes.length} of ${size} bytes`);
  return { mbPerS: size / MiB / seconds, seconds, blocks: local.size };
}

export async function run(args: string[]): Promise<unknown> {
  const mbArg = args.indexOf('--mb');
  const size = (mbArg >= 0 ? Number(args[mbArg + 1]) : 32) * MiB;
  const store = new MemoryModelStore();
  const { root, blocks } = await importFile([randomBytes(size)], { blockstore: store });
  const gw = await startGateway({ port: 0, store });
  const a = await peer(store);
  const b = await peer(new MemoryBlockstore());
  const liarStore: ListableBlockstore = {
    has: (cid) => store.has(cid),
    async get(cid) { const x = (await store.get(cid)).slice(); x[0] ^= 1; return x; },
    put: () => Promise.reject(new Error('read-only')),
  };
  const liar = await peer(liarStore);
  try {
    await b.node.dial(a.node.getMultiaddrs()[0]!);
    await b.node.dial(liar.node.getMultiaddrs()[0]!);
    const client = new GatewayClient({ gateways: [gw.url], retries: 0 });
    const gateway: BlockGetter = (cid, o) => client.getBlock(cid, o);
    // Blocks a peer did not deliver in time come from the gateway, counted: a run's figure is then
    // honest about what carried its bytes.
    let fallbacks = 0;
    const counted: BlockGetter = (cid, o) => { fallbacks++; return gateway(cid, o); };

    const bitswap = { ...(await timedRead(root, size, b.ex.getter([a.node.peerId], counted))), fromGateway: fallbacks };
    fallbacks = 0;
    const http = await timedRead(root, size, gateway);
    const events: BlockExchangeEvent[] = [];
    const withLiar = await timedRead(root, size, b.ex.getter([liar.node.peerId, a.node.peerId], counted, { onEvent: (e) => events.push(e) }));
    const liarFallbacks = fallbacks;
    const strikes = { integrity: events.filter((e) => e.type === 'integrity').length, timeout: events.filter((e) => e.type === 'timeout').length };
    const name = (p: string): string => (p === a.node.peerId.toString() ? 'A' : p === liar.node.peerId.toString() ? 'liar' : p);
    const banned = events.flatMap((e) => (e.type === 'banned' ? [name(e.peer)] : []));

    const r = (x: number): number => Math.round(x * 100) / 100;
    console.log(`file ${size / MiB} MiB, ${blocks} blocks, range-reader concurrency ${CONCURRENCY}, loopback`);
    console.log(`  bitswap from peer A      ${r(bitswap.mbPerS)} MB/s (${bitswap.blocks} blocks, ${bitswap.fromGateway} of them from the gateway, ${r(bitswap.seconds)} s)`);
    console.log(`  gateway over HTTP        ${r(http.mbPerS)} MB/s (${http.blocks} blocks, ${r(http.seconds)} s)`);
    console.log(`  bitswap, liar asked 1st  ${r(withLiar.mbPerS)} MB/s (strikes: ${strikes.integrity} wrong blocks, ${strikes.timeout} timeouts of 2 s; banned: ${banned.join(', ') || 'none'}, ${liarFallbacks} blocks from the gateway)`);
    console.log(`  ratio bitswap / gateway  ${r(bitswap.mbPerS / http.mbPerS)}x; with a liar / without ${r(withLiar.mbPerS / bitswap.mbPerS)}x`);
    return { sizeBytes: size, blocks, concurrency: CONCURRENCY, bitswap, gateway: http, withLiar: { ...withLiar, strikes, banned, fromGateway: liarFallbacks }, ratioBitswapToGateway: bitswap.mbPerS / http.mbPerS };
  } finally {
    for (const p of [a, b, liar]) { await p.ex.stop(); await p.node.stop(); }
    await gw.close();
  }
}
