// `tabshard relay`: the signaling relay WebRTC peers of a shard room meet through (WebSockets on
// 127.0.0.1 by default). It forwards SDP offers/answers and ICE candidates only; activations flow
// peer to peer, and the room secret never reaches it.
import { parse } from '../args.ts';
import { startSignalRelay } from '../../shard/transports/signal-server.ts';

export const summary = 'run the WebSocket signaling relay for WebRTC shard rooms';

const usage = 'tabshard relay [--port 4180] [--host 127.0.0.1] [--quiet]';

export async function run(args: string[]): Promise<number> {
  const { values } = parse(args, { port: { type: 'string' }, host: { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, usage);
  if (values.help) {
    console.log(`usage: ${usage}`);
    return 0;
  }
  const port = Number(values.port ?? 4180);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port wants a port number, got ${values.port}`);
  const relay = await startSignalRelay({ port, host: values.host ?? '127.0.0.1', log: values.quiet ? undefined : (l) => console.log(l) });
  console.log(`tabshard relay listening on ${relay.url}`);
  await new Promise<void>((resolve) => {
    const stop = (): void => { void relay.close().then(resolve); };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
