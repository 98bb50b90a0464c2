// A shard room page, coordinator or participant (`?role=`), over tabs (BroadcastChannel) or WebRTC
// (`?transport=webrtc&relay=ws://...` for the WebSocket relay, `&relay=<multiaddr>` for js-libp2p:
// see relay-room.ts); the room and its secret come from the fragment (#room=ID&secret=S), never from the query, so the server never sees the secret. Playwright drives
// `window.shard` (see ShardPageApi). Participants and the coordinator run the CPU backend: on this
// machine WebGPU is SwiftShader (~0.3 s per layers call), which would make a 3-way split of a
// 60-token answer take minutes, and what is under test here is the transport, not the kernels.
//
// Test hooks (participant query): `cap=N` memory for N layers, `delay=MS` before each answer (so
// a test can act mid-answer), `corrupt=nan|garbage&corruptAfter=K` (corrupted activations after K
// layers calls), and a wrong secret in the fragment for the refused-peer case.
import type { Backend } from '../../src/engine/backend.ts';
import { createCpuBackend } from '../../src/engine/cpu/index.ts';
import { generate } from '../../src/engine/generate.ts';
import { tokenizerFromGguf } from '../../src/engine/tokenizer/index.ts';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import type { Coordinator } from '../../src/shard/coordinator.ts';
import { modelCosts } from '../../src/shard/costs.ts';
import { decodeFrame, encodeFrame } from '../../src/shard/frames.ts';
import { slowed } from '../../src/shard/model-slice.ts';
import { rangeMemory } from '../../src/shard/planner.ts';
import { browserLabel } from '../../src/shard/ui/room-source.ts';
import { ShareSession, type SessionEvent } from '../../src/shard/session.ts';
import { JoinSession } from '../../src/shard/session-join.ts';
import { createRoom, parseRoomLink, roomLink, type Room } from '../../src/shard/room.ts';
import type { PeerInfo, PeerSource } from '../../src/shard/transports/pipe.ts';
import { TabsRoom } from '../../src/shard/transports/tabs.ts';
import type { ShardResponse } from '../../src/shard/wire.ts';
import '../../src/shard/ui/shard-map.ts';

export interface RunOptions {
  /** Remote participants to wait for. */
  participants: number;
  /** The coordinator also holds a range itself (through an in-process link). */
  self?: boolean;
  /** Split evenly in join order (self first) instead of letting the planner choose. */
  even?: boolean;
  maxTokens?: number;
  prompt?: string;
  wire?: 'f32' | 'f16';
  /** Benchmarks: answers generated in a row on the same coordinator and links (default 1). */
  repeat?: number;
  /** Benchmarks: bare round trips (ping) to each remote before the first answer (default 0). */
  pings?: number;
  /** Benchmarks: false runs to maxTokens even past an end-of-text token (default true). */
  stopAtEog?: boolean;
}

/** One answer's timing, from the coordinator page's clock (performance.now(), ms). */
export interface AnswerTiming {
  /** When each token reached onToken. */
  tokenTimes: number[];
  decodeTokensPerSecond: number;
}

export interface RunResult {
  text: string;
  tokens: number[];
  stages: string[];
  lost: { participant: string; reason: string }[];
  /** When the coordinator saw each loss (performance.now(), ms; compare with answers' tokenTimes). */
  lossTimes: { participant: string; at: number }[];
  refused: string[];
  stats: Coordinator['stats'];
  wire: 'f32' | 'f16';
  /** Every answer of the run (the text and tokens above are the last one's). */
  answers: AnswerTiming[];
  /** Round trips of the pings asked for, per remote participant, ms. */
  pings: { participant: string; ms: number[] }[];
}

export interface ShardPageApi {
  id: string;
  role: 'coordinator' | 'participant';
  ready: boolean;
  /** Participant: 'waiting' | 'serving' | 'refused' | 'dropped' | 'error'. */
  state: string;
  error?: string;
  /** Participant: layers calls answered. */
  served: number;
  /** Participant: how long each answered layers call took here, ms (benchmarks: the compute part of a hop). */
  serveMs: number[];
  /** Coordinator: tokens generated so far in the current run. */
  tokens: number;
  run?: (o: RunOptions) => Promise<RunResult>;
  /** libp2p transport: the connections under each open pipe (addresses; limited = relayed). */
  links?: () => { peer: string; addrs: string[]; limited: boolean[] }[];
  /** libp2p transport: failed dial attempts (a retry may have succeeded). */
  dialFailures?: () => string[];
}

