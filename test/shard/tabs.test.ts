// The tab transport and the room handshake in Node, whose BroadcastChannel behaves like the
// browsers' (instances of one name in one process hear each other). CPU backends: the transport and
// trust logic is under test, not the kernels.
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../src/engine/cpu/index.ts';
import { generate } from '../../src/engine/generate.ts';
import { Coordinator, type CoordinatorEvent } from '../../src/shard/coordinator.ts';
import { encodeFrame, decodeFrame } from '../../src/shard/frames.ts';
import { rangeMemory } from '../../src/shard/planner.ts';
import type { PlanOptions } from '../../src/shard/plan-types.ts';
import { checkProof, createRoom, parseRoomLink, prove, roomLink, type Room } from '../../src/shard/room.ts';
import { Admissions, joinAndServe } from '../../src/shard/room-peers.ts';
import type { PeerInfo } from '../../src/shard/transports/pipe.ts';
import type { ServeOptions } from '../../src/shard/transports/rpc-link.ts';
import { TabsRoom } from '../../src/shard/transports/tabs.ts';
import type { ShardResponse } from '../../src/shard/wire.ts';

import { cleanup, costs, file, N, ref, src, tok } from './stories-room.ts';

const info = (layers: number): PeerInfo => ({ memoryBytes: rangeMemory(costs, 0, layers), speed: 1, wire: ['f32', 'f16'], backend: 'cpu', label: 'node' });

/** A participant tab: joins `room` (with `secret`, maybe wrong), serves ranges on the CPU. */
function participant(room: Room, id: string, layers: number, o: ServeOptions & { secret?: string } = {}): { tabs: TabsRoom; error: Promise<unknown> } {
  const tabs = new TabsRoom(room.id, id, 'participant', { heartbeatMs: 100, timeoutMs: 1000 });
  cleanup.push(() => tabs.leave());
  let fail: (e: unknown) => void = () => {};
  const error = new Promise<unknown>((r) => { fail = r; });
  tabs.onPeer((peer, pipe) => {
    if (peer.role !== 'coordinator') return;
    joinAndServe(pipe, { id: room.id, secret: o.secret ?? room.secret }, id, info(layers),
      (from, to) => createCpuBackend(file, src, { layers: [from, to], embed: false, head: false }), o).catch(fail);
  });
  return { tabs, error };
}

const THREE_WAY = { strategy: 'custom', custom: [{ participant: 'p1', from: 0, to: 2 }, { participant: 'p2', from: 2, to: 4 }, { participant: 'p3', from: 4, to: 5 }] } as const;

async function coordinator(room: Room, n: number, plan?: PlanOptions): Promise<{ adm: Admissions; coord: Coordinator; events: CoordinatorEvent[] }> {
  const tabs = new TabsRoom(room.id, 'coord', 'coordinator', { heartbeatMs: 100, timeoutMs: 1000 });
  cleanup.push(() => tabs.leave());
  const adm = new Admissions(room);
  tabs.onPeer((peer, pipe) => { if (peer.role === 'participant') adm.offer(pipe); });
  const members = await adm.waitFor(n, 5000);
  members.sort((a, b) => a.info.id.localeCompare(b.info.id));
  const local = await createCpuBackend(file, src, { layers: [0, 0], embed: true, head: true });
  const events: CoordinatorEvent[] = [];
  const coord = await Coordinator.create({ local, costs, members, onEvent: (e) => events.push(e), callTimeoutMs: 5000, plan });
  cleanup.push(() => { coord.dispose(); local.dispose(); });
  return { adm, coord, events };
}

describe('room links and proofs', () => {
  it('keeps room and secret in the fragment, and proofs bind room, nonce, peer and role', async () => {
    const room = createRoom();
    const link = roomLink('http://127.0.0.1:4173/e2e/pages/shard.html?role=participant', room);
    const u = new URL(link);
    expect(u.search).not.toContain(room.secret);
    expect(u.hash).toContain(room.secret);
    expect(parseRoomLink(link)).toEqual(room);
    expect(() => parseRoomLink('#room=abc')).toThrow(expect.objectContaining({ name: 'RoomError', problem: 'bad-link' }));
    const mac = await prove(room, 'peer', 'n1', 'p1');
    expect(await checkProof(room, 'peer', 'n1', 'p1', mac)).toBe(true);
    expect(await checkProof(room, 'peer', 'n1', 'p2', mac)).toBe(false);
    expect(await checkProof(room, 'peer', 'n2', 'p1', mac)).toBe(false);
    expect(await checkProof(room, 'coordinator', 'n1', 'p1', mac)).toBe(false);
    expect(await checkProof({ ...room, secret: 'x'.repeat(64) }, 'peer', 'n1', 'p1', mac)).toBe(false);
  });
});

describe('tabs transport (BroadcastChannel)', () => {
  it('three participants split the model three ways: the reference greedy tokens', async () => {
    const room = createRoom();
    for (const id of ['p1', 'p2', 'p3']) participant(room, id, 2);
    const { coord } = await coordinator(room, 3);
    expect(coord.plan.stages.map((s) => `${s.participant}:${s.from}-${s.to}`)).toHaveLength(3);
    const res = await generate(coord, tok, { prompt: ref.prompt, maxTokens: N });
    expect(res.tokens).toEqual(ref.generated_tokens.slice(0, N));
  });

  it('refuses a peer without the secret, and it never gets a range', async () => {
    const room = createRoom();
    participant(room, 'p1', 5);
    const bad = participant(room, 'p0-bad', 5, { secret: 'not-the-secret' });
    const { adm, coord } = await coordinator(room, 1);
    await expect(bad.error).resolves.toMatchObject({ name: 'RoomError', problem: 'refused' });
    expect(adm.refused).toEqual(['p0-bad']);
    expect(coord.plan.stages.map((s) => s.participant)).toEqual(['p1']);
  });

  it('drops a participant whose activations are non-finite and re-plans: same tokens', async () => {
    const room = createRoom();
    let calls = 0;
    const nan = (res: ShardResponse): ShardResponse => {
      if (res.op !== 'layers' || ++calls < 4) return res;
      const { header } = decodeFrame(res.frame);
      return { op: 'layers', frame: encodeFrame(header, new Float32Array(header.nTok * header.nEmbd).fill(NaN)) };
    };
    participant(room, 'p1', 3);
    participant(room, 'p2', 3, { mapResponse: nan });
    participant(room, 'p3', 3);
    const { coord, events } = await coordinator(room, 3, THREE_WAY);
    const res = await generate(coord, tok, { prompt: ref.prompt, maxTokens: N });
    expect(res.tokens).toEqual(ref.generated_tokens.slice(0, N));
    expect(events.filter((e) => e.type === 'lost').map((e) => e.type === 'lost' && [e.participant, e.reason])).toEqual([['p2', 'frame']]);
  });

  it('a tab that leaves mid-answer (goodbye): the answer completes with the same tokens', async () => {
    const room = createRoom();
    const ps = ['p1', 'p2', 'p3'].map((id) => participant(room, id, 3));
    const { coord, events } = await coordinator(room, 3);
    const victim = coord.plan.stages[0]!.participant;
    const res = await generate(coord, tok, {
      prompt: ref.prompt, maxTokens: N,
      onToken: () => { if (coord.tokens.length === 10) ps[Number(victim.slice(1)) - 1]!.tabs.leave(); },
    });
    expect(res.tokens).toEqual(ref.generated_tokens.slice(0, N));
    expect(events.find((e) => e.type === 'lost')).toMatchObject({ participant: victim, reason: 'bye' });
  });
});
