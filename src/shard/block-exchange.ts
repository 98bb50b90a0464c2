// Blocks from room peers before gateways, over Helia's bitswap on the room's libp2p node. Each peer
// runs bitswap over its own store (IndexedDB in the browser) through HeliaBlockstore, so it serves
// what it holds and there is one store, not two. A participant loading its range asks the peers it
// is connected to, trusting none of them:
// - bitswap derives a received block's CID from its bytes, so bytes that do not hash to the wanted
//   CID never answer the want; what does answer is hashed again here with the same verifyBlock a
//   gateway's bytes go through, and the store's put hashes (or recognises the proof of) it again;
// - a peer that sends a block whose bytes hash to nothing we asked it for (wrong bytes for the CID
//   we asked: bitswap files them under the CID they do hash to) is caught as it arrives: its asks
//   in flight end at once as integrity strikes, it is not asked for those CIDs again, and after
//   `maxIntegrityFailures` it is never asked at all (also when bytes fail our own check);
// - a peer that does not deliver within `timeoutMs` takes a strike, and after `maxTimeouts` in a
//   row is never asked again;
// - whatever no peer supplies comes from `fallback` (the gateway client, or storeFirst over it),
//   which verifies on its own.
// Peers are asked one at a time with a bitswap session of that one peer (a targeted WANT-BLOCK, not
// a wantlist broadcast): a banned peer then hears nothing more from us, and a block is attributed to
// the peer that sent it. The range reader keeps several blocks in flight, so links stay busy.
// Tabs of one browser share one IndexedDB: their reads go storeFirst and find the block there; the
// tabs transport has no libp2p node, so no exchange runs between them at all.
import { withBitswap, type BitswapOptions } from '@helia/bitswap';
import type { Libp2p, PeerId } from '@libp2p/interface';
import type { CID } from 'multiformats/cid';
import { identity } from 'multiformats/hashes/identity';
import type { MultihashHasher } from 'multiformats/hashes/interface';
import { sha256, sha512 } from 'multiformats/hashes/sha2';
import type { AbortOptions, BlockGetter } from '../store/blockstore.ts';
import { IntegrityError, UnsupportedHashError, abortReason, throwIfAborted } from '../store/errors.ts';
import { HeliaBlockstore, type ListableBlockstore } from '../store/helia-blockstore.ts';
import { verifyBlock } from '../store/verify.ts';
import { TransportError } from './errors.ts';

/** Where a block came from: a peer's libp2p id, or FALLBACK_SOURCE. */
export const FALLBACK_SOURCE = 'gateway';

export type BlockExchangeEvent =
  | { type: 'block'; cid: string; source: string; bytes: number; ms: number }
  /** The peer does not hold the block, or answered nothing usable at once (not a strike). */
  | { type: 'miss'; cid: string; peer: string }
  /** The peer sent bytes that hash to nothing we asked it for, or that fail our check: a strike. */
  | { type: 'integrity'; cid: string; peer: string; error: IntegrityError }
  /** Nothing for this CID within timeoutMs (hung, or its bytes did not hash to it): a strike. */
  | { type: 'timeout'; cid: string; peer: string; ms: number }
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

const hashers = new Map<number, MultihashHasher>([[sha256.code, sha256], [sha512.code, sha512], [identity.code, identity]]);

/** No content routing: a room knows its peers (the relay's directory); nothing else is asked. */
const noRouting = {
  async *findProviders() { /* none */ },
  async provide() { /* nothing to announce to */ },
  async cancelReprovide() { /* never provided */ },
  async *getClosestPeers() { /* none */ },
};

/** What @helia/bitswap's mixin takes: a Helia node with libp2p (we pass the parts its broker reads). */
type BitswapHost = Parameters<typeof withBitswap>[0];

/** The block broker the mixin adds (the parts of @helia/interface's BlockBroker we use). */
interface Broker {
  readonly name: string;
  announce?(cid: CID, options?: AbortOptions): Promise<void>;
  createSession?(options: { providers: CID[]; minProviders: number; maxProviders: number }): { retrieve(cid: CID, options: AbortOptions): Promise<Uint8Array> };
  stop?(): Promise<void>;
}

