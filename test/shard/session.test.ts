// The room lifecycle (session.ts, session-join.ts) in Node over the tab transport (Node's
// BroadcastChannel behaves like the browsers'): peers join and are planned, the generate loop runs
// on the session's coordinator with the single-device greedy text, a peer that leaves mid-answer is
// re-planned, a peer joining between answers is planned in, a wrong secret is refused, and end()
// says goodbye. CPU backends: the lifecycle is under test, not the kernels.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/engine/backend.ts';
import { createCpuBackend } from '../../src/engine/cpu/index.ts';
import { generate } from '../../src/engine/generate.ts';
import { slowed } from '../../src/shard/model-slice.ts';
import { rangeMemory } from '../../src/shard/planner.ts';
import { createRoom, type Room } from '../../src/shard/room.ts';
import { ShareSession, spreadPlan, type SessionEvent } from '../../src/shard/session.ts';
import { JoinSession } from '../../src/shard/session-join.ts';
import { isShareLink, parseShareLink, shareLink } from '../../src/shard/share-link.ts';
import { TabsRoom } from '../../src/shard/transports/tabs.ts';

import { cleanup, costs, file, N, ref, src, tok } from './stories-room.ts';

const tabs = (room: Room, id: string, role: 'coordinator' | 'participant'): TabsRoom => {
  const t = new TabsRoom(room.id, id, role, { heartbeatMs: 100, timeoutMs: 1000 });
  cleanup.push(() => t.leave());
  return t;
};

/** `be`, each of whose layers calls from call `after` on first waits `ms` (a peer that becomes slow). */
function slowsAfter(be: Backend, after: number, ms: number): Backend {
  const layers = be.layers.bind(be);
  let calls = 0;
  be.layers = async (...a) => { if (calls++ >= after) await new Promise((r) => setTimeout(r, ms)); return layers(...a); };
  return be;
}

function helper(room: Room, id: string, layers: number, o: { secret?: string; delayMs?: number; slowAfter?: number } = {}): JoinSession {
  const j = new JoinSession({
    room: { id: room.id, secret: o.secret ?? room.secret }, self: id, source: tabs(room, id, 'participant'),
    info: { memoryBytes: rangeMemory(costs, 0, layers), speed: 1, wire: ['f32'], backend: 'cpu', label: 'node', model: 'bafy-test' },
    factory: async (from, to) => {
      const be = await createCpuBackend(file, src, { layers: [from, to], embed: false, head: false });
      if (o.slowAfter !== undefined) return slowsAfter(be, o.slowAfter, 100);
      return o.delayMs ? slowed(be, o.delayMs) : be;
    },
  });
  cleanup.push(() => j.leave());
  return j;
}

async function host(room: Room): Promise<{ session: ShareSession; events: SessionEvent[]; local: Backend }> {
  const local = await createCpuBackend(file, src, { layers: [0, 0], embed: true, head: true });
  const events: SessionEvent[] = [];
  const session = new ShareSession({ self: 'coord', source: tabs(room, 'coord', 'coordinator'), room, costs, local, model: 'bafy-test', callTimeoutMs: 5000, heartbeatMs: 200, onEvent: (e) => events.push(e) });
  cleanup.push(() => { session.end(); local.dispose(); });
  return { session, events, local };
}

const answer = async (session: ShareSession, o: Parameters<ShareSession['coordinator']>[0] = {}) =>
  generate(await session.coordinator(o), tok, { prompt: ref.prompt, maxTokens: N, onToken: () => session.countToken() });

