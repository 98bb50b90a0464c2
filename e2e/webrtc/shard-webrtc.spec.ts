// WebRTC shard rooms between two real engines: a Chromium coordinator and a Firefox participant
// meet through the signaling relay (`tabshard relay`) and exchange activations over a data channel,
// inside the network namespace run.sh makes. Pages run the CPU backend (see e2e/pages/shard.ts).
import { expect, test, type Browser, type Page } from '@playwright/test';
import { launchBrowsers, newRoom, openPage, ref, run, state, type Room } from './harness.ts';

const RELAY = `ws://127.0.0.1:${Number(process.env.TABSHARD_RELAY_PORT ?? 4280)}`;

let cr: Browser;
let ff: Browser;

test.beforeAll(async () => {
  ({ cr, ff } = await launchBrowsers());
});
test.afterAll(async () => { await cr?.close(); await ff?.close(); });

const open = (browser: Browser, query: string, room: Room, mayFail = false): Promise<Page> => openPage(browser, RELAY, query, room, mayFail);

test('a Chromium coordinator and a Firefox participant over WebRTC give the single-device greedy text', async () => {
  const room = newRoom();
  const coord = await open(cr, 'role=coordinator&id=chromium-c', room);
  const peer = await open(ff, 'role=participant&id=firefox-p', room);
  const res = await run(coord, { participants: 1, self: true, even: true });
  expect(res.stages).toEqual(['chromium-c:0-3', 'firefox-p:3-5']);
  expect(res.text).toBe(ref.generated_text_only);
  expect(res.tokens).toEqual(ref.generated_tokens);
  expect(res.lost).toEqual([]);
  expect(await peer.evaluate(() => (window as unknown as { shard: { served: number } }).shard.served)).toBeGreaterThanOrEqual(60); // prefill + 59 decode steps
});

test('over WebRTC, a peer without the secret is refused and one sending corrupted activations is dropped', async () => {
  const room = newRoom();
  const coord = await open(cr, 'role=coordinator&id=chromium-c&cap=3', room);
  const intruder = await open(cr, 'role=participant&id=intruder', { id: room.id, secret: 'guessed-secret-0000' }, true);
  await expect.poll(() => state(intruder)).toBe('refused');
  // Flips payload bits after the checksum was computed: caught as a FrameError on arrival.
  const liar = await open(ff, 'role=participant&id=firefox-liar&cap=3&corrupt=garbage&corruptAfter=4', room);
  await open(ff, 'role=participant&id=firefox-ok&cap=3', room);
  const res = await run(coord, { participants: 2, self: true, even: true });
  expect(res.refused).toEqual(['intruder']);
  expect(res.lost).toEqual([{ participant: 'firefox-liar', reason: 'frame' }]);
  expect(res.text).toBe(ref.generated_text_only);
  expect(res.stages.join(' ')).not.toMatch(/intruder|liar/);
  await expect.poll(() => state(liar)).toBe('dropped');
});