/**
 * A serving peer's bitswap ledger will not resend a block within this window, and (in @helia/bitswap
 * 4.0.19) drops a repeated WANT-BLOCK for a block it already sent until a later message of ours has
 * purged the old entry. Its 5 s default suits wantlist broadcasts; we ask one peer per block and
 * keep what we get, so a repeat means we need the block again. Every room peer runs this code, so
 * serving with 0 makes the entry stale at once; the asker's retry below covers the drop.
 */
const RESEND_WINDOW_MS = 0;

interface PeerRecord {
  readonly bad: Set<string>;
  integrityFailures: number;
  consecutiveTimeouts: number;
  banned: boolean;
  served: number;
}

type Attempt = { ok: true; bytes: Uint8Array } | { ok: false; timedOut?: boolean };

/** Blocks bitswap received, as its want list announces them: who sent them, and the CID their bytes hash to. */
interface ReceivedBlocks {
  addEventListener(type: 'block', cb: (ev: CustomEvent<{ sender: PeerId; cid: CID }>) => void): void;
}

/**
 * @helia/bitswap keeps no per-peer record of blocks that answered no want; its want list's 'block'
 * event (every block received: sender, CID of its bytes) is the one place that sees them. It is not
 * part of the package's typed API, so it is looked up at run time: without it, wrong bytes are
 * simply never used and their sender is struck by timeouts instead.
 */
function receivedBlocks(broker: unknown): ReceivedBlocks | undefined {
  const wl = (broker as { bitswap?: { wantList?: Partial<ReceivedBlocks> } }).bitswap?.wantList;
  return typeof wl?.addEventListener === 'function' ? (wl as ReceivedBlocks) : undefined;
}

/** CIDs remembered per peer as asked (a late block for an old ask is not a wrong block). */
const ASKED_MEMORY = 4096;

const mhKey = (cid: CID): string => cid.multihash.bytes.join(',');

export class BlockExchange {
  private readonly broker: Required<Broker>;
  readonly node: Libp2p;
  /** Peers that have delivered verified blocks to this node (any getter): worth a second ask. */
  private readonly delivered = new Set<string>();
  /** Per peer: multihashes asked of it lately (insertion order, capped at ASKED_MEMORY). */
  private readonly asked = new Map<string, Set<string>>();
  /** Per peer: asks in flight, ended at once when the peer sends a block nobody asked it for. */
  private readonly pending = new Map<string, Set<(e: IntegrityError) => void>>();
  /** Whether wrong blocks are seen as they arrive (see receivedBlocks). */
  readonly catchesWrongBlocks: boolean;

  private constructor(node: Libp2p, broker: Required<Broker>) {
    this.node = node;
    this.broker = broker;
    const received = receivedBlocks(broker);
    this.catchesWrongBlocks = !!received;
    received?.addEventListener('block', (ev) => this.received(ev.detail.sender, ev.detail.cid));
  }

  /** A block arrived from `sender`, its bytes hashing to `cid`: wrong if we asked it for no such block. */
  private received(sender: PeerId, cid: CID): void {
    const id = sender.toString();
    if (this.asked.get(id)?.has(mhKey(cid))) return;
    const waiting = this.pending.get(id);
    if (!waiting?.size) return;
    const e = new IntegrityError(cid.toString(), `peer:${id}`, `peer ${id} sent a block (its bytes hash to ${cid}) that is none it was asked for`);
    for (const end of [...waiting]) end(e);
  }

  private noteAsked(id: string, cid: CID): void {
    let set = this.asked.get(id);
    if (!set) this.asked.set(id, (set = new Set()));
    set.delete(mhKey(cid));
    set.add(mhKey(cid));
    if (set.size > ASKED_MEMORY) set.delete(set.values().next().value!);
  }

