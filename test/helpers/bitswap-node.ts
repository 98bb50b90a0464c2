// A libp2p node as a room's (WebSockets on loopback instead of WebRTC: Node has no
// RTCPeerConnection) with bitswap over `blocks`, for the block-exchange tests and bench.
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import type { Libp2p } from '@libp2p/interface';
import { webSockets } from '@libp2p/websockets';
import { createLibp2p } from 'libp2p';
import { BlockExchange } from '../../src/shard/block-exchange.ts';
import type { ListableBlockstore } from '../../src/store/helia-blockstore.ts';

/** Started node and exchange; the caller stops both (exchange first). */
export async function bitswapNode(blocks: ListableBlockstore): Promise<{ node: Libp2p; exchange: BlockExchange }> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify() },
  });
  const exchange = await BlockExchange.start(node, blocks);
  await node.start();
  return { node, exchange };
}