const q = new URLSearchParams(location.search);
const role = q.get('role') === 'participant' ? 'participant' : 'coordinator';
const id = q.get('id') ?? `${role === 'coordinator' ? 'c' : 'p'}-${Math.random().toString(36).slice(2, 8)}`;
const api: ShardPageApi = { id, role, ready: false, state: 'waiting', served: 0, serveMs: [], tokens: 0 };
(window as unknown as { shard: ShardPageApi }).shard = api;
const $ = (x: string): HTMLElement => document.getElementById(x)!;
const map = document.getElementById('map') as HTMLElementTagNameMap['tabshard-shard-map'];

function status(s: string): void {
  $('status').textContent = s;
}

function fail(e: unknown): void {
  const err = e as Error;
  api.error = `${err?.name}: ${err?.message}`;
  $('error').textContent = api.error;
}

const room: Room = role === 'coordinator' && !location.hash ? createRoom() : parseRoomLink(location.hash);
if (!location.hash) history.replaceState(null, '', roomLink(location.href, room)); // stays in this tab
$('role').textContent = `${role} ${id} in room ${room.id} (${q.get('transport') ?? 'tabs'})`;

const bytes = new Uint8Array(await (await fetch(new URL('../../models/stories260K.gguf', location.href))).arrayBuffer());
const file = parseGguf(bytes);
const src = bytesSource(bytes);
const costs = modelCosts(file, { nCtx: 512, kvBytesPerElement: 4 });
const nLayer = costs.nLayer;
map.nLayer = nLayer;
const cap = Number(q.get('cap') ?? nLayer);
const delayMs = Number(q.get('delay') ?? 0);

async function openSource(): Promise<PeerSource> {
  if ((q.get('transport') ?? 'tabs') === 'tabs') {
    const tabs = new TabsRoom(room.id, id, role);
    tabs.bindPageLifecycle(window);
    return tabs;
  }
  // The relay address picks the stack: a multiaddr → js-libp2p, a ws:// URL → the WebSocket relay.
  const { joinRelayRoom } = await import('../../src/shard/transports/relay-room.ts');
  const j = await joinRelayRoom(q.get('relay') ?? 'ws://127.0.0.1:4180', room.id, id, role);
  j.room.bindPageLifecycle(window);
  if (j.kind === 'libp2p') {
    api.links = () => j.room.links();
    api.dialFailures = () => [...j.room.dialFailures];
  }
  return j.room;
}

/** A CPU backend for [from, to), slowed by `delay` per layers call when asked. */
async function makeBackend(from: number, to: number): Promise<Backend> {
  const be = await createCpuBackend(file, src, { layers: [from, to], embed: false, head: false });
  return delayMs ? slowed(be, delayMs) : be;
}

function corrupter(): ((res: ShardResponse) => ShardResponse) | undefined {
  const how = q.get('corrupt');
  if (!how) return undefined;
  const after = Number(q.get('corruptAfter') ?? 0);
  let n = 0;
  return (res) => {
    if (res.op !== 'layers' || n++ < after) return res;
    const { header } = decodeFrame(res.frame);
    if (how === 'nan') return { op: 'layers', frame: encodeFrame(header, new Float32Array(header.nTok * header.nEmbd).fill(NaN)) };
    const b = new Uint8Array(res.frame.slice(0));
    for (let i = 40; i < b.length; i += 7) b[i] ^= 0x5a; // payload bits flipped after the checksum was made
    return { op: 'layers', frame: b.buffer };
  };
}

const info: PeerInfo = { memoryBytes: rangeMemory(costs, 0, cap), speed: 1, wire: ['f32', 'f16'], backend: 'cpu', label: browserLabel() };
const onEvent = (e: SessionEvent | { type: 'peers' }): void => { if (e.type === 'peers') map.peers = session?.peers() ?? []; };
let session: ShareSession | undefined;

