// `tabshard gateway`: serve a store directory as an IPFS Trustless Gateway (and optionally a static
// folder at /) on 127.0.0.1. Fault flags make it misbehave on purpose, for client tests and demos.
import { parse } from '../args.ts';
import { startGateway } from '../../store/gateway-server.ts';
import type { GatewayFaults } from '../../store/gateway-faults.ts';

export const summary = 'serve a block store over the IPFS trustless gateway protocol (raw + CAR)';

export const usage = `tabshard gateway [--port P] [--store DIR] [--host 127.0.0.1] [--static DIR] [--cors] [--coop-coep]
    faults: [--corrupt-fraction F] [--corrupt-cid CID]... [--fail-first N] [--fail-fraction F]
            [--fail-status 503] [--stall-first N] [--stall-fraction F] [--close-first N]
            [--close-fraction F] [--delay MS] [--link MIB_PER_S] [--fault-seed S]
    --link: send bodies at most this fast in all (a gateway behind a link of that speed)
    --cors: Access-Control-Allow-Origin: * (pages on other origins, e.g. a static host, may fetch blocks)
    --coop-coep: serve the --static app and /ipfs/ sites cross-origin isolated (COOP same-origin +
                 COEP require-corp: SharedArrayBuffer, so WASM threads)`;

function num(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag} wants a non-negative number, got ${value}`);
  return n;
}

function rate(first: string | undefined, fraction: string | undefined, name: string) {
  const firstN = num(first, `${name}-first`);
  const frac = num(fraction, `${name}-fraction`);
  return firstN === undefined && frac === undefined ? undefined : { firstN, fraction: frac };
}

export async function run(args: string[]): Promise<number> {
  const s = { type: 'string' } as const;
  const { values } = parse(
    args,
    {
      port: s, store: s, host: s, static: s,
      'corrupt-fraction': s, 'corrupt-cid': { type: 'string', multiple: true },
      'fail-first': s, 'fail-fraction': s, 'fail-status': s,
      'stall-first': s, 'stall-fraction': s, 'close-first': s, 'close-fraction': s,
      delay: s, link: s, 'fault-seed': s,
      cors: { type: 'boolean' }, 'coop-coep': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    usage,
  );
  if (values.help) {
    console.log(`usage: ${usage}`);
    return 0;
  }
  const corruptFraction = num(values['corrupt-fraction'], 'corrupt-fraction');
  const cids = values['corrupt-cid'];
  const fail = rate(values['fail-first'], values['fail-fraction'], 'fail');
  const linkMiBps = num(values.link, 'link');
  if (linkMiBps === 0) throw new Error('--link wants a rate above 0 MiB/s');
  const faults: GatewayFaults = {
    seed: num(values['fault-seed'], 'fault-seed'),
    corrupt: corruptFraction !== undefined || cids ? { fraction: corruptFraction, cids } : undefined,
    error5xx: fail ? { ...fail, status: num(values['fail-status'], 'fail-status') } : undefined,
    stall: rate(values['stall-first'], values['stall-fraction'], 'stall'),
    closeMidBody: rate(values['close-first'], values['close-fraction'], 'close'),
    delayMs: num(values.delay, 'delay'),
    bytesPerSecond: linkMiBps === undefined ? undefined : linkMiBps * 2 ** 20,
  };
  const gw = await startGateway({
    port: num(values.port, 'port') ?? 8080,
    host: values.host ?? '127.0.0.1',
    store: values.store ?? '.store',
    staticDir: values.static,
    faults,
    cors: values.cors === true,
    coopCoep: values['coop-coep'] === true,
  });
  console.error(`tabshard gateway: ${gw.url}/ipfs/{cid}?format=raw|car  (store ${values.store ?? '.store'})`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await gw.close();
  return 0;
}
