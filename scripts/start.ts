// `npm start` (`./dev start`): build the app, then serve it and the demo model through the local
// gateway, and run the peer relay on loopback for WebRTC shard rooms. The relay's address goes to
// dist/share.json, which the app's Share panel reads, so "other devices" works out of the box on
// this machine (RELAY_PORT, default 4180; RELAY_HOST to listen beyond loopback, see the README).
// The relay is the js-libp2p one by default: rooms then run on libp2p nodes and participants fetch
// their layers' blocks from room peers over bitswap before the gateways. RELAY_KIND=ws runs the
// plain WebSocket signaling relay instead (rooms work the same, blocks come from the gateways).
import { build } from 'vite';
import { startSignalRelay } from '../src/shard/transports/signal-server.ts';
import { serve } from './serve.ts';

const port = Number(process.env.PORT ?? 8080);
await build({ logLevel: 'warn' });
const relayPort = Number(process.env.RELAY_PORT ?? 4180);
const relayHost = process.env.RELAY_HOST ?? '127.0.0.1';
// What peers dial: RELAY_URL when the relay is reached under another name (a LAN address, a proxy).
// The libp2p relay's identity is fresh each run, so its /p2p/<id> is appended to a RELAY_URL without one.
let relayAddr = process.env.RELAY_URL;
if (process.env.RELAY_KIND === 'ws') {
  const relay = await startSignalRelay({ port: relayPort, host: relayHost });
  relayAddr ??= relay.url;
} else {
  const { startLibp2pRelay } = await import('../src/shard/transports/libp2p-relay.ts');
  const relay = await startLibp2pRelay({ port: relayPort, host: relayHost });
  relayAddr = relayAddr === undefined ? relay.addrs[0]! : relayAddr.includes('/p2p/') ? relayAddr : `${relayAddr}/p2p/${relay.peerId}`;
}
const { gateway, entry } = await serve(port, 'dist', '.store/demo', relayAddr);
console.log(`demo model ${entry.name}@${entry.version}: /ipfs/${entry.cid}`);
console.log(`peer relay for shard rooms: ${relayAddr}`);
console.log(`tabshard is running at http://localhost:${gateway.port}/  (Ctrl-C to stop)`);