describe('share session', () => {
  it('plans over the peers that joined, answers with the single-device text, and ends the room', async () => {
    const room = createRoom();
    const { session, events } = await host(room);
    const a = helper(room, 'p1', 3);
    const b = helper(room, 'p2', 3);
    await session.waitFor(2, 5000);
    const res = await answer(session);
    expect(res.tokens).toEqual(ref.generated_tokens.slice(0, N));
    const rows = session.peers();
    expect(rows.map((r) => r.state).sort()).toEqual(['serving', 'serving']);
    // 3 + 3 layers offered, 5 needed: both serve, contiguous, neither over its 3 (which one takes
    // the larger share depends on the order their hellos arrive in).
    const ranges = rows.map((r) => r.range!).sort((x, y) => x[0] - y[0]);
    expect(ranges[0]![0]).toBe(0);
    expect(ranges[0]![1]).toBe(ranges[1]![0]);
    expect(ranges[1]![1]).toBe(5);
    for (const [f, t] of ranges) expect(t - f).toBeLessThanOrEqual(3);
    expect(a.served + b.served).toBeGreaterThan(0);
    expect(session.tokens).toBe(N);
    expect(events.some((e) => e.type === 'log' && e.text.startsWith('planned'))).toBe(true);
    session.end();
    await expect.poll(() => a.state).toBe('dropped');
    expect(b.range).toBeUndefined();
  });

  it('re-plans when a peer leaves mid-answer, and plans a late joiner into the next answer', async () => {
    const room = createRoom();
    const { session, events } = await host(room);
    const a = helper(room, 'p1', 5, { delayMs: 5 });
    helper(room, 'p2', 5, { delayMs: 5 });
    await session.waitFor(2, 5000);
    const coord = await session.coordinator({ split: 'spread' });
    expect(coord.plan.stages.map((s) => s.participant)).toEqual(['p1', 'p2']);
    let n = 0;
    const running = generate(coord, tok, { prompt: ref.prompt, maxTokens: N, onToken: () => { if (++n === 8) a.leave(); } });
    const res = await running;
    expect(res.tokens).toEqual(ref.generated_tokens.slice(0, N));
    expect(coord.stats.replans).toBe(1);
    expect(session.peers().find((p) => p.id === 'p1')?.state).toBe('lost');
    expect(events.some((e) => e.type === 'log' && e.text.startsWith('re-planned: p2 0–4'))).toBe(true);
    // The same peers: the same coordinator (its KV cache stays); a newcomer: a new plan.
    expect(await session.coordinator({ split: 'spread' })).toBe(coord);
    helper(room, 'p3', 5);
    await session.waitFor(2, 5000);
    const next = await session.coordinator({ split: 'spread' });
    expect(next).not.toBe(coord);
    expect(next.plan.stages.map((s) => s.participant)).toEqual(['p2', 'p3']);
    const again = await generate(next, tok, { prompt: ref.prompt, maxTokens: N });
    expect(again.tokens).toEqual(ref.generated_tokens.slice(0, N));
  });

  it('measures each link as the answer runs (the map shows it), and re-plans a peer that becomes slow', async () => {
    const room = createRoom();
    const { session, events } = await host(room);
    helper(room, 'p1', 3, { slowAfter: 8 });
    helper(room, 'p2', 3);
    helper(room, 'p3', 3);
    await session.waitFor(3, 5000);
    // Admission pinged each: the round trip is known before any plan; nothing else is.
    for (const id of ['p1', 'p2', 'p3']) expect(session.linkFigures(id)).toMatchObject({ rttSeconds: expect.any(Number), layerSeconds: undefined });
    const coord = await session.coordinator({ split: 'spread' });
    expect(coord.plan.stages.map((s) => s.participant)).toEqual(['p1', 'p2', 'p3']);
    const res = await generate(coord, tok, { prompt: ref.prompt, maxTokens: N, onToken: () => session.countToken() });
    expect(res.tokens).toEqual(ref.generated_tokens.slice(0, N));
    expect(events.flatMap((e) => (e.type === 'coordinator' && e.event.type === 'lost' ? [`${e.event.participant}:${e.event.reason}`] : []))).toEqual(['p1:slow']);
    // Which of the two takes the larger share is the measurements' call.
    expect(coord.plan.stages.map((s) => s.participant).sort()).toEqual(['p2', 'p3']);
    expect(events.some((e) => e.type === 'log' && e.text.startsWith('re-planned: p'))).toBe(true);
    expect(events.some((e) => e.type === 'log' && /^p1 dropped as too slow: [\d.]+ ms per layer per token, [\d.]+× the [\d.]+ ms first measured$/.test(e.text))).toBe(true);
    // The map: p1 marked slow; the others with their measured step time, round trip and bandwidth.
    await expect.poll(() => session.peers().find((p) => p.id === 'p2')?.layerMs).toBeGreaterThan(0);
    const rows = new Map(session.peers().map((p) => [p.id, p]));
    expect(rows.get('p1')?.state).toBe('slow');
    for (const id of ['p2', 'p3']) {
      const f = session.linkFigures(id)!;
      expect(f.layerSeconds).toBeGreaterThan(0);
      expect(f.bandwidthBytesPerSecond).toBeGreaterThan(0); // Infinity when the frames are too small to time
      // The row is refreshed twice a second from the same meter (pings keep coming: not equal to the ms).
      expect(rows.get(id)).toMatchObject({ state: 'serving', rttMs: expect.any(Number), layerMs: expect.any(Number), bandwidth: expect.any(Number) });
      expect(rows.get(id)!.rttMs).toBeGreaterThan(0);
    }
  });

  it('refuses a peer without the room secret, and a peer holding another model', async () => {
    const room = createRoom();
    const { session } = await host(room);
    const bad = helper(room, 'intruder', 5, { secret: 'guessed-secret-0000' });
    await expect.poll(() => bad.state).toBe('refused');
    expect(session.refused).toEqual(['intruder']);
    expect(session.peers().find((p) => p.id === 'intruder')?.state).toBe('refused');
    const other = new JoinSession({
      room, self: 'other', source: tabs(room, 'other', 'participant'),
      info: { memoryBytes: 1e9, speed: 1, wire: ['f32'], backend: 'cpu', label: 'node', model: 'bafy-another' },
      factory: () => Promise.reject(new Error('never asked')),
    });
    cleanup.push(() => other.leave());
    await expect.poll(() => session.peers().find((p) => p.id === 'other')?.state).toBe('refused');
    expect(session.present()).toEqual([]);
    await expect(session.coordinator()).rejects.toMatchObject({ name: 'PlanError', problem: 'no-participants' });
  });

  it('spreads evenly only where every share fits', () => {
    const p = (id: string, layers: number) => ({ id, memoryBytes: rangeMemory(costs, 0, layers), rttSeconds: 0, bandwidthBytesPerSecond: 1e8 });
    expect(spreadPlan(costs, [p('a', 5), p('b', 5)])).toEqual([{ participant: 'a', from: 0, to: 3 }, { participant: 'b', from: 3, to: 5 }]);
    expect(spreadPlan(costs, [p('a', 2), p('b', 5)])).toBeUndefined();
    // Timed: shares by measured speed, at least one layer each; untimed or equal: even.
    const t = (id: string, layerSeconds: number) => ({ ...p(id, 5), layerSeconds });
    expect(spreadPlan(costs, [t('a', 0.01), t('b', 0.03)])).toEqual([{ participant: 'a', from: 0, to: 4 }, { participant: 'b', from: 4, to: 5 }]);
    expect(spreadPlan(costs, [t('a', 0.001), t('b', 0.1), t('c', 0.1)])).toEqual([{ participant: 'a', from: 0, to: 3 }, { participant: 'b', from: 3, to: 4 }, { participant: 'c', from: 4, to: 5 }]);
    expect(spreadPlan(costs, [t('a', 0.02), t('b', 0.02), t('c', 0.02)])).toEqual(spreadPlan(costs, [p('a', 5), p('b', 5), p('c', 5)]));
    expect(spreadPlan(costs, [t('a', 0.01), p('b', 5)])).toEqual(spreadPlan(costs, [p('a', 5), p('b', 5)]));
  });

  it('a spread room gives a device measured slower fewer layers at the next answer, with the same text', async () => {
    const room = createRoom();
    const { session, events } = await host(room);
    helper(room, 'p1', 5, { delayMs: 30 });
    helper(room, 'p2', 5);
    await session.waitFor(2, 5000);
    const coord = await session.coordinator({ split: 'spread' });
    expect(coord.plan.stages.map((s) => `${s.participant}:${s.from}-${s.to}`)).toEqual(['p1:0-3', 'p2:3-5']); // nothing timed yet: even
    expect((await generate(coord, tok, { prompt: ref.prompt, maxTokens: N })).tokens).toEqual(ref.generated_tokens.slice(0, N));
    const again = await session.coordinator({ split: 'spread' });
    expect(again).toBe(coord); // the same peers: the same coordinator, its plan moved in place
    expect(again.plan.stages.map((s) => `${s.participant}:${s.from}-${s.to}`)).toEqual(['p1:0-1', 'p2:1-5']);
    expect(events.some((e) => e.type === 'log' && e.text.startsWith('re-planned (measured links): p1 0–0, p2 1–4'))).toBe(true);
    expect((await generate(again, tok, { prompt: ref.prompt, maxTokens: N })).tokens).toEqual(ref.generated_tokens.slice(0, N));
  });

  it('join links keep the secret in the fragment and carry the model, context and relay', () => {
    const room = createRoom();
    const link = shareLink('http://127.0.0.1:8080/?nosw#old', { room, model: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', label: 'stories260k@1.0.0', size: 1054304, nCtx: 512, transport: 'webrtc', relay: 'ws://127.0.0.1:4180' });
    const u = new URL(link);
    expect(u.search).toBe('?nosw');
    expect(u.search + u.pathname).not.toContain(room.secret);
    expect(isShareLink(link)).toBe(true);
    expect(isShareLink('http://127.0.0.1:8080/')).toBe(false);
    expect(parseShareLink(link)).toEqual({ room, model: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', label: 'stories260k@1.0.0', size: 1054304, nCtx: 512, transport: 'webrtc', relay: 'ws://127.0.0.1:4180' });
    expect(() => parseShareLink(link.replace(/&relay=[^&]*/, ''))).toThrow(expect.objectContaining({ name: 'RoomError', problem: 'bad-link' }));
    expect(() => parseShareLink(link.replace(/&ctx=\d+/, ''))).toThrow(expect.objectContaining({ name: 'RoomError', problem: 'bad-link' }));
  });
});
