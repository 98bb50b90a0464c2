// The comlink error transfer (src/workers/wire.ts) over a real MessageChannel in Node.
import { expose, wrap } from 'comlink';
import { describe, expect, it } from 'vitest';
import { AllGatewaysFailedError, GatewayError, QuotaError } from '../../src/store/errors.ts';
import { fromWire, installWireHandlers, toWire } from '../../src/workers/wire.ts';

installWireHandlers();

describe('wire: errors across comlink', () => {
  it('a thrown typed error keeps name, message, cause and own properties', async () => {
    const { port1, port2 } = new MessageChannel();
    const api = {
      quota(): void {
        throw new QuotaError('Browser storage is full', { bytesNeeded: 262144, usage: 10, quota: 20, cause: new DOMException('no room', 'QuotaExceededError') });
      },
      gateways(): void {
        throw new AllGatewaysFailedError('bafyx', [{ gateway: 'http://127.0.0.1:1', error: new GatewayError('http://127.0.0.1:1', 'HTTP 503', { status: 503 }) }]);
      },
      returned(): Error {
        return new GatewayError('http://g', 'bad');
      },
    };
    expose(api, port1);
    const remote = wrap<typeof api>(port2);
    try {
      const q = (await remote.quota().catch((e: unknown) => e)) as Error & Record<string, unknown>;
      expect(q).toBeInstanceOf(Error);
      expect(q.name).toBe('QuotaError');
      expect(q.message).toBe('Browser storage is full');
      expect(q.bytesNeeded).toBe(262144);
      expect((q.cause as Error).name).toBe('QuotaExceededError');
      const g = (await remote.gateways().catch((e: unknown) => e)) as Error & { causes: Array<{ gateway: string; error: Error & { status: number } }> };
      expect(g.name).toBe('AllGatewaysFailedError');
      expect((g.cause as Error).name).toBe('GatewayError');
      expect(g.causes[0]!.error.name).toBe('GatewayError');
      expect(g.causes[0]!.error.status).toBe(503);
      const r = await remote.returned();
      expect(r.name).toBe('GatewayError');
    } finally {
      port1.close();
      port2.close();
    }
  });

  it('toWire/fromWire survive cycles and leave plain values alone', () => {
    const e = new Error('outer') as Error & { self?: unknown };
    e.self = e;
    const back = fromWire(structuredClone(toWire({ e, n: 1, bytes: new Uint8Array([1, 2]) }))) as { e: Error; n: number; bytes: Uint8Array };
    expect(back.e.message).toBe('outer');
    expect(back.n).toBe(1);
    expect(back.bytes).toEqual(new Uint8Array([1, 2]));
  });
});