  /**
   * Mounts bitswap on `node` (started or not), serving blocks from `store`. @helia/bitswap's only
   * entry point is a Helia mixin; we give it the parts of a Helia node its broker reads (libp2p,
   * blockstore, routing, logger, getHasher) rather than a whole Helia with a second store.
   */
  static async start(node: Libp2p, store: ListableBlockstore, options: BitswapOptions = {}): Promise<BlockExchange> {
    let broker: Broker | undefined;
    const mixins: { start?(h: unknown): Promise<void> | void }[] = [];
    const host = {
      status: 'starting',
      libp2p: node,
      blockstore: new HeliaBlockstore(store),
      routing: noRouting,
      logger: node.logger,
      getHasher: (code: number): MultihashHasher => {
        const h = hashers.get(code);
        if (!h) throw new UnsupportedHashError(`cannot verify multihash 0x${code.toString(16)}`);
        return h;
      },
      hasBlockBroker: (name: string) => broker?.name === name,
      addBlockBroker: (b: Broker) => { broker = b; },
      addMixin: (m: { start?(h: unknown): Promise<void> | void }) => { mixins.push(m); },
    };
    withBitswap(host as unknown as BitswapHost, { doNotResendBlockWindow: RESEND_WINDOW_MS, ...options });
    for (const m of mixins) await m.start?.(host);
    const b = broker;
    // A newer @helia/bitswap whose mixin works differently would end here, not in a later undefined call.
    if (!b?.createSession || !b.announce || !b.stop) throw new TransportError('@helia/bitswap did not add its block broker');
    return new BlockExchange(node, b as Required<Broker>);
  }

  async stop(): Promise<void> {
    await this.broker.stop();
  }

  /** Tell peers that want `cid` (it was just stored here) that we have it. */
  announce(cid: CID, options?: AbortOptions): Promise<void> {
    return this.broker.announce(cid, options);
  }

  /** One targeted WANT-BLOCK to `peer`: its block (verified by bitswap against the CID) or an error. */
  retrieveFrom(peer: PeerId, cid: CID, signal: AbortSignal): Promise<Uint8Array> {
    const session = this.broker.createSession({ providers: [peer.toCID()], minProviders: 1, maxProviders: 1 });
    return session.retrieve(cid, { signal });
  }