async function participant(source: PeerSource): Promise<void> {
  const join = new JoinSession({
    room, self: id, source, info, factory: makeBackend, mapResponse: corrupter(),
    onChange: (j) => {
      api.state = j.state;
      api.served = j.served;
      api.serveMs = [...j.serveMs];
      map.tokens = j.served;
      status(j.message);
      if (j.coordinator) map.peers = [
        { id: j.coordinator, label: 'coordinator', state: j.state === 'serving' ? 'ready' : j.state === 'refused' ? 'refused' : j.state === 'waiting' ? 'joining' : 'lost' },
        ...(j.range ? [{ id, label: 'this tab', state: 'serving' as const, range: j.range, memoryBytes: rangeMemory(costs, j.range[0], j.range[1]) }] : []),
      ];
      if (j.error) fail(j.error);
    },
  });
  void join;
}

async function coordinator(source: PeerSource): Promise<void> {
  const tok = tokenizerFromGguf(file);
  const local = await createCpuBackend(file, src, { layers: [0, 0], embed: true, head: true });
  const joinUrl = new URL(location.href);
  joinUrl.searchParams.set('role', 'participant');
  joinUrl.searchParams.delete('id');
  map.joinLink = roomLink(joinUrl.toString(), room);
  const lost: RunResult['lost'] = [];
  const lossTimes: RunResult['lossTimes'] = [];
  const s = (session = new ShareSession({
    self: id, source, room, costs, local, callTimeoutMs: 10_000, heartbeatMs: 1000,
    selfHost: { factory: makeBackend, memoryBytes: info.memoryBytes, label: 'this tab (coordinator)' },
    onEvent: (e) => {
      onEvent(e);
      if (e.type === 'coordinator' && e.event.type === 'lost') { lost.push({ participant: e.event.participant, reason: e.event.reason }); lossTimes.push({ participant: e.event.participant, at: performance.now() }); }
    },
  }));
  api.run = async (o) => {
    const remote = await s.waitFor(o.participants, 30_000);
    const pings: RunResult['pings'] = [];
    for (const r of remote) {
      const ms: number[] = [];
      for (let i = 0; i < (o.pings ?? 0); i++) {
        const t0 = performance.now();
        await r.link.call({ op: 'ping' }, AbortSignal.timeout(5000));
        ms.push(performance.now() - t0);
      }
      pings.push({ participant: r.info.id, ms });
    }
    lost.length = 0;
    lossTimes.length = 0;
    // f16 on the wire only when asked and every participant can decode it (the default f32 is
    // bit-exact with one device, which the tests compare against).
    const wire = o.wire === 'f16' && remote.every((r) => r.peer.wire.includes('f16')) ? 'f16' : 'f32';
    const coord = await s.coordinator({ self: o.self, split: o.even ? 'spread' : 'fewest', peers: remote.map((r) => r.info.id), wire });
    try {
      const answers: AnswerTiming[] = [];
      let res: Awaited<ReturnType<typeof generate>> | undefined;
      for (let a = 0; a < Math.max(1, o.repeat ?? 1); a++) {
        const tokenTimes: number[] = [];
        api.tokens = 0;
        $('output').textContent = '';
        res = await generate(coord, tok, {
          prompt: o.prompt ?? 'Once upon a time', maxTokens: o.maxTokens ?? 60, stopAtEog: o.stopAtEog,
          onToken: (ev) => { tokenTimes.push(performance.now()); api.tokens++; s.countToken(); map.tokens = s.tokens; $('output').textContent += ev.text; },
        });
        answers.push({ tokenTimes, decodeTokensPerSecond: res.decodeTokensPerSecond });
      }
      status(`done: ${res!.tokens.length} tokens, ${res!.decodeTokensPerSecond.toFixed(1)} tokens/s`);
      return {
        text: res!.text, tokens: res!.tokens, lost: [...lost], refused: [...s.refused], stats: { ...coord.stats }, wire, answers, pings, lossTimes: [...lossTimes],
        stages: coord.plan.stages.map((st) => `${st.participant}:${st.from}-${st.to}`),
      };
    } finally {
      // One run per room, as before: participants are told goodbye (the tests check 'dropped').
      s.end();
    }
  };
}

try {
  const source = await openSource();
  await (role === 'coordinator' ? coordinator(source) : participant(source));
  api.ready = true;
  status(role === 'coordinator' ? 'waiting for participants' : 'waiting for the coordinator');
} catch (e) {
  fail(e);
}
