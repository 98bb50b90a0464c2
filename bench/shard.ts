// `npm run bench -- shard [--quick] [--layers 6] [--tl-tokens 12] [--tl-reps 2] [--webrtc [shard-webrtc options]]`:
// what sharding costs over the tab transport (BroadcastChannel; Node's behaves like the browsers',
// all "tabs" here share one thread, as tabs on one busy core would). For each model, on CPU backends:
//   - decode tokens/s with 1, 2 and 3 participants (a star: one round trip each), each against one
//     device measured beside it (answers alternate between the two, see paired()),
//   - time added per hop: (ms/token with N participants − ms/token on one device) / N,
//   - a bare round trip (ping) over the transport,
//   - time from a participant's loss (goodbye mid-answer) to the next token, against the median gap.
// Models:
//   1. the demo model, stories260K (f32, 5 layers, n_embd 64): a hop carries 256 bytes, so the
//      hop figure is the transport's own cost; 60 tokens per answer, best of three medians.
//   2. a synthetic TinyLlama-1.1B-shaped model (bench/_synthetic.ts: n_embd 2048, FFN 5632, 32/4
//      heads, vocabulary 32000, Q4_K matrices, Q6_K head, random weights) cut to --layers of its 22
//      (default 6; every per-layer shape and the vocabulary kept): a hop carries 8 KiB per token and
//      a token costs ~60 ms per layer on this CPU backend (it computes in f32 from weights
//      dequantized at load), so only a handful of decode tokens (--tl-tokens 12 per answer, the
//      best median gap of --tl-reps 2 answers per side) keeps this part near two minutes. At this
//      size a hop (8 KiB through a MessagePort) is far below the noise of a ~0.4 s token, so what
//      the figures show is that sharding over tabs costs nothing measurable. Skipped by --quick.
//      Its loss case caps each participant at half the layers, so the re-plan keeps two of the
//      three and the lost range's layers are reloaded and re-prefilled: that is what the figure is.
// With --webrtc, the browser part (bench/shard-webrtc.ts: WebRTC via the WebSocket relay and
// js-libp2p between headless Chromium/Firefox pages, inside its own network namespace) runs too
// and its result goes into the same JSON under `webrtc`; the remaining arguments go to it.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { Backend } from '../src/engine/backend.ts';
import { createCpuBackend } from '../src/engine/cpu/index.ts';
import { generate } from '../src/engine/generate.ts';
import { tokenizerFromGguf } from '../src/engine/tokenizer/index.ts';
import type { Tokenizer } from '../src/engine/tokenizer/index.ts';
import { parseGguf } from '../src/formats/gguf-reader.ts';
import type { GgufFile } from '../src/formats/gguf-types.ts';
import { bytesSource } from '../src/formats/range-source.ts';
import type { RangeSource } from '../src/formats/range-source.ts';
import { ggmlTypeByName } from '../src/quant/ggml-types.ts';
import { Coordinator, type CoordinatorEvent } from '../src/shard/coordinator.ts';
import { modelCosts } from '../src/shard/costs.ts';
import { rangeMemory } from '../src/shard/planner.ts';
import type { ModelCosts } from '../src/shard/plan-types.ts';
import { createRoom, type Room } from '../src/shard/room.ts';
import { Admissions, joinAndServe } from '../src/shard/room-peers.ts';
import { TabsRoom } from '../src/shard/transports/tabs.ts';
import { SHAPES, syntheticGguf } from './_synthetic.ts';

