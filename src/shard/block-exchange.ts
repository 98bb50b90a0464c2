// Blocks from room peers before gateways. A participant loading its range asks the peers it is
// already connected to for each block (a 'block' request on the shard link), trusting none of them:
// every answer is hashed against its CID with the same verifyBlock a gateway's bytes go through.
// A peer that sends wrong bytes is never asked for that CID again, and after `maxIntegrityFailures`
// bad blocks never asked at all; a peer that keeps timing out is dropped the same way. Whatever no
// peer supplies comes from `fallback` (the gateway client, or storeFirst over it), which verifies
// on its own.
//
// Peers are asked one at a time, not hedged: the range reader already keeps several blocks in
// flight (createRangeSource's `concurrency`), so the links stay busy without hedging; a holder
// answers 'no-block' in one round trip, so only a hung peer costs `timeoutMs`, once per strike;
// and a peer's uplink also carries the room's activation frames, which duplicate requests for
// 256 KiB blocks would delay.
import type { CID } from 'multiformats/cid';
import type { AbortOptions, BlockGetter } from '../store/blockstore.ts';
import { IntegrityError, abortReason, throwIfAborted } from '../store/errors.ts';
import { verifyBlock } from '../store/verify.ts';
import type { ParticipantLink, ShardResponse } from './wire.ts';

/** Where a block came from: a peer's link id, or FALLBACK_SOURCE. */
export const FALLBACK_SOURCE = 'gateway';

export type BlockExchangeEvent =
  | { type: 'block'; cid: string; source: string; bytes: number; ms: number }
  /** The peer does not hold the block (not a fault). */
  | { type: 'miss'; cid: string; peer: string }
  /** The peer's bytes do not hash to the CID (or were not bytes at all): a strike. */
  | { type: 'integrity'; cid: string; peer: string; error: IntegrityError }
  /** No answer within timeoutMs: a strike. */
  | { type: 'timeout'; cid: string; peer: string; ms: number }
  /** The link failed or the peer answered with an error of its own: try the next one. */
  | { type: 'peer-error'; cid: string; peer: string; error: Error }
  /** The peer will not be asked for any block again. */
  | { type: 'banned'; peer: string; reason: 'integrity' | 'timeout' };

export interface PeerBlockOptions {
  /** Per peer and block (default 2000 ms); blocks are at most a few hundred KiB. */
  timeoutMs?: number;
  /** Bad blocks after which a peer is never asked again (default 2). */
  maxIntegrityFailures?: number;
  /** Consecutive timeouts after which a peer is never asked again (default 2). */
  maxTimeouts?: number;
  onEvent?: (event: BlockExchangeEvent) => void;
}

interface PeerRecord {
  /** CIDs (as strings) this peer sent wrong bytes for. */
  readonly bad: Set<string>;
  integrityFailures: number;
  consecutiveTimeouts: number;
  banned: boolean;
  /** Blocks served: peers that have been useful are asked first. */
  served: number;
}

type Attempt = { ok: true; bytes: Uint8Array } | { ok: false };

/**
 * A BlockGetter that asks room peers (a fixed list, or a function read on every block so joins and
 * leaves are seen) before `fallback`. Peer scores live as long as the returned getter.
 */
