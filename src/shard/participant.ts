// The participant side of the protocol, independent of the transport: it answers ShardRequests with
// a Backend it creates for the range it is told to hold. A MessagePort or data-channel transport
// feeds it decoded requests; LocalLink calls it in-process.
import type { CID } from 'multiformats/cid';
import type { Backend } from '../engine/backend.ts';
import { parseCid } from '../store/verify.ts';
import { decodeFrame, encodeFrame } from './frames.ts';
import type { ShardRequest, ShardResponse } from './wire.ts';

/** Makes a backend holding layers [from, to) (no embedding, no head). */
export type BackendFactory = (from: number, to: number, signal: AbortSignal) => Promise<Backend>;

/**
 * Where a host finds blocks to share with room peers. A Blockstore or ModelStore fits as it is: a
 * missing block may be `undefined` or a NotFoundError.
 */
export interface BlockSource {
  get(cid: CID, options?: { signal?: AbortSignal }): Promise<Uint8Array | undefined>;
}

export interface ShardHostOptions {
  /** Answer 'block' requests from here; without it every block request gets 'no-block'. */
  blocks?: BlockSource;
}

export class ShardHost {
  private readonly factory: BackendFactory;
  private readonly blocks: BlockSource | undefined;
  private backend: Backend | undefined;
  /** Requests run one at a time, in arrival order (pings excepted), as a backend requires. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(factory: BackendFactory, options: ShardHostOptions = {}) {
    this.factory = factory;
    this.blocks = options.blocks;
  }

  get held(): Backend | undefined {
    return this.backend;
  }

  handle(req: ShardRequest, signal: AbortSignal): Promise<ShardResponse> {
    if (req.op === 'ping') return Promise.resolve({ op: 'pong' });
    // Blocks never touch the backend, and a peer loading its range must not wait behind our own
    // minutes-long 'load' (which may itself be waiting for that peer's blocks): no queue.
    if (req.op === 'block') return this.block(req.cid, signal).catch(asError);
    const run = this.queue.then(() => this.run(req, signal));
    this.queue = run.catch(() => undefined);
    return run.catch(asError);
  }

  private async block(cidText: string, signal: AbortSignal): Promise<ShardResponse> {
    signal.throwIfAborted();
    const cid = parseCid(cidText);
    if (!this.blocks) return { op: 'no-block', cid: cidText };
    let bytes: Uint8Array | undefined;
    try {
      bytes = await this.blocks.get(cid, { signal });
    } catch (e) {
      if ((e as Error | undefined)?.name === 'NotFoundError') return { op: 'no-block', cid: cidText };
      throw e;
    }
    if (!bytes) return { op: 'no-block', cid: cidText };
    // A copy in a buffer of its own: the store's bytes may be a view into a larger buffer, and a
    // transport that transfers the buffer must not detach the store's copy.
    return { op: 'block', cid: cidText, bytes: bytes.slice().buffer };
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

function asError(e: unknown): ShardResponse {
  const err = e instanceof Error ? e : new Error(String(e));
  return { op: 'error', name: err.name, message: err.message };
}