interface Model {
  label: string;
  file: GgufFile;
  src: RangeSource;
  costs: ModelCosts;
  tok: Tokenizer;
  /** The prompt as text or as token ids. */
  prompt: { prompt: string } | { tokens: number[] };
  tokens: number;
  /** Answers timed per configuration (best median), after `warmups` untimed ones. */
  reps: number;
  warmups: number;
  /** The loss happens once this many tokens are out. */
  lossAt: number;
  /** Layers each participant may hold in the loss case (default: all). */
  lossCapLayers?: number;
  /**
   * Tab heartbeat timeout. All "tabs" share this one thread, so a long synchronous call (a
   * TinyLlama-shaped prefill or range load takes seconds) starves every tab's heartbeats; real tabs
   * run on threads of their own, so the default 4 s would here report losses that never happened.
   */
  tabTimeoutMs?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

function demoModel(): Model {
  const bytes = new Uint8Array(readFileSync('public/models/stories260K.gguf'));
  const file = parseGguf(bytes);
  return {
    label: 'stories260K (f32, 5 layers, n_embd 64), CPU backends, tabs transport in one Node process',
    file, src: bytesSource(bytes), costs: modelCosts(file, { nCtx: 512, kvBytesPerElement: 4 }), tok: tokenizerFromGguf(file),
    prompt: { prompt: 'Once upon a time' }, tokens: 60, reps: 3, warmups: 1, lossAt: 20,
  };
}

function tinyllamaModel(layers: number, tokens: number, reps: number): Model {
  const shape = { ...SHAPES.tinyllama!, nLayer: layers };
  const bytes = syntheticGguf(shape, ggmlTypeByName('Q4_K')!.id);
  const file = parseGguf(bytes);
  return {
    label: `synthetic TinyLlama-1.1B shape (n_embd 2048, FFN 5632, 32/4 heads, vocab 32000), ${layers} of its 22 layers, Q4_K matrices + Q6_K head, random weights; CPU backends, tabs transport in one Node process`,
    file, src: bytesSource(bytes), costs: modelCosts(file, { nCtx: 512, kvBytesPerElement: 4 }), tok: tokenizerFromGguf(file),
    // A short prompt of ids (BOS and three vocabulary pieces): prefill costs as much per token as decode here.
    prompt: { tokens: [1, 300, 301, 302] }, tokens, reps, warmups: 0, lossAt: Math.floor(tokens / 2),
    lossCapLayers: Math.ceil(layers / 2), tabTimeoutMs: 600_000,
  };
}

interface Setup { coord: Coordinator; tabs: TabsRoom[]; events: CoordinatorEvent[]; close(): void }

async function setup(m: Model, n: number, capLayers = m.costs.nLayer): Promise<Setup> {
  const room: Room = createRoom();
  const tabs: TabsRoom[] = [];
  const tabOpts = { heartbeatMs: 200, ...(m.tabTimeoutMs ? { timeoutMs: m.tabTimeoutMs } : {}) };
  for (let i = 1; i <= n; i++) {
    const id = `p${i}`;
    const t = new TabsRoom(room.id, id, 'participant', tabOpts);
    t.onPeer((peer, pipe) => {
      if (peer.role === 'coordinator') void joinAndServe(pipe, room, id, { memoryBytes: rangeMemory(m.costs, 0, capLayers), speed: 1, wire: ['f32'], backend: 'cpu', label: 'node' },
        (from, to) => createCpuBackend(m.file, m.src, { layers: [from, to], embed: false, head: false }));
    });
    tabs.push(t);
  }
  const ct = new TabsRoom(room.id, 'c', 'coordinator', tabOpts);
  const adm = new Admissions(room);
  ct.onPeer((peer, pipe) => { if (peer.role === 'participant') adm.offer(pipe); });
  const members = (await adm.waitFor(n, 10_000)).sort((a, b) => a.info.id.localeCompare(b.info.id));
  const local = await createCpuBackend(m.file, m.src, { layers: [0, 0], embed: true, head: true });
  const nLayer = m.costs.nLayer;
  const custom = members.map((mb, i) => ({ participant: mb.info.id, from: Math.round((i * nLayer) / n), to: Math.round(((i + 1) * nLayer) / n) }));
  const events: CoordinatorEvent[] = [];
  const coord = await Coordinator.create({ local, costs: m.costs, members, onEvent: (e) => events.push(e), plan: { strategy: 'custom', custom } });
  return { coord, tabs, events, close: () => { coord.dispose(); local.dispose(); ct.leave(); for (const t of tabs) t.leave(); } };
}

/** Decode ms per token (median of token gaps) of one greedy answer. */
async function decodeMs(m: Model, be: Backend, onToken?: (i: number) => void): Promise<{ msPerToken: number; gaps: number[]; tokens: number[] }> {
  const gaps: number[] = [];
  let last = 0;
  let i = 0;
  const res = await generate(be, m.tok, {
    ...m.prompt, maxTokens: m.tokens, stopAtEog: false,
    onToken: () => { const t = performance.now(); if (i > 0) gaps.push(t - last); last = t; onToken?.(i); i++; },
  });
  return { msPerToken: median(gaps), gaps, tokens: res.tokens };
}

/**
 * One device against the sharded backend, side by side: answers alternate between the two (after
 * the warm-ups), and each side keeps the best of its `reps` median gaps. Other work on this shared
 * 2-core machine comes and goes; alternating makes it hit both sides alike, so the ratio holds up
 * where the two absolute figures measured minutes apart would not.
 */
async function paired(m: Model, whole: Backend, sharded: Backend): Promise<{ one: number; shard: number; oneTokens: number[]; shardTokens: number[] }> {
  for (let i = 0; i < m.warmups; i++) { await decodeMs(m, whole); await decodeMs(m, sharded); }
  const r = { one: Infinity, shard: Infinity, oneTokens: [] as number[], shardTokens: [] as number[] };
  for (let i = 0; i < m.reps; i++) {
    const a = await decodeMs(m, whole);
    const b = await decodeMs(m, sharded);
    r.one = Math.min(r.one, a.msPerToken);
    r.shard = Math.min(r.shard, b.msPerToken);
    r.oneTokens = a.tokens;
    r.shardTokens = b.tokens;
  }
  return r;
}

const same = (a: number[], b: number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

async function measure(m: Model): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  // The one-device backend stays loaded beside each sharded setup (TinyLlama-shaped, 6 layers: two
  // f32 copies of ~1.6 GB each, at most, at a time).
  const whole = await createCpuBackend(m.file, m.src);
  const rows: { participants: number; msPerToken: number; tokensPerSecond: number; oneDeviceMsPerToken: number; addedMsPerHop: number; ratioToOneDevice: number; sameTokens: boolean }[] = [];
  let pingMs = NaN;
  let ref: number[] = [];
  for (const n of [1, 2, 3]) {
    const s = await setup(m, n);
    const p = await paired(m, whole, s.coord);
    const ms = p.shard;
    ref = p.oneTokens;
    if (n === 1) {
      const link = (s.coord as unknown as { members: { link: { call(r: { op: 'ping' }, sig: AbortSignal): Promise<unknown> } }[] }).members[0]!.link;
      const times: number[] = [];
      for (let i = 0; i < 50; i++) { const t1 = performance.now(); await link.call({ op: 'ping' }, AbortSignal.timeout(5000)); times.push(performance.now() - t1); }
      pingMs = median(times);
    }
    rows.push({ participants: n, msPerToken: ms, tokensPerSecond: 1000 / ms, oneDeviceMsPerToken: p.one, addedMsPerHop: (ms - p.one) / n, ratioToOneDevice: ms / p.one, sameTokens: same(p.shardTokens, p.oneTokens) });
    s.close();
    gc();
  }
  whole.dispose();
  gc();
  const single = Math.min(...rows.map((r) => r.oneDeviceMsPerToken));
  // Loss: p2 of three says goodbye once `lossAt` tokens are out; the gap to the next token includes
  // the re-plan, the reload of the moved range and the re-prefill of its KV cache.
  const s = await setup(m, 3, m.lossCapLayers);
  const stagesBefore = s.coord.plan.stages.map((x) => `${x.participant}:${x.from}-${x.to}`);
  const { gaps, tokens } = await decodeMs(m, s.coord, (i) => { if (i === m.lossAt) s.tabs[1]!.leave(); });
  const lossGap = gaps[m.lossAt]!;
  const loss = {
    msFromLossToNextToken: lossGap, medianGapMs: median(gaps), replans: s.coord.stats.replans, rebuiltTokens: s.coord.stats.rebuiltTokens,
    stagesBefore, stagesAfter: s.coord.plan.stages.map((x) => `${x.participant}:${x.from}-${x.to}`),
    rebuilt: s.events.filter((e) => e.type === 'rebuilt').map((e) => ({ participant: e.participant, from: e.from, to: e.to, tokens: e.tokens, ms: e.ms })),
    sameTokens: same(tokens, ref),
  };
  s.close();
  gc();
  console.log(`\n${m.label}`);
  console.log(`one device (best of its runs): ${single.toFixed(2)} ms/token (${(1000 / single).toFixed(1)} tokens/s); ping over tabs ${pingMs.toFixed(3)} ms`);
  for (const r of rows) console.log(`${r.participants} participant(s): ${r.msPerToken.toFixed(2)} ms/token, ${r.tokensPerSecond.toFixed(1)} tokens/s; one device beside it ${r.oneDeviceMsPerToken.toFixed(2)} ms/token; ×${r.ratioToOneDevice.toFixed(3)}, ${r.addedMsPerHop >= 0 ? '+' : ''}${r.addedMsPerHop.toFixed(3)} ms per hop${r.sameTokens ? '' : ', TOKENS DIFFER from one device'}`);
  const rebuildMs = loss.rebuilt.reduce((n, r) => n + r.ms, 0);
  console.log(`loss → next token: ${lossGap.toFixed(1)} ms (median gap ${loss.medianGapMs.toFixed(2)} ms, ${loss.replans} re-plan, ${loss.rebuiltTokens} tokens re-prefilled in ${rebuildMs.toFixed(1)} ms; ${stagesBefore.join(' ')} → ${loss.stagesAfter.join(' ')}; ${loss.sameTokens ? 'same tokens as one device' : 'TOKENS DIFFER from one device'})`);
  return {
    model: m.label, decodeTokensPerAnswer: m.tokens, timedAnswers: m.reps,
    singleDeviceMsPerToken: single, singleDeviceTokensPerSecond: 1000 / single,
    pingRoundTripMs: pingMs, byParticipants: rows, loss, seconds: (performance.now() - t0) / 1000,
  };
}

const opt = (args: string[], name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : dflt;
};

export async function run(args: string[] = []): Promise<unknown> {
  const demo = await measure(demoModel());
  let tinyllama: Record<string, unknown> | string = 'skipped (--quick)';
  if (!args.includes('--quick')) {
    const layers = Number(opt(args, '--layers', '6'));
    const tokens = Number(opt(args, '--tl-tokens', '12'));
    tinyllama = await measure(tinyllamaModel(layers, tokens, Number(opt(args, '--tl-reps', '2'))));
    gc();
  }
  let webrtc: unknown = 'not run: pass --webrtc (or run `npm run bench -- shard-webrtc`)';
  if (args.includes('--webrtc')) {
    console.log('\nWebRTC between browsers (bench/shard-webrtc.ts):');
    const ours = ['--layers', '--tl-tokens', '--tl-reps']; // options taking a value
    const rest = args.filter((a, i) => !['--quick', '--webrtc', ...ours].includes(a) && !ours.includes(args[i - 1] ?? ''));
    webrtc = await (await import('./shard-webrtc.ts')).run(rest);
  }
  // Other work on this 2-core machine shows up in every figure: the load average says how much.
  return { ...demo, tinyllama, webrtc, loadAverage: loadavg() };
}