  /**
   * A BlockGetter that asks room peers (a fixed list, or a function read on every block so joins and
   * leaves are seen) before `fallback`. Peer scores live as long as the returned getter.
   */
  getter(peers: readonly PeerId[] | (() => readonly PeerId[]), fallback: BlockGetter, opts: PeerBlockOptions = {}): BlockGetter {
    const timeoutMs = opts.timeoutMs ?? 2000;
    const maxIntegrity = opts.maxIntegrityFailures ?? 2;
    const maxTimeouts = opts.maxTimeouts ?? 2;
    const records = new Map<string, PeerRecord>();
    const emit = (e: BlockExchangeEvent): void => opts.onEvent?.(e);
    const record = (id: string): PeerRecord => {
      let r = records.get(id);
      if (!r) records.set(id, (r = { bad: new Set(), integrityFailures: 0, consecutiveTimeouts: 0, banned: false, served: 0 }));
      return r;
    };
    const ban = (peer: string, r: PeerRecord, reason: 'integrity' | 'timeout'): void => {
      if (r.banned) return;
      r.banned = true;
      emit({ type: 'banned', peer, reason });
    };
    const candidates = (key: string): PeerId[] => (typeof peers === 'function' ? peers() : peers)
      .filter((p) => { const r = records.get(p.toString()); return !r || (!r.banned && !r.bad.has(key)); })
      .sort((a, b) => (records.get(b.toString())?.served ?? 0) - (records.get(a.toString())?.served ?? 0));

    const ask = async (peer: PeerId, cid: CID, key: string, signal: AbortSignal | undefined): Promise<Attempt> => {
      const id = peer.toString();
      const r = record(id);
      const timer = AbortSignal.timeout(timeoutMs);
      const wrong = new AbortController();
      const end = (e: IntegrityError): void => wrong.abort(e);
      let waiting = this.pending.get(id);
      if (!waiting) this.pending.set(id, (waiting = new Set()));
      waiting.add(end);
      this.noteAsked(id, cid);
      const t0 = performance.now();
      let bytes: Uint8Array;
      try {
        bytes = await this.retrieveFrom(peer, cid, AbortSignal.any([timer, wrong.signal, ...(signal ? [signal] : [])]));
      } catch {
        if (signal?.aborted) throw abortReason(signal);
        if (wrong.signal.aborted) {
          const e = wrong.signal.reason as IntegrityError;
          r.bad.add(key);
          emit({ type: 'integrity', cid: key, peer: id, error: new IntegrityError(key, `peer:${id}`, e.message) });
          if (++r.integrityFailures >= maxIntegrity) ban(id, r, 'integrity');
          return { ok: false };
        }
        if (timer.aborted) {
          emit({ type: 'timeout', cid: key, peer: id, ms: timeoutMs });
          if (++r.consecutiveTimeouts >= maxTimeouts) ban(id, r, 'timeout');
          return { ok: false, timedOut: true };
        }
        emit({ type: 'miss', cid: key, peer: id }); // DONT_HAVE, or the link is gone
        return { ok: false };
      } finally {
        waiting.delete(end);
      }
      r.consecutiveTimeouts = 0;
      try {
        await verifyBlock(cid, bytes, `peer:${id}`);
      } catch (e) {
        if (!(e instanceof IntegrityError)) throw e; // UnsupportedHashError: no peer could help
        r.bad.add(key);
        emit({ type: 'integrity', cid: key, peer: id, error: e });
        if (++r.integrityFailures >= maxIntegrity) ban(id, r, 'integrity');
        return { ok: false };
      }
      r.served++;
      this.delivered.add(id);
      emit({ type: 'block', cid: key, source: id, bytes: bytes.length, ms: performance.now() - t0 });
      return { ok: true, bytes };
    };

    const r0 = (p: PeerId): PeerRecord => record(p.toString());
    const fromPeers = async (cid: CID, key: string, signal: AbortSignal | undefined): Promise<Uint8Array | undefined> => {
      for (const peer of candidates(key)) {
        throwIfAborted(signal);
        // Re-checked: a concurrent read may have banned this peer while we were asking another.
        const r = records.get(peer.toString());
        if (r?.banned || r?.bad.has(key)) continue;
        let got = await ask(peer, cid, key, signal);
        // A peer that has served us may have dropped this ask (see RESEND_WINDOW_MS): its ledger
        // has forgotten the stale entry by now, so one more ask reaches it. A peer that never
        // served this node (a liar's bytes never count) gets no second chance.
        if (!got.ok && got.timedOut && this.delivered.has(peer.toString()) && !r0(peer).banned) got = await ask(peer, cid, key, signal);
        if (got.ok) return got.bytes;
      }
      return undefined;
    };
    // A peer's bitswap ledger does not resend a block it sent us within its doNotResendBlockWindow
    // (5 s), so a second WANT-BLOCK for it would look like a hung peer: concurrent reads of one CID
    // share one ask, and callers keep what they get (storeFirst) instead of asking again.
    const inflight = new Map<string, Promise<Uint8Array | undefined>>();

    return async (cid: CID, options?: AbortOptions): Promise<Uint8Array> => {
      const signal = options?.signal;
      const key = cid.toString();
      let shared = inflight.get(key);
      if (!shared) {
        shared = fromPeers(cid, key, signal).finally(() => inflight.delete(key));
        inflight.set(key, shared);
      }
      let got: Uint8Array | undefined;
      try {
        got = await shared;
      } catch (e) {
        if (signal?.aborted) throw abortReason(signal);
        // The read we joined was aborted by its own caller, not by ours: ask for ourselves.
        if ((e as Error | undefined)?.name !== 'AbortError') throw e;
        got = await fromPeers(cid, key, signal);
      }
      if (got) return got;
      throwIfAborted(signal);
      const t0 = performance.now();
      const bytes = await fallback(cid, options);
      emit({ type: 'block', cid: key, source: FALLBACK_SOURCE, bytes: bytes.length, ms: performance.now() - t0 });
      return bytes;
    };
  }
}
