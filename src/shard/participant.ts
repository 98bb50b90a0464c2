// The participant side of the protocol, independent of the transport: it answers ShardRequests with
// a Backend it creates for the range it is told to hold. A MessagePort or data-channel transport
// feeds it decoded requests; LocalLink calls it in-process.
import type { Backend } from '../engine/backend.ts';
import { decodeFrame, encodeFrame } from './frames.ts';
import type { ShardRequest, ShardResponse } from './wire.ts';

/** Makes a backend holding layers [from, to) (no embedding, no head). */
export type BackendFactory = (from: number, to: number, signal: AbortSignal) => Promise<Backend>;

export class ShardHost {
  private readonly factory: BackendFactory;
  private backend: Backend | undefined;
  /** Requests run one at a time, in arrival order (pings excepted), as a backend requires. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(factory: BackendFactory) {
    this.factory = factory;
  }

  get held(): Backend | undefined {
    return this.backend;
  }

  handle(req: ShardRequest, signal: AbortSignal): Promise<ShardResponse> {
    if (req.op === 'ping') return Promise.resolve({ op: 'pong' });
    const run = this.queue.then(() => this.run(req, signal));
    this.queue = run.catch(() => undefined);
    return run.catch((e: unknown): ShardResponse => {
      const err = e instanceof Error ? e : new Error(String(e));
      return { op: 'error', name: err.name, message: err.message };
    });
  }

  private async run(req: ShardRequest, signal: AbortSignal): Promise<ShardResponse> {
    signal.throwIfAborted();
    switch (req.op) {
      case 'load': {
        this.backend?.dispose();
        this.backend = undefined;
        this.backend = await this.factory(req.from, req.to, signal);
        const m = this.backend.memory();
        return { op: 'loaded', from: req.from, to: req.to, memoryBytes: m.weights + m.kv + m.scratch };
      }
      case 'truncate':
        this.need().truncate(req.pos);
        return { op: 'truncated', pos: req.pos };
      case 'layers': {
        const be = this.need();
        const { header: h, hidden } = decodeFrame(req.frame, { nEmbd: be.config.nEmbd });
        const out = await be.layers(hidden, h.nTok, h.pos, h.from, h.to);
        return { op: 'layers', frame: encodeFrame(h, out) };
      }
      default:
        throw new Error(`unknown request ${(req as { op: string }).op}`);
    }
  }

  private need(): Backend {
    if (!this.backend) throw new Error('no layers loaded');
    return this.backend;
  }

  dispose(): void {
    this.backend?.dispose();
    this.backend = undefined;
  }
}
