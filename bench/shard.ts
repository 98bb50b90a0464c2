// `npm run bench -- shard`: what sharding costs over the tab transport (BroadcastChannel; Node's
// behaves like the browsers', all "tabs" here share one thread, as tabs on one busy core would).
// Reports, for the demo model on CPU backends:
//   - decode tokens/s on one device and with 1, 2 and 3 participants (a star: one round trip each),
//   - time added per hop: (ms/token with N participants − ms/token on one device) / N,
//   - a bare round trip (ping) over the transport,
//   - time from a participant's loss (goodbye mid-answer) to the next token, against the median gap.
// WebRTC is not measured here: Node has no RTCPeerConnection, and a browser-driven bench would
// have to run inside its own network namespace (as e2e/webrtc/run.sh does); see the report.
import { readFileSync } from 'node:fs';
import type { Backend } from '../src/engine/backend.ts';
import { createCpuBackend } from '../src/engine/cpu/index.ts';
import { generate } from '../src/engine/generate.ts';
import { tokenizerFromGguf } from '../src/engine/tokenizer/index.ts';
import { parseGguf } from '../src/formats/gguf-reader.ts';
import { bytesSource } from '../src/formats/range-source.ts';
import { Coordinator, type CoordinatorEvent } from '../src/shard/coordinator.ts';
import { modelCosts } from '../src/shard/costs.ts';
import { rangeMemory } from '../src/shard/planner.ts';
import { createRoom, type Room } from '../src/shard/room.ts';
import { Admissions, joinAndServe } from '../src/shard/room-peers.ts';
import { TabsRoom } from '../src/shard/transports/tabs.ts';

const bytes = new Uint8Array(readFileSync('public/models/stories260K.gguf'));
const file = parseGguf(bytes);
const src = bytesSource(bytes);
const costs = modelCosts(file, { nCtx: 512, kvBytesPerElement: 4 });
const tok = tokenizerFromGguf(file);
const TOKENS = 60;
const PROMPT = 'Once upon a time';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

interface Setup { coord: Coordinator; tabs: TabsRoom[]; events: CoordinatorEvent[]; close(): void }

async function setup(n: number, even: boolean): Promise<Setup> {
  const room: Room = createRoom();
  const tabs: TabsRoom[] = [];
  for (let i = 1; i <= n; i++) {
    const id = `p${i}`;
    const t = new TabsRoom(room.id, id, 'participant', { heartbeatMs: 200 });
    t.onPeer((peer, pipe) => {
      if (peer.role === 'coordinator') void joinAndServe(pipe, room, id, { memoryBytes: rangeMemory(costs, 0, costs.nLayer), speed: 1, wire: ['f32'], backend: 'cpu', label: 'node' },
        (from, to) => createCpuBackend(file, src, { layers: [from, to], embed: false, head: false }));
    });
    tabs.push(t);
  }
  const ct = new TabsRoom(room.id, 'c', 'coordinator', { heartbeatMs: 200 });
  const adm = new Admissions(room);
  ct.onPeer((peer, pipe) => { if (peer.role === 'participant') adm.offer(pipe); });
  const members = (await adm.waitFor(n, 10_000)).sort((a, b) => a.info.id.localeCompare(b.info.id));
  const local = await createCpuBackend(file, src, { layers: [0, 0], embed: true, head: true });
  const custom = members.map((m, i) => ({ participant: m.info.id, from: Math.round((i * costs.nLayer) / n), to: Math.round(((i + 1) * costs.nLayer) / n) }));
  const events: CoordinatorEvent[] = [];
  const coord = await Coordinator.create({ local, costs, members, onEvent: (e) => events.push(e), plan: even ? { strategy: 'custom', custom } : { strategy: 'layers' } });
  return { coord, tabs, events, close: () => { coord.dispose(); local.dispose(); ct.leave(); for (const t of tabs) t.leave(); } };
}

/** Decode ms per token (median of token gaps) of one greedy answer. */
async function decodeMs(be: Backend, onToken?: (i: number) => void): Promise<{ msPerToken: number; gaps: number[] }> {
  const gaps: number[] = [];
  let last = 0;
  let i = 0;
  await generate(be, tok, {
    prompt: PROMPT, maxTokens: TOKENS,
    onToken: () => { const t = performance.now(); if (i > 0) gaps.push(t - last); last = t; onToken?.(i); i++; },
  });
  return { msPerToken: median(gaps), gaps };
}

/** The best of three answers' median gaps: sub-millisecond figures on a shared machine are noisy. */
async function best(be: Backend): Promise<number> {
  let b = Infinity;
  for (let i = 0; i < 3; i++) b = Math.min(b, (await decodeMs(be)).msPerToken);
  return b;
}

export async function run(): Promise<unknown> {
  const whole = await createCpuBackend(file, src);
  await decodeMs(whole); // warm-up
  const single = await best(whole);
  whole.dispose();
  const rows: { participants: number; msPerToken: number; tokensPerSecond: number; addedMsPerHop: number }[] = [];
  let pingMs = NaN;
  for (const n of [1, 2, 3]) {
    const s = await setup(n, true);
    await decodeMs(s.coord); // warm-up
    const ms = await best(s.coord);
    if (n === 1) {
      const link = (s.coord as unknown as { members: { link: { call(r: { op: 'ping' }, sig: AbortSignal): Promise<unknown> } }[] }).members[0]!.link;
      const times: number[] = [];
      for (let i = 0; i < 50; i++) { const t0 = performance.now(); await link.call({ op: 'ping' }, AbortSignal.timeout(5000)); times.push(performance.now() - t0); }
      pingMs = median(times);
    }
    rows.push({ participants: n, msPerToken: ms, tokensPerSecond: 1000 / ms, addedMsPerHop: (ms - single) / n });
    s.close();
  }
  // Loss: p2 of three says goodbye after the 20th token; the gap to the next token includes the
  // re-plan, the reload of the moved range and the re-prefill of its KV cache.
  const s = await setup(3, true);
  let leftAt = 0;
  const { gaps } = await decodeMs(s.coord, (i) => { if (i === 20) { leftAt = performance.now(); s.tabs[1]!.leave(); } });
  const lossGap = gaps[20]!;
  const replans = s.coord.stats.replans;
  s.close();
  const result = {
    model: 'stories260K (f32, 5 layers, n_embd 64), CPU backends, tabs transport in one Node process',
    singleDeviceMsPerToken: single,
    singleDeviceTokensPerSecond: 1000 / single,
    pingRoundTripMs: pingMs,
    byParticipants: rows,
    loss: { msFromLossToNextToken: lossGap, medianGapMs: median(gaps), replans, leftAt: leftAt > 0 },
    webrtc: 'not measured: Node has no RTCPeerConnection; a browser bench would need its own network namespace',
  };
  console.log(`one device: ${single.toFixed(2)} ms/token (${(1000 / single).toFixed(0)} tokens/s); ping over tabs ${pingMs.toFixed(3)} ms`);
  for (const r of rows) console.log(`${r.participants} participant(s): ${r.msPerToken.toFixed(2)} ms/token, ${r.tokensPerSecond.toFixed(0)} tokens/s, +${r.addedMsPerHop.toFixed(3)} ms per hop`);
  console.log(`loss → next token: ${lossGap.toFixed(1)} ms (median gap ${median(gaps).toFixed(2)} ms, ${replans} re-plan)`);
  return result;
}
