// `tabshard relay`: the relay WebRTC peers of a shard room meet through. By default the minimal
// WebSocket signaling relay (signal-server.ts); with --libp2p a js-libp2p node (WebSockets, circuit
// relay v2, identify, and the room directory: libp2p-relay.ts) whose multiaddr the pages take as
// `relay=`. Either way it forwards signaling only; activations flow peer to peer, and the room
// secret never reaches it. Listens on 127.0.0.1 by default.
import { parse } from '../args.ts';
import { startSignalRelay } from '../../shard/transports/signal-server.ts';

export const summary = 'run the signaling relay for WebRTC shard rooms (WebSocket, or js-libp2p with --libp2p)';

export const usage = 'tabshard relay [--port 4180] [--host 127.0.0.1] [--libp2p] [--quiet]';

export async function run(args: string[]): Promise<number> {
  const { values } = parse(args, { port: { type: 'string' }, host: { type: 'string' }, libp2p: { type: 'boolean' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, usage);
  if (values.help) {
    console.log(`usage: ${usage}`);
    return 0;
  }
  const port = Number(values.port ?? 4180);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port wants a port number, got ${values.port}`);
  const host = values.host ?? '127.0.0.1';
  const log = values.quiet ? undefined : (l: string): void => console.log(l);
  let close: () => Promise<void>;
  if (values.libp2p) {
    // Loaded only when asked: the libp2p stack is large and the WebSocket relay does not need it.
    const { startLibp2pRelay } = await import('../../shard/transports/libp2p-relay.ts');
    const relay = await startLibp2pRelay({ port, host, log });
    for (const a of relay.addrs) console.log(`tabshard libp2p relay listening on ${a}`);
    close = relay.close;
  } else {
    const relay = await startSignalRelay({ port, host, log });
    console.log(`tabshard relay listening on ${relay.url}`);
    close = relay.close;
  }
  await new Promise<void>((resolve) => {
    const stop = (): void => { void close().then(resolve); };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