export function peerBlockGetter(
  peers: readonly ParticipantLink[] | (() => readonly ParticipantLink[]),
  fallback: BlockGetter,
  opts: PeerBlockOptions = {},
): BlockGetter {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const maxIntegrity = opts.maxIntegrityFailures ?? 2;
  const maxTimeouts = opts.maxTimeouts ?? 2;
  const records = new Map<string, PeerRecord>();
  const emit = (e: BlockExchangeEvent): void => opts.onEvent?.(e);

  function record(id: string): PeerRecord {
    let r = records.get(id);
    if (!r) records.set(id, (r = { bad: new Set(), integrityFailures: 0, consecutiveTimeouts: 0, banned: false, served: 0 }));
    return r;
  }

  function ban(peer: string, r: PeerRecord, reason: 'integrity' | 'timeout'): void {
    if (r.banned) return;
    r.banned = true;
    emit({ type: 'banned', peer, reason });
  }

  /** Peers worth asking for `key`, most useful first (stable among equals). */
  function candidates(key: string): ParticipantLink[] {
    const list = typeof peers === 'function' ? peers() : peers;
    return list
      .filter((p) => { const r = records.get(p.id); return !r || (!r.banned && !r.bad.has(key)); })
      .sort((a, b) => (records.get(b.id)?.served ?? 0) - (records.get(a.id)?.served ?? 0));
  }

  async function ask(peer: ParticipantLink, cid: CID, key: string, signal: AbortSignal | undefined): Promise<Attempt> {
    const r = record(peer.id);
    const timer = new AbortController();
    const t = setTimeout(() => timer.abort(), timeoutMs);
    const callSignal = signal ? AbortSignal.any([signal, timer.signal]) : timer.signal;
    const t0 = performance.now();
    let res: ShardResponse;
    try {
      res = await peer.call({ op: 'block', cid: key }, callSignal);
    } catch (e) {
      if (signal?.aborted) throw abortReason(signal);
      if (timer.signal.aborted) {
        emit({ type: 'timeout', cid: key, peer: peer.id, ms: timeoutMs });
        if (++r.consecutiveTimeouts >= maxTimeouts) ban(peer.id, r, 'timeout');
      } else {
        emit({ type: 'peer-error', cid: key, peer: peer.id, error: e instanceof Error ? e : new Error(String(e)) });
      }
      return { ok: false };
    } finally {
      clearTimeout(t);
    }
    r.consecutiveTimeouts = 0;
    if (res.op === 'no-block') {
      emit({ type: 'miss', cid: key, peer: peer.id });
      return { ok: false };
    }
    if (res.op !== 'block') {
      const msg = res.op === 'error' ? `${res.name}: ${res.message}` : `answered '${res.op}' to block`;
      emit({ type: 'peer-error', cid: key, peer: peer.id, error: new Error(`peer ${peer.id}: ${msg}`) });
      return { ok: false };
    }
    const source = `peer:${peer.id}`;
    try {
      // Anything but a buffer (a transport that lost it, a peer answering for another CID) is as
      // wrong as bad bytes: it cannot be the block.
      if (!(res.bytes instanceof ArrayBuffer) || res.cid !== key) throw new IntegrityError(key, source, `peer ${peer.id} answered ${key} with something that is not its block`);
      const bytes = new Uint8Array(res.bytes);
      await verifyBlock(cid, bytes, source);
      r.served++;
      emit({ type: 'block', cid: key, source: peer.id, bytes: bytes.length, ms: performance.now() - t0 });
      return { ok: true, bytes };
    } catch (e) {
      if (!(e instanceof IntegrityError)) throw e; // UnsupportedHashError: no peer could help
      r.bad.add(key);
      emit({ type: 'integrity', cid: key, peer: peer.id, error: e });
      if (++r.integrityFailures >= maxIntegrity) ban(peer.id, r, 'integrity');
      return { ok: false };
    }
  }

  return async (cid: CID, options?: AbortOptions): Promise<Uint8Array> => {
    const signal = options?.signal;
    const key = cid.toString();
    for (const peer of candidates(key)) {
      throwIfAborted(signal);
      // Re-checked: a concurrent read may have banned this peer while we were asking another.
      const r = records.get(peer.id);
      if (r?.banned || r?.bad.has(key)) continue;
      const got = await ask(peer, cid, key, signal);
      if (got.ok) return got.bytes;
    }
    throwIfAborted(signal);
    const t0 = performance.now();
    const bytes = await fallback(cid, options);
    emit({ type: 'block', cid: key, source: FALLBACK_SOURCE, bytes: bytes.length, ms: performance.now() - t0 });
    return bytes;
  };
}
